"""The figure a document page opens with: every claim with a stated number, as measured ÷ stated on a log axis.

One row per claim (`claim_points` from the verdict records): the measured value divided by the stated one, its
interval over the rows judged where there is one, the band the claim accepts shaded (stated ± tolerance, a stated
range, or from the stated value on for "at least"), colour = verdict. A stated range is divided by its geometric
middle, so the band sits around 1. Ratios beyond the axis limits are drawn at the edge with their value written
beside them. Claims without a number on both sides (untestable, learning claims stated in words, a stated 0) are
listed under the figure instead, each with why.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping

from matplotlib.ticker import FuncFormatter

from harness.report import plots
from harness.store.units import format_value
from harness.store.verdicts import VerdictRecord

LIMITS = (1e-3, 1e3)                             # the ratio axis; beyond it points sit at the edge, labelled
OPEN_END = 1e6                                   # an "at least" band runs off the axis


@dataclass(frozen=True)
class ClaimPoint:
    claim: str
    css: str
    ratio: float                                 # measured / stated reference
    low: float | None                            # interval of the ratio, if the measured value has one
    high: float | None
    band: tuple[float, float] | None             # what the claim accepts, as a ratio


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _reference(v: VerdictRecord) -> tuple[float | None, tuple[float, float] | None, str]:
    """(the stated number measured values are divided by, the accepted band as a ratio, why not plottable)."""
    stated = v.stated
    if isinstance(stated, list) and len(stated) == 2 and all(_number(x) is not None for x in stated):
        lo, hi = float(stated[0]), float(stated[1])
        if lo <= 0 or hi <= 0:
            return None, None, "stated range starts at 0 (no ratio)"
        mid = math.sqrt(lo * hi)
        return mid, (lo / mid, hi / mid), ""
    ref = _number(stated)
    if ref is None:
        return None, None, "no stated number"
    if ref == 0:
        return None, None, "stated 0 (no ratio)"
    if v.bound == "at least":
        return ref, (1.0, OPEN_END), ""
    if v.bound == "at most":
        return ref, (1 / OPEN_END, 1.0), ""
    tol = v.tolerance or 0.0
    return ref, ((1 - tol, 1 + tol) if 0 < tol < 1 else None), ""


def claim_points(records: Iterable[VerdictRecord], css: Mapping) -> tuple[list[ClaimPoint], list[tuple[str, str]]]:
    """(points to draw, [(claim, why not drawn)]) for a document's verdicts; `css` maps a status to its class."""
    points, skipped = [], []
    for v in records:
        value = _number(v.value)
        ref, band, why = _reference(v)
        if not why and value is None:
            why = "no measured number" if v.value is None else "measured value is not a number"
        if not why and value / ref <= 0:
            why = "measured and stated differ in sign"
        if why:
            skipped.append((v.claim, why))
            continue
        low = high = None
        if v.interval and all(_number(x) is not None for x in v.interval) and v.interval[0] != v.interval[1]:
            low, high = sorted(x / ref for x in v.interval)
        points.append(ClaimPoint(v.claim, css[v.status], value / ref, low, high, band))
    return points, skipped


def claims_chart(points: list[ClaimPoint]) -> str:
    """Horizontal chart, one line per claim, ratio on a log x axis; empty string without points."""
    if not points:
        return ""
    lo, hi = LIMITS
    with plots.plt.rc_context(plots.STYLE):
        fig, (ax,) = plots._figure(width=8.6, height=1.0 + 0.24 * len(points))
        for y, p in enumerate(points):
            color = plots.STATUS_COLORS.get(p.css, "#57606a")
            if p.band:
                ax.fill_betweenx([y - 0.38, y + 0.38], max(p.band[0], lo), min(p.band[1], hi), color="#bf8700",
                                 alpha=0.18, lw=0)
            if p.low is not None:
                ax.plot([min(max(p.low, lo), hi), min(max(p.high, lo), hi)], [y, y], color=color, lw=2.2,
                        solid_capstyle="butt")
            x = min(max(p.ratio, lo), hi)
            ax.plot([x], [y], marker="o" if x == p.ratio else (">" if p.ratio > hi else "<"), ms=6, color=color)
            if x != p.ratio:
                ax.annotate(f"{format_value(p.ratio)}×", (x, y), xytext=(-6 if p.ratio > hi else 6, 0),
                            textcoords="offset points", ha="right" if p.ratio > hi else "left", va="center",
                            fontsize=7, color=color)
        ax.axvline(1.0, color="#24292f", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlim(lo / 1.5, hi * 1.5)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}×"))
        ax.set_yticks(range(len(points)), [p.claim for p in points], fontsize=7)
        ax.set_ylim(len(points) - 0.5, -0.5)
        ax.set_xlabel("measured ÷ stated (log scale; shaded: what the claim accepts; bar: interval over its rows)")
        ax.grid(axis="y", visible=False)
        ax.xaxis.set_label_position("top")
        ax.xaxis.tick_top()
        for name, color in plots.STATUS_COLORS.items():
            if any(p.css == name for p in points):
                ax.plot([], [], "o", color=color, label=name)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
        return plots.to_svg(fig)
