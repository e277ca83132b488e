"""`archbench list [archs|suites|claims]`: the registries as records (one dict each, what `--json` prints) and as
short text tables.

Claims carry the status and value of a run's verdicts when one is given (the CLI passes the latest run's), and
can be filtered by document and by status; a claim that run did not judge has the status "not judged".
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import archs
from archs import ARCHS, analytic
from harness.claims.model import Claim
from harness.errors import ArchbenchError, one_line
from harness.store.units import format_value
from harness.store.verdicts import Status, VerdictRecord
from suites import SUITES

NOT_JUDGED = "not judged"
# what --status accepts: a status as the report writes it, or its short name (holds, assumption, not-run...)
SHORT_NAMES = {**{s.name.lower().replace("_", "-"): s.value for s in Status}, "not-judged": NOT_JUDGED}
STATUS_NAMES = {**{s.value: s.value for s in Status}, NOT_JUDGED: NOT_JUDGED, **SHORT_NAMES}


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    width: int                                   # text width; a longer cell is cut with "…"
    right: bool = False
    text: Callable[[Any], str] = str


def arch_records() -> tuple[list[dict[str, Any]], list[str]]:
    """(one record per preset with its analytic parameter counts, the presets that do not build: `name (why)`)."""
    records, broken = [], []
    for name in ARCHS.names():
        meta = ARCHS.meta(name)
        try:
            p = analytic.params(archs.get_config(name))    # looked up at call time (tests replace it)
        except Exception as err:  # noqa: BLE001 - a preset that does not build is named; the others are listed
            broken.append(f"{name} ({one_line(err)})")
            continue
        records.append({"name": name, "doc": meta["doc"], "scale": meta["scale"], "params": p.total,
                        "active": p.active, "title": meta["title"]})
    return records, broken


def suite_records() -> list[dict[str, Any]]:
    records = []
    for name in SUITES.names():
        suite = SUITES.get(name)
        records.append({"name": name, "docs": list(suite.docs), "claims": list(suite.claims),
                        "question": suite.question})
    return records


def status_name(text: str) -> str:
    """A --status value as the status it names; an unknown one is a one-line error listing the known ones."""
    key = text.lower().replace("_", "-") if text.lower().replace("_", "-") in SHORT_NAMES else text.lower()
    if key not in STATUS_NAMES:
        raise ArchbenchError(f"unknown status {text!r}; known: {', '.join(SHORT_NAMES)}")
    return STATUS_NAMES[key]


def claim_records(claims: Iterable[Claim], verdicts: Sequence[VerdictRecord] | None = None, *,
                  docs: Sequence[str] = (), status: str | None = None) -> list[dict[str, Any]]:
    """One record per claim (of `docs`, if named), with its verdict's status, value and unit when `verdicts` are
    given; with `status`, only the claims of that status."""
    by_claim = {v.claim: v for v in verdicts or ()}
    wanted = status_name(status) if status else None
    records = []
    for claim in claims:
        if docs and claim.doc not in docs:
            continue
        verdict = by_claim.get(claim.id)
        record = {"id": claim.id, "doc": claim.doc, "kind": claim.kind, "quantity": claim.quantity,
                  "quote": claim.quote, "stated": claim.stated, "tolerance": claim.tolerance, "check": claim.check,
                  "suites": list(claim.suites)}
        if verdicts is not None:
            record |= {"status": verdict.status.value if verdict else NOT_JUDGED,
                       "value": verdict.value if verdict else None, "unit": verdict.unit if verdict else ""}
        if wanted is None or record.get("status") == wanted:
            records.append(record)
    return records


ARCH_COLUMNS = [Column("name", "architecture", 24), Column("doc", "doc", 4), Column("scale", "scale", 9),
                Column("params", "params", 16, right=True, text="{:,}".format),
                Column("active", "active", 16, right=True, text="{:,}".format), Column("title", "title", 0)]
SUITE_COLUMNS = [Column("name", "suite", 15), Column("docs", "docs", 19, text=" ".join),
                 Column("question", "question", 0)]
CLAIM_COLUMNS = [Column("id", "claim", 40), Column("doc", "doc", 4), Column("kind", "kind", 11),
                 Column("quote", "quote", 60)]
VERDICT_COLUMNS = [Column("status", "status", 25), Column("value", "value", 12, right=True)]


def claim_columns(with_verdicts: bool) -> list[Column]:
    return CLAIM_COLUMNS[:3] + (VERDICT_COLUMNS if with_verdicts else []) + CLAIM_COLUMNS[3:]


def value_text(record: dict[str, Any]) -> str:
    return format_value(record["value"], record.get("unit", ""))


def table_lines(records: Sequence[dict[str, Any]], columns: Sequence[Column]) -> list[str]:
    """A header and one line per record; each column as wide as its widest cell up to its `width` (longer cells
    cut with "…"); width 0 = the rest of the line, uncut."""
    cells = [[c.title for c in columns]] + [[value_text(r) if c.key == "value" else c.text(r[c.key])
                                             for c in columns] for r in records]
    widths = [min(c.width, max(len(row[i]) for row in cells)) if c.width else 0 for i, c in enumerate(columns)]

    def cell(text: str, column: Column, width: int) -> str:
        if not width:
            return text
        text = text if len(text) <= width else text[:width - 1] + "…"
        return f"{text:>{width}}" if column.right else f"{text:<{width}}"

    return [" ".join(cell(text, c, w) for text, c, w in zip(row, columns, widths)).rstrip() for row in cells]
