"""The figures of the architectures-side-by-side page (`harness.report.archs_page`), from plain data, as inline
SVG (`harness.report.plots.to_svg`): parameter shares by component as 100% stacked bars with each total at the
bar's end, and decode state against context per architecture on log-log axes."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt

from harness.report import plots
from harness.store.units import format_value

KIND_COLORS = plt.get_cmap("tab20").colors      # up to 20 component kinds, each its own colour


def context_label(T: float) -> str:
    """2048 -> 2k, 131072 -> 128k, 64 -> 64."""
    return f"{int(T) // 1024}k" if T >= 1024 and int(T) % 1024 == 0 else f"{T:g}"


def parameter_shares(by_arch: Mapping[str, Mapping[str, float]], totals: Mapping[str, float]) -> str:
    """One horizontal bar per architecture (in the mapping's order): its parameters by kind as shares of its total."""
    names = list(by_arch)
    kinds = list(dict.fromkeys(kind for parts in by_arch.values() for kind in parts))
    height = 0.9 + 0.32 * len(names)
    with plt.rc_context(plots.STYLE):
        fig, ax = plt.subplots(figsize=(7.2, height))
        left = [0.0] * len(names)
        for i, kind in enumerate(kinds):
            share = [by_arch[n].get(kind, 0.0) / totals[n] for n in names]
            ax.barh(range(len(names)), share, left=left, label=kind, color=KIND_COLORS[i % len(KIND_COLORS)])
            left = [a + b for a, b in zip(left, share)]
        for y, n in enumerate(names):
            ax.text(1.01, y, format_value(totals[n], "params"), va="center", fontsize=8)
        ax.set_yticks(range(len(names)), names)
        ax.invert_yaxis()
        ax.set_xlim(0, 1.12)
        ax.set_xlabel("share of all parameters")
        ax.grid(axis="y", visible=False)
        ax.set_axisbelow(True)
        below_label = 0.55 / (0.77 * height)          # 0.55 inch under the axes (the x label), in axes heights
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -below_label), ncol=min(5, len(kinds)))
    return plots.to_svg(fig)


def decode_state(series: Mapping[str, Sequence[tuple[float, float]]]) -> str:
    """One line per architecture through its (context, bytes) points, log-log."""
    with plt.rc_context(plots.STYLE):
        fig, ax = plt.subplots(figsize=(7.2, 3.6))
        for i, (name, points) in enumerate(series.items()):
            xs, ys = zip(*sorted(points))
            ax.plot(xs, ys, marker="o", label=name, color=plots.PALETTE[i % len(plots.PALETTE)],
                    linestyle=("-", "--", ":")[i // len(plots.PALETTE) % 3])
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: context_label(v)))
        ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: format_value(v, "bytes")))
        ax.set_xlabel("context (tokens)")
        ax.set_ylabel("decode state per sequence")
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), ncol=1 + len(series) // 14)
    return plots.to_svg(fig)
