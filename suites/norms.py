"""Normalization: is RMSNorm faster than LayerNorm (document 001: "10-15% faster"), and does the answer depend on
the implementation (eager module, torch's kernel, torch.compile, a fused Triton kernel)?

Method. For each (width D, tokens T) of the profile's grid (SIZES), x [T, D] in the run dtype on ctx.device; forward
under no_grad and forward+backward (torch.autograd.grad of y w.r.t. x and the weights for a fixed dy). All variants
of a pass are timed together by `interleaved`: 4 alternating rounds of harness.measure.timing.time_fn each, samples pooled,
so load drifting on a shared machine hits every variant alike. Variants:
  rmsnorm              archs.components.norms.RMSNorm, eager: the module the presets use (five elementwise ops)
  layernorm_composite  archs.components.norms.CompositeLayerNorm: LayerNorm written as RMSNorm is (eager ops)
  layernorm            torch.nn.LayerNorm (one fused ATen kernel)
  torch_rmsnorm        torch.nn.RMSNorm
  *_compiled     the same modules under torch.compile(dynamic=False) (standard/full; smoke and quick skip compiling)
  *_triton             archs.ops.norm_triton's fused RMSNorm and LayerNorm (one kernel source), each first checked
                       against its eager reference (relative RMSE of y, dx and the parameters' gradients at 64x768;
                       in a TRITON_INTERPRET=1 subprocess when there is no CUDA), timed only on CUDA and if it passes.
Bytes are the minimum traffic (each activation read or written once, weights once: forward 2·T·D + P elements,
backward 3·T·D + 2·P); bandwidth = bytes / median time, and its fraction of this machine's measured copy bandwidth.
speedup rows: median(LayerNorm variant) / median(RMSNorm variant) with a 95% bootstrap CI (ratio_ci) in q1/q3,
one case per implementation level (SPEEDUPS; `extra.level`, `extra.equal_effort`). The idea is judged at equal
effort (eager composites of both in every profile, compiled both in standard/full); the library-vs-library and
unequal pairings are kept as findings about the implementations.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from archs.components import norm_params
from archs.components.norms import CompositeLayerNorm, RMSNorm
from archs.ops import norm_triton
from harness.errors import one_line
from harness.measure.fields import machine_peaks, rate_fields, roofline_fields, speedup_fields, timing_fields
from harness.measure.gates import error_row, rel_err
from harness.measure.timing import interleaved, pass_fn
from harness.report.headline import Headline
from harness.suite import Context, PerProfile, Suite, Unit, grid, shape_label

EPS = 1e-6
VARIANTS = {"rmsnorm": lambda d: RMSNorm(d, EPS), "layernorm_composite": lambda d: CompositeLayerNorm(d, EPS),
            "layernorm": lambda d: nn.LayerNorm(d, eps=EPS), "torch_rmsnorm": lambda d: nn.RMSNorm(d, eps=EPS)}


@dataclass(frozen=True)
class Pairing:
    """LayerNorm time / RMSNorm time for two variants at one implementation level. `equal_effort` pairs judge the
    idea; the others are findings about the implementations (a library's fused kernel against eager ops)."""
    layernorm: str
    rmsnorm: str
    level: str
    equal_effort: bool


SPEEDUPS = {
    "rmsnorm_vs_layernorm_eager": Pairing("layernorm_composite", "rmsnorm", "eager composites of both", True),
    "rmsnorm_vs_layernorm_compiled": Pairing("layernorm_compiled", "rmsnorm_compiled", "torch.compile of both", True),
    "rmsnorm_vs_layernorm_triton": Pairing("layernorm_triton", "rmsnorm_triton", "fused Triton kernels of both "
                                           "(one kernel source, archs.ops.norm_triton)", True),
    "rmsnorm_vs_layernorm_library": Pairing("layernorm", "torch_rmsnorm", "torch.nn modules of both (the library "
                                            "kernels users get)", False),
    "rmsnorm_eager_vs_layernorm_library": Pairing("layernorm", "rmsnorm", "unequal: eager RMSNorm vs torch's fused "
                                                  "LayerNorm", False),
    "rmsnorm_triton_vs_layernorm_library": Pairing("layernorm", "rmsnorm_triton", "unequal: fused Triton RMSNorm vs "
                                                   "torch's LayerNorm", False),
}


@dataclass(frozen=True)
class Sizes:
    D: tuple[int, ...]                  # widths
    T: tuple[int, ...]                  # tokens
    compile: bool                       # also time the torch.compile'd modules
    min_run_time: float                 # seconds per timing (time_fn)


SIZES = PerProfile(smoke=Sizes(D=(64,), T=(32,), compile=False, min_run_time=0.002),
                   quick=Sizes(D=(768, 2048, 4096), T=(256, 1024), compile=False, min_run_time=0.1),
                   standard=Sizes(D=(768, 2048, 4096, 8192), T=(1024, 8192), compile=True, min_run_time=0.3),
                   full=Sizes(D=(768, 1024, 2048, 4096, 8192), T=(1024, 8192, 32768), compile=True,
                              min_run_time=0.5))
PASSES = {"forward": "latency_fwd_s", "forward_backward": "latency_fwdbwd_s"}
CHECK_SHAPE, TOL = (64, 768), {torch.float32: 1e-4}


def min_bytes(T: int, D: int, P: int, elem: int, backward: bool) -> int:
    return (2 * T * D + P) * elem + ((3 * T * D + 2 * P) * elem if backward else 0)


@dataclass(frozen=True)
class Fused:
    """A Triton kernel module of archs.ops.norm_triton and the eager module it must equal before it is timed."""
    kernel: str
    reference: Callable[[int], nn.Module]
    name: str


FUSED = {"rmsnorm_triton": Fused("TritonRMSNorm", lambda d: RMSNorm(d, EPS), "Triton RMSNorm"),
         "layernorm_triton": Fused("TritonLayerNorm", lambda d: nn.LayerNorm(d, eps=EPS), "Triton LayerNorm")}
_SCRIPT = ("import sys, torch\nfrom suites.norms import fused_outputs\nc = torch.load(sys.argv[1])\n"
           "torch.save(fused_outputs(c['kernel'], c['state'], c['x'], c['dy']), sys.argv[2])\n")


def fused_outputs(kernel: str, state: dict, x: torch.Tensor, dy: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """(y, dx, grads of the parameters) of Triton module `kernel` holding `state`, in this process."""
    ok, how = norm_triton.available()
    if not ok:
        raise RuntimeError(how)
    module = getattr(norm_triton, kernel)(x.shape[-1], EPS).to(x.device, x.dtype)
    module.load_state_dict(state)
    xg = x.clone().requires_grad_(True)
    y = module(xg)
    y.backward(dy)
    return (y.detach(), xg.grad, *(p.grad for p in module.parameters()))


def _triton_outputs(kernel: str, state: dict, x, dy):
    """`fused_outputs` in-process for CUDA tensors (or if this process interprets Triton), else in a fresh
    TRITON_INTERPRET=1 subprocess (the interpreter is chosen when the kernel module is imported)."""
    if x.is_cuda or norm_triton.INTERPRETED:
        return fused_outputs(kernel, state, x, dy)
    with tempfile.TemporaryDirectory() as tmp:
        torch.save({"kernel": kernel, "state": {k: v.cpu() for k, v in state.items()}, "x": x.cpu(),
                    "dy": dy.cpu()}, f"{tmp}/in.pt")
        done = subprocess.run([sys.executable, "-c", _SCRIPT, f"{tmp}/in.pt", f"{tmp}/out.pt"], capture_output=True,
                              text=True, env=os.environ | {"TRITON_INTERPRET": "1"}, timeout=300,
                              cwd=Path(__file__).resolve().parents[1])
        if done.returncode:
            raise RuntimeError((done.stderr.strip().splitlines() or ["interpreter subprocess failed"])[-1])
        return tuple(t.to(x.device) for t in torch.load(f"{tmp}/out.pt"))


@lru_cache(maxsize=None)
def triton_gate(case: str, device: str, dtype: torch.dtype) -> dict:
    """The kernel's rel_error row against its eager reference (max relative RMSE of y, dx and the parameters'
    gradients), or an untestable row."""
    fused, g = FUSED[case], torch.Generator().manual_seed(0)
    x, dy = (torch.randn(CHECK_SHAPE, generator=g).to(device, dtype) for _ in range(2))
    ref = fused.reference(CHECK_SHAPE[1]).to(device, dtype)
    with torch.no_grad():                   # parameters away from their init, so a kernel ignoring one fails
        for p in ref.parameters():
            p.add_(0.5 * torch.randn(p.shape, generator=g).to(device, dtype))
    xr = x.clone().requires_grad_(True)
    y_ref = ref(xr)
    refs = (y_ref.detach(), *torch.autograd.grad(y_ref, (xr, *ref.parameters()), dy))
    base = dict(case=case, measure="correctness", shape=dict(zip("TD", CHECK_SHAPE)),
                method=f"max relative RMSE of y, dx and parameter gradients vs {type(ref).__name__} "
                       f"(float64 difference)")
    try:
        out = _triton_outputs(fused.kernel, ref.state_dict(), x, dy)
    except Exception as err:  # noqa: BLE001 - no triton, or the interpreter failed: untestable here
        return base | dict(metric="rel_error", value=None, unit="ratio", status="untestable",
                           reason=f"{fused.name} cannot run: {one_line(err)}", extra={"failed": "untestable"})
    return error_row(max(rel_err(a, b) for a, b in zip(out, refs)), TOL.get(dtype, 1e-2),
                     f"{fused.name} != {type(ref).__name__}", **base)


def triton_rows(ctx: Context):
    for case in FUSED:
        gate = triton_gate(case, ctx.device, ctx.torch_dtype)
        yield gate
        speed = dict(case=case, measure="forward", metric="latency_fwd_s", value=None, unit="s", shape=gate["shape"])
        if gate["status"] == "untestable":
            yield speed | dict(status="untestable", reason=gate["reason"])
        elif gate["extra"]["failed"]:
            yield speed | dict(status="failed", reason=gate["extra"]["failed"])
        elif not ctx.device.startswith("cuda"):
            yield speed | dict(status="untestable",
                               reason="Triton runs only under its interpreter without CUDA: not a speed measurement")


def shape_rows(D: int, T: int, ctx: Context):
    sizes, dtype, dev = SIZES[ctx.profile], ctx.torch_dtype, ctx.device
    torch.manual_seed(ctx.seed)
    x, dy = torch.randn(T, D, device=dev, dtype=dtype), torch.randn(T, D, device=dev, dtype=dtype)
    peaks, shape = machine_peaks(dev, ctx.threads), {"T": T, "D": D}
    modules = {name: make(D).to(dev, dtype) for name, make in VARIANTS.items()}
    if sizes.compile:
        modules |= {f"{n}_compiled": torch.compile(m, dynamic=False) for n, m in list(modules.items())}
    for case, fused in FUSED.items():
        if dev.startswith("cuda") and not triton_gate(case, dev, dtype)["extra"]["failed"]:
            modules[case] = getattr(norm_triton, fused.kernel)(D, EPS).to(dev, dtype)
    times = {}
    for measure, metric in PASSES.items():
        fns, backward = {}, measure != "forward"
        for name, module in modules.items():
            try:                                 # torch.compile failing here is a finding, not a crash
                (fn := pass_fn(module, x, dy, backward))()
                fns[name] = fn
            except Exception as err:  # noqa: BLE001
                yield dict(case=name, measure=measure, metric=metric, value=None, unit="s", shape=shape,
                           status="untestable", reason=one_line(err))
        for name, t in interleaved(fns, ctx, sizes.min_run_time).items():
            times[name, measure], base = t, dict(case=name, measure=measure, shape=shape)
            moved = min_bytes(T, D, sum(p.numel() for p in modules[name].parameters()), x.element_size(), backward)
            yield base | timing_fields(t, metric, extra={"bytes_min": moved})
            yield base | rate_fields(t, moved, "bandwidth_bytes_per_s", "bytes/s")
            yield base | roofline_fields(moved / t.median, peaks.bytes_per_s, "bytes", measure=measure, shape=shape)
    for case, pair in SPEEDUPS.items():
        for measure in PASSES:
            if (pair.layernorm, measure) in times and (pair.rmsnorm, measure) in times:
                yield speedup_fields(times[pair.layernorm, measure], times[pair.rmsnorm, measure], pair.layernorm,
                                     pair.rmsnorm, ctx.seed, case=case, measure=measure, shape=shape,
                                     extra={"level": pair.level, "equal_effort": pair.equal_effort})


def params_rows(ctx: Context):
    for D in SIZES[ctx.profile].D:
        for name, kind in (("rmsnorm", "rms"), ("layernorm", "layer")):
            counted = sum(p.numel() for p in VARIANTS[name](D).parameters())
            yield dict(case=name, measure="params", metric="params_total", value=counted, unit="params", stat="exact",
                       shape={"D": D}, method="sum of parameter numel", extra={"formula": norm_params(kind, D)})


def plan(ctx: Context) -> list[Unit]:
    sizes = SIZES[ctx.profile]
    units = [Unit("params", params_rows), Unit("triton_check", triton_rows)]
    if not sizes.compile:
        skipped = f"{ctx.profile} profile skips torch.compile (compile time ~20 s per shape)"
        units.append(Unit("compile", lambda c: (dict(case=f"{n}_compiled", measure="forward", metric="latency_fwd_s",
                                                     value=None, unit="s", status="untestable", reason=skipped)
                                                for n in VARIANTS)))
    for s in grid(D=sizes.D, T=sizes.T):
        units.append(Unit(shape_label(s), lambda c, s=s: shape_rows(s["D"], s["T"], c)))
    return units


HEADLINE = Headline(
    title="Forward: LayerNorm time ÷ RMSNorm time by implementation level: equal effort (eager composites; compiled "
          "and fused Triton where run) beside library-vs-library and unequal pairings, against 001's 10–15% band",
    kind="lines", metric="speedup", x="shape.D", series="case", panels="shape.T", where={"measure": "forward"},
    log_x=True,
    y_label="LayerNorm time ÷ RMSNorm time", claim="001-rmsnorm-10-15pct-faster")

SUITE = Suite(headline=HEADLINE, name="norms", plan=plan, sizes=SIZES, docs=("000", "001"), description=__doc__,
              question="Is RMSNorm faster than LayerNorm (document 001: 10-15%), eager, compiled and as a fused "
                       "Triton kernel, and how close does each get to this machine's memory bandwidth?")
