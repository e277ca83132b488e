"""One suite's report page, as data for `suite.html.j2`: plots chosen from the shape of its rows, the pivot of its
metrics, the method lines, failed/untestable rows, the raw rows and their CSV.

Which plot a metric gets:
* loss metrics (a `step` in shape/extra, or train_loss/val_loss): loss vs step/tokens/FLOPs/wall, seed bands;
* a numeric shape column with >= 3 values (T preferred): the metric against it, log-log, IQR error bars;
* otherwise: one bar per case (and shape), IQR error bars.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from harness import plots
from harness.report_tables import (SHAPE, is_missing, lookup, method_lines, pivot, problem_rows, raw_rows,
                                   series_label, shape_columns, shape_label)

MAX_PLOTS = 8
MAX_BARS = 40
LOSS_METRICS = ("train_loss", "val_loss")
RAW_OPEN_LIMIT = 300                      # longer raw tables start folded (a fragment link unfolds them)


def _varying_numeric(part: pd.DataFrame) -> list[str]:
    cols = [c for c in shape_columns(part) if pd.api.types.is_numeric_dtype(part[c]) and part[c].nunique() >= 3]
    return sorted(cols, key=lambda c: (c != SHAPE + "T", -part[c].nunique(), c))


def _with_context(part: pd.DataFrame, exclude: list[str]) -> pd.Series:
    """Series label plus whatever else varies (other shape columns, dtype, device, stat)."""
    label = series_label(part)
    others = [c for c in shape_columns(part) if c not in exclude and part[c].nunique() > 1]
    if others:
        label = label + " " + part.apply(lambda r: shape_label(r, others), axis=1)
    for col in ("dtype", "device", "stat"):
        if part[col].nunique() > 1:
            label = label + " " + part[col].astype(str)
    return label


def loss_frame(part: pd.DataFrame) -> pd.DataFrame:
    """Loss rows as plain columns: label, step, tokens, flops, wall_s, seed, value."""
    out = pd.DataFrame({"label": series_label(part), "value": part.value})
    for name in ("step", "tokens", "flops", "wall_s", "seed"):
        out[name] = pd.to_numeric(lookup(part, name), errors="coerce")
    return out


def metric_plot(part: pd.DataFrame, metric: str, unit: str) -> str | None:
    ylabel = f"{metric} [{unit}]" if unit else metric
    if metric in LOSS_METRICS or lookup(part, "step").notna().any():
        data = loss_frame(part)
        if data.step.notna().any() or data.tokens.notna().any():
            return plots.loss_curves(data, ylabel=ylabel, title=metric)
    xs = _varying_numeric(part)
    if xs:
        x = xs[0]
        data = part.assign(label=_with_context(part, [x]))
        return plots.line_chart(data, x=x, xlabel=x[len(SHAPE):], ylabel=ylabel, title=metric)
    if len(part) > MAX_BARS:
        return None
    data = part.assign(label=_with_context(part, []))
    vals = data.value.abs()
    log = bool((data.value > 0).all() and vals.max() / max(vals.min(), 1e-300) > 1e3)
    return plots.bar_chart(data, ylabel=ylabel, title=metric, log=log)


def suite_plots(frame: pd.DataFrame) -> tuple[list[dict[str, str]], list[str]]:
    """`[{title, svg}]` for up to MAX_PLOTS metrics, and the metrics left without a plot."""
    ok = frame[frame.status == "ok"]
    out, skipped = [], []
    for (metric, unit), part in ok.groupby(["metric", "unit"], sort=False):
        svg = metric_plot(part, metric, unit) if len(out) < MAX_PLOTS else None
        if svg is None:
            skipped.append(metric)
        else:
            out.append({"title": f"{metric} [{unit}]" if unit else metric, "svg": svg, "anchor": f"plot-{metric}"})
    return out, skipped


def suite_context(name: str, frame: pd.DataFrame, suite: Any, claims: list[dict], docs: list[dict]) -> dict:
    """Everything `suite.html.j2` shows for one suite; `suite` may be None (rows of a suite not passed in)."""
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
        "methods": method_lines(part), "plots": figures, "unplotted": unplotted,
        "pivot": pivot(part), "problems": problems, "tracebacks": tracebacks,
        "raw": raw_rows(part), "raw_open": len(part) <= RAW_OPEN_LIMIT,
        "csv": f"{name}.csv", "archs": sorted(a for a in part.arch.unique() if not is_missing(a) and a),
    }
