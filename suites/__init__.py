"""The suites, one comparison each, in the order `make bench` runs them (cheap analytic suites first)."""
from harness.registry import Registry

SUITES: Registry = Registry("suite")
