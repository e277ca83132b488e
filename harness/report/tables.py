"""What the report's tables are made of: the pivot of a suite's metrics, its method line, the raw
rows and the per-suite summary, all computed from the tidy results frame (`harness.store.results.load_frame`).

Row ids are the frame's index: every table cell that shows a measured number links to `#row-<index>` in the raw
rows table of its suite page, which is how a verdict's `rows` are found again.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from harness.store.columns import SHAPE, column
from harness.store.units import format_value, is_missing, plain


@dataclass(frozen=True)
class Link:
    text: str
    href: str


@dataclass
class Table:
    """A small table for a template: `rows` of cells (text, number-as-text or `Link`); `num` = right-aligned columns;
    `ids` = an anchor id per row (or None)."""
    columns: list[str]
    rows: list[list[Any]]
    num: set[int] = field(default_factory=set)
    ids: list[str | None] | None = None
    note: str = ""


def shape_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.startswith(SHAPE) and frame[c].notna().any()]


def shape_label(row: pd.Series, columns: list[str]) -> str:
    return "-".join(f"{c[len(SHAPE):]}{plain(row[c])}" for c in columns if not is_missing(row[c]))


def series_label(frame: pd.DataFrame) -> pd.Series:
    """What distinguishes plotted series: the case, `/ arch` when it differs, and extra phase/part/kind if any."""
    label = frame["case"].astype(str)
    has_arch = (frame["arch"] != "") & (frame["arch"] != frame["case"])
    label = label.where(~has_arch, label + " / " + frame["arch"].astype(str))
    for key in ("phase", "part", "kind"):
        extra = column(frame, key)
        if extra.notna().any():
            label = label + extra.map(lambda v: "" if is_missing(v) else f" ({v})")
    return label


def row_anchor(index: Any) -> str:
    return f"row-{index}"


DISTINGUISH = ("measure", "dtype", "device", "threads", "stat")


def pivot(frame: pd.DataFrame, limit: int = 150) -> Table:
    """ok rows: one column per metric [unit], one line per case (with arch and extra phase/part/kind), shape, and
    whichever of measure/dtype/device/threads/stat tell two rows of one metric apart. No row is hidden: if two
    rows still meet in one cell, the second starts a line of its own."""
    ok = last_steps(frame[frame.status == "ok"])
    if ok.empty:
        return Table(columns=[], rows=[])
    shapes = shape_columns(ok)
    ok = ok.assign(_label=series_label(ok), _col=ok.metric + " [" + ok.unit + "]")
    by_metric = ok.groupby("_col")
    extra = [c for c in DISTINGUISH if by_metric[c].nunique(dropna=False).gt(1).any()]
    keys = ["_label", *extra, *shapes]
    columns = list(dict.fromkeys(ok._col))
    lines: dict[tuple, dict[str, Link]] = {}
    for idx, row in ok.iterrows():
        key = tuple("" if is_missing(row[k]) else plain(row[k]) for k in keys)
        while row._col in lines.get(key, {}):
            key = (*key[:-1], f"{key[-1]}\u200b")          # same key, another line (an invisible mark)
        lines.setdefault(key, {})[row._col] = Link(format_value(row.value, row.unit), "#" + row_anchor(idx))
    rows = [[*(str(k).rstrip("\u200b") for k in key), *(cells.get(c, "—") for c in columns)]
            for key, cells in lines.items()]
    notes = [f"first {limit} of {len(rows)} lines" if len(rows) > limit else "",
             "curves (rows with a step): last step only" if len(ok) < (frame.status == "ok").sum() else ""]
    note = "; ".join(filter(None, notes)) + ("; every row is in the raw table and the CSV" if any(notes) else "")
    header = ["case", *extra, *(s[len(SHAPE):] for s in shapes), *columns]
    return Table(columns=header, rows=rows[:limit], num=set(range(len(keys), len(header))), note=note)


def last_steps(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows without a step, plus only the last step of each curve (rows with a step in shape or extra)."""
    step = pd.to_numeric(column(frame, "step"), errors="coerce")
    if step.isna().all():
        return frame
    curve = frame.assign(_step=step)[step.notna()]
    seed = column(curve, "seed").astype(str)
    series = [curve.metric, curve.case, curve.arch, seed, *(curve[c] for c in shape_columns(curve) if c not in
                                                            (SHAPE + "step", SHAPE + "seed"))]
    last = curve.groupby([s.astype(str) for s in series], sort=False)["_step"].transform("max")
    return frame[step.isna() | (step == last.reindex(frame.index))]


RAW_COLUMNS = ["case", "arch", "measure", "metric", "shape", "value", "unit", "stat", "n", "spread", "method",
               "device", "dtype", "threads", "status", "reason"]


def raw_rows(frame: pd.DataFrame) -> Table:
    """Every row of the frame, each with its `row-<index>` anchor."""
    shapes = shape_columns(frame)
    rows, ids = [], []
    for idx, r in frame.iterrows():
        spread = "" if is_missing(r.spread) else f"{100 * r.spread:.1f}%"
        threads = "" if is_missing(r.threads) else str(int(r.threads))
        rows.append([Link(f"#{idx}", "#" + row_anchor(idx)), r.case, r.arch, r.measure, r.metric,
                     shape_label(r, shapes), format_value(r.value, r.unit) if r.status == "ok" else "—",
                     r.unit, r.stat, str(r.n), spread, r.method, r.device, r.dtype, threads, r.status, r.reason])
        ids.append(row_anchor(idx))
    return Table(columns=["row", *RAW_COLUMNS], rows=rows, ids=ids, num={6, 9, 10})


def problem_rows(frame: pd.DataFrame) -> Table:
    """Failed and untestable rows with their reasons."""
    bad = frame[frame.status != "ok"]
    shapes = shape_columns(bad)
    rows = [[Link(f"#{i}", "#" + row_anchor(i)), r.status, r.case, r.arch, r.metric, shape_label(r, shapes),
             r.reason] for i, r in bad.iterrows()]
    return Table(columns=["row", "status", "case", "arch", "metric", "shape", "reason"], rows=rows)


def suite_summary(frame: pd.DataFrame, expected: list[str]) -> list[dict[str, Any]]:
    """Per suite (every suite with rows, plus the `expected` ones): row counts by status and failure reasons."""
    names = list(dict.fromkeys([*expected, *frame.suite.unique()]))
    out = []
    for name in names:
        part = frame[frame.suite == name]
        counts = part.status.value_counts().to_dict()
        reasons = part[part.status == "failed"].reason.value_counts()
        out.append({"name": name, "ok": counts.get("ok", 0), "failed": counts.get("failed", 0),
                    "untestable": counts.get("untestable", 0), "rows": len(part),
                    "reasons": [f"{r} (×{c})" if c > 1 else r for r, c in reasons.items()],
                    "state": "no rows" if part.empty else ("failed" if counts.get("failed") else "ok")})
    return out


def to_csv(frame: pd.DataFrame) -> str:
    """The rows as CSV, dict columns as JSON, the frame index as `row`."""
    out = frame.copy()
    for name in ("config", "extra"):
        out[name] = out[name].map(lambda d: json.dumps(d, sort_keys=True, default=str))
    return out.rename_axis("row").to_csv()
