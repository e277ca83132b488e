"""The suites, one comparison each, in the order `make bench` runs them (cheap analytic suites first)."""
from harness.registry import Registry
from suites import (distributed, doc_figures, kv_cache, loss_curves, memory, params_flops, roofline, snippets,
                    throughput)

SUITES: Registry = Registry("suite")
for _suite in (roofline.SUITE, params_flops.SUITE, doc_figures.SUITE, kv_cache.SUITE, memory.SUITE, throughput.SUITE,
               snippets.SUITE, distributed.SUITE, loss_curves.SUITE):
    SUITES.add(_suite.name, _suite)
