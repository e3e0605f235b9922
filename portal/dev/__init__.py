"""Demo data kept as files: the demo network is imported from them, as an operator would."""
