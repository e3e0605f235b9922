"""Demo and benchmark data, for the CLI only (`seed-demo`, `seed-bench`). The demo network is kept
as files in network/ and imported from them, as an operator would."""
