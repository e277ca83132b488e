"""Turning measurements into row fields, so every suite records timings and rates the same way."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from harness.measure.roofline import Peaks, measure_peaks
from harness.measure.timing import Timing, ratio_ci


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
    """This machine's peaks, measured once per process and device (see harness.measure.roofline)."""
    return measure_peaks(device, threads)


def roofline_fields(achieved_per_s: float, peak_per_s: float, what: str, **fields: Any) -> dict[str, Any]:
    return dict(metric="roofline_fraction", value=achieved_per_s / peak_per_s, unit="ratio", stat="median",
                method=f"achieved {what}/s over this machine's measured peak", extra={"peak_per_s": peak_per_s}
                ) | fields
