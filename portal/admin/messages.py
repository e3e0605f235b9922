"""messages (filled in by its own change)."""
