"""Wall-clock timing of one call, plus the statistics that turn timings into claims (scaling slopes, speedups).

Methodology, as `time_fn` runs it:

* Inputs are built by the caller *outside* the timed callable; `fn` takes no arguments and does only the work.
* Warm-up first: `warmup` untimed calls (allocator, lazy init, autotuning, caches) before any sample.
* CPU: `torch.utils.benchmark.Timer(...).blocked_autorange(min_run_time)`, which picks a block size so each
  block is long compared with timer resolution and reports one per-call time per block. The thread count is set
  for the timed region (default: `torch.get_num_threads()`) and recorded in the result.
* CUDA: `triton.testing.do_bench(return_mode="all")` (CUDA events around each call, L2 cache flushed between
  calls, the device synchronised); without triton, a plain CUDA-event loop with `synchronize()`.
* Reported: the median and the inter-quartile range (q1, q3) of the samples, their count, the method, and the
  raw samples themselves so confidence intervals (`ratio_ci`) can be computed later. Never a mean or a minimum.

`fit_loglog` fits log(y) = slope·log(x) + intercept by least squares and gives a 95% t-interval on the slope
(slope ≈ 1: linear, ≈ 2: quadratic). `ratio_ci` gives the ratio of medians with a percentile-bootstrap interval
from a fixed seed, so the same samples always give the same interval.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn
from scipy import stats

from harness.errors import ArchbenchError


@dataclass(frozen=True, kw_only=True)
class Timing:
    """Per-call seconds: median and quartiles of `samples` (per-block means on CPU, per-call times on CUDA)."""
    median: float
    q1: float
    q3: float
    n: int
    samples: tuple[float, ...]
    method: str
    device: str
    threads: int | None
    unit: str = "s"
    repeats: tuple[float, ...] = ()      # the median of each interleaved round: the run-to-run spread

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1

    @property
    def spread(self) -> float:
        """IQR relative to the median: the noise figure stored in result rows."""
        return self.iqr / self.median if self.median > 0 else math.inf


def summarize(samples: Sequence[float], *, method: str, device: str, threads: int | None) -> Timing:
    values = np.asarray(samples, dtype=float)
    if values.size == 0:
        raise ArchbenchError(f"no timing samples ({method})")
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    return Timing(median=float(median), q1=float(q1), q3=float(q3), n=int(values.size),
                  samples=tuple(float(v) for v in values), method=method, device=device, threads=threads)


def time_fn(fn: Callable[[], object], *, device: str = "cpu", threads: int | None = None,
            min_run_time: float = 0.2, warmup: int = 3) -> Timing:
    """Time `fn()` (no arguments; build inputs before) after `warmup` untimed calls. See the module docstring."""
    if device.startswith("cuda"):
        return _time_cuda(fn, device=device, min_run_time=min_run_time, warmup=warmup)
    if device != "cpu":
        raise ArchbenchError(f"time_fn: unsupported device {device!r} (use 'cpu' or 'cuda[:i]')")
    return _time_cpu(fn, threads=torch.get_num_threads() if threads is None else threads,
                     min_run_time=min_run_time, warmup=warmup)


def _time_cpu(fn: Callable[[], object], *, threads: int, min_run_time: float, warmup: int) -> Timing:
    from torch.utils.benchmark import Timer

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for _ in range(warmup):
            fn()
    finally:
        torch.set_num_threads(previous)
    timer = Timer(stmt="fn()", globals={"fn": fn}, num_threads=threads)
    measurement = timer.blocked_autorange(min_run_time=min_run_time)
    method = (f"torch.utils.benchmark.Timer.blocked_autorange(min_run_time={min_run_time}), "
              f"{measurement.number_per_run} calls/block, {warmup} warm-up calls")
    return summarize(measurement.times, method=method, device="cpu", threads=threads)


def _time_cuda(fn: Callable[[], object], *, device: str, min_run_time: float, warmup: int) -> Timing:
    with torch.cuda.device(torch.device(device)):
        for _ in range(warmup):
            fn()
        torch.cuda.synchronize()
        try:
            from triton.testing import do_bench
            times_ms = do_bench(fn, warmup=1, rep=max(1, int(min_run_time * 1000)), return_mode="all")
        except (ImportError, AssertionError, TypeError):  # no triton, or one older than return_mode="all"
            return _time_cuda_events(fn, device=device, min_run_time=min_run_time, warmup=warmup)
    method = (f"triton.testing.do_bench(rep={int(min_run_time * 1000)}ms, return_mode='all'): CUDA events per call, "
              f"L2 flushed between calls, {warmup} warm-up calls")
    return summarize([t / 1000.0 for t in times_ms], method=method, device=device, threads=None)


def _time_cuda_events(fn: Callable[[], object], *, device: str, min_run_time: float, warmup: int) -> Timing:
    """Fallback without triton: CUDA events around each call until `min_run_time` of GPU time is collected."""
    times: list[float] = []
    while sum(times) < min_run_time or len(times) < 5:
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end) / 1000.0)
    method = f"torch.cuda.Event per call + synchronize (min_run_time={min_run_time}), {warmup} warm-up calls"
    return summarize(times, method=method, device=device, threads=None)


def time_steps(prepare: Callable[[], object], step: Callable[[object, int], object], steps: int, *, repeats: int,
               device: str = "cpu", threads: int | None = None, warmup: int = 1) -> Timing:
    """Seconds per call of `step(state, i)` (i = 0..steps-1) for work that changes its state, such as decoding
    token by token into a cache: each repeat starts from a fresh `state = prepare()` (untimed), then times the
    `steps` calls together; a sample is that loop's time / steps, and the samples are the repeats (the run-to-run
    spread). `warmup` whole repeats are discarded first.
    CPU: time.perf_counter at `threads` threads; CUDA: the device is synchronised before the clock starts and
    after the last step, so the sample covers the kernels the loop launched."""
    cuda = device.startswith("cuda")
    if not cuda and device != "cpu":
        raise ArchbenchError(f"time_steps: unsupported device {device!r} (use 'cpu' or 'cuda[:i]')")
    sync = (lambda: torch.cuda.synchronize(device)) if cuda else (lambda: None)
    threads = None if cuda else (torch.get_num_threads() if threads is None else threads)
    previous = torch.get_num_threads()
    samples: list[float] = []
    try:
        if threads is not None:
            torch.set_num_threads(threads)
        for repeat in range(warmup + repeats):
            state = prepare()
            sync()
            start = time.perf_counter()
            for i in range(steps):
                step(state, i)
            sync()
            if repeat >= warmup:
                samples.append((time.perf_counter() - start) / steps)
    finally:
        torch.set_num_threads(previous)
    clock = "time.perf_counter" + (" between torch.cuda.synchronize calls" if cuda else "")
    timing = summarize(samples, method=f"{clock} over {steps} steps × {repeats} repeats, each from a fresh "
                                        f"untimed state ({warmup} warm-up repeat(s) discarded)",
                       device=device, threads=threads)
    return replace(timing, repeats=timing.samples)      # each sample is a whole repeat: the run-to-run spread


@dataclass(frozen=True, kw_only=True)
class Fit:
    """log(y) = slope·log(x) + intercept (natural logs); [ci_low, ci_high] is the 95% t-interval on the slope."""
    slope: float
    intercept: float
    ci_low: float
    ci_high: float
    r2: float
    n: int


def fit_loglog(xs: Sequence[float], ys: Sequence[float], *, level: float = 0.95) -> Fit:
    """Least-squares slope of log(y) on log(x) with a t-distribution CI (n - 2 degrees of freedom)."""
    x, y = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    if x.shape != y.shape or x.size < 3:
        raise ArchbenchError(f"fit_loglog needs >= 3 paired points, got {x.size} xs and {y.size} ys")
    if (x <= 0).any() or (y <= 0).any():
        raise ArchbenchError("fit_loglog needs positive xs and ys")
    if np.unique(x).size < 2:
        raise ArchbenchError("fit_loglog needs at least two distinct xs")
    result = stats.linregress(np.log(x), np.log(y))
    half = stats.t.ppf(0.5 + level / 2, x.size - 2) * result.stderr
    return Fit(slope=float(result.slope), intercept=float(result.intercept), ci_low=float(result.slope - half),
               ci_high=float(result.slope + half), r2=float(result.rvalue ** 2), n=int(x.size))


@dataclass(frozen=True, kw_only=True)
class RatioCI:
    """median(a) / median(b) with a percentile-bootstrap interval (each side resampled independently)."""
    ratio: float
    ci_low: float
    ci_high: float
    level: float
    n_boot: int
    seed: int


def ratio_ci(a_samples: Sequence[float], b_samples: Sequence[float], *, level: float = 0.95,
             n_boot: int = 2000, seed: int = 0) -> RatioCI:
    """Ratio of medians a/b and its bootstrap CI. For times, `ratio_ci(baseline, candidate)` is the speedup."""
    a, b = np.asarray(a_samples, dtype=float), np.asarray(b_samples, dtype=float)
    if a.size == 0 or b.size == 0:
        raise ArchbenchError(f"ratio_ci needs samples on both sides, got {a.size} and {b.size}")
    if np.median(b) <= 0:
        raise ArchbenchError("ratio_ci: median of b_samples is not positive")
    rng = np.random.default_rng(seed)
    ratios = np.empty(n_boot)
    chunk = max(1, 2_000_000 // max(a.size, b.size))  # bound memory for long sample lists
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        med_a = np.median(a[rng.integers(0, a.size, (stop - start, a.size))], axis=1)
        med_b = np.median(b[rng.integers(0, b.size, (stop - start, b.size))], axis=1)
        ratios[start:stop] = med_a / med_b
    low, high = np.percentile(ratios, [50 * (1 - level), 50 * (1 + level)])
    return RatioCI(ratio=float(np.median(a) / np.median(b)), ci_low=float(low), ci_high=float(high),
                   level=level, n_boot=n_boot, seed=seed)


# ---------------------------------------------------------------- timing several variants fairly
def timed(fn, ctx, min_run_time: float, samples: int = 8, rounds: int = 4) -> Timing:
    """One fn timed as `interleaved` times several: two warm-up calls (the second sets the run time, up to 5x
    min_run_time, for about `samples` samples), then `rounds` rounds; each round's median is a repeat."""
    return interleaved({"": fn}, ctx, min_run_time, rounds=rounds, samples=samples)[""]


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
    return {key: replace(summarize([x for t in ts for x in t.samples], device=ts[0].device, threads=ts[0].threads,
                                   method=ts[0].method + (f", {rounds} rounds interleaved with {len(fns) - 1} other "
                                                          f"variant(s), samples pooled" if rounds > 1 else "")),
                         repeats=tuple(t.median for t in ts) if rounds > 1 else ())
            for key, ts in runs.items()}


def pass_fn(module: nn.Module, x: torch.Tensor, dy: torch.Tensor, backward: bool):
    if not backward:
        def forward():
            with torch.no_grad():
                return module(x)
        return forward
    xg, params = x.detach().requires_grad_(True), tuple(module.parameters())
    return lambda: torch.autograd.grad(module(xg), (xg, *params), dy)
