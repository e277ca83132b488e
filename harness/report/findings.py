"""What the summary page opens with, and how a verdict's evidence is shown short.

`findings(views)`: the refuted verdicts furthest from what their document states (the gap as the factor between the
measured value and the nearest edge of what the claim accepts, largest first, at most MAX_GAPS), then every refuted
code snippet; one line each, with its number and a link to the claim.

`short_evidence(record)`: a verdict judged over several rows carries a per-row details table; its evidence, which
lists every row inline, is shown as one sentence (how many rows, their range, the stated value) with the table
below it and the full text folded.
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

from harness.report.claim_figure import claim_points
from harness.store.units import format_stated, format_value
from harness.store.verdicts import Status, VerdictRecord

MAX_GAPS = 6


def gap_factor(ratio: float, band: tuple[float, float] | None) -> float:
    """How many times outside the accepted band (of measured ÷ stated) a ratio lies; 1 inside it."""
    low, high = band or (1.0, 1.0)
    if ratio < low:
        return low / ratio
    return ratio / high if ratio > high else 1.0


def findings(views: Iterable[Mapping[str, Any]], css: Mapping) -> list[dict[str, Any]]:
    """[{id, href, css, text, factor}] for the summary page: largest gaps among refuted claims, then refuted code."""
    views = list(views)
    refuted = [v for v in views if v["record"].status is Status.REFUTED]
    points, _ = claim_points((v["record"] for v in refuted if v["kind"] != "code"), css)
    by_id = {v["id"]: v for v in refuted}
    gaps = sorted(((gap_factor(p.ratio, p.band), p) for p in points), key=lambda item: -item[0])
    out = []
    for factor, p in gaps[:MAX_GAPS]:
        if factor <= 1.0:
            continue
        v = by_id[p.claim]
        out.append(_line(v, f"measured {v['value']} vs stated {v['stated']}: {_times(factor)} off"))
    for v in refuted:
        if v["kind"] == "code":
            out.append(_line(v, f"code snippet: {v['quantity']}: {v['value']} vs stated {v['stated']}"))
    return out


def _times(factor: float) -> str:
    return f"{factor:.3g}×" if factor < 1e4 else f"10^{math.log10(factor):.1f}×"


def _line(view: Mapping[str, Any], text: str) -> dict[str, Any]:
    return {"id": view["id"], "href": view["href"], "css": view["css"], "doc": view["doc"], "text": text}


def short_evidence(record: VerdictRecord) -> str:
    """One sentence for a verdict over several rows (see the module docstring); the evidence as it is otherwise."""
    if len(record.details) < 2 or not record.interval or not record.quantity:
        return record.evidence
    low, high = record.interval
    span = format_value(low, record.unit) if low == high else \
        f"{format_value(low, record.unit)} to {format_value(high, record.unit)}"
    stated = f" vs stated {format_stated(record.stated, record.unit)}" if record.stated is not None else ""
    return f"{record.quantity}: {len(record.details)} rows, {span}{stated} (per row below)."
