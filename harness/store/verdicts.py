"""The verdicts of a run as data: `verdicts.jsonl` beside `rows.jsonl`, one JSON object per claim.

The pipeline writes the file after judging (`harness.claims.model.judge_run`); the report renders it and
`archbench compare` diffs two of them. A `VerdictRecord` holds what the claim said (id, document, quote, kind,
quantity, stated value and tolerance, whether it is a bound, suites, why it is untestable), the status, the value,
its interval over the rows judged and its unit, the
evidence, the formula or method, the assumption or reading it rests on, the ids of the rows behind it (the index of
`harness.store.results.current_frame(run_dir)`, the frame that was judged) and a small details table (one dict per
row). Values are kept JSON-clean (NaN and infinities become null, numpy numbers plain ones), so a record read back
equals the record written.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Iterable

from harness.errors import ArchbenchError, one_line
from harness.store.results import DONE, ROWS, read_records

VERDICTS = "verdicts.jsonl"


class Status(str, Enum):
    HOLDS = "holds"
    REFUTED = "refuted"
    INCONCLUSIVE = "inconclusive"
    ASSUMPTION = "holds under an assumption"
    UNTESTABLE = "untestable here"
    NOT_RUN = "not run in this run"             # its suites were not in the run: `evidence` gives the command


@dataclass(frozen=True, kw_only=True)
class VerdictRecord:
    claim: str                                  # the claim's id, e.g. "002-base-params"
    doc: str
    status: Status
    value: Any = None                           # number, text or None
    unit: str = ""                              # of `value` (and of `stated`)
    evidence: str = ""
    formula: str = ""
    assumption: str = ""
    rows: tuple[int, ...] = ()
    details: list[dict[str, Any]] = field(default_factory=list)
    quote: str = ""
    kind: str = ""
    quantity: str = ""
    stated: Any = None
    tolerance: float | None = None
    suites: tuple[str, ...] = ()
    reason: str = ""
    reading: str = ""                           # the document's reading it was judged under (its primary)
    readings: list[dict[str, Any]] = field(default_factory=list)   # status and value under every reading
    scope: str = ""                             # where its rows were measured
    interval: list[float] | None = None         # [low, high] of the measured value over its rows (CI or quartiles)
    bound: str = ""                             # "at least" / "at most": the stated value bounds the measured one

    def __post_init__(self) -> None:
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 (frozen)
        set_("status", Status(self.status))
        set_("rows", tuple(int(i) for i in self.rows))
        set_("suites", tuple(str(s) for s in self.suites))
        for name in ("value", "details", "stated", "tolerance", "readings", "interval"):
            set_(name, _plain(getattr(self, name)))

    def to_record(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "status": self.status.value}

    @classmethod
    def from_record(cls, record: Any) -> VerdictRecord:
        if not isinstance(record, dict):
            raise ArchbenchError(f"a verdict must be a JSON object, got {type(record).__name__}")
        missing = [name for name in ("claim", "doc", "status") if name not in record]
        unknown = sorted(set(record) - {f.name for f in dataclasses.fields(cls)})
        if missing or unknown:
            raise ArchbenchError("; ".join(filter(None, [missing and f"missing key(s) {', '.join(missing)}",
                                                         unknown and f"unknown key(s) {', '.join(unknown)}"])))
        try:
            return cls(**record)
        except ValueError as err:
            raise ArchbenchError(one_line(err)) from None


def _plain(value: Any) -> Any:
    """JSON-clean: numpy scalars as Python numbers, NaN/inf as None, tuples as lists, through dicts and lists."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def write_verdicts(run_dir: Path, verdicts: Iterable[VerdictRecord]) -> Path:
    """Replace the run's verdicts.jsonl (written to a temporary file, then renamed: never half a file)."""
    path = Path(run_dir) / VERDICTS
    tmp = path.with_name(path.name + ".tmp")
    lines = [json.dumps(v.to_record(), allow_nan=False, ensure_ascii=False) + "\n" for v in verdicts]
    tmp.write_text("".join(lines), encoding="utf-8")
    tmp.replace(path)
    return path


def read_verdicts(run_dir: Path) -> list[VerdictRecord]:
    """Every verdict of the run; a bad line raises ArchbenchError naming the file and the line."""
    return read_records(Path(run_dir) / VERDICTS, VerdictRecord.from_record, "verdicts")


def verdicts_current(run_dir: Path) -> bool:
    """True when the run has a verdicts file written after its rows and done-markers last changed (rows that a
    resumed run added since make the verdicts stale)."""
    path = Path(run_dir) / VERDICTS
    inputs = [Path(run_dir) / name for name in (ROWS, DONE)]
    return path.is_file() and all(path.stat().st_mtime >= p.stat().st_mtime for p in inputs if p.is_file())
