"""What changed between two runs: per-metric deltas of their result frames (as `harness.store.results.load_frame`
returns them), and the verdicts whose status changed (`compare_verdicts`, over their verdicts.jsonl).

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
