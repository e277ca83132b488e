"""Feed-forward blocks at document 001's width (dim 768): SwiGLU vs GELU vs ReLU² at matched parameters, and a
dense SwiGLU vs an 8-expert top-2 MoE with the same active FFN parameters (documents 000 and 004).

Method. Matched parameters: every dense block holds the parameters of a two-matrix MLP of hidden width 4·768
(archs.components.mlp.matched_hidden: GELU and ReLU² 3072, SwiGLU 2048), so equal matmul FLOPs per token.
MoE: 8 SwiGLU experts of width 2048/2 = 1024, top-2, softmax router, no shared expert: a token runs two experts,
i.e. the dense SwiGLU's 2048 hidden units (plus a 768x8 router), while the layer holds 4x its parameters.
Rows: params_total / params_active (counted from the module; formulas in extra), flops_fwd (formula at the
row's tokens), latency of forward (no_grad) and forward+backward (autograd.grad w.r.t. input and weights) of x
[tokens, 768], all four blocks of a pass timed in alternating rounds (harness.measure.fields.interleaved); achieved FLOP/s
and its fraction of this machine's matmul peak; speedup rows median(baseline) / median(variant) with 95% bootstrap
CIs in q1/q3 (swiglu_vs_gelu, relu2_vs_gelu, moe_vs_dense; > 1 means the variant is faster).
Router overhead: the router alone timed (case moe_router), and moe_overhead =
median(MoE) − median(dense SwiGLU of the same active width): routing, sorting, gathering and the expert loop.
Token counts and timing budget per profile: SIZES.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from archs.components import moe as moe_mod
from archs.components.mlp import MLP, matched_hidden, mlp_flops, mlp_params
from archs.config import DecoderConfig, MoEConfig
from harness.suite import Context, PerProfile, Suite, Unit
from harness.report.headline import Headline
from harness.measure.fields import machine_peaks, rate_fields, roofline_fields, speedup_fields, timing_fields
from harness.measure.timing import interleaved, pass_fn, timed
from suites.norms import PASSES

DIM, HIDDEN_2MAT, EXPERTS, TOP_K = 768, 4 * 768, 8, 2
DENSE = {kind: matched_hidden(DIM, HIDDEN_2MAT, kind) for kind in ("swiglu", "gelu", "relu2")}
MOE_CFG = DecoderConfig(vocab_size=256, dim=DIM, n_layers=1, n_heads=12, ffn_dim=DENSE["swiglu"],
                        moe=MoEConfig(n_experts=EXPERTS, top_k=TOP_K, expert_dim=DENSE["swiglu"] // TOP_K))
SPEEDUPS = {"swiglu_vs_gelu": ("gelu", "swiglu"), "relu2_vs_gelu": ("gelu", "relu2"), "moe_vs_dense": ("swiglu", "moe")}


@dataclass(frozen=True)
class Sizes:
    tokens: tuple[int, ...]             # rows of x [tokens, 768]
    min_run_time: float                 # seconds per timing


SIZES = PerProfile(smoke=Sizes(tokens=(8,), min_run_time=0.002), quick=Sizes(tokens=(256,), min_run_time=0.1),
                   standard=Sizes(tokens=(2048, 8192), min_run_time=0.3),
                   full=Sizes(tokens=(2048, 8192, 32768), min_run_time=0.5))


def build(case: str, ctx: Context):
    torch.manual_seed(ctx.seed)
    module = moe_mod.MoE(MOE_CFG) if case == "moe" else MLP(DIM, DENSE[case], case)
    return module.to(ctx.device, ctx.torch_dtype)


def counts(case: str) -> dict[str, int]:
    """Analytic total / active parameters and forward FLOPs per token."""
    if case == "moe":
        return dict(total=moe_mod.params_formula(MOE_CFG), active=moe_mod.active_params_formula(MOE_CFG),
                    flops=moe_mod.flops_formula(MOE_CFG, None, 1))
    n = mlp_params(DIM, DENSE[case], case)
    return dict(total=n, active=n, flops=mlp_flops(DIM, DENSE[case], case, 1))


def params_rows(ctx: Context):
    for case in (*DENSE, "moe"):
        c, module = counts(case), build(case, ctx)
        hidden = DENSE.get(case, MOE_CFG.moe.expert_dim)
        base = dict(case=case, measure="params", unit="params", stat="exact", shape={"D": DIM, "hidden": hidden},
                    extra={"formula_total": c["total"], "formula_active": c["active"]})
        yield base | dict(metric="params_total", value=sum(p.numel() for p in module.parameters()),
                          method="sum of parameter numel")
        yield base | dict(metric="params_active", value=c["active"], stat="analytic", device="formula",
                          method="mlp_params, or moe.active_params_formula (router + top_k experts)")


def time_rows(N: int, ctx: Context):
    sizes, peaks, shape = SIZES[ctx.profile], machine_peaks(ctx.device, ctx.threads), {"T": N, "D": DIM}
    torch.manual_seed(ctx.seed)
    x, dy = (torch.randn(N, DIM, device=ctx.device, dtype=ctx.torch_dtype) for _ in range(2))
    modules, times = {case: build(case, ctx) for case in (*DENSE, "moe")}, {}
    for case in modules:
        yield dict(case=case, measure="forward", metric="flops_fwd", value=N * counts(case)["flops"], unit="FLOP",
                   stat="analytic", device="formula", shape=shape,
                   method="mlp_flops / moe.flops_formula (router included)")
    for measure, metric in PASSES.items():
        backward = measure != "forward"
        fns = {case: pass_fn(m, x, dy, backward) for case, m in modules.items()}
        for case, t in interleaved(fns, ctx, sizes.min_run_time).items():
            times[case, measure], work = t, N * counts(case)["flops"] * (3 if backward else 1)
            base = dict(case=case, measure=measure, shape=shape)
            load = {"tokens_per_expert": modules[case].last_counts.tolist()} if case == "moe" else {}
            yield base | timing_fields(t, metric, extra=load)
            yield base | rate_fields(t, work, "flops_per_s", "FLOP/s")
            yield base | roofline_fields(work / t.median, peaks.flops_per_s, "FLOP", measure=measure, shape=shape)
    for case, (slow, fast) in SPEEDUPS.items():
        for measure in PASSES:
            a, b = times[slow, measure], times[fast, measure]
            yield speedup_fields(a, b, slow, fast, ctx.seed, case=case, measure=measure, shape=shape)
    router = modules["moe"].router
    with torch.no_grad():
        t = timed(lambda: router(x), ctx, sizes.min_run_time)
    moe_t, dense_t = times["moe", "forward"].median, times["swiglu", "forward"].median
    yield dict(case="moe_router", measure="forward", shape=shape) | timing_fields(
        t, "latency_fwd_s", extra={"fraction_of_moe": t.median / moe_t})
    yield dict(case="moe_overhead", measure="forward", metric="latency_fwd_s", value=moe_t - dense_t, unit="s",
               stat="median", shape=shape,
               method="median(MoE forward) − median(dense SwiGLU forward, same active width)",
               extra={"moe_s": moe_t, "dense_s": dense_t, "router_s": t.median})


def plan(ctx: Context) -> list[Unit]:
    return [Unit("params", params_rows)] + [Unit(f"time/T{N}", lambda c, N=N: time_rows(N, c))
                                            for N in SIZES[ctx.profile].tokens]


HEADLINE = Headline(
    title="Speed-up of each FFN over GELU (and of the MoE over its dense block), forward and forward+backward",
    kind="bars", metric="speedup", x="case", series="measure", line=1.0, reference="as fast as the baseline",
    y_label="baseline time ÷ this one's")

SUITE = Suite(name="ffn", plan=plan, sizes=SIZES, docs=("000", "001", "004"), description=__doc__,
              headline=HEADLINE,
              question="At matched parameters, how do SwiGLU, GELU and ReLU² compare in cost, and what does an "
                       "8-expert top-2 MoE with the same active parameters cost over the dense block?")
