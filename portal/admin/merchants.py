"""merchants (filled in by its own change)."""
