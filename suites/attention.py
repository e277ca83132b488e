"""Attention at document 001's width (dim 768, 12 heads of 64): MHA (12 KV heads), GQA with 4, 3 and 2 KV heads,
MQA (1) and MLA (document 004's joint-KV latent attention): parameters, FLOPs, KV-cache bytes, prefill and decode time.

Method. One layer of each (archs.components.attention.Attention with SDPA, or mla.MLA; RoPE, no bias), batch 1,
the run's dtype and device. MLA uses the mla-moe preset's sizes (document 004 gives none; DeepSeek-V2's ratios to the
head width 64: kv_lora_rank 256, rope 32, nope = v = 64, full-rank queries).
* params_total: counted from the module; extra.formula is the module's params_formula (they must agree).
* flops_fwd_per_token: the component formulas, causal prefill at each prefill T and one decode token at each context.
* kv_bytes_per_token: analytic (cache_bytes_formula at T=1) and measured (cache nbytes / T after a prefill of T
  tokens); a measured value that differs from the formula is a failed row. kv_reduction = MHA's measured bytes over
  the variant's (document 001: n_kv=3 -> 4x, 2 -> 6x, 1 -> 12x); MLA also over its own expanded per-head K and V.
* prefill: forward of x [1, T, 768] under no_grad (time_fn). decode: one new token after a cache prefilled with
  `context` tokens; every call starts from a shallow copy of that cache, so every sample times the same step.
* MLA absorbed decode is first compared with naive decode (same weights and cache); if rel err > tol its timings
  are failed rows.
"""
from __future__ import annotations

import copy

import torch

from archs import get_config
from archs.components import attention as attn_mod
from archs.components import mla as mla_mod
from archs.config import DecoderConfig, LayerSpec
from harness.measures import rate_fields, timing_fields
from harness.suite import Context, Suite, Unit
from suites.norms import rel_err, timed

DIM, HEADS = 768, 12
VARIANTS = {"mha": 12, "gqa-4kv": 4, "gqa-3kv": 3, "gqa-2kv": 2, "mqa": 1, "mla": None}   # name -> n_kv_heads
SIZES = {"quick": dict(prefill_T=[256, 512], contexts=[128, 512, 1024], kv_T=64, min_run_time=0.1),
         "standard": dict(prefill_T=[512, 1024, 2048, 4096], contexts=[512, 2048, 8192], kv_T=256, min_run_time=0.3),
         "full": dict(prefill_T=[1024, 4096, 16384], contexts=[1024, 8192, 32768], kv_T=1024, min_run_time=0.5)}
TOL = 1e-4


def config(variant: str) -> DecoderConfig:
    mla = variant == "mla"
    return DecoderConfig(vocab_size=256, dim=DIM, n_layers=1, n_heads=HEADS, ffn_dim=4 * DIM,
                         n_kv_heads=None if mla else VARIANTS[variant], pattern=(LayerSpec(mixer="mla" if mla else "attn"),),
                         mla=get_config("mla-moe").mla if mla else None)


def build(variant: str, ctx: Context):
    cfg = config(variant)
    torch.manual_seed(ctx.seed)
    module = (mla_mod.MLA if variant == "mla" else attn_mod.Attention)(cfg, cfg.pattern[0])
    return cfg, module.eval().to(ctx.device, ctx.torch_dtype), (mla_mod if variant == "mla" else attn_mod)


def prefilled(module, T: int, ctx: Context):
    cache = module.new_cache()
    with torch.no_grad():
        module(torch.randn(1, T, DIM, device=ctx.device, dtype=ctx.torch_dtype), cache)
    return cache


def static_rows(ctx: Context):
    sizes, elem = SIZES[ctx.profile], torch.empty((), dtype=ctx.torch_dtype).element_size()
    measured = {}
    for variant in VARIANTS:
        cfg, module, formulas = build(variant, ctx)
        spec, base = cfg.pattern[0], dict(case=variant, extra={"n_kv_heads": cfg.kv_heads})
        yield base | dict(measure="params", metric="params_total", value=sum(p.numel() for p in module.parameters()),
                          unit="params", stat="exact", shape={"D": DIM, "H": HEADS}, method="sum of parameter numel",
                          extra={"formula": formulas.params_formula(cfg, spec)})
        for T in sizes["prefill_T"]:
            yield base | dict(measure="prefill", metric="flops_fwd_per_token", unit="FLOP", stat="analytic",
                              value=formulas.flops_formula(cfg, spec, T, causal=True) / T, shape={"T": T}, device="formula",
                              method=f"{formulas.__name__}.flops_formula(causal=True) / T")
        for S in sizes["contexts"]:
            impls = ("naive", "absorbed") if variant == "mla" else ("",)
            for impl in impls:
                value = formulas.decode_flops_formula(cfg, spec, S, *((impl,) if impl else ()))
                yield dict(case=f"{variant}-{impl}" if impl else variant, measure="decode", metric="flops_fwd_per_token",
                           value=value, unit="FLOP", stat="analytic", shape={"T": S}, device="formula",
                           method=f"{formulas.__name__}.decode_flops_formula")
        analytic = formulas.cache_bytes_formula(cfg, spec, 1, 1, elem)
        T = sizes["kv_T"]
        measured[variant] = prefilled(module, T, ctx).nbytes() / T
        kv = dict(metric="kv_bytes_per_token", unit="bytes", shape={"B": 1, "T": T}, extra={"dtype_bytes": elem})
        yield base | kv | dict(measure="kv_analytic", value=analytic, stat="analytic", device="formula",
                               method=f"{formulas.__name__}.cache_bytes_formula(B=1, T=1)")
        row = base | kv | dict(measure="kv_measured", value=measured[variant], method="cache.nbytes() / T after prefill")
        if measured[variant] != analytic:
            row |= dict(value=None, status="failed", reason=f"cache holds {measured[variant]} B/token, formula {analytic}")
        yield row
        if variant == "mla":
            expanded = mla_mod.naive_kv_bytes_per_token(cfg, elem)
            yield base | dict(measure="kv_vs_expanded", metric="kv_reduction", value=expanded / analytic, unit="ratio",
                              stat="analytic", device="formula", method="naive_kv_bytes_per_token / cache_bytes_formula",
                              extra={"expanded_bytes_per_token": expanded, "latent_bytes_per_token": analytic})
    for variant, value in measured.items():
        yield dict(case=variant, measure="kv_vs_mha", metric="kv_reduction", value=measured["mha"] / value, unit="ratio",
                   stat="exact", shape={"B": 1, "T": SIZES[ctx.profile]["kv_T"]},
                   method="measured bytes/token of MHA's cache / of this variant's", extra={"baseline": "mha"})


def prefill_rows(variant: str, ctx: Context):
    _, module, _ = build(variant, ctx)
    for T in SIZES[ctx.profile]["prefill_T"]:
        x = torch.randn(1, T, DIM, device=ctx.device, dtype=ctx.torch_dtype)
        with torch.no_grad():
            t = timed(lambda: module(x), ctx, SIZES[ctx.profile]["min_run_time"], samples=5)
        base = dict(case=variant, measure="prefill", shape={"B": 1, "T": T}, extra={"phase": "prefill"})
        yield base | timing_fields(t, "latency_fwd_s")
        yield base | rate_fields(t, T, "tokens_per_s", "tokens/s")


def decode_rows(variant: str, ctx: Context):
    _, module, _ = build(variant, ctx)
    x1 = torch.randn(1, 1, DIM, device=ctx.device, dtype=ctx.torch_dtype)
    for S in SIZES[ctx.profile]["contexts"]:
        cache, shape = prefilled(module, S, ctx), {"B": 1, "T": S}
        step = lambda: module(x1, copy.copy(cache))  # noqa: E731 - the same step from the same cache, every call
        impls, failed = ["naive", "absorbed"] if variant == "mla" else [None], ""
        if variant == "mla":
            with torch.no_grad():
                module.attn_impl = "naive"
                ref = step()
                module.attn_impl = "absorbed"
                err = rel_err(step(), ref)
            failed = f"absorbed decode != naive decode: rel err {err:.3g} > tol {TOL:g}" if err > TOL else ""
            yield dict(case="mla-absorbed", measure="decode_equality", metric="rel_error", value=err, unit="ratio",
                       shape=shape, method="relative RMSE of one decode step's output vs attn_impl='naive'",
                       extra={"tol": TOL})
        for impl in impls:
            case = f"{variant}-{impl}" if impl else variant
            base = dict(case=case, measure="decode", shape=shape, extra={"phase": "decode"})
            if impl == "absorbed" and failed:
                yield base | dict(metric="latency_decode_s", value=None, unit="s", status="failed", reason=failed)
                continue
            if impl:
                module.attn_impl = impl
            with torch.no_grad():
                t = timed(step, ctx, SIZES[ctx.profile]["min_run_time"])
            yield base | timing_fields(t, "latency_decode_s")


def plan(ctx: Context) -> list[Unit]:
    units = [Unit("static", static_rows)]
    for v in VARIANTS:
        units += [Unit(f"prefill/{v}", lambda c, v=v: prefill_rows(v, c)),
                  Unit(f"decode/{v}", lambda c, v=v: decode_rows(v, c))]
    return units


SUITE = Suite(name="attention", plan=plan, docs=("001", "004"), description=__doc__,
              question="How much KV cache do GQA, MQA and MLA save against MHA (document 001: 4x, 6x, 12x), at what "
                       "parameter and FLOP cost, and how fast do they prefill and decode?")
