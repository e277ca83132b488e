"""Parameters and FLOPs of every preset, each counted two or three independent ways.

Parameters: the module tree (built on the meta device: nothing is allocated) and the analytic formulas beside
each component. FLOPs per token: the analytic Megatron-convention count (causal and non-causal columns),
torch's FlopCounterMode (on meta for full presets, so 405B costs nothing), and fvcore on the tiny presets.
The counters see full T² attention, so they are compared with the non-causal analytic column.
FLOPs are counted at T=64 for the tiny presets and at the profile's lengths (SIZES) for the others.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace

import torch

from archs import analytic, get_config
from archs.components.deltanet import flops_terms
from archs.config import DecoderConfig
from harness.measure.counting import count_params, fvcore_flops, torch_flops
from harness.suite import Context, PerProfile, Suite, Unit
from harness.report.headline import Headline
from suites.per_arch import ArchUnits, analysed_presets, arch_plan, is_tiny, provenance


@dataclass(frozen=True)
class Sizes:
    T: tuple[int, ...]                  # sequence lengths of the FLOP counts of full-size presets


SIZES = PerProfile(smoke=Sizes(T=(256,)), quick=Sizes(T=(2048,)), standard=Sizes(T=(2048, 8192)),
                   full=Sizes(T=(2048, 8192, 32768)))
CONVENTIONS = {"with_embeddings": "params_total", "without_input_embedding": "params_without_input_embedding",
               "non_embedding": "params_non_embedding"}


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def param_rows(name: str, ctx: Context):
    cfg = get_config(name)
    rss0, t0 = _rss_bytes(), time.perf_counter()
    with torch.device("meta"):
        model = cfg.build()
    counted = count_params(model)
    elapsed, rss = time.perf_counter() - t0, _rss_bytes() - rss0
    formula = analytic.params(cfg)
    base = dict(case=name, arch=name, measure="params", unit="params", device="meta", dtype="",
                config=provenance(cfg))
    for convention, metric in CONVENTIONS.items():
        yield base | dict(metric=metric, value=counted.conventions[convention], stat="exact",
                          method="module tree on meta, each tensor once")
    yield base | dict(metric="params_total", value=formula.total, stat="analytic", measure="params_formula",
                      method="sum of component formulas")
    yield base | dict(metric="params_active", value=counted.active, stat="exact",
                      method="module tree: dense + router + shared + routed·top_k/E")
    yield base | dict(metric="params_active", value=formula.active, stat="analytic", measure="params_formula",
                      method="sum of component formulas")
    for kind, n in sorted(counted.by_kind.items()):
        yield base | dict(metric=f"params_{kind}", value=n, stat="exact", method="module tree on meta",
                          extra={"kind": kind})
    meta = dict(case=name, arch=name, measure="meta_analysis", stat="exact", device="meta", dtype="",
                config=base["config"])
    yield meta | dict(metric="meta_analysis_s", value=elapsed, unit="s", method="time.perf_counter around build+count")
    yield meta | dict(metric="meta_analysis_rss_bytes", value=max(rss, 0), unit="bytes",
                      method="VmRSS after - before (/proc/self/statm)")


def _force_math_attention(model) -> None:
    """SDPA on meta decomposes into bmm's anyway; the explicit path keeps every counter's view identical."""
    for module in model.modules():
        if hasattr(module, "impl") and module.impl == "sdpa":
            module.impl = "math"


def as_executed(cfg):
    """The config whose non-causal count is what dense-mask kernels execute: a sliding window saves FLOPs
    only in kernels that skip masked blocks, which SDPA with a boolean mask (and every counter) does not."""
    if not isinstance(cfg, DecoderConfig) or all(s.window is None for s in cfg.pattern):
        return cfg, ""
    plain = replace(cfg, pattern=tuple(replace(s, window=None) for s in cfg.pattern))
    return plain, "windowed layers compared at full T² (the dense-mask kernel computes every score)"


def uncounted_by_torch(cfg, T: int) -> tuple[int, str]:
    """FLOPs the formula counts that torch's counter has no rule for: Gated DeltaNet's triangular solve."""
    if not isinstance(cfg, DecoderConfig):
        return 0, ""
    solve = sum(flops_terms(cfg, T)["solve"] for s in cfg.layers if s.mixer == "gdn")
    return solve, (f"excludes {solve / T:.4g} FLOP/token of Gated DeltaNet triangular solves "
                   "(torch's counter has no rule for solve_triangular)") if solve else ""


def flop_rows(name: str, T: int, ctx: Context):
    cfg = get_config(name)
    tiny = is_tiny(name)
    base = dict(case=name, arch=name, metric="flops_fwd_per_token", unit="FLOP", shape={"T": T}, dtype="",
                config=provenance(cfg))
    causal = sum(analytic.flops_forward(cfg, T, causal=True).values())
    executed, note = as_executed(cfg)
    full = sum(analytic.flops_forward(executed, T, causal=False).values())
    yield base | dict(measure="flops_analytic_causal", value=causal / T, stat="analytic", device="formula",
                      method="Megatron: 2/MAC, matmuls only, causal T² halved",
                      extra={"parts": analytic.flops_forward(cfg, T, causal=True)})
    yield base | dict(measure="flops_analytic_noncausal", value=full / T, stat="analytic", device="formula",
                      method="2/MAC, matmuls only, full T²")
    yield base | dict(metric="flops_train_per_token", measure="flops_analytic_causal", stat="analytic",
                      value=analytic.flops_per_token(cfg, T, training=True), device="formula",
                      method="3 × forward incl. MTP heads (Megatron)")
    device = "cpu" if tiny else "meta"
    with torch.device(device):
        model = cfg.build().eval()
    _force_math_attention(model)
    idx = torch.zeros(1, T, dtype=torch.long, device=device)
    with torch.no_grad():
        counted = torch_flops(model, idx)
    yield base | dict(measure="flops_torch", value=counted.total / T, stat="exact", device=device,
                      method=f"torch FlopCounterMode on {device}", extra={"by_op": counted.by_op})
    solve, solve_note = uncounted_by_torch(executed, T)
    both = full - solve
    yield base | dict(metric="flops_rel_diff", unit="ratio", measure="flops_torch_vs_analytic",
                      value=(counted.total - both) / both, stat="exact", device=device,
                      method="(torch counter - analytic non-causal) / analytic, on what both count",
                      extra={"note": "; ".join(filter(None, (note, solve_note)))})
    if tiny:
        try:
            fv = fvcore_flops(model, idx)
        except ModuleNotFoundError as err:
            yield base | dict(measure="flops_fvcore", value=None, status="untestable", reason=str(err))
            return
        yield base | dict(measure="flops_fvcore", value=fv.total / T, stat="exact", device="cpu",
                          method=fv.method, extra={"unsupported_ops": fv.unsupported, "by_op": fv.by_op})
        yield base | dict(metric="flops_rel_diff", unit="ratio", measure="flops_fvcore_vs_analytic",
                          value=(fv.total - full) / full, stat="exact", device="cpu",
                          method="(fvcore×2 - analytic non-causal) / analytic non-causal",
                          extra={"note": "; ".join(filter(None, (note, skipped_note(fv))))})


MATMUL_LIKE = ("solve", "scaled_dot_product", "baddbmm", "addbmm", "einsum", "conv", "bmm")


def skipped_note(fv) -> str:
    """fvcore counts only ops it has handles for; name the matmul-like ones it skipped (from its own
    unsupported list; elementwise ops count 0 in every convention here)."""
    skipped = sorted(op.removeprefix("aten::") for op in fv.unsupported if any(m in op for m in MATMUL_LIKE))
    return f"fvcore has no handle for {', '.join(skipped)}" if skipped else ""


def flop_lengths(name: str, ctx: Context) -> dict[str, int]:
    """Tiny presets are counted at T=64 (fvcore runs them for real); the others at the profile's lengths."""
    return {f"T{T}": T for T in ((64,) if is_tiny(name) else SIZES[ctx.profile].T)}


def plan(ctx: Context) -> list[Unit]:
    return arch_plan(ctx, ArchUnits("params", param_rows), ArchUnits("flops", flop_rows, points=flop_lengths))


HEADLINE = Headline(
    title="Parameters by component, per architecture (full-size presets, counted on meta)",
    kind="stacked", metric="params_*", x="arch", series="extra.kind",
    where={"arch": analysed_presets(), "extra.kind": "*", "measure": "params"},
    y_label="parameters")

SUITE = Suite(
    headline=HEADLINE,
    name="params_flops",
    question="How many parameters (total, active, per component) and FLOPs per token does each architecture "
             "have, and do three independent counters agree?",
    plan=plan, sizes=SIZES, docs=("000", "001", "002", "003", "004"),
    description=__doc__,
)
