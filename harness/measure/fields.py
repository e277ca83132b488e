"""Turning measurements into row fields, so every suite records timings and rates the same way."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from harness.measure.roofline import Peaks, measure_peaks
from harness.measure.timing import Timing, ratio_ci


def with_repeats(fields: dict[str, Any], repeats: Any) -> dict[str, Any]:
    """`fields` with `extra.repeats` added: one value per repeat, the run-to-run spread the claims read."""
    if len(repeats) < 2:
        return fields
    return fields | {"extra": {**(fields.get("extra") or {}), "repeats": [float(r) for r in repeats]}}


def timing_fields(t: Timing, metric: str = "latency_fwd_s", **fields: Any) -> dict[str, Any]:
    """A timed metric: median seconds, quartiles, spread = IQR/median, n samples, method and threads, and the
    median of each repeat in `extra.repeats`."""
    return with_repeats(dict(metric=metric, value=t.median, unit="s", stat="median", q1=t.q1, q3=t.q3,
                             spread=t.spread, n=t.n, method=t.method, threads=t.threads, device=t.device) | fields,
                        t.repeats)


def rate_fields(t: Timing, work: float, metric: str, unit: str, **fields: Any) -> dict[str, Any]:
    """work / time as a rate; the quartiles of time become the (swapped) quartiles of the rate."""
    return with_repeats(dict(metric=metric, value=work / t.median, unit=unit, stat="median", q1=work / t.q3,
                             q3=work / t.q1, spread=t.spread, n=t.n, threads=t.threads, device=t.device,
                             method=f"{work:.4g} {unit.split('/')[0]} / {t.method}") | fields,
                        [work / r for r in t.repeats])


def speedup_fields(base: Timing, new: Timing, base_name: str, new_name: str, seed: int = 0,
                   **fields: Any) -> dict[str, Any]:
    """A speedup row: median(base) / median(new) (> 1: new is faster) with its 95% bootstrap CI in q1/q3, and the
    ratio within each interleaved round in `extra.repeats`."""
    r = ratio_ci(base.samples, new.samples, seed=seed)
    rounds = [b / n for b, n in zip(base.repeats, new.repeats)] if len(base.repeats) == len(new.repeats) else []
    return with_repeats(dict(metric="speedup", value=r.ratio, unit="ratio", stat="median", q1=r.ci_low,
                             q3=r.ci_high, n=min(base.n, new.n),
                             method=f"median({base_name}) / median({new_name}); q1/q3 = 95% bootstrap CI "
                                    f"({r.n_boot} resamples) of interleaved timings") | fields, rounds)


@lru_cache(maxsize=None)
def machine_peaks(device: str, threads: int | None) -> Peaks:
    """This machine's peaks, measured once per process and device (see harness.measure.roofline)."""
    return measure_peaks(device, threads)


def roofline_fields(achieved_per_s: float, peak_per_s: float, what: str, **fields: Any) -> dict[str, Any]:
    return dict(metric="roofline_fraction", value=achieved_per_s / peak_per_s, unit="ratio", stat="median",
                method=f"achieved {what}/s over this machine's measured peak", extra={"peak_per_s": peak_per_s}
                ) | fields
