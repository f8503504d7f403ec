"""Benchmarks that print figures (``make bench``); not tests, never run by ``make test``."""
