"""Benchmarks: runnable modules (`python -m bench.<name>`), each against a baseline."""
