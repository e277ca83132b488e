"""Claims from TOML: every `[[claim]]` table of a folder's `<doc>_<topic>.toml` files, validated against the checks,
each resolved to the primary reading of its document (`<doc>_readings.toml`, harness/claims/readings.py).

Importing this module registers every generic check (`checks`, `learning`), because validation needs them, and the
reviews `evaluate` runs after them (`readings`, `scope`)."""
from __future__ import annotations

import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

from harness.claims import checks, learning  # noqa: F401  (register the checks the loader validates against)
from harness.claims.model import CHECKS, KINDS, Claim
from harness.claims.readings import DocReadings, load_readings, resolve
from harness.claims.scope import beside_problem
from harness.errors import ArchbenchError, one_line

REQUIRED_KEYS = ("id", "doc", "quote", "kind", "quantity", "check")
CLAIM_KEYS = {f.name for f in fields(Claim)} - {"readings"}


def load_claims(directory: Path | str) -> list[Claim]:
    """Every `[[claim]]` of every `*.toml` under `directory`, in file then document order, validated.

    A file is named `<doc>_<topic>.toml` and holds only claims of that document. Raises ArchbenchError naming the
    file and the claim for: bad TOML, a missing or unknown key, a duplicate id (across files), an unknown kind or
    check, a check's missing argument, a placeholder or assumption its document's readings do not declare.
    """
    directory = Path(directory)
    paths = sorted(directory.glob("*.toml"))
    if not paths:
        raise ArchbenchError(f"no claim files (*.toml) under {directory}")
    docs = load_readings(directory)
    claims: list[Claim] = []
    seen: dict[str, str] = {}
    for path in paths:
        try:
            tables = tomllib.loads(path.read_text(encoding="utf-8")).get("claim", [])
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:   # invalid UTF-8 too
            raise ArchbenchError(f"{path.name}: {one_line(err)}") from None
        for number, table in enumerate(tables, 1):
            claim = claim_from_table(table, f"{path.name} claim #{number}", docs)
            where = f"{path.name} claim {claim.id!r}"
            if claim.id in seen:
                raise ArchbenchError(f"{where}: duplicate id (first in {seen[claim.id]})")
            if not path.name.startswith(f"{claim.doc}_"):
                raise ArchbenchError(f"{where}: doc {claim.doc!r} does not match the file name")
            seen[claim.id] = path.name
            claims.append(claim)
    return claims


def claim_from_table(table: dict[str, Any], where: str, docs: dict[str, DocReadings] | None = None) -> Claim:
    """One TOML table -> a validated Claim under its document's primary reading (`docs`: document id -> readings);
    errors start with `where` (and the claim id once known)."""
    if not isinstance(table, dict):
        raise ArchbenchError(f"{where}: a claim must be a table")
    where = f"{where} ({table['id']!r})" if "id" in table else where
    missing = [k for k in REQUIRED_KEYS if not table.get(k)]
    unknown = sorted(set(table) - CLAIM_KEYS)
    if missing or unknown:
        raise ArchbenchError(f"{where}: " + "; ".join(filter(None, [
            missing and f"missing key(s) {', '.join(missing)}", unknown and f"unknown key(s) {', '.join(unknown)}"])))
    if table["kind"] not in KINDS:
        raise ArchbenchError(f"{where}: unknown kind {table['kind']!r} (known: {', '.join(KINDS)})")
    if table["check"] not in CHECKS:
        raise ArchbenchError(f"{where}: unknown check {table['check']!r} (known: {', '.join(sorted(CHECKS))})")
    try:
        table, readings = resolve(table, docs or {})
    except ArchbenchError as err:
        raise ArchbenchError(f"{where}: {err}") from None
    claim = Claim(**{**table, "suites": tuple(table.get("suites", ())), "args": dict(table.get("args", {})),
                     "readings": readings})
    problem = CHECKS[claim.check].validate(claim) or beside_problem(claim.args)
    if problem:
        raise ArchbenchError(f"{where}: check {claim.check!r}: {problem}")
    return claim
