"""Noise a reader can see: run-to-run spread of timed rows, the stability rule for speed verdicts, and the smallest
effect a learning comparison could have detected.

* Repeats. A timed row may carry `extra.repeats`: one value per repeat (the median of each interleaved round, or
  for a speedup row the ratio of the two medians in each round). A ratio of two timed rows (`num` / `den`) carries
  both sides' repeats in `extra.sides`. The run-to-run spread is (max − min) / min over the repeats (for a ratio of
  two rows, the larger of the two sides').
* Stability rule for a speed verdict: the interval must clear the threshold AND the repeats must be stable, a
  spread of at most `REPEAT_LIMIT` = 7% over at least two repeats (torchbench's anchor for a usable measurement).
  A speed verdict that would hold or be refuted without stable repeats is "inconclusive", saying why.
* Detectable effect. With standard error `se` and `df` degrees of freedom, a two-sided test at α = 0.05 detects
  with 80% power a true difference of about (t₁₋α/₂ + t₀.₈) · se: smaller differences the run could not have
  told from noise. Learning verdicts state it relative to the baseline.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from harness.store.units import is_missing

REPEAT_LIMIT = 0.07
ALPHA, POWER = 0.05, 0.80
TIMED_UNITS = ("s", "tokens/s", "FLOP/s", "bytes/s")


def _extra(row: Any) -> dict:
    extra = row.get("extra") if hasattr(row, "get") else getattr(row, "extra", None)
    return extra if isinstance(extra, dict) else {}


def spread(values: list[float]) -> float:
    """(max − min) / min over the repeats (inf when the smallest is not positive)."""
    lo, hi = min(values), max(values)
    return (hi - lo) / lo if lo > 0 else math.inf


def is_timed(row: Any) -> bool:
    """A row whose value comes from wall-clock timings: a measured speedup, or a ratio of timed rows."""
    extra = _extra(row)
    if extra.get("timed") or "repeats" in extra:
        return True
    return getattr(row, "metric", "") == "speedup" and getattr(row, "stat", "") == "median"


def run_to_run(row: Any) -> tuple[float | None, int]:
    """(run-to-run spread, number of repeats) of a timed row; (None, n) when fewer than two repeats were recorded."""
    extra = _extra(row)
    sides = extra.get("sides")
    if sides:
        measured = [run_to_run({"extra": {"repeats": side}}) for side in sides]
        if any(s is None for s, _ in measured):
            return None, min(n for _, n in measured)
        return max(s for s, _ in measured), min(n for _, n in measured)
    values = [float(v) for v in extra.get("repeats") or [] if not is_missing(v)]
    return (spread(values), len(values)) if len(values) >= 2 else (None, len(values))


def stability_note(row: Any) -> tuple[bool, str]:
    """(stable, what the repeats say): stable means at least two repeats within REPEAT_LIMIT."""
    value, n = run_to_run(row)
    if value is None:
        return False, f"run-to-run spread unknown ({n} repeat{'s' if n != 1 else ''} recorded)"
    verdict = "stable" if value <= REPEAT_LIMIT else f"unstable (limit {REPEAT_LIMIT:.0%})"
    return value <= REPEAT_LIMIT, f"run-to-run spread {value:.1%} over {n} repeats, {verdict}"


def repeats_summary(rows: list[Any]) -> str:
    """One sentence on the run-to-run spread of several timed rows, and the rule it is held to."""
    measured = [run_to_run(r) for r in rows]
    known = [(s, n) for s, n in measured if s is not None]
    parts = []
    if known:
        spreads, counts = [s for s, _ in known], [n for _, n in known]
        span = f"{min(spreads):.1%}" + (f"–{max(spreads):.1%}" if len(known) > 1 else "")
        reps = f"{min(counts)}" + (f"–{max(counts)}" if max(counts) > min(counts) else "")
        unstable = sum(s > REPEAT_LIMIT for s in spreads)
        parts.append(f"run-to-run spread {span} over {reps} repeats"
                     + (f", {unstable} of {len(known)} row(s) unstable" if unstable else ", stable"))
    unknown = len(measured) - len(known)
    if unknown:
        parts.append(f"run-to-run spread unknown for {unknown} of {len(measured)} row(s) (fewer than two repeats "
                     f"recorded)")
    return (f"{'; '.join(parts)} (a speed verdict needs its interval clear of the threshold and stable repeats, "
            f"a spread of at most {REPEAT_LIMIT:.0%})")


def ratio_sides(extra_num: Any, extra_den: Any, unit: str) -> dict[str, Any]:
    """The `extra` of a ratio of two rows: whether they are timed (`unit` of the rows) and both sides' repeats."""
    sides = [list(_extra({"extra": e}).get("repeats") or []) for e in (extra_num, extra_den)]
    return {"timed": unit in TIMED_UNITS, "sides": sides} if unit in TIMED_UNITS else {}


def detectable_effect(se: float, df: float) -> float:
    """The smallest true difference a two-sided test at ALPHA detects with POWER, given `se` and `df`."""
    if not df or df <= 0 or not math.isfinite(se):
        return math.inf
    return (stats.t.ppf(1 - ALPHA / 2, df) + stats.t.ppf(POWER, df)) * se


def detectable_two_sample(new: np.ndarray, base: np.ndarray) -> float:
    """Welch: the smallest |mean difference| the seeds of both sides could have shown (see the module docstring)."""
    vn, vb = new.var(ddof=1) / len(new), base.var(ddof=1) / len(base)
    if vn + vb == 0:
        return 0.0
    df = (vn + vb) ** 2 / (vn ** 2 / (len(new) - 1) + vb ** 2 / (len(base) - 1))
    return detectable_effect(math.sqrt(vn + vb), df)


def detectable_one_sample(values: np.ndarray) -> float:
    """One-sample t: the smallest |mean − threshold| these seeds could have shown."""
    return detectable_effect(values.std(ddof=1) / math.sqrt(len(values)), len(values) - 1)


def detectable_note(effect: float, scale: float, n: str) -> str:
    """The detectable effect relative to `scale` (the baseline), in words, with the seeds `n` it rests on."""
    if not math.isfinite(effect):
        return f"no effect is detectable with {n} (the seed-to-seed spread is unknown)"
    return (f"smallest effect detectable with {n}: {effect / abs(scale):.2%} of the baseline "
            f"(two-sided α={ALPHA:g}, {POWER:.0%} power)")
