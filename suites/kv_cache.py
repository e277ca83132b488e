"""Decode state: the KV cache (softmax attention), latent cache (MLA) and fixed state (Gated DeltaNet).

Analytic bytes for every preset at 2k/8k/32k/128k context (batch 1, bf16), and for the tiny presets the bytes
actually held by the cache objects after a prefill and after decoding, which must equal the formula exactly.
"""
from __future__ import annotations

import torch

from archs import ARCHS, analytic, get_config
from harness.suite import Context, Suite, Unit

CONTEXTS = (2048, 8192, 32768, 131072)


def analytic_rows(name: str, ctx: Context):
    cfg = get_config(name)
    for T in CONTEXTS:
        parts = analytic.cache_bytes(cfg, 1, T, 2)
        total = sum(parts.values())
        shape = {"B": 1, "T": T}
        common = dict(case=name, arch=name, measure="kv_analytic", stat="analytic", device="formula",
                      dtype="bfloat16", shape=shape, extra={"dtype_bytes": 2, "parts": parts},
                      method="per layer: attention 2·n_kv·head_dim·T, MLA (kv_lora_rank+rope)·T, "
                             "GDN H·K·V fp32 state + conv state")
        yield common | dict(metric="kv_bytes", value=total, unit="bytes")
        yield common | dict(metric="kv_bytes_per_token", value=total / T, unit="bytes")


def measured_rows(name: str, ctx: Context):
    cfg = get_config(name)
    torch.manual_seed(ctx.seed)
    model = cfg.build().eval()
    B, T, steps = 2, ctx.pick(48, 128), 4
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
        common = dict(case=name, arch=name, metric="kv_bytes", unit="bytes", stat="exact",
                      shape={"B": B, "T": seen}, extra={"phase": phase, "dtype_bytes": 4, "analytic": expected,
                                                        "equal": measured == expected})
        yield common | dict(measure="kv_measured", value=measured, method="sum of cache tensors' nbytes")
        yield common | dict(measure="kv_analytic", value=expected, stat="analytic", device="formula",
                            method="archs.analytic.cache_bytes")
        if measured != expected:
            raise AssertionError(f"{name} {phase}: cache holds {measured} bytes, formula says {expected}")


def plan(ctx: Context) -> list[Unit]:
    units = []
    for name in ARCHS.names():
        if ctx.wants_arch(name):
            units.append(Unit(f"analytic/{name}", lambda c, n=name: analytic_rows(n, c)))
            if ARCHS.meta(name)["scale"] == "tiny":
                units.append(Unit(f"measured/{name}", lambda c, n=name: measured_rows(n, c)))
    return units


SUITE = Suite(
    name="kv_cache",
    question="How much decode state does each architecture keep per sequence, and does the real cache hold "
             "exactly what the formula says?",
    plan=plan, docs=("000", "001", "002", "004"), description=__doc__,
)
