"""agents (filled in by its own change)."""
