"""Claims from TOML, validated against the checks, each resolved to the primary reading of its document
(harness/claims/readings.py). Two layouts:

* a document folder (`load_document`): `document.toml` (id, title, source, optional note), `readings.toml` (what
  the document leaves open; optional), one or more `claims*.toml` files of `[[claim]]` tables (a claim's `doc`
  may be left out: it is the folder's id), and `models/` (read by the composition root, not here);
* a flat folder of `<doc>_<topic>.toml` claim files and `<doc>_readings.toml` (`load_claims`).

Importing this module registers every generic check (`checks`, `learning`), because validation needs them, and the
reviews `evaluate` runs after them (`readings`, `scope`)."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from harness.claims import checks, learning  # noqa: F401  (register the checks the loader validates against)
from harness.claims.model import CHECKS, KINDS, Claim
from harness.claims.readings import DocReadings, doc_readings, load_readings, resolve
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
        for claim in _file_claims(path, docs, seen):
            if not path.name.startswith(f"{claim.doc}_"):
                raise ArchbenchError(f"{path.name} claim {claim.id!r}: doc {claim.doc!r} does not match the file name")
            claims.append(claim)
    return claims


def _read_toml(path: Path, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:   # invalid UTF-8 too
        raise ArchbenchError(f"{where}: {one_line(err)}") from None


def _file_claims(path: Path, docs: dict[str, DocReadings], seen: dict[str, str], doc: str = "",
                 where: str = "") -> list[Claim]:
    """The validated claims of one claims file; `doc` fills in a claim's missing `doc`; `seen` (claim id -> file)
    catches a duplicate id."""
    where = where or path.name
    tables = _read_toml(path, where).get("claim", [])
    if not isinstance(tables, list):
        raise ArchbenchError(f"{where}: claims are [[claim]] tables")
    claims = []
    for number, table in enumerate(tables, 1):
        if doc and isinstance(table, dict):
            table = {"doc": doc, **table}
            if table["doc"] != doc:
                raise ArchbenchError(f"{where} claim #{number}: doc {table['doc']!r} is not this folder's "
                                     f"document {doc!r}")
        claim = claim_from_table(table, f"{where} claim #{number}", docs)
        if claim.id in seen:
            raise ArchbenchError(f"{where} claim {claim.id!r}: duplicate id (first in {seen[claim.id]})")
        seen[claim.id] = where
        claims.append(claim)
    return claims


# ---------------------------------------------------------------- a document as a folder
DOCUMENT_FILE = "document.toml"
DOCUMENT_KEYS = ("id", "title", "source", "note")
FOLDER_READINGS = "readings.toml"
CLAIM_FILES = "claims*.toml"


@dataclass(frozen=True)
class Document:
    """A document folder's metadata and, once loaded, its claims."""
    id: str
    title: str
    source: str
    folder: Path
    note: str = ""
    claims: tuple[Claim, ...] = ()


def read_document(folder: Path | str) -> Document:
    """The metadata of a document folder (its `document.toml`), claims not yet loaded."""
    folder = Path(folder)
    path = folder / DOCUMENT_FILE
    if not path.is_file():
        raise ArchbenchError(f"{folder}: not a document folder (no {DOCUMENT_FILE})")
    data = _read_toml(path, str(path))
    unknown = sorted(set(data) - set(DOCUMENT_KEYS))
    missing = [k for k in ("id", "title") if not isinstance(data.get(k), str) or not data[k].strip()]
    if unknown or missing:
        raise ArchbenchError(f"{path}: " + "; ".join(filter(None, [
            missing and f"missing text field(s) {', '.join(missing)}",
            unknown and f"unknown field(s) {', '.join(unknown)} (allowed: {', '.join(DOCUMENT_KEYS)})"])))
    if not all(c.isalnum() or c in "-_." for c in data["id"]):
        raise ArchbenchError(f"{path}: id {data['id']!r} may hold letters, digits, '-', '_' and '.' only")
    return Document(id=data["id"], title=data["title"], source=str(data.get("source", "")), folder=folder,
                    note=str(data.get("note", "")))


def load_document(document: Document, seen: dict[str, str] | None = None) -> Document:
    """`document` with its claims, read from its folder's claims files under its readings (`seen`: claim ids
    already loaded from other documents, so an id is unique across them)."""
    folder = document.folder
    readings_path = folder / FOLDER_READINGS
    docs = {}
    if readings_path.is_file():
        try:
            docs[document.id] = doc_readings(document.id, _read_toml(readings_path, str(readings_path)))
        except (ArchbenchError, KeyError, TypeError) as err:
            raise ArchbenchError(f"{readings_path}: {one_line(err)}") from None
    paths = sorted(folder.glob(CLAIM_FILES))
    if not paths:
        raise ArchbenchError(f"{folder}: no claims file ({CLAIM_FILES})")
    seen = {} if seen is None else seen
    claims = [c for path in paths for c in _file_claims(path, docs, seen, document.id, str(path))]
    return replace(document, claims=tuple(claims))


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
