"""Benchmarks of issue 8: `generate.py` builds a city-scale dataset, `run.py` (`make bench`) measures it."""
