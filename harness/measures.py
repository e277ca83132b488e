"""Turning measurements into row fields, so every suite records timings and rates the same way."""
from __future__ import annotations

import math
import time
from functools import lru_cache
from typing import Any

import torch
from torch import nn

from harness.roofline import Peaks, measure_peaks
from harness.timing import Timing, ratio_ci, summarize, time_fn


def timing_fields(t: Timing, metric: str = "latency_fwd_s", **fields: Any) -> dict[str, Any]:
    """A timed metric: median seconds, quartiles, spread = IQR/median, n samples, method and threads."""
    return dict(metric=metric, value=t.median, unit="s", stat="median", q1=t.q1, q3=t.q3, spread=t.spread,
                n=t.n, method=t.method, threads=t.threads, device=t.device) | fields


def rate_fields(t: Timing, work: float, metric: str, unit: str, **fields: Any) -> dict[str, Any]:
    """work / time as a rate; the quartiles of time become the (swapped) quartiles of the rate."""
    return dict(metric=metric, value=work / t.median, unit=unit, stat="median", q1=work / t.q3,
                q3=work / t.q1, spread=t.spread, n=t.n, method=f"{work:.4g} {unit.split('/')[0]} / {t.method}",
                threads=t.threads, device=t.device) | fields


def speedup_fields(base: Timing, new: Timing, base_name: str, new_name: str, seed: int = 0,
                   **fields: Any) -> dict[str, Any]:
    """A speedup row: median(base) / median(new) (> 1: new is faster) with its 95% bootstrap CI in q1/q3."""
    r = ratio_ci(base.samples, new.samples, seed=seed)
    return dict(metric="speedup", value=r.ratio, unit="ratio", stat="median", q1=r.ci_low, q3=r.ci_high,
                n=min(base.n, new.n), method=f"median({base_name}) / median({new_name}); q1/q3 = 95% bootstrap CI "
                                             f"({r.n_boot} resamples) of interleaved timings") | fields


@lru_cache(maxsize=None)
def machine_peaks(device: str, threads: int | None) -> Peaks:
    """This machine's peaks, measured once per process and device (see harness.roofline)."""
    return measure_peaks(device, threads)


def roofline_fields(achieved_per_s: float, peak_per_s: float, what: str, **fields: Any) -> dict[str, Any]:
    return dict(metric="roofline_fraction", value=achieved_per_s / peak_per_s, unit="ratio", stat="median",
                method=f"achieved {what}/s over this machine's measured peak", extra={"peak_per_s": peak_per_s}
                ) | fields


# ---------------------------------------------------------------- timing several variants fairly
def timed(fn, ctx, min_run_time: float, samples: int = 8) -> Timing:
    """time_fn after two warm-up calls, the second timed to stretch the run (up to 5x) to about `samples` samples."""
    return interleaved({"": fn}, ctx, min_run_time, rounds=1, samples=samples)[""]


def interleaved(fns: dict, ctx, min_run_time: float, rounds: int = 4, samples: int = 8) -> dict[str, Timing]:
    """Times every fn in `rounds` alternating rounds (time_fn each) and pools each fn's samples, so load that drifts
    on a shared machine hits every variant of a comparison alike. Two warm-up calls each; the second, timed, sets a
    run time for about `samples` samples in all (at most 5x min_run_time)."""
    budget = {}
    for key, fn in fns.items():
        fn()
        start = time.perf_counter()
        fn()
        budget[key] = min(max(min_run_time, samples * (time.perf_counter() - start)), 5 * min_run_time) / rounds
    runs = {key: [] for key in fns}
    for _ in range(rounds):
        for key, fn in fns.items():
            runs[key].append(time_fn(fn, device=ctx.device, threads=ctx.threads, min_run_time=budget[key], warmup=0))
    return {key: summarize([x for t in ts for x in t.samples], device=ts[0].device, threads=ts[0].threads,
                           method=ts[0].method + (f", {rounds} rounds interleaved with {len(fns) - 1} other "
                                                  f"variant(s), samples pooled" if rounds > 1 else ""))
            for key, ts in runs.items()}


def pass_fn(module: nn.Module, x: torch.Tensor, dy: torch.Tensor, backward: bool):
    if not backward:
        def forward():
            with torch.no_grad():
                return module(x)
        return forward
    xg, params = x.detach().requires_grad_(True), tuple(module.parameters())
    return lambda: torch.autograd.grad(module(xg), (xg, *params), dy)


# ---------------------------------------------------------------- correctness gates
def rel_err(a: torch.Tensor, ref: torch.Tensor) -> float:
    """Relative RMSE ‖a − ref‖ / ‖ref‖, in float64."""
    return float((a.double() - ref.double()).norm() / ref.double().norm().clamp_min(1e-30))


def error_row(err: float, tol: float, what: str, **fields) -> dict:
    """The rel_error row of a correctness gate. extra.failed is the reason every speed row of the fast path must
    carry instead of a number ("" when the check passed); a non-finite error is a failed row itself."""
    if not math.isfinite(err):
        failed = f"{what}: non-finite output (rel err {err})"
        return fields | dict(metric="rel_error", value=None, unit="ratio", status="failed", reason=failed,
                             extra={"tol": tol, "failed": failed})
    failed = f"{what}: rel err {err:.3g} > tol {tol:g}" if err > tol else ""
    return fields | dict(metric="rel_error", value=err, unit="ratio", status="ok", extra={"tol": tol, "failed": failed})
