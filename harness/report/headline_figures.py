"""Drawing a suite's headline figure (`harness.report.headline.Headline`) from a run's rows, as inline SVG.

`headline_figure(headline, frame, verdicts)` returns the figure's title, SVG and caption, or None when the run has
no rows for it (a suite without a headline, or not run, shows none). Values are scaled to a readable axis unit
(bytes -> GB, seconds -> ms); the reference band or line is scaled with them. One panel per value of the
headline's `panels` column, MAX_COLUMNS to a row; each kind draws its panel (`harness.report.headline_kinds`).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import pandas as pd

from harness.report import plots
from harness.report.claim_figure import claim_points, claims_chart
from harness.report.headline import Headline, reference_band, select
from harness.report.headline_kinds import DRAW, UNSCALED
from harness.report.verdicts import CSS
from harness.store.units import axis_scale

BAND = "#bf8700"
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
