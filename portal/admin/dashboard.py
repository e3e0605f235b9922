"""dashboard (filled in by its own change)."""
