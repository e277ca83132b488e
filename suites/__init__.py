"""The suites, one comparison each, in the order `make bench` runs them (cheap analytic suites first)."""
from harness.registry import Registry
from suites import kv_cache, params_flops

SUITES: Registry = Registry("suite")
for _suite in (params_flops.SUITE, kv_cache.SUITE):
    SUITES.add(_suite.name, _suite)
