"""Drawing a suite's headline figure (`harness.report.headline.Headline`) from a run's rows, as inline SVG.

`headline_figure(headline, frame, verdicts)` returns the figure's title, SVG and caption, or None when the run has
no rows for it (a suite without a headline, or not run, shows none). Values are scaled to a readable axis unit
(bytes -> GB, seconds -> ms); the reference band or line is scaled with them. Slopes are least-squares fits of
log y on log x over a series' points; a crossover is where two such fits meet, marked "extrapolated" outside the
measured x range (and not drawn beyond 1000x past it).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, NullFormatter

from harness.report import plots
from harness.report.claim_figure import claim_points, claims_chart
from harness.report.headline import Headline, reference_band, select
from harness.report.verdicts import CSS
from harness.store.units import axis_scale, format_value

BAND = "#bf8700"
MAX_EXTRAPOLATION = 1000.0
MAX_COLUMNS = 3                                   # panels per row


def headline_figure(headline: Headline | None, frame: pd.DataFrame,
                    verdicts: Mapping[str, Mapping[str, Any]] = {},  # noqa: B006
                    related: Sequence[Mapping[str, Any]] = ()) -> dict[str, str] | None:
    """{title, svg, caption, claim_href} for the suite page, or None without a headline or without rows for it.
    `verdicts`: every verdict view by claim id; `related`: the views of the claims the suite answers."""
    if headline is None:
        return None
    if headline.kind == "claims":
        points, skipped = claim_points((v["record"] for v in related), CSS)
        note = f"not on the axis: {', '.join(c for c, _ in skipped)}" if skipped else ""
        return {"title": headline.title, "svg": claims_chart(points), "caption": note, "claim_href": "",
                "tall": True} if points else None
    data = select(headline, frame)
    if data.empty:
        return None
    verdict = verdicts.get(headline.claim) if headline.claim else None
    unit = str(data.unit.iloc[0])
    factor, axis_unit = axis_scale(unit, data.value) if headline.kind not in UNSCALED else (1.0, unit)
    data = data.assign(value=data.value / factor, q1=pd.to_numeric(data.q1, errors="coerce") / factor,
                       q3=pd.to_numeric(data.q3, errors="coerce") / factor)
    band, line, label = reference_band(headline, verdict, unit)
    band = (band[0] / factor, band[1] / factor) if band else None
    line = line / factor if line is not None else None
    ylabel = headline.y_label or headline.metrics[0]
    ylabel += f" [{axis_unit}]" if axis_unit and axis_unit != unit or not headline.y_label and unit else ""
    panels = list(dict.fromkeys(data.panel))
    with plt_context():
        ncols = min(len(panels), MAX_COLUMNS)
        nrows = -(-len(panels) // ncols)
        fig, axes = plots._figure(width=6.4 if ncols == 1 else 4.4 * ncols, height=3.6 * nrows, ncols=ncols,
                                  nrows=nrows)
        for ax in axes[len(panels):]:
            ax.set_visible(False)
        notes = []
        for ax, panel in zip(axes, panels):
            part = data[data.panel == panel]
            notes += DRAW[headline.kind](ax, part, headline)
            _reference(ax, band, line, label)
            if headline.kind != "roofline":
                ax.set_ylabel(ylabel)
            ax.set_xlabel(_axis_name(headline.x) if headline.kind != "roofline" else "arithmetic intensity [FLOP/byte]")
            if panel:
                ax.set_title(f"{_axis_name(headline.panels)} = {panel}")
            _legend(ax)
        fig.tight_layout()
        svg = plots.to_svg(fig)
    caption = list(notes)
    if verdict:
        caption.append(f"claim {headline.claim}: {verdict['status']} — measured {verdict['value']} vs stated "
                       f"{verdict['stated']}")
    return {"title": headline.title, "svg": svg, "caption": " · ".join(caption), "tall": False,
            "claim_href": verdict["href"] if verdict else ""}


def plt_context():
    import matplotlib.pyplot as plt
    return plt.rc_context(plots.STYLE)


def _axis_name(column: str) -> str:
    return column.split(".")[-1]


def _legend(ax) -> None:
    handles, names = ax.get_legend_handles_labels()
    if not handles:
        return
    if len(handles) <= 5:
        ax.legend(loc="best")
    else:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7)


def _reference(ax, band, line, label: str) -> None:
    if band:
        ax.axhspan(band[0], band[1], color=BAND, alpha=0.18, lw=0, label=label or "reference")
    if line is not None:
        ax.axhline(line, color=BAND, ls="--", lw=1.2, label=label or "reference")


def _color(i: int) -> str:
    """The report's palette, then matplotlib's tab20 (a stacked bar of 12 components needs 12 colours)."""
    if i < len(plots.PALETTE):
        return plots.PALETTE[i]
    import matplotlib
    return matplotlib.colors.to_hex(matplotlib.colormaps["tab20"]((2 * (i - len(plots.PALETTE)) + 1) % 20))


def _fit(xs: np.ndarray, ys: np.ndarray) -> tuple[float, float] | None:
    """(slope, intercept) of log y on log x, or None with fewer than two distinct positive points."""
    keep = (xs > 0) & (ys > 0)
    if len(set(xs[keep])) < 2:
        return None
    slope, intercept = np.polyfit(np.log(xs[keep]), np.log(ys[keep]), 1)
    return float(slope), float(intercept)


def _lines(ax, data: pd.DataFrame, h: Headline) -> list[str]:
    fits, notes = {}, []
    for i, (name, part) in enumerate(data.groupby("label", sort=False)):
        part = part.groupby("x", as_index=False).agg(value=("value", "median"), q1=("q1", "min"), q3=("q3", "max"),
                                                    series=("series", "first")).sort_values("x")
        xs, ys = part.x.to_numpy(float), part.value.to_numpy(float)
        color = _color(i)
        fit = _fit(xs, ys) if h.slopes else None
        ax.plot(xs, ys, marker="o", ms=3.5, lw=1.4, color=color,
                label=f"{name} (slope {fit[0]:.2f})" if fit else str(name))
        if part[["q1", "q3"]].notna().all(axis=None):
            err = np.vstack([ys - part.q1.to_numpy(float), part.q3.to_numpy(float) - ys]).clip(min=0)
            ax.errorbar(xs, ys, yerr=err, fmt="none", ecolor=color, capsize=2, lw=0.8)
        if fit:
            fits.setdefault(part.series.iloc[0], (fit, color, xs))
    if h.crossover and all(s in fits for s in h.crossover):
        notes.append(_crossover(ax, *(fits[s] for s in h.crossover), h.crossover))
    _log_axes(ax, h, data)
    return [n for n in notes if n]


def _crossover(ax, a, b, names) -> str:
    (fa, ca, xa), (fb, cb, xb) = a, b
    if abs(fa[0] - fb[0]) < 1e-9:
        return f"{names[0]} and {names[1]} scale alike: no crossover"
    x = float(np.exp((fb[1] - fa[1]) / (fa[0] - fb[0])))
    lo, hi = min(xa.min(), xb.min()), max(xa.max(), xb.max())
    if not lo / MAX_EXTRAPOLATION <= x <= hi * MAX_EXTRAPOLATION:
        return f"the fits of {names[0]} and {names[1]} cross at x ≈ {format_value(x)}, beyond the plotted range"
    span = np.geomspace(min(lo, x), max(hi, x), 50)
    for (slope, icpt), color in ((fa, ca), (fb, cb)):
        ax.plot(span, np.exp(icpt) * span ** slope, color=color, ls=":", lw=1)
    outside = not lo <= x <= hi
    ax.axvline(x, color="#57606a", ls="--", lw=1,
               label=f"crossover ≈ {format_value(x)}" + (" (extrapolated)" if outside else ""))
    return f"crossover of {names[0]} and {names[1]} at x ≈ {format_value(x)}" + \
        (" (extrapolated past the measured range)" if outside else "")


def _log_axes(ax, h: Headline, data: pd.DataFrame) -> None:
    if h.log_x and (pd.to_numeric(data.x, errors="coerce") > 0).all():
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_formatter(FuncFormatter(plots._tokens))
    if h.log_y and (data.value > 0).all():
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())


def _categories(data: pd.DataFrame) -> list[str]:
    return [str(c) for c in dict.fromkeys(data.x)]


def _bars(ax, data: pd.DataFrame, h: Headline) -> list[str]:
    cats, labels = _categories(data), list(dict.fromkeys(data.label))
    width = 0.8 / len(labels)
    pos = np.arange(len(cats))
    zeros = []
    for i, name in enumerate(labels):
        cells = data[data.label == name].groupby(data.x.astype(str)).value
        vals = cells.median().reindex(cats).to_numpy(float)
        at = pos + (i - (len(labels) - 1) / 2) * width
        if h.over:                               # the range over the summarised columns
            lows, highs = cells.min().reindex(cats).to_numpy(float), cells.max().reindex(cats).to_numpy(float)
            ax.errorbar(at, vals, yerr=np.vstack([vals - lows, highs - vals]).clip(min=0), fmt="none",
                        ecolor="#24292f", capsize=3, lw=1)
        if h.log_y:                              # a 0 has no place on a log axis: written at the bottom instead
            zeros += list(at[vals <= 0])
            vals = np.where(vals > 0, vals, np.nan)
        ax.bar(at, vals, width=width, color=_color(i), label=name if len(labels) > 1 else None)
    _ticks(ax, pos, cats)
    if h.log_y and (data.value > 0).any():
        ax.set_yscale("log")
        for x in zeros:
            ax.annotate("0", (x, 0), xycoords=("data", "axes fraction"), ha="center", va="bottom", fontsize=7)
    return ["0 = exactly zero, written at the foot of the log axis"] if zeros else []


def _stacked(ax, data: pd.DataFrame, h: Headline) -> list[str]:
    cats = _categories(data)
    pos, bottom = np.arange(len(cats)), np.zeros(len(cats))
    for i, name in enumerate(dict.fromkeys(data.label)):
        vals = data[data.label == name].groupby(data.x.astype(str)).value.sum().reindex(cats).fillna(0)
        ax.bar(pos, vals.to_numpy(float), bottom=bottom, width=0.7, color=_color(i),
               label=name)
        bottom += vals.to_numpy(float)
    _ticks(ax, pos, cats)
    if h.log_y and (bottom > 0).all():
        ax.set_yscale("log")
    return []


def _ticks(ax, pos, cats: list[str]) -> None:
    slanted = sum(map(len, cats)) > 50 or len(cats) > 6
    ax.set_xticks(pos, cats, rotation=30 if slanted else 0, ha="right" if slanted else "center")
    ax.grid(axis="x", visible=False)


def _curves(ax, data: pd.DataFrame, h: Headline) -> list[str]:
    finals = {}
    for i, (name, part) in enumerate(data.groupby("label", sort=False)):
        stats = part.groupby("x").value.agg(["mean", "std", "size"]).sort_index()
        seeds = part.seed.nunique() if "seed" in part else 1
        color = _color(i)
        ax.plot(stats.index.to_numpy(float), stats["mean"], color=color, lw=1.4,
                label=f"{name} (mean of {seeds} seeds ± std)" if seeds > 1 else f"{name} (1 seed)")
        if seeds > 1:
            ax.fill_between(stats.index.to_numpy(float), stats["mean"] - stats["std"], stats["mean"] + stats["std"],
                            color=color, alpha=0.2, lw=0)
        finals[name] = (float(stats["mean"].iloc[-1]), seeds)
    if len(finals) == 2:
        (a, (va, na)), (b, (vb, nb)) = finals.items()
        unit = str(data.unit.iloc[0])
        return [f"final {b} − {a}: {format_value(vb - va, unit)} (means of {nb} and {na} seeds)"]
    return []


def _roofline(ax, data: pd.DataFrame, h: Headline) -> list[str]:
    """min(peak FLOP/s, intensity x bandwidth) over 1/16..1024 FLOP per byte, log-log, the ridge marked."""
    flops = data[data.unit == "FLOP/s"].value
    bandwidth = data[data.unit == "bytes/s"].value
    if flops.empty or bandwidth.empty:
        return ["needs a FLOP/s and a bytes/s peak"]
    peak, bw = float(flops.max()), float(bandwidth.max())
    intensity = np.geomspace(1 / 16, 1024, 200)
    ax.plot(intensity, np.minimum(peak, intensity * bw) / 1e9, color=plots.PALETTE[0], lw=1.8,
            label=f"attainable (peak {format_value(peak, 'FLOP/s')}, {format_value(bw, 'bytes/s')})")
    ridge = peak / bw
    ax.axvline(ridge, color="#57606a", ls="--", lw=1, label=f"ridge: {ridge:.3g} FLOP/byte")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_ylabel("attainable GFLOP/s")
    return [f"below {ridge:.3g} FLOP per byte a kernel is bound by memory bandwidth on this machine"]


DRAW = {"lines": _lines, "bars": _bars, "stacked": _stacked, "curves": _curves, "roofline": _roofline}
UNSCALED = ("curves", "roofline")                # their own axes: no common unit scaling
