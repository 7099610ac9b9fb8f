"""Fault drills and the soak: real processes, real failures (docs/RELIABILITY.md)."""
