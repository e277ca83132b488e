"""A suite's headline figure as data: the one plot that answers the suite's question, declared beside the suite
(`Suite(..., headline=Headline(...))`) and drawn above its tables by `harness.report.headline_figures`.

A `Headline` names the rows (`metric`, plus `where`: column -> value or list of values, columns as
`harness.store.columns.column` reads them: `case`, `shape.T`, `extra.phase`...), what goes on x, which column makes
the series, the y quantity's label and axes, and the reference it is read against: a band or line on y, or a claim
id whose stated value (range, or number ± tolerance) is drawn as the band and whose verdict is written under the
figure. Kinds:
* `lines`: y against a numeric x, one line per series; `slopes` adds each series' log-log slope to its legend entry
  and dashed fits, and `crossover` (two series values) marks where their fits cross (extrapolated when outside);
* `bars`: one bar per x category, one colour per series;
* `stacked`: one bar per x category, stacked by series (e.g. parameters by component per architecture);
* `curves`: training curves against `x` (step, tokens), the mean over seeds (`seed`) with a ± std band, and the
  final difference of the means when a panel holds two series;
* `roofline`: attainable FLOP/s = min(peak FLOP/s, intensity x bandwidth) from a `flops_per_s` and a
  `bandwidth_bytes_per_s` row, the ridge point marked;
* `claims`: the claims the suite answers as measured ÷ stated (the document pages' figure,
  `harness.report.claim_figure`), for a suite whose question is whether stated numbers follow.
`panels` (a column) draws one panel per value. Columns that vary among the selected rows besides x, series and
panels (another shape column, the measure, the phase, dtype, device) split the series further: points of different
cases are never joined into one line. Columns named in `over` are summarised instead, by declaration: the median
over them, with their range as whiskers (e.g. a speed-up over every shape measured).
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any, Mapping

import pandas as pd

from harness.errors import ArchbenchError
from harness.store.columns import SHAPE, column
from harness.store.units import is_missing, plain

KINDS = ("lines", "bars", "stacked", "curves", "roofline", "claims")
# columns that tell two rows of one metric apart, checked in this order when they vary (besides x/series/panels)
CONTEXT = ("case", "arch", "measure", "extra.phase", "extra.part", "extra.kind", "dtype", "device", "stat")


@dataclass(frozen=True, kw_only=True)
class Headline:
    """What a suite's headline figure shows (see the module docstring)."""
    title: str                                  # the answer in a few words, shown above the figure
    kind: str                                   # one of KINDS
    metric: str | tuple[str, ...] = ""          # the rows' metric, metrics or shell patterns ("params_*")
    x: str = ""                                 # column on x: "shape.T", "case", "arch", "extra.part"
    series: str = "case"                        # column whose values are the series (colours, stacks)
    where: Mapping[str, Any] = field(default_factory=dict)   # rows kept: column -> value, pattern or list
    panels: str = ""                            # a column: one panel per value
    over: tuple[str, ...] = ()                  # columns summarised, not split on: median, their range as whiskers
    y_label: str = ""                           # default: the metric and its axis unit
    log_x: bool = False
    log_y: bool = False
    band: tuple[float, float] | None = None     # reference band on y, in the metric's unit
    line: float | None = None                   # reference line on y, in the metric's unit
    reference: str = ""                         # label of the band or line
    claim: str = ""                             # a claim id: its stated value is the band, its verdict the caption
    slopes: bool = False                        # lines: log-log slope per series
    crossover: tuple[str, str] | None = None    # lines: two series values whose fitted lines' crossing is marked
    seed: str = "seed"                          # curves: the column of the seed

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ArchbenchError(f"headline {self.title!r}: kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.kind != "claims" and not (self.metric and self.x):
            raise ArchbenchError(f"headline {self.title!r}: a {self.kind} figure needs a metric and an x column")
        if self.crossover and not self.slopes:
            raise ArchbenchError(f"headline {self.title!r}: a crossover is read off the fits; set slopes=True")
        if self.band and not self.band[0] < self.band[1]:
            raise ArchbenchError(f"headline {self.title!r}: band {self.band} is not (low, high)")

    @property
    def metrics(self) -> tuple[str, ...]:
        return (self.metric,) if isinstance(self.metric, str) else tuple(self.metric)


def _wanted(value: Any, want: Any) -> bool:
    """`want` a list: any item; None: a missing value; a string with * ? [: a shell pattern; else equality."""
    if isinstance(want, (list, tuple)):
        return any(_wanted(value, w) for w in want)
    if is_missing(value):
        return is_missing(want)
    if isinstance(want, str) and any(c in want for c in "*?["):
        return fnmatch.fnmatchcase(str(value), want)
    if isinstance(want, (int, float)) and not isinstance(want, bool) and not isinstance(value, str):
        return float(value) == float(want)
    return value == want


def select(headline: Headline, frame: pd.DataFrame) -> pd.DataFrame:
    """The ok rows the headline draws, as plain columns: x, series, panel, label (the series plus whatever else
    varies), value, q1, q3, unit, and seed for curves. Empty when the run has none."""
    rows = frame[(frame.status == "ok") & frame.metric.map(lambda m: _wanted(m, list(headline.metrics)))]
    for key, want in headline.where.items():
        rows = rows[column(rows, key).map(lambda v, w=want: _wanted(v, w)).astype(bool)]
    if rows.empty:
        return pd.DataFrame(columns=["x", "series", "panel", "label", "value", "q1", "q3", "unit"])
    out = pd.DataFrame({"x": column(rows, headline.x).map(plain), "series": column(rows, headline.series).map(_text),
                        "panel": column(rows, headline.panels).map(_text) if headline.panels else "",
                        "value": rows.value.astype(float), "q1": rows.q1, "q3": rows.q3, "unit": rows.unit},
                       index=rows.index)
    fixed = {headline.x, headline.series, headline.panels, *headline.where, *headline.over}
    if headline.kind == "curves":
        out["seed"] = column(rows, headline.seed)
        fixed |= {headline.seed, SHAPE + headline.seed}
    cells = [out.panel, out.series, out.x.map(str)] + ([out.seed.map(str)] if "seed" in out else [])
    out["label"] = out.series + _context(rows, fixed, cells)
    return out.dropna(subset=["x", "value"])


def _text(value: Any) -> str:
    return "" if is_missing(value) else str(plain(value))


def _context(rows: pd.DataFrame, fixed: set[str], cells: list[pd.Series]) -> pd.Series:
    """The columns besides the `fixed` ones that take two values in one cell (panel, series, x): they tell apart
    points that would otherwise be drawn as one, and become a label suffix: ' (forward_backward D=4096)'."""
    keys = [c for c in CONTEXT if c not in fixed]
    keys += [c for c in rows.columns if c.startswith(SHAPE) and c not in fixed and c[len(SHAPE):] not in fixed
             and c != SHAPE + "step"]
    varying = [k for k in keys if column(rows, k).map(_text).groupby(cells).nunique().gt(1).any()]
    if not varying:
        return pd.Series("", index=rows.index)
    parts = [column(rows, k).map(lambda v, k=k: f"{k.split('.')[-1]}={_text(v)}" if k.startswith(SHAPE)
                                 else _text(v)) for k in varying]
    joined = parts[0].str.cat(parts[1:], sep=" ") if len(parts) > 1 else parts[0]
    return " (" + joined.str.strip() + ")"


def reference_band(headline: Headline, verdict: Mapping[str, Any] | None,
                   unit: str) -> tuple[tuple[float, float] | None, float | None, str]:
    """(band, line, label) on y: the headline's own, else from its claim's stated value when the claim measures
    in the plotted `unit` (a range is the band, a number ± tolerance too, a bare number the line)."""
    if headline.band or headline.line is not None or not verdict or verdict.get("unit") != unit:
        return headline.band, headline.line, headline.reference
    stated, tol = verdict.get("stated_value"), verdict.get("tolerance_value")
    name = headline.reference or f"claim {headline.claim}: stated {verdict.get('stated', '')}"
    if isinstance(stated, list) and len(stated) == 2:
        return (float(stated[0]), float(stated[1])), None, name
    if isinstance(stated, (int, float)) and not isinstance(stated, bool):
        if tol:
            return (stated * (1 - tol), stated * (1 + tol)), None, name
        return None, float(stated), name
    return None, None, ""
