"""Decode state: the KV cache (softmax attention), latent cache (MLA) and fixed state (Gated DeltaNet).

Analytic bytes for every preset at 2k/8k/32k/128k context (batch 1, bf16), and for the tiny presets the bytes
actually held by the cache objects after a prefill and after decoding, which must equal the formula exactly.
Sizes: the analytic contexts are the same in every profile; the measured prefill is B=2 at the profile's T
(SIZES), then 4 decode steps.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from archs import analytic, get_config
from harness.suite import Context, PerProfile, Suite, Unit
from harness.report.headline import Headline
from suites.per_arch import ArchUnits, analysed_presets, arch_plan, provenance

CONTEXTS = (2048, 8192, 32768, 131072)


@dataclass(frozen=True)
class Sizes:
    T: int                              # prefill length of the measured caches


SIZES = PerProfile(smoke=Sizes(T=8), quick=Sizes(T=48), standard=Sizes(T=128), full=Sizes(T=128))


def analytic_rows(name: str, ctx: Context):
    yield from cache_rows(name, get_config(name))


def cache_rows(name: str, cfg):
    """The analytic rows of one config labelled `name` (also `archbench compare-archs`' decode-state columns)."""
    config = provenance(cfg)
    for T in CONTEXTS:
        parts = analytic.cache_bytes(cfg, 1, T, 2)
        total = sum(parts.values())
        shape = {"B": 1, "T": T}
        common = dict(case=name, arch=name, config=config, measure="kv_analytic", stat="analytic", device="formula",
                      dtype="bfloat16", shape=shape, extra={"dtype_bytes": 2, "parts": parts},
                      method="per layer: attention 2·n_kv·head_dim·T, MLA (kv_lora_rank+rope)·T, "
                             "GDN H·K·V fp32 state + conv state")
        yield common | dict(metric="kv_bytes", value=total, unit="bytes")
        yield common | dict(metric="kv_bytes_per_token", value=total / T, unit="bytes")


def measured_rows(name: str, ctx: Context):
    cfg = get_config(name)
    torch.manual_seed(ctx.seed)
    model = cfg.build().eval()
    B, T, steps = 2, SIZES[ctx.profile].T, 4
    idx = torch.randint(0, cfg.vocab_size, (B, T + steps))
    cache = model.new_cache()
    with torch.no_grad():
        model(idx[:, :T], cache)
        after_prefill = sum(c.nbytes() for c in cache)
        for t in range(T, T + steps):
            model(idx[:, t:t + 1], cache)
        after_decode = sum(c.nbytes() for c in cache)
    for phase, seen, measured in (("prefill", T, after_prefill), ("decode", T + steps, after_decode)):
        expected = sum(analytic.cache_bytes(cfg, B, seen, 4).values())
        common = dict(case=name, arch=name, config=provenance(cfg), metric="kv_bytes", unit="bytes", stat="exact",
                      shape={"B": B, "T": seen}, extra={"phase": phase, "dtype_bytes": 4, "analytic": expected,
                                                        "equal": measured == expected})
        yield common | dict(measure="kv_measured", value=measured, method="sum of cache tensors' nbytes")
        yield common | dict(measure="kv_analytic", value=expected, stat="analytic", device="formula",
                            method="archs.analytic.cache_bytes")
        if measured != expected:
            raise AssertionError(f"{name} {phase}: cache holds {measured} bytes, formula says {expected}")


def plan(ctx: Context) -> list[Unit]:
    return arch_plan(ctx, ArchUnits("analytic", analytic_rows), ArchUnits("measured", measured_rows, tiny_only=True))


HEADLINE = Headline(
    title="Decode state per token of context, by architecture (bf16, batch 1): softmax caches stay flat, "
          "fixed states shrink per token",
    kind="lines", metric="kv_bytes_per_token", x="shape.T", series="arch", where={"arch": analysed_presets()},
    log_x=True, log_y=True, y_label="bytes per token of context")

SUITE = Suite(
    headline=HEADLINE,
    name="kv_cache",
    question="How much decode state does each architecture keep per sequence, and does the real cache hold "
             "exactly what the formula says?",
    plan=plan, sizes=SIZES, docs=("000", "001", "002", "004"), description=__doc__,
)
