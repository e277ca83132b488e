"""Processes the suites start (torchrun workers)."""
