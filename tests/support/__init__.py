"""Helpers the tests and benchmarks share: real servers and processes, app and worker harnesses."""
