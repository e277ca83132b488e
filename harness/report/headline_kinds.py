"""How each kind of headline figure (`harness.report.headline.KINDS`) draws its panel: `DRAW[kind](ax, data,
headline)` draws the rows `harness.report.headline.select` gave (values already in the axis unit) and returns
notes for the caption. Lines fit log y on log x per series (least squares) and mark where two fits cross, labelled
"extrapolated" outside the measured x range and not drawn beyond MAX_EXTRAPOLATION times past it; bars take the
median of a cell (whiskers: its range over the columns a headline summarises); curves average the seeds.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, NullFormatter

from harness.report import plots
from harness.report.headline import Headline
from harness.store.units import format_value

MAX_EXTRAPOLATION = 1000.0


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
