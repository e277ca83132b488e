"""A document's readings and the consistency of its claims, as data for the document page.

Built from the verdicts alone (`VerdictRecord.reading` / `.readings`, written by harness/claims/readings.py): every
claim that depends on what the document leaves open carries its status under every reading. The page shows
* the assumptions and their options (the primary one first), from those records;
* a table: one row per claim whose verdict changes with the reading, one column per reading, a mark for its status
  there, and per reading how many of them hold together (the claims that depend on a reading but come out the same
  under every one are listed after it);
* the pairs of claims that each hold under some reading but under no reading together, with what each needs (the
  options common to every reading under which it holds): contradictions between claims are findings.
"""
from __future__ import annotations

import itertools
from typing import Any, Iterable, Mapping

from harness.report.tables import Table
from harness.store.verdicts import Status

HOLDING = (Status.HOLDS.value, Status.ASSUMPTION.value)
MARKS = {Status.HOLDS.value: "✓", Status.ASSUMPTION.value: "✓", Status.REFUTED.value: "✗",
         Status.INCONCLUSIVE.value: "?", Status.UNTESTABLE.value: "–", Status.NOT_RUN.value: "·"}


def holding(entries: Iterable[Mapping[str, Any]]) -> set[str]:
    """The names of the readings under which a claim holds."""
    return {e["reading"] for e in entries if e["status"] in HOLDING}


def needs(entries: list[Mapping[str, Any]]) -> list[str]:
    """What a claim needs to hold, per assumption: the options under which it holds, for each assumption where
    that is not every option ([] when it holds under every reading or none)."""
    held = [e for e in entries if e["status"] in HOLDING]
    if not held or len(held) == len(entries):
        return []
    options: dict[str, dict[str, None]] = {}
    for e in entries:
        for c in e["choices"]:
            options.setdefault(c["assumption"], {})[c["option"]] = None
    out = []
    for assumption, every in options.items():
        some = [o for o in every if any((assumption, o) in _choices(e) for e in held)]
        if len(some) < len(every):
            out.append(f"{assumption}: {' or '.join(some)}")
    return out


def _choices(entry: Mapping[str, Any]) -> set[tuple[str, str]]:
    return {(c["assumption"], c["option"]) for c in entry["choices"]}


def conflicting_pairs(claims: Mapping[str, list[Mapping[str, Any]]]) -> list[tuple[str, str]]:
    """(claim, claim) pairs that each hold under some reading but under no reading together."""
    held = [(cid, holding(entries)) for cid, entries in claims.items()]
    held = [(cid, names) for cid, names in held if names]
    return [(a, b) for (a, na), (b, nb) in itertools.combinations(held, 2) if not na & nb]


def assumptions(entries: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """[{name, options: [{name, note, primary}]}] in the document's order, from one claim's reading entries."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for e in entries:
        for c in e["choices"]:
            found.setdefault(c["assumption"], {}).setdefault(
                c["option"], {"name": c["option"], "note": c.get("note", ""), "primary": bool(e["primary"])})
    return [{"name": name, "options": list(options.values())} for name, options in found.items()]


def consistency(views: list[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The document page's readings section from its verdict views (each with `reading` and `readings`); None
    when the document declares no readings."""
    primary = next((v["reading"] for v in views if v.get("reading")), "")
    dependent = {v["id"]: v["readings"] for v in views if v.get("readings")}
    if not primary:
        return None
    others = [v for v in views if v.get("reading") and not v.get("readings")]
    context = {"primary": primary, "assumptions": [], "table": None, "pairs": None, "same_everywhere": [],
               "independent": len(others),
               "independent_holding": sum(v["status"] in HOLDING for v in others)}
    if not dependent:
        return context
    first = next(iter(dependent.values()))
    names = [e["reading"] for e in first]
    context["assumptions"] = assumptions(first)
    varying = {cid: entries for cid, entries in dependent.items() if len({e["status"] for e in entries}) > 1}
    context["same_everywhere"] = [f"{v['id']} ({v['status']})" for v in views
                                  if v.get("readings") and v["id"] not in varying]
    if varying:
        rows = [[cid] + [MARKS.get(e["status"], "?") for e in entries] for cid, entries in varying.items()]
        totals = ["claims holding together"] + [str(sum(e[i]["status"] in HOLDING for e in varying.values()))
                                                for i in range(len(names))]
        context["table"] = Table(
            columns=["claim"] + [n + (" (primary)" if i == 0 else "") for i, n in enumerate(names)],
            rows=rows + [totals], num=set(range(1, len(names) + 1)),
            note="✓ holds, ✗ refuted, ? inconclusive, – untestable here: the claims whose verdict changes with the "
                 "reading, judged under every reading of the document.")
    pairs = conflicting_pairs(varying)
    context["pairs"] = Table(
        columns=["claim", "needs", "contradicts", "which needs"],
        rows=[[a, "; ".join(needs(dependent[a])) or "—", b, "; ".join(needs(dependent[b])) or "—"] for a, b in pairs],
        note="Pairs of claims that each hold under some reading but under no reading together.") if pairs else None
    return context
