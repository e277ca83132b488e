"""One reading per document: the assumptions a document leaves open, its readings, and judging claims under them.

A document declares, once and as data (`suites/claims/<doc>_readings.toml`), what it leaves open: each
`[[assumption]]` has a name, what the document says about it (`about`) and its `options`, each a name, a note and
the values it `set`s. The first option of every assumption is the primary choice; a *reading* is one option per
assumption, so the readings are every combination, the primary reading first (all first options).

Claims refer to those values, never pick their own: a string `"{key}"` anywhere in a claim's args is replaced by
the value `key` has under a reading (`arch = "{base}"`, `dtype = "{kv_dtype}"`, `values = { b = "{kv_bytes}" }`;
in `args.beside`, shown next to the verdict, always the primary reading's);
`args.assumes = ["<assumption>"]` names an assumption the claim's rows rest on without selecting by it (allowed
for an assumption with a single option, which no selection could vary). The loader resolves every claim to the
primary reading, so `judge(claim, frame)` alone judges it as the document is read.

`review` (a document pass run by `harness.claims.model.evaluate` after every claim is judged):
* a claim that depends on an assumption is judged under every combination of the options it depends on; its
  verdict stays the primary reading's; `Verdict.reading` names that reading and `Verdict.readings` lists every
  reading with the claim's status and value under it. Holding under the primary reading gives "holds under an
  assumption" (the primary choices are assumptions the document does not state).
* a claim that fails under the primary reading but holds under another says so in its evidence. It becomes
  "holds under an assumption" only when that reading contradicts no other claim of the document: every other
  claim that holds under some reading also holds under it. Otherwise the status stays refuted or inconclusive and
  the evidence names the claims that reading contradicts; the report's consistency table lists the pairs no
  single reading satisfies.
"""
from __future__ import annotations

import itertools
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from harness.claims.model import Claim, Status, Verdict, judge, register_review
from harness.errors import ArchbenchError, one_line
from harness.store.units import format_value

READINGS_FILE = "{doc}_readings.toml"
MAX_READINGS = 36
PLACEHOLDER = re.compile(r"\{(\w+)\}")
HOLDING = (Status.HOLDS, Status.ASSUMPTION)
UNJUDGED = ("beside",)          # args shown next to a verdict: they follow the primary reading, never vary it


@dataclass(frozen=True)
class Option:
    name: str                                  # "32 KV heads"
    note: str                                  # why one might read it so
    values: dict[str, Any]                     # placeholder key -> value under this option


@dataclass(frozen=True)
class Assumption:
    name: str                                  # "base KV heads"
    about: str                                 # what the document says (or does not)
    options: tuple[Option, ...]                # the first is the primary choice


@dataclass(frozen=True)
class Reading:
    """One option per assumption of a document."""
    choices: tuple[tuple[Assumption, Option], ...]

    @property
    def name(self) -> str:
        return " · ".join(option.name for _, option in self.choices) or "as written"

    @property
    def primary(self) -> bool:
        return all(option is assumption.options[0] for assumption, option in self.choices)

    @property
    def values(self) -> dict[str, Any]:
        return {k: v for _, option in self.choices for k, v in option.values.items()}

    def option(self, assumption: str) -> Option:
        return next(o for a, o in self.choices if a.name == assumption)

    def restricted(self, assumptions: Iterable[str]) -> tuple[str, ...]:
        """The names of its options for `assumptions` only: claims depending on those see no other difference."""
        wanted = set(assumptions)
        return tuple(o.name for a, o in self.choices if a.name in wanted)

    def describe(self, assumptions: Iterable[str]) -> str:
        wanted = set(assumptions)
        return "; ".join(f"{o.name} ({o.note})" if o.note else o.name for a, o in self.choices if a.name in wanted)


@dataclass(frozen=True)
class DocReadings:
    doc: str
    assumptions: tuple[Assumption, ...]

    @property
    def readings(self) -> list[Reading]:
        """Every combination of options, the primary reading first."""
        return [Reading(tuple(zip(self.assumptions, combo)))
                for combo in itertools.product(*(a.options for a in self.assumptions))]

    @property
    def primary(self) -> Reading:
        return self.readings[0]

    def owner(self, key: str) -> Assumption | None:
        """The assumption whose options set the placeholder `key`."""
        return next((a for a in self.assumptions if any(key in o.values for o in a.options)), None)


@dataclass(frozen=True)
class ClaimReadings:
    """What a claim needs to be judged under its document's readings: the readings, its args as written."""
    doc: DocReadings
    template: dict[str, Any] = field(repr=False)         # args with their {placeholders}
    depends: tuple[str, ...] = ()                        # the assumptions its verdict can depend on

    def args_under(self, reading: Reading) -> dict[str, Any]:
        return substitute(self.template, reading.values)


# ---------------------------------------------------------------- loading
def load_readings(directory: Path | str) -> dict[str, DocReadings]:
    """Every `<doc>_readings.toml` under `directory`: document id -> its readings."""
    found = {}
    for path in sorted(Path(directory).glob(READINGS_FILE.format(doc="*"))):
        doc = path.name[: -len(READINGS_FILE.format(doc=""))]
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            found[doc] = doc_readings(doc, data)
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, ArchbenchError, KeyError, TypeError) as err:
            raise ArchbenchError(f"{path.name}: {one_line(err)}") from None
    return found


def doc_readings(doc: str, data: dict[str, Any]) -> DocReadings:
    """A document's readings from its TOML table: `[[assumption]]` with name, about and options."""
    unknown = sorted(set(data) - {"assumption"})
    if unknown:
        raise ArchbenchError(f"unknown key(s) {', '.join(unknown)} (a readings file holds [[assumption]] tables)")
    assumptions, keys = [], set()
    for table in data.get("assumption", []):
        options = tuple(Option(str(o["name"]), str(o.get("note", "")), dict(o.get("set", {})))
                        for o in table.get("options", []))
        if not options:
            raise ArchbenchError(f"assumption {table.get('name')!r} has no options")
        own = {k for o in options for k in o.values}
        if keys & own:
            raise ArchbenchError(f"assumption {table['name']!r} sets {sorted(keys & own)}, already set by another")
        if any(set(o.values) != own for o in options):
            raise ArchbenchError(f"assumption {table['name']!r}: every option must set the same keys {sorted(own)}")
        if any(" · " in o.name for o in options):
            raise ArchbenchError(f"assumption {table['name']!r}: an option name may not contain ' · '")
        keys |= own
        assumptions.append(Assumption(str(table["name"]), str(table.get("about", "")), options))
    readings = DocReadings(doc, tuple(assumptions))
    if len(readings.readings) > MAX_READINGS:
        raise ArchbenchError(f"{len(readings.readings)} readings (more than {MAX_READINGS}); fewer options, please")
    return readings


def placeholders(value: Any) -> set[str]:
    if isinstance(value, str):
        return set(PLACEHOLDER.findall(value))
    if isinstance(value, dict):
        return set().union(*(placeholders(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(placeholders(v) for v in value)) if value else set()
    return set()


def substitute(value: Any, values: dict[str, Any]) -> Any:
    """`value` with every "{key}" replaced: a string that is only "{key}" becomes the value itself (a number stays a
    number), a longer string has it written in."""
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value)
        if whole:
            return values[whole.group(1)]
        return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), value)
    if isinstance(value, dict):
        return {k: substitute(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, values) for v in value]
    return value


def resolve(table: dict[str, Any], docs: dict[str, DocReadings]) -> tuple[dict[str, Any], ClaimReadings | None]:
    """A claim's TOML table with its args under the primary reading of its document, and what judging it under the
    other readings needs (None for a document without readings). Raises for an unknown placeholder or assumption."""
    args = dict(table.get("args", {}))
    assumes = args.pop("assumes", [])
    keys = placeholders({k: v for k, v in args.items() if k not in UNJUDGED})
    doc = docs.get(str(table.get("doc")))
    if doc is None:
        if keys or assumes:
            raise ArchbenchError(f"args use {sorted(keys) or assumes} but document {table.get('doc')!r} has no "
                                 f"readings file ({READINGS_FILE.format(doc=table.get('doc'))})")
        return table, None
    unknown = sorted(k for k in placeholders(args) if doc.owner(k) is None)
    if unknown:
        raise ArchbenchError(f"args use {{{unknown[0]}}}, which no assumption of document {doc.doc} sets")
    names = {a.name: a for a in doc.assumptions}
    if not isinstance(assumes, list) or any(a not in names for a in assumes):
        raise ArchbenchError(f"args.assumes {assumes!r} must list assumptions of document {doc.doc}: "
                             f"{', '.join(names)}")
    for name in assumes:
        if len(names[name].options) > 1:
            raise ArchbenchError(f"args.assumes names {name!r}, which has several options: select rows by its "
                                 f"values ({', '.join(sorted(names[name].options[0].values))}) instead")
    depends = tuple(dict.fromkeys([doc.owner(k).name for k in sorted(keys)] + list(assumes)))
    return {**table, "args": substitute(args, doc.primary.values)}, ClaimReadings(doc, args, depends)


# ---------------------------------------------------------------- judging under the readings
def _entries(claim: Claim, verdict: Verdict, frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The claim's status and value under every reading of its document (judged once per combination of the
    options it depends on)."""
    cr: ClaimReadings = claim.readings
    under: dict[tuple[str, ...], Verdict] = {}
    entries = []
    for reading in cr.doc.readings:
        key = reading.restricted(cr.depends)
        if key not in under:
            under[key] = verdict if reading.primary else judge(replace(claim, args=cr.args_under(reading)), frame)
        v = under[key]
        entries.append({"reading": reading.name, "primary": reading.primary, "status": Status(v.status).value,
                        "value": v.value, "unit": v.unit, "options": list(key),
                        "choices": [{"assumption": a.name, "option": o.name, "note": o.note}
                                    for a, o in reading.choices]})
    return entries


def _holds(entry: dict[str, Any]) -> bool:
    return Status(entry["status"]) in HOLDING


def _other_readings(entries: list[dict[str, Any]]) -> str:
    """The claim under the other readings, once per combination of the options it depends on: those under which it
    holds by name and value, the rest counted with their range."""
    others = [e for e in _distinct(entries) if tuple(e["options"]) != tuple(entries[0]["options"])]
    if not others:
        return ""
    shown = lambda e: f"«{' · '.join(e['options'])}»: {format_value(e['value'], e['unit'])} ({e['status']})"  # noqa
    holding = [shown(e) for e in others if _holds(e)]
    rest = [e for e in others if not _holds(e)]
    if len(rest) <= 2:
        return f" Under the other readings: {'; '.join(holding + [shown(e) for e in rest])}."
    values = [e["value"] for e in rest if isinstance(e["value"], (int, float))]
    span = (f" ({format_value(min(values), rest[0]['unit'])} to {format_value(max(values), rest[0]['unit'])})"
            if values else "")
    return (f" Under the other readings: {'; '.join(holding) + '; ' if holding else ''}not under the {len(rest)} "
            f"others{span}.")


def _with_entries(claim: Claim, verdict: Verdict, frame: pd.DataFrame) -> Verdict:
    cr: ClaimReadings = claim.readings
    primary = cr.doc.primary
    if not cr.depends:
        return replace(verdict, reading=primary.name)
    entries = _entries(claim, verdict, frame)
    status, assumption = Status(verdict.status), verdict.assumption
    if status is Status.HOLDS:
        status = Status.ASSUMPTION
    if status is Status.ASSUMPTION:
        assumption = "; ".join(filter(None, [f"reading «{primary.name}»: {primary.describe(cr.depends)}",
                                             verdict.assumption]))
    evidence = (f"{verdict.evidence} [judged under document {cr.doc.doc}'s primary reading "
                f"«{' · '.join(entries[0]['options'])}»]{_other_readings(entries)}")
    return replace(verdict, status=status, assumption=assumption, evidence=evidence, reading=primary.name,
                   readings=entries)


def _settle(verdicts: list[Verdict]) -> list[Verdict]:
    """Within one document: a claim failing under the primary reading but holding under reading X is "holds under
    an assumption" only if X contradicts no other claim (every other claim holding under some reading holds
    under X); otherwise it keeps its status and its evidence names what X contradicts."""
    dependent = [v for v in verdicts if v.readings]
    satisfiable = [v for v in dependent if any(_holds(e) for e in v.readings)]
    out = []
    for v in verdicts:
        if not v.readings or _holds(v.readings[0]) or Status(v.status) is Status.UNTESTABLE:
            out.append(v)
            continue
        holding = [e for e in v.readings if _holds(e)]
        if not holding:
            out.append(v)
            continue
        conflicts = {e["reading"]: [d.claim.id for d in satisfiable if d is not v and
                                    not _holds(next(x for x in d.readings if x["reading"] == e["reading"]))]
                     for e in holding}
        free = [e for e in holding if not conflicts[e["reading"]]]
        if free:
            e = free[0]
            doc = v.claim.readings.doc
            reading = next(r for r in doc.readings if r.name == e["reading"])
            out.append(replace(v, status=Status.ASSUMPTION, value=e["value"],
                               assumption=f"reading «{reading.name}»: {reading.describe(v.claim.readings.depends)}",
                               evidence=f"{v.evidence} Holds under reading «{e['reading']}», which contradicts no "
                                        f"other claim of document {doc.doc}."))
            continue
        shown = "; ".join(f"«{' · '.join(e['options'])}» (which fails {', '.join(conflicts[e['reading']][:3])}"
                          f"{' …' if len(conflicts[e['reading']]) > 3 else ''})" for e in _distinct(holding))
        out.append(replace(v, evidence=f"{v.evidence} Holds only under another reading: {shown}; no reading makes "
                                       f"it hold together with every other claim, so the primary verdict stands."))
    return out


def _distinct(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen, out = set(), []
    for e in entries:
        if tuple(e["options"]) not in seen:
            seen.add(tuple(e["options"]))
            out.append(e)
    return out


@register_review(order=10)
def review(claims: list[Claim], verdicts: list[Verdict], frame: pd.DataFrame) -> list[Verdict]:
    """Judge every claim with readings under them (see the module docstring), then settle each document."""
    verdicts = [_with_entries(c, v, frame) if c.readings is not None else v for c, v in zip(claims, verdicts)]
    by_doc: dict[str, list[int]] = {}
    for i, v in enumerate(verdicts):
        by_doc.setdefault(str(v.claim.doc), []).append(i)
    for indices in by_doc.values():
        for i, settled in zip(indices, _settle([verdicts[i] for i in indices])):
            verdicts[i] = settled
    return verdicts
