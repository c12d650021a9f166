"""Benchmarks: measure the engine against baselines run in the same process (`python -m bench`)."""
