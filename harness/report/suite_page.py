"""One suite's report page, as data for `suite.html.j2`: plots chosen from the shape of its rows, the pivot of its
metrics, the method lines, failed/untestable rows, the raw rows and their CSV.

Which plot a metric gets:
* curves (a `step` in shape/extra with >= 2 values, e.g. train_loss/val_loss): the metric vs step, tokens, FLOPs
  and wall time, mean over seeds with a ± std band; one figure per measure when a metric has several;
* a numeric shape column with >= 3 values (T preferred): the metric against it, log-log, IQR error bars;
* otherwise: one bar per case (and shape), IQR error bars (no plot for a single value or > MAX_BARS bars).
Values are shown in a readable axis unit (bytes -> GiB, seconds -> ms, FLOP -> GFLOP...).
"""
from __future__ import annotations

import re
from typing import Any, Mapping

import pandas as pd

from harness.report import plots
from harness.report.headline_figures import headline_figure
from harness.report.methods import method_entries
from harness.report.tables import (pivot, problem_rows, raw_rows, series_label, shape_columns,
                                   shape_label)
from harness.store.columns import SHAPE, column
from harness.store.units import axis_scale, is_missing

MAX_PLOTS = 12
MAX_BARS = 40
RAW_OPEN_LIMIT = 300                      # longer raw tables start folded (a fragment link unfolds them)


def _varying_numeric(part: pd.DataFrame) -> list[str]:
    cols = [c for c in shape_columns(part) if pd.api.types.is_numeric_dtype(part[c]) and part[c].nunique() >= 3]
    return sorted(cols, key=lambda c: (c != SHAPE + "T", -part[c].nunique(), c))


def _with_context(part: pd.DataFrame, exclude: list[str]) -> pd.Series:
    """Series label plus every other column that varies (other shape columns, measure, dtype, device, stat), so
    that one line never joins points of different cases (e.g. forward and forward+backward)."""
    label = series_label(part)
    others = [c for c in shape_columns(part) if c not in exclude and part[c].nunique() > 1]
    if others:
        label = label + " " + part.apply(lambda r: shape_label(r, others), axis=1)
    for col in ("measure", "dtype", "device", "stat"):
        if part[col].nunique() > 1:
            label = label + " " + part[col].astype(str)
    return label


def loss_frame(part: pd.DataFrame) -> pd.DataFrame:
    """Loss rows as plain columns: label, step, tokens, flops, wall_s, seed, value."""
    out = pd.DataFrame({"label": series_label(part), "value": part.value})
    for name in ("step", "tokens", "flops", "wall_s", "seed"):
        out[name] = pd.to_numeric(column(part, name), errors="coerce")
    return out


def _scaled(part: pd.DataFrame, unit: str) -> tuple[pd.DataFrame, str]:
    """Values (and q1/q3) divided into a readable axis unit: bytes -> GiB, seconds -> ms..."""
    factor, label = axis_scale(unit, part.value)
    return part.assign(value=part.value / factor, q1=part.q1 / factor, q3=part.q3 / factor), label


def is_curve(part: pd.DataFrame) -> bool:
    """Rows that form a curve over training: a step (in shape or extra) with at least two distinct values."""
    return pd.to_numeric(column(part, "step"), errors="coerce").nunique() >= 2


def metric_plot(part: pd.DataFrame, metric: str, unit: str) -> tuple[str, bool] | None:
    """(svg, wide) for one metric's ok rows, or None when no plot fits (see the module docstring)."""
    if is_curve(part):
        return plots.loss_curves(loss_frame(part), ylabel=f"{metric} [{unit}]" if unit else metric), True
    part, axis_unit = _scaled(part, unit)
    ylabel = f"{metric} [{axis_unit}]" if axis_unit else metric
    xs = _varying_numeric(part)
    if xs:
        lines = part[part.groupby(_with_context(part, [xs[0]]))[xs[0]].transform("nunique") >= 2]
        if len(lines):                         # series of one point are left to the table
            data = lines.assign(label=_with_context(lines, [xs[0]]))
            return plots.line_chart(data, x=xs[0], xlabel=xs[0][len(SHAPE):], ylabel=ylabel), False
    if not 2 <= len(part) <= MAX_BARS:
        return None
    data = part.assign(label=_with_context(part, []), series=series_label(part))
    vals = data.value.abs()
    log = bool((data.value > 0).all() and vals.max() / max(vals.min(), 1e-300) > 1e3)
    return plots.bar_chart(data, ylabel=ylabel, log=log, color="series"), False


def suite_plots(frame: pd.DataFrame) -> tuple[list[dict[str, Any]], list[str]]:
    """`[{title, svg, anchor, wide}]` for up to MAX_PLOTS metrics, and the metrics left without a plot."""
    ok = frame[frame.status == "ok"]
    out, skipped = [], []
    for (metric, unit), rows in ok.groupby(["metric", "unit"], sort=False):
        # curves of different comparisons (measure = loss_<group>) get a figure each; other metrics one figure
        split = rows.groupby("measure", sort=False) if rows.measure.nunique() > 1 and is_curve(rows) else [("", rows)]
        for measure, part in split:
            title = (f"{metric} [{unit}]" if unit else metric) + (f" · {measure}" if measure else "")
            made = metric_plot(part, metric, unit) if len(out) < MAX_PLOTS else None
            if made is None:
                skipped.append(title)
            else:
                out.append({"title": title, "svg": made[0], "wide": made[1],
                            "anchor": re.sub(r"[^A-Za-z0-9_.-]+", "_", f"plot-{metric}-{measure}".rstrip("-"))})
    return out, skipped


def suite_context(name: str, frame: pd.DataFrame, suite: Any, claims: list[dict], docs: list, csv: str,
                  verdicts: Mapping[str, dict] | None = None) -> dict:
    """Everything `suite.html.j2` shows for one suite; `suite` may be None (rows of a suite not passed in).
    `verdicts`: every verdict view by claim id (a headline's reference claim may belong to another suite)."""
    part = frame[frame.suite == name]
    figures, unplotted = suite_plots(part)
    problems = problem_rows(part)
    tracebacks = [{"row": i, "text": r.extra["traceback"]} for i, r in part[part.status == "failed"].iterrows()
                  if isinstance(r.extra, dict) and r.extra.get("traceback")]
    return {
        "name": name,
        "question": getattr(suite, "question", "") or "(no suite definition was passed to the report)",
        "description": getattr(suite, "description", ""),
        "docs": docs, "claims": claims,
        "counts": part.status.value_counts().reindex(["ok", "failed", "untestable"], fill_value=0).to_dict(),
        "headline": headline_figure(getattr(suite, "headline", None), part, verdicts or {}, claims),
        "methods": method_entries(part), "plots": figures, "unplotted": unplotted,
        "pivot": pivot(part), "problems": problems, "tracebacks": tracebacks,
        "raw": raw_rows(part), "raw_open": len(part) <= RAW_OPEN_LIMIT,
        "csv": csv, "archs": sorted(a for a in part.arch.unique() if not is_missing(a) and a),
    }
