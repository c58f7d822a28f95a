"""Benchmarks, run by hand (python -m bench); results in BENCHMARKS.md."""
