"""Report plots as inline SVG strings: bars by case, metric vs a shape column (log-log), loss curves, verdict summary.

Every function takes plain data (a tidy DataFrame with named columns, or dicts) and returns an `<svg>` element
ready to inline in HTML. Output is deterministic, so two renders of the same run diff cleanly: the Agg backend,
`svg.hashsalt` fixed, no date in the metadata, glyphs as paths (no font lookup in the browser), and every SVG id
prefixed with a hash of the figure so several plots can share one page without id clashes.
"""
from __future__ import annotations

import hashlib
import io
import re
from typing import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

STATUS_COLORS = {"holds": "#1a7f37", "refuted": "#cf222e", "inconclusive": "#bf8700",
                 "assumption": "#0969da", "untestable": "#8c959f", "notrun": "#d0d7de"}
PALETTE = ["#0969da", "#cf222e", "#1a7f37", "#bf8700", "#8250df", "#1b7c83", "#bc4c00", "#57606a",
           "#e85aad", "#4d2d00"]
STYLE = {"svg.hashsalt": "archbench", "svg.fonttype": "path", "font.size": 9, "axes.titlesize": 10,
         "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3,
         "legend.fontsize": 8, "legend.frameon": False, "figure.dpi": 100}
_ID = re.compile(r'id="([^"]+)"')


def to_svg(fig) -> str:
    """The figure as an inline `<svg>` element (no XML prolog, ids made page-unique); closes the figure."""
    buf = io.StringIO()
    try:
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    finally:
        plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    prefix = "p" + hashlib.sha1(svg.encode()).hexdigest()[:8] + "-"
    ids = set(_ID.findall(svg))
    if ids:
        ref = re.compile(r'(id="|href="#|url\(#)(' + "|".join(map(re.escape, sorted(ids, key=len, reverse=True)))
                         + r')(?=[")])')
        svg = ref.sub(lambda m: m.group(1) + prefix + m.group(2), svg)
    return svg.replace("<svg ", '<svg class="plot" ', 1)


def _figure(width: float = 6.4, height: float = 3.4, ncols: int = 1, nrows: int = 1):
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), squeeze=False)
    return fig, list(axes.flat)


def _tokens(v: float, _pos=None) -> str:
    """Tick label for a power-of-two axis: 2048 -> 2k, 131072 -> 128k, 64 -> 64."""
    return f"{v / 1024:g}k" if v >= 1024 and v % 1024 == 0 else f"{v:g}"


def bar_chart(frame: pd.DataFrame, *, label: str = "label", value: str = "value", q1: str | None = "q1",
              q3: str | None = "q3", color: str | None = None, ylabel: str = "", title: str = "",
              log: bool = False) -> str:
    """One bar per row (`label` column), IQR error bars where q1/q3 are present; bars with the same `color`
    column value share a colour (default: every bar its own)."""
    with plt.rc_context(STYLE):
        fig, (ax,) = _figure(width=max(4.0, min(9.0, 1.2 + 0.45 * len(frame))))
        x = np.arange(len(frame))
        vals = frame[value].to_numpy(float)
        keys = list(frame[color]) if color else list(range(len(frame)))
        index = {k: i for i, k in enumerate(dict.fromkeys(keys))}
        ax.bar(x, vals, color=[PALETTE[index[k] % len(PALETTE)] for k in keys], width=0.7)
        if q1 and q3 and q1 in frame and q3 in frame and frame[[q1, q3]].notna().all(axis=None):
            err = np.vstack([vals - frame[q1].to_numpy(float), frame[q3].to_numpy(float) - vals]).clip(min=0)
            ax.errorbar(x, vals, yerr=err, fmt="none", ecolor="#24292f", capsize=3, lw=1)
        labels = [str(v) for v in frame[label]]
        slanted = sum(map(len, labels)) > 60 or len(labels) > 6      # long labels would overlap: slant them
        ax.set_xticks(x, labels, rotation=30 if slanted else 0, ha="right" if slanted else "center")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(axis="x", visible=False)
        if log and (vals > 0).all():
            ax.set_yscale("log")
        return to_svg(fig)


def line_chart(frame: pd.DataFrame, *, x: str, y: str = "value", group: str = "label", q1: str | None = "q1",
               q3: str | None = "q3", xlabel: str = "", ylabel: str = "", title: str = "", loglog: bool = True) -> str:
    """`y` against `x`, one line per `group`, log-log when every value is positive, IQR error bars if present."""
    with plt.rc_context(STYLE):
        data = frame.dropna(subset=[x, y]).sort_values(x)
        data = data.assign(**{group: split_series(data, x, group)})
        fig, (ax,) = _figure(width=6.4 if data[group].nunique() <= 4 else 8.6)
        for i, (name, part) in enumerate(data.groupby(group, sort=True)):
            xs, ys = part[x].to_numpy(float), part[y].to_numpy(float)
            color = PALETTE[i % len(PALETTE)]
            ax.plot(xs, ys, marker="o", ms=3.5, lw=1.4, color=color, label=str(name))
            if q1 and q3 and q1 in part and q3 in part and part[[q1, q3]].notna().all(axis=None):
                err = np.vstack([ys - part[q1].to_numpy(float), part[q3].to_numpy(float) - ys]).clip(min=0)
                ax.errorbar(xs, ys, yerr=err, fmt="none", ecolor=color, capsize=2, lw=0.8)
        positive = len(data) and (data[x].astype(float) > 0).all() and (data[y].astype(float) > 0).all()
        if loglog and positive:
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.xaxis.set_major_formatter(FuncFormatter(_tokens))
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_xlabel(xlabel or x)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        if 1 < data[group].nunique() <= 4:
            ax.legend(loc="best")
        elif data[group].nunique() > 4:                               # many series: legend beside the axes
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7)
        return to_svg(fig)


SERIES_KEYS = ("case", "arch", "measure", "metric", "dtype", "device", "stat", "threads", "method")


def split_series(frame: pd.DataFrame, x: str, group: str) -> pd.Series:
    """The `group` labels, each extended by every other column that varies inside a group where an x value repeats
    (shape columns, then case, measure, dtype...): a line never joins points of different cases."""
    labels = frame[group].astype(str)
    keys = [c for c in frame.columns if c.startswith("shape.") and c != x] + [c for c in SERIES_KEYS if c in frame]
    for name, part in frame.groupby(group, sort=False):
        if not part[x].duplicated().any():
            continue
        varying = [c for c in keys if part[c].astype(str).nunique() > 1]
        suffix = part[varying].astype(str).apply(lambda r: " ".join(f"{c.split('.')[-1]}={v}" for c, v in r.items()),
                                                 axis=1) if varying else part[x].groupby(part[x]).cumcount().map(
                                                     lambda i: f"#{i + 1}")
        labels[part.index] = f"{name} (" + suffix + ")"
    return labels


LOSS_AXES = {"step": "optimizer step", "tokens": "training tokens", "flops": "training FLOPs",
             "wall_s": "wall time [s]"}


def loss_curves(frame: pd.DataFrame, *, xs: Sequence[str] = tuple(LOSS_AXES), y: str = "value",
                group: str = "label", seed: str | None = "seed", ylabel: str = "loss [nats]",
                title: str = "") -> str:
    """Loss vs each available x column (one panel each): mean over seeds as a line, mean ± std as a band."""
    xs = [x for x in xs if x in frame and frame[x].notna().any()]
    if not xs:
        raise ValueError("loss_curves: none of the x columns is present")
    ncols = min(2, len(xs))
    nrows = (len(xs) + ncols - 1) // ncols
    with plt.rc_context(STYLE):
        fig, axes = _figure(width=6.4 if ncols == 1 else 9.0, height=3.0 * nrows, ncols=ncols, nrows=nrows)
        for ax, x in zip(axes, xs):
            for i, (name, part) in enumerate(frame.dropna(subset=[x, y]).groupby(group, sort=True)):
                if seed and seed in part and part[seed].nunique() > 1:
                    # align seeds on the step, average x too (tokens/FLOPs/wall differ slightly per seed)
                    key = "step" if "step" in part else x
                    stats = part.groupby(key).agg(xm=(x, "mean"), m=(y, "mean"), s=(y, "std"), n=(y, "size"))
                    stats = stats[stats.n > 1]
                    ax.fill_between(stats.xm, stats.m - stats.s, stats.m + stats.s, color=PALETTE[i % 10],
                                    alpha=0.2, lw=0)
                    n = part[seed].nunique()
                    ax.plot(stats.xm, stats.m, color=PALETTE[i % 10], lw=1.4, label=f"{name} (mean ± std, {n} seeds)")
                else:
                    part = part.sort_values(x)
                    ax.plot(part[x], part[y], color=PALETTE[i % 10], lw=1.4, label=str(name))
            ax.set_xlabel(LOSS_AXES.get(x, x))
            ax.set_ylabel(ylabel)
            if x in ("tokens", "flops"):
                ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 3))
        for ax in axes[len(xs):]:
            ax.set_visible(False)
        axes[0].legend(loc="upper right")
        if title:
            fig.suptitle(title, fontsize=10)
        fig.tight_layout()
        return to_svg(fig)


def verdict_summary(counts: Mapping[str, Mapping[str, int]], *, title: str = "") -> str:
    """Horizontal stacked bar per document: how many claims hold / are refuted / ... (keys of STATUS_COLORS)."""
    docs = list(counts)
    with plt.rc_context(STYLE):
        fig, (ax,) = _figure(width=7.0, height=0.9 + 0.42 * max(1, len(docs)))
        left = np.zeros(len(docs))
        for status, color in STATUS_COLORS.items():
            vals = np.array([counts[d].get(status, 0) for d in docs], dtype=float)
            if not vals.any():
                continue
            ax.barh(docs, vals, left=left, color=color, label=status, height=0.6)
            for j, v in enumerate(vals):
                if v:
                    ax.text(left[j] + v / 2, j, f"{int(v)}", ha="center", va="center", color="white", fontsize=8)
            left += vals
        ax.invert_yaxis()
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("claims")
        ax.grid(axis="y", visible=False)
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=5)
        ax.set_title(title, pad=22 if title else 6)
        return to_svg(fig)


def grouped_bars(categories: Sequence[str], series: Mapping[str, Sequence[float | None]], *, ylabel: str = "",
                 title: str = "", log: bool = False) -> str:
    """Bars for each category (x), one colour per series; None values are left out."""
    with plt.rc_context(STYLE):
        fig, (ax,) = _figure(width=max(4.5, min(9.0, 1.5 + 0.35 * len(categories) * max(1, len(series)))))
        width = 0.8 / max(1, len(series))
        x = np.arange(len(categories))
        for i, (name, values) in enumerate(series.items()):
            vals = np.array([np.nan if v is None else v for v in values], dtype=float)
            ax.bar(x + (i - (len(series) - 1) / 2) * width, vals, width=width, color=PALETTE[i % 10], label=name)
        ax.set_xticks(x, list(categories))
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(axis="x", visible=False)
        if log:
            ax.set_yscale("log")
        if len(series) > 1:
            ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=min(4, len(series)))
        return to_svg(fig)
