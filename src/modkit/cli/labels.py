"""CLI commands for the labels area (registered on import). Filled in by its capability."""
