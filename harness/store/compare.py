"""What changed between two runs: per-metric deltas of their result frames (as `harness.store.results.load_frame`
returns them), the rows that got worse past a threshold (`regressions`: direction from the metric table,
`harness.store.metrics`), short text lines of the deltas (`delta_lines`), and the verdicts whose status changed
(`compare_verdicts`, over their verdicts.jsonl).

Rows are matched on `COMPARE_KEYS` plus every `shape.*` column of either frame; device and thread count are
deliberately not keys, so the same benchmark on two machines lines up. A key must identify one row per run
(otherwise the match would be ambiguous and this raises); pass `keys=` to add e.g. "threads" for a thread sweep.
Key values are compared as text after normalising missing values and integral floats (3 == 3.0), because a
shape column holds ints in one frame and floats (with NaN) in another as soon as some rows lack that shape key.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import pandas as pd

from harness.errors import ArchbenchError
from harness.store.metrics import metric
from harness.store.units import format_value
from harness.store.verdicts import Status, VerdictRecord

COMPARE_KEYS = ["suite", "case", "arch", "measure", "metric", "stat", "unit", "dtype"]
CARRIED = ["value", "spread", "status"]


def _key_text(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _side(frame: pd.DataFrame, keys: list[str], name: str) -> pd.DataFrame:
    """Text keys (`key:<col>`) for matching, plus the original key and carried columns suffixed `_<name>`."""
    frame = frame.reindex(columns=list(dict.fromkeys(keys + CARRIED))).reset_index(drop=True)
    side = pd.DataFrame({f"key:{k}": frame[k].astype(object).map(_key_text) for k in keys})
    clash = side.duplicated(keep=False)
    if clash.any():
        example = {k: frame.loc[clash.idxmax(), k] for k in keys if _key_text(frame.loc[clash.idxmax(), k])}
        raise ArchbenchError(f"compare_runs: run {name} has {int(clash.sum())} rows sharing one key "
                             f"{example}; add a key column (e.g. keys=[..., 'threads'])")
    for column in keys + CARRIED:
        side[f"{column}_{name}"] = frame[column].astype(object)
    return side


def compare_runs(frame_a: pd.DataFrame, frame_b: pd.DataFrame, *,
                 keys: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per matched key: value_a, value_b, delta (b - a), ratio (b / a), pct_change, both spreads and
    statuses, `noise` (the larger relative spread: a |ratio - 1| below it is within run-to-run noise), and
    `present` ("both", "a_only", "b_only")."""
    shape_columns = sorted({c for f in (frame_a, frame_b) for c in f.columns if str(c).startswith("shape.")})
    all_keys = list(dict.fromkeys(list(keys or COMPARE_KEYS) + shape_columns))
    merged = pd.merge(_side(frame_a, all_keys, "a"), _side(frame_b, all_keys, "b"),
                      on=[f"key:{k}" for k in all_keys], how="outer", indicator="present", sort=False)
    out = pd.DataFrame({k: merged[f"{k}_a"].combine_first(merged[f"{k}_b"]) for k in all_keys})
    value_a = pd.to_numeric(merged["value_a"], errors="coerce")
    value_b = pd.to_numeric(merged["value_b"], errors="coerce")
    out["value_a"], out["value_b"] = value_a, value_b
    out["delta"] = value_b - value_a
    out["ratio"] = (value_b / value_a).where(value_a != 0)
    out["pct_change"] = 100.0 * (out["ratio"] - 1.0)
    out["spread_a"] = pd.to_numeric(merged["spread_a"], errors="coerce")
    out["spread_b"] = pd.to_numeric(merged["spread_b"], errors="coerce")
    out["noise"] = out[["spread_a", "spread_b"]].max(axis=1)
    out["status_a"], out["status_b"] = merged["status_a"], merged["status_b"]
    out["present"] = merged["present"].astype(str).map({"both": "both", "left_only": "a_only", "right_only": "b_only"})
    return out.reset_index(drop=True)


def select_rows(frame: pd.DataFrame, *, suites: Sequence[str] = (), metrics: Sequence[str] = ()) -> pd.DataFrame:
    """The rows of the named suites and metrics (all when none are named)."""
    keep = pd.Series(True, index=frame.index)
    if suites:
        keep &= frame["suite"].isin(list(suites))
    if metrics:
        keep &= frame["metric"].isin(list(metrics))
    return frame[keep]


def direction(metric_name: Any) -> bool | None:
    """True when higher is better, False when lower is, None when neither (or the metric is not in the table)."""
    try:
        return metric(str(metric_name)).higher_is_better
    except ArchbenchError:
        return None


def worsening(delta: pd.DataFrame) -> pd.Series:
    """Per compared row, how much worse b is than a as a fraction of |a| (negative: better); NaN where the metric
    has no direction, a side is missing or not ok, or a is 0."""
    higher = delta["metric"].map(direction)
    usable = (delta["present"] == "both") & (delta["status_a"] == "ok") & (delta["status_b"] == "ok") \
        & higher.notna() & (delta["value_a"] != 0)
    change = (delta["value_b"] - delta["value_a"]) / delta["value_a"].abs()
    sign = higher.map({True: -1.0, False: 1.0})
    return (sign * change).where(usable)


def regressions(delta: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """The rows of `compare_runs` whose metric has a better direction and got worse by more than `threshold`
    (relative to run a): the CI gate of `archbench compare --threshold`. Noise is not subtracted: pick a threshold
    above the `noise` column of the timings you gate on."""
    worse = worsening(delta)
    return delta[worse > threshold].assign(worse_by=worse[worse > threshold])


def delta_lines(delta: pd.DataFrame, threshold: float | None = None, *, unchanged: bool = False) -> list[str]:
    """The rows present in both runs as short lines, one block per suite, each: what (case, metric, shape; the
    measure too where two rows would read alike), a -> b, change, and a flag (WORSE / better past the threshold,
    or 'noise' when the change is within the larger relative spread). Rows equal in both runs are counted in
    one last line unless `unchanged`."""
    both = delta[delta["present"] == "both"]
    worse = worsening(both)
    shape_columns = [c for c in both.columns if str(c).startswith("shape.")]
    equal = both["value_a"].eq(both["value_b"]) | (both["value_a"].isna() & both["value_b"].isna())
    shown = both if unchanged else both[~equal]
    lines: list[str] = []
    for suite, part in shown.groupby("suite", sort=False):
        lines.append(f"{suite}")
        part = part.sort_values(["case", "metric", "measure", *shape_columns], kind="stable")
        what = part.apply(lambda row: " ".join(filter(None, [str(row["case"]), str(row["metric"]), "-".join(
            f"{c[6:]}{_key_text(row[c])}" for c in shape_columns if _key_text(row[c]))])), axis=1)
        what = what.where(~what.duplicated(keep=False), what + " (" + part["measure"].astype(str) + ")")
        for i, row in part.iterrows():
            change = "" if pd.isna(row["pct_change"]) else f"{row['pct_change']:+.1f}%"
            lines.append(f"  {what[i][:64]:<64} {format_value(row['value_a'], row['unit']):>14} -> "
                         f"{format_value(row['value_b'], row['unit']):>14} {change:>8}  "
                         f"{_flag(worse[i], row['noise'], threshold)}".rstrip())
    if not unchanged and equal.any():
        lines.append(f"({int(equal.sum())} of {len(both)} compared rows are equal in both runs: --all lists them)")
    return lines


def _flag(worse: float, noise: float, threshold: float | None) -> str:
    if pd.isna(worse):
        return ""
    if threshold is not None and abs(worse) > threshold:
        return "WORSE" if worse > 0 else "better"
    return "noise" if not pd.isna(noise) and abs(worse) <= noise else ""


@dataclass(frozen=True)
class VerdictChange:
    """One claim whose status differs between run a and run b (None: the run has no verdict for it)."""
    claim: str
    status_a: Status | None
    status_b: Status | None
    value_a: Any = None
    value_b: Any = None
    unit: str = ""

    def __str__(self) -> str:
        def side(status: Status | None, value: Any) -> tuple[str, str]:
            return ("(not judged)", "—") if status is None else (status.value, format_value(value, self.unit))
        (old, old_value), (new, new_value) = side(self.status_a, self.value_a), side(self.status_b, self.value_b)
        return f"{self.claim}: {old} -> {new} ({old_value} -> {new_value})"

    def to_record(self) -> dict[str, Any]:
        """JSON-ready: statuses as their text (None where a run has no verdict for the claim)."""
        return {"claim": self.claim, "status_a": self.status_a and self.status_a.value,
                "status_b": self.status_b and self.status_b.value, "value_a": self.value_a, "value_b": self.value_b,
                "unit": self.unit}


def compare_verdicts(a: Sequence[VerdictRecord], b: Sequence[VerdictRecord]) -> list[VerdictChange]:
    """The claims whose status changed from run a to run b, or that only one run judged; in b's order, then a's."""
    by_claim_a, by_claim_b = {v.claim: v for v in a}, {v.claim: v for v in b}
    changes = []
    for claim in dict.fromkeys([*by_claim_b, *by_claim_a]):
        old, new = by_claim_a.get(claim), by_claim_b.get(claim)
        if old is None or new is None or old.status != new.status:
            changes.append(VerdictChange(claim, old and old.status, new and new.status, old and old.value,
                                         new and new.value, (new or old).unit))
    return changes
