"""The documents' figures that the generic quantities do not yet express, recomputed from the presets' analytic
formulas (no model is built or run).

Most of a document's own numbers are claims' expressions over the generic quantities (archs/quantities.py:
`weight_bytes('nexus-13b', 'int8')`, `kv_bytes(...)`, `train_memory(...)`), judged with no suite at all: 002's
memory tables, sizes, KV lines, ratios and stated-size rooflines; 003's embedding, weights and training states;
000's MVP-4 total; 001's GQA table, norm sizes and LLaMA-2-70B cache lines; 004's MLA parameter and cache ratios
(their variant models are model files in the documents' folders). What remains here: the parameter totals that
params_flops counts (so a claim reading either is answered without counting too), rows a claim reads several of
at once or by range (001's GQA examples, 003's output head share), 002's MQA decode rooflines, 003's comparison
with an equivalent dense decoder (archs.parallel_stacks.equivalent_dense), 004's decode roofline and latent-vs-
naive cache.
Every row has stat "analytic", the formula in `method` and what it assumes in `extra.assumption`; its `dtype`
column is the precision the bytes are counted at (for a KV cache, and a total or an estimate that includes one,
the cache's). Units of bytes are decimal (1 GB = 1e9 B), as the documents write them. Every reading a
document leaves open (002's KV heads, suites/documents/002-nexus/readings.toml) has its rows, so each claim can be
judged under each reading; claims select these rows with `suite = "doc_figures"`.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterator

from archs import analytic, get_config
from archs.components import mla
from harness.suite import Context, Suite, Unit
from harness.report.headline import Headline


def fig(case: str, metric: str, value: float, unit: str, *, arch: str = "", measure: str = "formula",
        method: str = "", dtype: str = "", shape: dict | None = None, **extra: Any) -> dict[str, Any]:
    return dict(case=case, arch=arch, measure=measure, metric=metric, value=float(value), unit=unit,
                stat="analytic", method=method, dtype=dtype, shape=shape or {}, extra=extra)


# ---------------------------------------------------------------- 004: MLA
def mla_figures() -> Iterator[dict]:
    """MLA's latent cache against caching its decompressed keys and values, and the decode roofline of the
    preset against the same model with MHA layers (the MHA twin of 004's claims is a model file:
    suites/documents/004-mla-moe/models/mla-moe-mha-twin.toml)."""
    cfg = get_config("mla-moe")
    latent = mla.cache_bytes_formula(cfg, cfg.pattern[1], 1, 1, 2)
    yield fig("mla_vs_naive", "kv_reduction", mla.naive_kv_bytes_per_token(cfg, 2) / latent, "ratio", arch="mla-moe",
              measure="kv_cache", method="bytes per token and layer, fp16")
    mha_cfg = replace(cfg, head_dim=64, mla=None, pattern=tuple(replace(s, mixer="attention") for s in cfg.pattern))
    weights = analytic.params(cfg).active * 2
    for B, T in ((1, 4096), (1, 32768), (32, 4096)):       # 004's "48K+ tokens" and a batch; bf16 weights and cache
        kv = {name: sum(analytic.cache_bytes(c, B, T, 2).values()) for name, c in (("mha", mha_cfg), ("mla", cfg))}
        yield fig("mla_decode_roofline", "speedup", (weights + kv["mha"]) / (weights + kv["mla"]), "ratio",
                  arch="mla-moe", measure="roofline", shape={"B": B, "T": T}, estimate=True,
                  method="(active weights + MHA-twin KV cache) / (active weights + MLA latent cache), bytes read per "
                         "decoded token, 16-bit", assumption="decode is bandwidth-bound; sliding-window layers keep "
                                                              "1024 tokens")


UNITS = {  # unit key -> (figures, the presets they read: the unit runs if the run wants any of them)
    "mla": (mla_figures, ("mla-moe",)),
}


def plan(ctx: Context) -> list[Unit]:
    return [Unit(key, lambda c, f=figures: f()) for key, (figures, archs) in UNITS.items()
            if any(ctx.wants_arch(a) for a in archs)]


HEADLINE = Headline(title="Each document's numbers recomputed from its own configuration, as computed ÷ stated",
                    kind="claims")

SUITE = Suite(name="doc_figures", plan=plan, docs=("000", "001", "002", "003", "004"),
              question="Do the documents' own numbers (sizes, memory tables, KV caches, speeds) follow from their "
                       "own configurations?",
              description=__doc__.split("\n\n", 1)[1], headline=HEADLINE)
