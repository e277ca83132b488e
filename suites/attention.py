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
* prefill: forward of x [1, T, 768] under no_grad (time_fn; MLA on its naive path, as DeepSeek prefills).
  decode: one new token after a cache prefilled with `context` tokens; every call starts from a shallow copy of
  that cache, so every sample times the same step.
* MLA absorbed decode is first compared with naive decode (same weights and cache): a rel_error row, and if it
  exceeds the tolerance the absorbed timings are failed rows. Otherwise both are timed in alternating rounds
  (harness.measure.fields.interleaved) and speedup mla_absorbed_vs_naive = median(naive) / median(absorbed), 95% CI.
Sizes per profile (prefill lengths, decode contexts, the prefill whose cache bytes are measured, timing budget):
SIZES.
"""
from __future__ import annotations

import copy
import functools
from dataclasses import dataclass

import torch

from archs import get_config
from archs.components import attention as attn_mod
from archs.components import mla as mla_mod
from archs.config import DecoderConfig, LayerSpec
from harness.suite import Context, PerProfile, Suite, Unit
from harness.report.headline import Headline
from harness.measure.fields import rate_fields, speedup_fields, timing_fields
from harness.measure.gates import error_row, rel_err
from harness.measure.timing import interleaved, timed

DIM, HEADS = 768, 12
VARIANTS = {"mha": 12, "gqa-4kv": 4, "gqa-3kv": 3, "gqa-2kv": 2, "mqa": 1, "mla": None}   # name -> n_kv_heads
TOL = {torch.float32: 1e-4, torch.float64: 1e-10}           # other dtypes (bf16, fp16): 2e-2


@dataclass(frozen=True)
class Sizes:
    prefill_T: tuple[int, ...]          # prefill lengths (timed, and FLOPs per token)
    contexts: tuple[int, ...]           # cache lengths a decode step reads
    kv_T: int                           # prefill whose cache bytes are measured
    min_run_time: float                 # seconds per timing


SIZES = PerProfile(
    smoke=Sizes(prefill_T=(16,), contexts=(8, 16), kv_T=8, min_run_time=0.002),
    quick=Sizes(prefill_T=(256, 512), contexts=(128, 512, 1024), kv_T=64, min_run_time=0.1),
    standard=Sizes(prefill_T=(512, 1024, 2048, 4096), contexts=(512, 2048, 8192), kv_T=256, min_run_time=0.3),
    full=Sizes(prefill_T=(1024, 4096, 16384), contexts=(1024, 8192, 32768), kv_T=1024, min_run_time=0.5))


def config(variant: str) -> DecoderConfig:
    mla = variant == "mla"
    return DecoderConfig(vocab_size=256, dim=DIM, n_layers=1, n_heads=HEADS, ffn_dim=4 * DIM,
                         n_kv_heads=None if mla else VARIANTS[variant],
                         pattern=(LayerSpec(mixer="mla" if mla else "attention"),),
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
    measured, T = {}, sizes.kv_T
    for variant in VARIANTS:
        cfg, module, formulas = build(variant, ctx)
        spec, name = cfg.pattern[0], formulas.__name__.rsplit(".", 1)[-1]
        analytic = dict(stat="analytic", device="formula")
        yield dict(case=variant, measure="params", metric="params_total", unit="params", stat="exact",
                   value=sum(p.numel() for p in module.parameters()), shape={"D": DIM, "H": HEADS},
                   method="sum of parameter numel",
                   extra={"formula": formulas.params_formula(cfg, spec), "n_kv_heads": cfg.kv_heads})
        for S in sizes.prefill_T:
            yield analytic | dict(case=variant, measure="prefill", metric="flops_fwd_per_token", unit="FLOP",
                                  value=formulas.flops_formula(cfg, spec, S, causal=True) / S, shape={"T": S},
                                  method=f"{name}.flops_formula(causal=True) / T")
        for impl in ("naive", "absorbed") if variant == "mla" else ("",):
            for S in sizes.contexts:
                yield analytic | dict(case=f"{variant}-{impl}" if impl else variant, measure="decode",
                                      metric="flops_fwd_per_token", unit="FLOP", shape={"T": S},
                                      value=formulas.decode_flops_formula(cfg, spec, S, *((impl,) if impl else ())),
                                      method=f"{name}.decode_flops_formula")
        formula = formulas.cache_bytes_formula(cfg, spec, 1, 1, elem)
        measured[variant] = prefilled(module, T, ctx).nbytes() / T
        kv = dict(case=variant, metric="kv_bytes_per_token", unit="bytes", shape={"B": 1, "T": T},
                  extra={"dtype_bytes": elem, "n_kv_heads": cfg.kv_heads})
        yield kv | analytic | dict(measure="kv_analytic", value=formula, method=f"{name}.cache_bytes_formula(B=1, T=1)")
        row = kv | dict(measure="kv_measured", value=measured[variant], method="cache.nbytes() / T after a prefill")
        if measured[variant] != formula:
            row |= dict(value=None, status="failed",
                        reason=f"cache holds {measured[variant]} B/token, the formula says {formula}")
        yield row
        if variant == "mla":
            expanded = mla_mod.naive_kv_bytes_per_token(cfg, elem)
            yield analytic | dict(case=variant, measure="kv_vs_expanded", metric="kv_reduction", unit="ratio",
                                  value=expanded / formula, method="naive_kv_bytes_per_token / cache_bytes_formula",
                                  extra={"expanded_bytes_per_token": expanded, "latent_bytes_per_token": formula})
    for variant, value in measured.items():
        yield dict(case=variant, measure="kv_vs_mha", metric="kv_reduction", value=measured["mha"] / value,
                   unit="ratio", stat="exact", shape={"B": 1, "T": T}, extra={"baseline": "mha"},
                   method="measured bytes/token of MHA's cache / of this variant's")


def prefill_rows(variant: str, ctx: Context):
    _, module, _ = build(variant, ctx)
    sizes = SIZES[ctx.profile]
    for T in sizes.prefill_T:
        x = torch.randn(1, T, DIM, device=ctx.device, dtype=ctx.torch_dtype)
        with torch.no_grad():
            t = timed(lambda: module(x), ctx, sizes.min_run_time, samples=5)
        base = dict(case=variant, measure="prefill", shape={"B": 1, "T": T}, extra={"phase": "prefill"})
        yield base | timing_fields(t, "latency_fwd_s")
        yield base | rate_fields(t, T, "tokens_per_s", "tokens/s")


def decode_rows(variant: str, ctx: Context):
    _, module, _ = build(variant, ctx)
    x1, sizes = torch.randn(1, 1, DIM, device=ctx.device, dtype=ctx.torch_dtype), SIZES[ctx.profile]
    for S in sizes.contexts:
        cache, shape = prefilled(module, S, ctx), {"B": 1, "T": S}

        def step(impl: str | None = None):       # the same step from the same cache, every call
            if impl:
                module.attn_impl = impl
            return module(x1, copy.copy(cache))
        fns = {variant: step}
        if variant == "mla":
            fns = {f"mla-{impl}": functools.partial(step, impl) for impl in ("naive", "absorbed")}
            with torch.no_grad():
                err = rel_err(fns["mla-absorbed"](), fns["mla-naive"]())
            gate = error_row(err, TOL.get(ctx.torch_dtype, 2e-2), "absorbed decode != naive decode",
                             case="mla-absorbed", measure="decode_equality", shape=shape,
                             method="relative RMSE of one decode step's output vs attn_impl='naive'")
            yield gate
            if gate["extra"]["failed"]:
                yield dict(case="mla-absorbed", measure="decode", metric="latency_decode_s", value=None, unit="s",
                           shape=shape, status="failed", reason=gate["extra"]["failed"])
                del fns["mla-absorbed"]
        with torch.no_grad():
            times = interleaved(fns, ctx, sizes.min_run_time)
        for case, t in times.items():
            yield dict(case=case, measure="decode", shape=shape, extra={"phase": "decode"}) | timing_fields(
                t, "latency_decode_s", extra={"phase": "decode"})
        if len(times) == 2:
            yield speedup_fields(times["mla-naive"], times["mla-absorbed"], "naive decode step", "absorbed",
                                 ctx.seed, case="mla_absorbed_vs_naive", measure="decode", shape=shape)


def plan(ctx: Context) -> list[Unit]:
    units = [Unit("static", static_rows)]
    for v in VARIANTS:
        units += [Unit(f"prefill/{v}", lambda c, v=v: prefill_rows(v, c)),
                  Unit(f"decode/{v}", lambda c, v=v: decode_rows(v, c))]
    return units


HEADLINE = Headline(
    title="KV-cache bytes of MHA ÷ each variant's, measured (document 001: 4×, 6×, 12×; 000 and 001: at least 2×)",
    kind="bars", metric="kv_reduction", x="case", where={"measure": "kv_vs_mha"}, y_label="MHA's cache ÷ this one's",
    claim="001-gqa-measured-reduction")

SUITE = Suite(name="attention", plan=plan, sizes=SIZES, docs=("001", "004"), description=__doc__,
              headline=HEADLINE,
              question="How much KV cache do GQA, MQA and MLA save against MHA (document 001: 4x, 6x, 12x), at what "
                       "parameter and FLOP cost, and how fast do they prefill and decode?")
