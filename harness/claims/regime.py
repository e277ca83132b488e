"""Where rows hold: a claim's regime (the sizes, device or model scale the document makes it for, as data) and
`where_measured`, the scope of a set of rows (device, dtype, threads, the range of every shape column).

`args.regime = { "shape.T" = ">=2048", "shape.D" = ">=8192", device = "cuda" }`: each key is a row column as the
row selection reads it (`shape.T`, `config.params`, `device`), or a product or quotient of such columns
(`"shape.B*shape.T"`, `"extra.cache_read/extra.weights"`: the KV cache dominates what a decode step reads);
each condition is a comparison with a number (">=2048", "<1e6", "==1") or a wanted value (a string, a number or a
list of them). Rows that a claim selects but that lie outside its regime are never judged against it: when none of
them lies inside, the claim is "inconclusive" (the run did not reach the regime; a larger profile might) or, when
the regime needs a device this run did not have, "untestable here". The verdict then names the regime and where
the rows were measured; `args.beside` (harness/claims/scope.py) shows the extrapolation and analytic estimates.
"""
from __future__ import annotations

import operator
import re
from typing import Any

import pandas as pd

from harness.claims.model import Claim, Status, Verdict
from harness.store.columns import column
from harness.store.units import format_value, is_missing

COMPARISON = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*([-+0-9.eE]+)\s*$")
OPERATORS = {">=": operator.ge, "<=": operator.le, "==": operator.eq, "!=": operator.ne, ">": operator.gt,
             "<": operator.lt}
SYMBOLS = {">=": "≥", "<=": "≤", "==": "=", "!=": "≠", ">": ">", "<": "<"}
DEVICE_KEYS = ("device",)
ANALYTIC = "analytic (formulas, no measurement)"


def regime_problem(regime: Any) -> str:
    """Why `args.regime` is malformed, or ""."""
    if not isinstance(regime, dict) or not regime:
        return "args.regime must be a non-empty table of column = condition"
    for key, condition in regime.items():
        if isinstance(condition, str) and condition.strip()[:1] in "<>=!" and not COMPARISON.match(condition):
            return f"args.regime.{key}: {condition!r} is not a comparison with a number (e.g. \">=2048\")"
        if isinstance(condition, (dict, bool)):
            return f"args.regime.{key}: a condition is a comparison, a value or a list of values"
    return ""


def _values(frame: pd.DataFrame, key: str) -> pd.Series:
    """The column `key` names, or the product / quotient of the numeric columns it names ("a*b", "a/b")."""
    parts = re.split(r"([*/])", key)
    if len(parts) == 1:
        return column(frame, key)
    out = pd.to_numeric(column(frame, parts[0]), errors="coerce")
    for op, part in zip(parts[1::2], parts[2::2]):
        other = pd.to_numeric(column(frame, part), errors="coerce")
        out = out * other if op == "*" else out / other.where(other != 0)
    return out


def _satisfies(value: Any, condition: Any) -> bool:
    if is_missing(value):
        return False
    match = COMPARISON.match(condition) if isinstance(condition, str) else None
    if match:
        try:
            return bool(OPERATORS[match.group(1)](float(value), float(match.group(2))))
        except (TypeError, ValueError):
            return False
    wanted = condition if isinstance(condition, list) else [condition]
    return any(value == w or (isinstance(w, (int, float)) and _number_equal(value, w)) for w in wanted)


def _number_equal(value: Any, wanted: float) -> bool:
    try:
        return float(value) == float(wanted)
    except (TypeError, ValueError):
        return False


def inside(frame: pd.DataFrame, regime: dict[str, Any]) -> pd.Series:
    """A boolean mask: the rows of `frame` that satisfy every condition of `regime`."""
    mask = pd.Series(True, index=frame.index)
    for key, condition in regime.items():
        mask &= _values(frame, key).map(lambda v, c=condition: _satisfies(v, c)).astype(bool)
    return mask


def describe_regime(regime: dict[str, Any]) -> str:
    parts = []
    for key, condition in regime.items():
        name = "".join(k.split(".", 1)[-1] if k not in "*/" else {"*": "·", "/": "/"}[k]
                       for k in re.split(r"([*/])", key))
        match = COMPARISON.match(condition) if isinstance(condition, str) else None
        if match:
            parts.append(f"{name} {SYMBOLS[match.group(1)]} {format_value(float(match.group(2)))}")
        else:
            parts.append(f"{name} {' or '.join(map(str, condition)) if isinstance(condition, list) else condition}")
    return ", ".join(parts)


def within_regime(claim: Claim, frame: pd.DataFrame, rows: pd.DataFrame) -> tuple[pd.DataFrame | None, Verdict | None]:
    """(the rows inside the claim's regime, None), or (None, the verdict for a regime this run did not reach).
    Without `args.regime`, every row."""
    regime = claim.args.get("regime")
    if not regime:
        return rows, None
    kept = rows[inside(rows, regime)]
    if len(kept):
        return kept, None
    missing_device = [regime[k] for k in DEVICE_KEYS if k in regime and not inside(frame, {k: regime[k]}).any()]
    status = Status.UNTESTABLE if missing_device else Status.INCONCLUSIVE
    why = (f"needs a {' or '.join(map(str, missing_device))} device, which this run did not have" if missing_device
           else "the run did not reach it (a larger profile or another machine might)")
    shown = "; ".join(f"{_label(r)}: {format_value(r.value, r.unit)}" for _, r in rows.head(4).iterrows())
    evidence = (f"Outside its regime: the claim is about {describe_regime(regime)}; {why}. The {len(rows)} matching "
                f"row(s) were measured at {where_measured(rows)} and are not judged against it (there: {shown}"
                f"{' …' if len(rows) > 4 else ''}).")
    return None, Verdict(claim=claim, status=status, evidence=evidence, rows=tuple(int(i) for i in rows.index))


def _label(row: Any) -> str:
    shape = [f"{k[6:]}={format_value(v)}" for k, v in row.items() if str(k).startswith("shape.") and not is_missing(v)]
    return " ".join([str(row.get("case", ""))] + shape)


def where_measured(rows: pd.DataFrame) -> str:
    """Where rows hold, from the rows themselves: device, dtype and threads, then each shape column's range (a
    count of seeds) and the model sizes, e.g. "cpu · float32 · 2 threads · B=1 · T 256–2048 · D=256". Rows from
    formulas only: "analytic (formulas, no measurement)"."""
    if rows.empty:
        return "no rows"
    measured = rows[(rows.get("stat", pd.Series("", index=rows.index)) != "analytic")
                    & (rows.get("device", pd.Series("", index=rows.index)) != "formula")]
    if measured.empty:
        return ANALYTIC
    parts = [_distinct(measured, name) for name in ("device", "dtype")]
    threads = _distinct(measured, "threads")
    parts.append(f"{threads} threads" if threads else "")
    for name in sorted(c for c in measured.columns if str(c).startswith("shape.")):
        values = pd.to_numeric(measured[name], errors="coerce").dropna()
        if values.empty:
            continue
        short = name[6:]
        if short == "seed":
            parts.append(f"{values.nunique()} seed(s)")
        elif values.nunique() == 1:
            parts.append(f"{short}={format_value(values.iloc[0])}")
        else:
            parts.append(f"{short} {format_value(values.min())}–{format_value(values.max())}")
    params = pd.to_numeric(column(measured, "config.params"), errors="coerce").dropna()
    if len(params):
        lo, hi = params.min(), params.max()
        parts.append(f"models of {format_value(lo, 'params')}" + (f"–{format_value(hi, 'params')}" if hi > lo else "")
                     + " params")
    return " · ".join(p for p in parts if p)


def _distinct(rows: pd.DataFrame, name: str) -> str:
    if name not in rows.columns:
        return ""
    values = [format_value(v) for v in dict.fromkeys(rows[name]) if not is_missing(v) and v != ""]
    return "/".join(values)
