"""CLI commands for the model area (registered on import). Filled in by its capability."""
