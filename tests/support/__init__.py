"""Helpers shared by tests and benches (never imported from another test module)."""
