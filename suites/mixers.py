"""Token mixers against sequence length: Gated DeltaNet (chunked, linear in T; document 000's linear attention)
vs softmax attention (SDPA, causal; and as eager ops, `attention_eager`, the equal-effort counterpart of the eager
chunked GDN) vs sliding-window attention (window 256, as the model code runs it).

Method. One layer of each at the profile's width (SIZES; quick: dim 256, 4 heads of 64; B=1), run dtype and device,
forward under no_grad. For each T: peak memory of one call (harness.measure.memory.peak_memory) and median time, the four
cases timed in alternating rounds of time_fn with samples pooled (harness.measure.fields.interleaved). scaling_exponent rows:
log-log least-squares slope of time (and of memory) against T per case, 95% CI in q1/q3. Decode: one token after a
cache of `context` tokens, every call from a shallow copy of the same cache (GDN's state is fixed-size, attention's
cache grows), with its exponent against the context. crossover_T: where GDN's forward becomes faster than SDPA's
(gdn_vs_sdpa) and than eager attention's (gdn_vs_attention_eager), interpolated linearly in log T on log(time
ratio) between measured points; without a sign change in range the row is untestable and extra.extrapolated_T is
where the two fitted power laws cross (an extrapolation).
Sliding window (archs.components.attention) uses SDPA with a dense [T, T] mask below T = 8·window and blocks of
2·window keys (O(T·window)) from there on, whichever measured faster on CPU; the fitted exponent over a sweep that
crosses 8·window mixes the two paths, so a second sweep (swa_T, measure forward_banded, 4 interleaved rounds each
for the run-to-run spread) times the window alone at lengths all on the banded path.
Correctness gate: the chunked op the layer uses vs the naive token loop (T=100, not a multiple of the chunk, with an
initial state); if it fails, every GDN timing is a failed row. Op level: chunk_gated_delta_rule vs the token loop.
Training (op_train): the chunked op's forward and forward+backward over train_T (B=1, the layer's heads), timed in
alternating rounds, with the log-log slope of each against T and its 95% interval (measures op_fwd_vs_T,
op_fwdbwd_vs_T): linear-time training means a slope near 1.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from archs.components import deltanet
from archs.components.attention import Attention
from archs.config import DecoderConfig, LayerSpec
from harness.errors import one_line
from archs.ops.gated_delta import naive_recurrent_gated_delta_rule
from harness.measure.memory import peak_memory
from harness.report.headline import Headline
from harness.suite import Context, PerProfile, Suite, Unit
from harness.measure.fields import speedup_fields, timing_fields
from harness.measure.gates import error_row, rel_err
from harness.measure.timing import fit_loglog, interleaved, timed

CASES = {"gdn": LayerSpec(mixer="gdn"), "sdpa": LayerSpec(), "swa": LayerSpec(window=256)}
# the forward sweep adds softmax attention as eager ops (explicit softmax(QKᵀ)V): Gated DeltaNet's chunked form is
# eager PyTorch too, so this pair compares the two ideas at equal effort; sdpa (a fused kernel) is the library level
FORWARD_CASES = CASES | {"attention_eager": LayerSpec()}
IMPLS = {"attention_eager": "math"}
CROSSOVERS = {"gdn_vs_sdpa": "sdpa", "gdn_vs_attention_eager": "attention_eager"}
TOL = 1e-4


@dataclass(frozen=True)
class Sizes:
    dim: int                            # layer width
    heads: int
    T: tuple[int, ...]                  # forward lengths
    contexts: tuple[int, ...]           # decode cache lengths
    op_T: tuple[int, ...]               # lengths of the op-level chunked vs naive timing
    train_T: tuple[int, ...]            # lengths of the op's forward and forward+backward sweep (their slopes)
    swa_T: tuple[int, ...]              # sliding window alone, all on its banded path (T >= BANDED_FROM)
    min_run_time: float                 # seconds per timing


SIZES = PerProfile(
    smoke=Sizes(dim=32, heads=2, T=(32, 64, 128), contexts=(8, 16, 32), op_T=(40,),
                train_T=(64, 128, 256), swa_T=(2048, 3072, 4096), min_run_time=0.002),
    quick=Sizes(dim=256, heads=4, T=(256, 512, 1024, 2048), contexts=(128, 512, 2048), op_T=(1024, 4096),
                train_T=(512, 1024, 2048, 4096), swa_T=(2048, 4096, 6144, 8192), min_run_time=0.1),
    standard=Sizes(dim=1024, heads=16, T=(512, 1024, 2048, 4096, 8192, 16384), contexts=(512, 2048, 8192, 16384),
                   op_T=(1024, 4096), train_T=(1024, 2048, 4096, 8192, 16384), swa_T=(2048, 4096, 8192, 16384),
                   min_run_time=0.3),
    full=Sizes(dim=2048, heads=16, T=(1024, 2048, 4096, 8192, 16384, 32768), contexts=(1024, 8192, 32768),
               op_T=(1024, 4096, 16384), train_T=(1024, 4096, 16384, 32768), swa_T=(4096, 16384, 49152),
               min_run_time=0.5))
WINDOW = CASES["swa"].window
BANDED_FROM = 8 * WINDOW                # archs.components.attention switches to the banded path from here


def build(case: str, ctx: Context):
    s = SIZES[ctx.profile]
    cfg = DecoderConfig(vocab_size=256, dim=s.dim, n_layers=1, n_heads=s.heads, ffn_dim=4 * s.dim)
    torch.manual_seed(ctx.seed)
    spec = FORWARD_CASES[case]
    module = deltanet.GatedDeltaNet(cfg, spec) if case == "gdn" else Attention(cfg, spec, impl=IMPLS.get(case, "sdpa"))
    return module.eval().to(ctx.device, ctx.torch_dtype)


def op_inputs(B, T, H, K, device, seed=0):
    g = torch.Generator().manual_seed(seed)
    q, k = (F.normalize(torch.randn(B, T, H, K, generator=g), dim=-1) for _ in range(2))
    v, a, b = torch.randn(B, T, H, K, generator=g), torch.randn(B, T, H, generator=g), torch.randn(B, T, H, generator=g)
    return [t.to(device) for t in (q, k, v, F.logsigmoid(a + 2), b.sigmoid())]


def gate(ctx: Context) -> dict:
    """rel_error row of the chunked op (looked up where the layer finds it) vs the token loop; extra.failed says
    why GDN timings must not be reported ("" when it passed)."""
    xs = op_inputs(1, 100, 2, 32, ctx.device, ctx.seed)
    s0 = torch.randn(1, 2, 32, 32, device=ctx.device)
    o, s = deltanet.chunk_gated_delta_rule(*xs, initial_state=s0, output_final_state=True, chunk_size=32)
    o_ref, s_ref = naive_recurrent_gated_delta_rule(*xs, initial_state=s0, output_final_state=True)
    return error_row(max(rel_err(o, o_ref), rel_err(s, s_ref)), TOL, "chunked gated delta rule != naive",
                     case="gdn_chunk", measure="correctness", shape={"B": 1, "T": 100, "H": 2, "K": 32},
                     method="max relative RMSE of output and final state vs naive_recurrent_gated_delta_rule "
                            "(chunk_size 32)")


def gate_rows(ctx: Context):
    yield gate(ctx)


def fit_row(case: str, measure: str, xs, ys, what: str, **fields):
    if len(xs) < 3:
        return dict(case=case, measure=measure, metric="scaling_exponent", value=None, unit="exponent",
                    status="untestable", reason=f"only {len(xs)} points measured (3 needed)") | fields
    fit = fit_loglog(xs, ys)
    return dict(case=case, measure=measure, metric="scaling_exponent", value=fit.slope, unit="exponent", stat="exact",
                q1=fit.ci_low, q3=fit.ci_high, n=fit.n, extra={"r2": fit.r2, "T": list(xs), "intercept": fit.intercept},
                method=f"log-log least squares of {what} vs T over {list(xs)}, 95% t CI") | fields


def forward_rows(ctx: Context):
    s, failed = SIZES[ctx.profile], gate(ctx)["extra"]["failed"]
    modules, points = {case: build(case, ctx) for case in FORWARD_CASES}, {case: {} for case in FORWARD_CASES}
    for T in s.T:
        x = torch.randn(1, T, s.dim, device=ctx.device, dtype=ctx.torch_dtype)
        shape, fns = {"B": 1, "T": T, "D": s.dim}, {}
        for case, module in modules.items():
            base = dict(case=case, measure="forward", shape=shape)
            if case == "gdn" and failed:
                yield base | dict(metric="latency_fwd_s", value=None, unit="s", status="failed", reason=failed)
                continue
            try:
                with torch.no_grad():
                    mem = peak_memory(lambda m=module: m(x), ctx.device)
            except torch.OutOfMemoryError as err:
                yield base | dict(metric="latency_fwd_s", value=None, unit="s", status="untestable",
                                  reason=f"does not fit: {one_line(err)}")
                continue
            fns[case] = lambda m=module: m(x)
            yield base | dict(metric="peak_bytes", value=mem.bytes, unit="bytes", method=mem.method,
                              extra={"phase": "forward"})
            points[case].setdefault("mem", []).append((T, max(mem.bytes, 1)))
        with torch.no_grad():
            timings = interleaved(fns, ctx, s.min_run_time, samples=6)
        for case, t in timings.items():
            points[case].setdefault("time", []).append((T, t.median))
            yield dict(case=case, measure="forward", shape=shape) | timing_fields(t, "latency_fwd_s")
    for case, p in points.items():
        if p.get("time"):
            yield fit_row(case, "time_vs_T", *zip(*p["time"]), "median forward time")
            yield fit_row(case, "memory_vs_T", *zip(*p["mem"]), "peak forward memory")
    for name, attention in CROSSOVERS.items():
        yield crossover_row(name, *(dict(points[c].get("time", [])) for c in ("gdn", attention)))


def crossover_row(name: str, gdn: dict, sdpa: dict):
    """Where GDN's forward time `gdn` {T: s} drops below softmax attention's `sdpa` (at one implementation level)."""
    Ts = [T for T in gdn if T in sdpa]
    base = dict(case=name, measure="forward", metric="crossover_T", unit="tokens", stat="exact",
                extra={"ratio_gdn_over_sdpa": {str(T): gdn[T] / sdpa[T] for T in Ts}},
                method="first sign change of log(t_gdn / t_sdpa), linear in log T between measured points")
    if len(Ts) < 2:
        return base | dict(value=None, status="untestable", reason="fewer than 2 T measured for both gdn and sdpa")
    r = [math.log(gdn[T] / sdpa[T]) for T in Ts]
    if r[0] <= 0:
        return base | dict(value=None, status="untestable", reason=f"GDN already faster at the smallest T={Ts[0]}")
    for (T0, r0), (T1, r1) in zip(zip(Ts, r), zip(Ts[1:], r[1:])):
        if r1 <= 0:
            return base | dict(value=math.exp(math.log(T0) + r0 / (r0 - r1) * math.log(T1 / T0)), shape={"T": T1})
    extra = dict(base["extra"])
    if len(Ts) >= 3:
        fg, fs = fit_loglog(Ts, [gdn[T] for T in Ts]), fit_loglog(Ts, [sdpa[T] for T in Ts])
        if fs.slope > fg.slope:
            extra["extrapolated_T"] = math.exp((fg.intercept - fs.intercept) / (fs.slope - fg.slope))
    return base | dict(value=None, status="untestable", extra=extra,
                       reason=f"no crossover in T∈[{Ts[0]}, {Ts[-1]}]: GDN slower than SDPA at every measured T")


def swa_rows(ctx: Context):
    """Sliding-window attention alone over swa_T, every length on its banded O(T·window) path: the regime that
    long-context claims about a sliding window speak of (the forward sweep above crosses from the dense mask)."""
    s, module = SIZES[ctx.profile], build("swa", ctx)
    for T in s.swa_T:
        x = torch.randn(1, T, s.dim, device=ctx.device, dtype=ctx.torch_dtype)
        with torch.no_grad():
            t = interleaved({"swa": lambda: module(x)}, ctx, s.min_run_time, samples=4)["swa"]
        yield dict(case="swa", measure="forward_banded", shape={"B": 1, "T": T, "D": s.dim}) | timing_fields(
            t, "latency_fwd_s", extra={"window": WINDOW, "banded_from": BANDED_FROM})


def decode_rows(case: str, ctx: Context):
    s, points, failed = SIZES[ctx.profile], [], gate(ctx)["extra"]["failed"] if case == "gdn" else ""
    module, x1 = build(case, ctx), torch.randn(1, 1, s.dim, device=ctx.device, dtype=ctx.torch_dtype)
    for S in s.contexts:
        base = dict(case=case, measure="decode", shape={"B": 1, "T": S}, extra={"phase": "decode"})
        if failed:
            yield base | dict(metric="latency_decode_s", value=None, unit="s", status="failed", reason=failed)
            continue
        cache = module.new_cache()
        with torch.no_grad():
            module(torch.randn(1, S, s.dim, device=ctx.device, dtype=ctx.torch_dtype), cache)
            t = timed(lambda: module(x1, copy.copy(cache)), ctx, s.min_run_time)
        points.append((S, t.median))
        yield base | timing_fields(t, "latency_decode_s", extra={"phase": "decode", "cache_bytes": cache.nbytes()})
    if points:
        yield fit_row(case, "decode_vs_T", *zip(*points), "median decode-step time")


def op_rows(T: int, ctx: Context):
    s, failed = SIZES[ctx.profile], gate(ctx)["extra"]["failed"]
    H, K = s.heads, s.dim // s.heads
    xs, shape = op_inputs(1, T, H, K, ctx.device, ctx.seed), {"B": 1, "T": T, "H": H, "K": K}
    fns = {"gdn_chunk": lambda: deltanet.chunk_gated_delta_rule(*xs),
           "gdn_naive": lambda: naive_recurrent_gated_delta_rule(*xs)}
    if failed:
        yield dict(case="gdn_chunk", measure="op_forward", shape=shape, metric="latency_fwd_s", value=None, unit="s",
                   status="failed", reason=failed)
        fns.pop("gdn_chunk")
    with torch.no_grad():
        times = interleaved(fns, ctx, s.min_run_time)
    for case, t in times.items():
        yield dict(case=case, measure="op_forward", shape=shape) | timing_fields(t, "latency_fwd_s")
    if len(times) == 2:
        yield speedup_fields(times["gdn_naive"], times["gdn_chunk"], "naive token loop", "chunked", ctx.seed,
                             case="chunk_vs_naive", measure="op_forward", shape=shape)


def train_rows(ctx: Context):
    """The chunked op's forward and forward+backward (gradients of q, k, v, g, beta against a fixed random dy)
    across train_T, and the log-log slope of each against T: ~1 is linear, as training needs it."""
    s, failed = SIZES[ctx.profile], gate(ctx)["extra"]["failed"]
    H, K = s.heads, s.dim // s.heads
    passes = {"fwd": ("latency_fwd_s", "forward"), "fwdbwd": ("latency_fwdbwd_s", "forward+backward")}
    points = {name: [] for name in passes}
    for T in s.train_T:
        shape = {"B": 1, "T": T, "H": H, "K": K}
        if failed:
            yield dict(case="gdn_chunk", measure="op_train", shape=shape, metric="latency_fwdbwd_s", value=None,
                       unit="s", status="failed", reason=failed)
            continue
        xs = [x.requires_grad_(True) for x in op_inputs(1, T, H, K, ctx.device, ctx.seed)]
        dy = torch.randn_like(xs[2])
        op = deltanet.chunk_gated_delta_rule
        fns = {"fwd": lambda: torch.no_grad()(op)(*xs), "fwdbwd": lambda: torch.autograd.grad(op(*xs)[0], xs, dy)}
        for name, t in interleaved(fns, ctx, s.min_run_time, samples=6).items():
            points[name].append((T, t.median))
            yield dict(case="gdn_chunk", measure="op_train", shape=shape) | timing_fields(t, passes[name][0])
    for name, xy in points.items():
        if xy:
            yield fit_row("gdn_chunk", f"op_{name}_vs_T", *zip(*xy), f"median op {passes[name][1]} time")


def plan(ctx: Context) -> list[Unit]:
    units = [Unit("gate", gate_rows), Unit("forward", forward_rows), Unit("op_train", train_rows),
             Unit("swa_banded", swa_rows)]
    units += [Unit(f"decode/{c}", lambda c_, c=c: decode_rows(c, c_)) for c in CASES]
    return units + [Unit(f"op/T{T}", lambda c, T=T: op_rows(T, c)) for T in SIZES[ctx.profile].op_T]


HEADLINE = Headline(
    title="Forward time against sequence length: Gated DeltaNet vs softmax attention (eager ops and SDPA) and the "
          "sliding window, fitted slopes, and where GDN overtakes attention at equal effort",
    kind="lines", metric="latency_fwd_s", x="shape.T", series="case", where={"measure": "forward"}, log_x=True,
    log_y=True, slopes=True, crossover=("gdn", "attention_eager"), y_label="forward time")

SUITE = Suite(headline=HEADLINE, name="mixers", plan=plan, sizes=SIZES, docs=("000", "004"), description=__doc__,
              question="How do Gated DeltaNet, softmax attention and sliding-window attention scale with sequence "
                       "length in time and memory, for prefill and decode, and where does GDN overtake attention?")
