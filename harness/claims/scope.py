"""Where a verdict holds, and what is shown beside it without being judged.

`review` (a document pass run by `harness.claims.model.evaluate` after the readings pass):
* `Verdict.scope`: where the rows behind the verdict were measured (`harness.claims.regime.where_measured`:
  device, dtype, threads, the measured range of every shape column, model sizes), so no verdict reads as more
  general than its rows.
* `args.beside`: a list of items shown after the evidence, never turned into the verdict. Each has a `note` and
  either `where` (rows of any status, e.g. an extrapolated crossover or the analytic estimate at the document's own
  dimensions; `show = "extra.<key>"` shows that field where a row has it, else its value or reason) or `expr`
  (arithmetic with the claim's `values` and the item's own: another reading of a line, a dtype factor, GB vs GiB).
  This is how alternative readings of one line appear: as explanations of the gap, not as the verdict.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd

from harness.claims.expr import evaluate_expression
from harness.claims.model import Claim, Status, Verdict, register_review
from harness.claims.regime import ANALYTIC, regime_problem, where_measured
from harness.claims.rows import label, select
from harness.errors import ArchbenchError, one_line
from harness.store.columns import column
from harness.store.units import format_value, is_missing

SHOWN_ROWS = 6
REPLACED = {"alternatives": "args.alternatives is gone: a document's readings live in <doc>_readings.toml and a "
                            "claim selects by their {placeholders}; other explanations go in args.beside",
            "under": "args.under is gone: a line is judged as written; other readings go in args.beside"}


def beside_problem(args: dict[str, Any]) -> str:
    """Why `args.beside` / `args.regime` are malformed (or a replaced key is used), or ""."""
    for key, message in REPLACED.items():
        if key in args:
            return message
    if "regime" in args:
        problem = regime_problem(args["regime"])
        if problem:
            return problem
    items = args.get("beside", [])
    if not isinstance(items, list):
        return "args.beside must be a list of tables"
    for item in items:
        if not isinstance(item, dict) or "note" not in item or ("where" in item) == ("expr" in item):
            return "each args.beside item is a table with a note and either where (rows) or expr (arithmetic)"
        if "where" in item and not isinstance(item["where"], dict):
            return "args.beside where must be a table of column = value"
        if "expr" in item:
            try:
                evaluate_expression(item["expr"], {**args.get("values", {}), **item.get("values", {})})
            except (ArchbenchError, ArithmeticError, TypeError) as err:
                return f"args.beside: {one_line(err)}"
    return ""


def _shown(item: dict[str, Any], claim: Claim, frame: pd.DataFrame) -> str:
    if "expr" in item:
        result = evaluate_expression(item["expr"], {**claim.args.get("values", {}), **item.get("values", {})})
        return f"{item['note']}: {item['expr']} = {format_value(result, item.get('unit', claim.args.get('unit', '')))}"
    rows = select(frame, item["where"]) if frame is not None and not frame.empty else pd.DataFrame()
    if rows.empty:
        return f"{item['note']}: no such rows in this run"
    shown = []
    for idx, r in rows.head(SHOWN_ROWS).iterrows():
        shown_field = column(rows.loc[[idx]], item["show"]).iloc[0] if "show" in item else None
        if not is_missing(shown_field):
            text = f"{format_value(shown_field, item.get('unit', ''))} ({item['show'].split('.')[-1]})"
        elif r.status == "ok":
            text = format_value(r.value, item.get("unit", r.unit))
        else:
            text = f"{r.status}: {r.reason}"
        shown.append(f"{label(r)} {text}".strip())
    more = f" (+{len(rows) - SHOWN_ROWS} more)" if len(rows) > SHOWN_ROWS else ""
    return f"{item['note']}: {'; '.join(shown)}{more}"


def beside_text(claim: Claim, frame: pd.DataFrame) -> str:
    items = claim.args.get("beside", [])
    return " Beside it, not judged: " + " | ".join(_shown(i, claim, frame) for i in items) + "." if items else ""


def _scope(verdict: Verdict, frame: pd.DataFrame) -> str:
    if frame is None or frame.empty or not verdict.rows:
        return ""
    ids = [i for i in verdict.rows if i in frame.index]
    return where_measured(frame.loc[ids]) if ids else ""


@register_review(order=20)
def review(claims: list[Claim], verdicts: list[Verdict], frame: pd.DataFrame) -> list[Verdict]:
    out = []
    for claim, v in zip(claims, verdicts):
        scope = v.scope or _scope(v, frame)
        extra = beside_text(claim, frame)
        if scope and scope != ANALYTIC and Status(v.status) is not Status.UNTESTABLE and scope not in v.evidence:
            extra = f" Where measured: {scope}." + extra
        evidence = v.evidence.rstrip()
        if extra and evidence and not evidence.endswith("."):
            evidence += "."
        out.append(replace(v, scope=scope, evidence=evidence + extra))
    return out
