"""CLI commands for the review area (registered on import). Filled in by its capability."""
