"""The suites, one comparison each, in the order `make bench` runs them (cheap analytic suites first), and the
folder of the five design documents whose claims their rows answer (`DOCUMENTS_DIR`: one folder per document,
read by archbench.documents: document.toml, readings.toml, claims*.toml, models/)."""
from pathlib import Path

from harness.registry import Registry
from suites import (attention, decode, distributed, ffn, kv_cache, loss_curves, memory, mixers, norms, params_flops,
                    positions, public_models, roofline, sketches, snippets, throughput)

SUITES: Registry = Registry("suite")
for _suite in (roofline.SUITE, params_flops.SUITE, public_models.SUITE, kv_cache.SUITE,
               memory.SUITE, throughput.SUITE, norms.SUITE, attention.SUITE, mixers.SUITE, decode.SUITE, ffn.SUITE,
               snippets.SUITE, sketches.SUITE, distributed.SUITE, loss_curves.SUITE, positions.SUITE):
    SUITES.add(_suite.name, _suite)

DOCUMENTS_DIR = Path(__file__).resolve().parent / "documents"
