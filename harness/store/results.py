"""The tidy results store: one `Row` per measured number, appended to `results/<run-id>/rows.jsonl` as it is made.

Layout of a run directory (`<root>/<run-id>/`):

* `rows.jsonl` — one JSON object per line, one line per `Row`. Each row is written with a single `write`, then
  flushed and fsync'ed, so a crash loses at most the row being written. A torn last line (crash mid-write) is
  moved to `rows.jsonl.torn` when a `ResultStore` reopens the run; `load_rows` on an unrepaired file reports it.
* `done.jsonl` — one `{"suite", "key", "rows_bytes"}` line per finished unit of work, written after the unit's rows,
  so a rerun (`store.completed_keys()`) skips finished units and redoes unfinished ones. What a "key" is belongs to
  the runner. `rows_bytes` is the length of rows.jsonl after the unit's rows: on reopening, markers past the end of
  a lost or truncated rows.jsonl are dropped (to `done.jsonl.dropped`), so no unit counts as done without its rows.
* `run.json` — machine and software metadata (`harness.store.machine.run_metadata()`), written once per run.
* `verdicts.jsonl` — the claims' verdicts over this run's rows, written after judging (`harness.store.verdicts`).

In rows.jsonl `shape` is a nested object; in a DataFrame each shape entry becomes its own column named
`shape.<name>` (`shape.B`, `shape.T`...), so shapes never collide with schema columns such as `n`.
When a unit is redone after a crash, its new rows supersede the crashed attempt's: `load_frame` keeps the last
row per identity (`IDENTITY` + shape columns) unless `keep_superseded=True`.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

import pandas as pd

from harness.errors import ArchbenchError, one_line
from harness.store.machine import git_state

STATUSES = ("ok", "failed", "untestable")
STATS = ("median", "mean", "min", "max", "exact", "analytic", "count", "sum")
REQUIRED = ("run_id", "suite", "case", "measure", "metric", "value", "unit", "status")
IDENTITY = ["suite", "case", "arch", "measure", "metric", "stat", "unit", "device", "dtype", "threads"]
RUN_ID = re.compile(r"^(\d{4,})_([0-9a-f]{7,40}|nogit)_(\d{8}-\d{6})$")
ROWS, DONE, RUN_INFO = "rows.jsonl", "done.jsonl", "run.json"


@dataclass(frozen=True, kw_only=True)
class Row:
    """One number (or the reason there is none). `spread` is IQR/median; `value` is None unless status is ok."""
    run_id: str
    suite: str
    case: str
    arch: str = ""
    measure: str
    metric: str
    value: float | None
    unit: str
    stat: str = "exact"
    spread: float | None = None
    n: int = 1
    q1: float | None = None
    q3: float | None = None
    shape: dict[str, int | float | str] = field(default_factory=dict)
    method: str = ""
    device: str = ""
    dtype: str = ""
    threads: int | None = None
    status: str = "ok"
    reason: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            if f.type == "str" and not isinstance(getattr(self, f.name), str):
                raise ArchbenchError(f"row column {f.name!r} must be a string, got {getattr(self, f.name)!r}")
        for name in ("value", "spread", "q1", "q3"):
            object.__setattr__(self, name, _finite_or_none(name, getattr(self, name)))
        for name in ("n", "threads"):
            number = getattr(self, name)
            if (number is None and name == "n") or (number is not None and (type(number) is not int or number < 0)):
                raise ArchbenchError(f"row column {name!r} must be a non-negative int, got {number!r}")
        for name in ("shape", "config", "extra"):
            if not isinstance(getattr(self, name), dict):
                raise ArchbenchError(f"row column {name!r} must be an object, got {getattr(self, name)!r}")
        if any(not isinstance(v, (int, float, str)) or isinstance(v, bool) for v in self.shape.values()):
            raise ArchbenchError(f"row shape values must be int, float or str: {self.shape!r}")
        if self.status not in STATUSES or self.stat not in STATS:
            raise ArchbenchError(f"row status {self.status!r} / stat {self.stat!r} not in {STATUSES} / {STATS}")
        if self.status == "ok" and self.value is None:
            raise ArchbenchError(f"row {self.suite}/{self.case}/{self.metric} is ok but has no value")
        if self.status != "ok" and (self.value is not None or not self.reason):
            raise ArchbenchError(f"{self.status} row {self.suite}/{self.case}/{self.metric} needs a reason, no value")

    def to_record(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_record(cls, record: Any) -> Row:
        if not isinstance(record, dict):
            raise ArchbenchError(f"a row must be a JSON object, got {type(record).__name__}")
        missing = [name for name in REQUIRED if name not in record]
        unknown = sorted(set(record) - {f.name for f in dataclasses.fields(cls)})
        if missing or unknown:
            raise ArchbenchError("; ".join(filter(None, [missing and f"missing column(s) {', '.join(missing)}",
                                                         unknown and f"unknown column(s) {', '.join(unknown)}"])))
        return cls(**record)


def _finite_or_none(name: str, number: Any) -> float | None:
    if number is None:
        return None
    if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
        raise ArchbenchError(f"row column {name!r} must be a finite number or null, got {number!r}")
    return float(number)


def _append_line(path: Path, record: dict[str, Any]) -> None:
    """One line in one write, flushed and fsync'ed: after a crash the file holds every finished line."""
    line = json.dumps(record, allow_nan=False, default=str) + "\n"
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())


def _move_torn_tail(path: Path) -> None:
    """If a crash cut the last line short, move that fragment to `<file>.torn` so appends start on a fresh line."""
    if not path.exists() or path.stat().st_size == 0:
        return
    data = path.read_bytes()
    if data.endswith(b"\n"):
        return
    keep = data.rfind(b"\n") + 1
    with open(path.with_name(path.name + ".torn"), "ab") as torn:
        torn.write(data[keep:] + b"\n")
    with open(path, "r+b") as handle:
        handle.truncate(keep)


class ResultStore:
    """Appends rows and done-markers for one run under `<root>/<run_id>/`; reopening a run resumes it."""

    def __init__(self, root: Path, run_id: str):
        self.run_id = run_id
        self.run_dir = Path(root) / run_id
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.rows_path, self.done_path = self.run_dir / ROWS, self.run_dir / DONE
        _move_torn_tail(self.rows_path)
        _move_torn_tail(self.done_path)
        if not self.rows_path.exists():
            self.rows_path.touch()  # a run with no rows yet loads as an empty frame (reading changes nothing)
        self._drop_markers_without_rows()

    @classmethod
    def create(cls, root: Path) -> ResultStore:
        """A store for a fresh run id, claiming its directory atomically (two runs started at once both succeed)."""
        while True:
            run_id = new_run_id(root)
            try:
                (Path(root) / run_id).mkdir(parents=True)
            except FileExistsError:
                continue
            return cls(root, run_id)

    def row(self, **fields: Any) -> Row:
        return Row(run_id=self.run_id, **fields)

    def append(self, row: Row) -> None:
        if row.run_id != self.run_id:
            raise ArchbenchError(f"row belongs to run {row.run_id!r}, not {self.run_id!r}")
        _append_line(self.rows_path, row.to_record())

    def mark_done(self, suite: str, key: str) -> None:
        """The unit's rows are written; the marker records how long rows.jsonl then was (see below)."""
        _append_line(self.done_path, {"suite": suite, "key": key, "rows_bytes": self.rows_path.stat().st_size})

    def _drop_markers_without_rows(self) -> None:
        """Done markers must not outlive their rows: a marker whose `rows_bytes` lies past the end of rows.jsonl
        (the file was lost, truncated or replaced) is moved to done.jsonl.dropped, so a rerun redoes its unit. A
        marker written before markers recorded the length counts as long as rows.jsonl is not empty."""
        if not self.done_path.exists():
            return
        size = self.rows_path.stat().st_size
        records = [record for _, record in read_jsonl(self.done_path)]
        keep = [not isinstance(r, dict) or _rows_end(r) <= size for r in records]
        if all(keep):
            return
        text = self.done_path.read_text(encoding="utf-8", errors="replace")
        lines = [line + "\n" for line in text.split("\n") if line.strip()]   # read_jsonl's lines, in order
        with open(self.done_path.with_name(DONE + ".dropped"), "a", encoding="utf-8") as dropped:
            dropped.writelines(line for line, ok in zip(lines, keep) if not ok)
        tmp = self.done_path.with_name(DONE + ".tmp")
        tmp.write_text("".join(line for line, ok in zip(lines, keep) if ok), encoding="utf-8")
        tmp.replace(self.done_path)

    def completed_keys(self) -> set[tuple[str, str]]:
        """`(suite, key)` of every unit marked done in this run."""
        records = read_jsonl(self.done_path) if self.done_path.exists() else []
        try:
            return {(record["suite"], record["key"]) for _, record in records}
        except (KeyError, TypeError) as err:
            raise ArchbenchError(f"{self.done_path}: marker without suite/key ({one_line(err)})") from None

    def is_done(self, suite: str, key: str) -> bool:
        return (suite, key) in self.completed_keys()

    def record_run_info(self, info: dict[str, Any]) -> dict[str, Any]:
        """Write `run.json` once; on a resumed run keep (and return) what the first start recorded."""
        path = self.run_dir / RUN_INFO
        if path.exists():
            return self.run_info()
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(info, indent=2, default=str) + "\n", encoding="utf-8")
        tmp.replace(path)
        return info

    def run_info(self) -> dict[str, Any]:
        return read_run_info(self.run_dir)


# run.json fields the report and the resume logic read, and the JSON types they must have
RUN_INFO_TYPES: dict[str, tuple[type, ...]] = {
    "git": (dict,), "gpu": (dict,), "cpu": (dict,), "versions": (dict,), "identity": (dict,),
    "suites": (list, str, type(None)), "archs": (list, str, type(None)), "profile": (str,), "device": (str,),
    "dtype": (str,), "tokenizer": (str,), "corpus": (str, type(None)), "time_utc": (str,), "hostname": (str,),
    "platform": (str,)}


def read_run_info(run_dir: Path) -> dict[str, Any]:
    """A run's run.json, checked: an object whose known fields have their JSON types (one-line error if not)."""
    path = Path(run_dir) / RUN_INFO
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ArchbenchError(f"{path}: {one_line(err)}") from None
    if not isinstance(info, dict):
        raise ArchbenchError(f"{path}: expected a JSON object, got {type(info).__name__}")
    for key, types in RUN_INFO_TYPES.items():
        if key in info and not isinstance(info[key], types):
            raise ArchbenchError(f"{path}: field {key!r} must be {' or '.join(_JSON_TYPE[t] for t in types)}, "
                                 f"got {json.dumps(info[key])[:60]}")
    devices = (info.get("gpu") or {}).get("devices", [])
    if not isinstance(devices, list) or not all(isinstance(d, dict) for d in devices):
        raise ArchbenchError(f"{path}: field 'gpu.devices' must be a list of objects")
    return info


_JSON_TYPE = {dict: "an object", list: "a list", str: "a string", int: "an integer", type(None): "null"}


def _rows_end(marker: dict) -> int:
    """How long rows.jsonl was when the marker was written (1 for a marker that did not record it)."""
    end = marker.get("rows_bytes", 1)
    return end if type(end) is int and end >= 0 else 1


def read_jsonl(path: Path) -> list[tuple[int, Any]]:
    """`(line number, parsed line)` pairs; a bad line raises ArchbenchError naming the file and the line (1-based)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.split("\n")  # exactly the writer's separator; a final "\n" leaves one empty last item
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append((number, json.loads(line)))
        except ValueError as err:
            what = "truncated last line (crash mid-write?)" if number == len(lines) else "corrupt line"
            raise ArchbenchError(f"{path} line {number}: {what}: {one_line(err)}") from None
    return records


Record = TypeVar("Record")


def read_records(path: Path, parse: Callable[[Any], Record], what: str) -> list[Record]:
    """Every line of a JSON-lines file parsed by `parse` (e.g. `Row.from_record`), which raises ArchbenchError or
    TypeError for a bad record; a missing file or a bad line raises ArchbenchError naming the file and the line."""
    path = Path(path)
    if not path.is_file():
        raise ArchbenchError(f"no {what} file {path}")
    records = []
    for number, record in read_jsonl(path):
        try:
            records.append(parse(record))
        except (ArchbenchError, TypeError) as err:
            raise ArchbenchError(f"{path} line {number}: {one_line(err)}") from None
    return records


def load_rows(path: Path) -> list[Row]:
    """Every row of a rows.jsonl, schema-checked; errors name the file and line."""
    return read_records(path, Row.from_record, "results")


def load_frame(path: Path, *, keep_superseded: bool = False) -> pd.DataFrame:
    """Rows of a run directory (or a rows.jsonl) as a DataFrame: schema columns, then one `shape.<k>` per shape key.

    Unless `keep_superseded`, only the last row per identity (`IDENTITY` + shape columns) is kept: a unit redone
    after a crash replaces what its interrupted attempt wrote.
    """
    path = Path(path)
    rows = load_rows(path / ROWS if path.is_dir() else path)
    columns = [f.name for f in dataclasses.fields(Row) if f.name != "shape"]
    records = [{**{name: getattr(row, name) for name in columns},
                **{f"shape.{key}": value for key, value in row.shape.items()}} for row in rows]
    frame = pd.DataFrame.from_records(records, columns=columns) if not records else pd.DataFrame(records)
    frame = _typed(frame[columns + sorted(c for c in frame.columns if c.startswith("shape."))])
    if not keep_superseded and len(frame):
        identity = IDENTITY + [c for c in frame.columns if c.startswith("shape.")]
        frame = frame.drop_duplicates(subset=identity, keep="last").reset_index(drop=True)
    return frame


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Numeric columns as float (None -> NaN), counts as nullable ints; all-int shape columns stay ints."""
    frame = frame.copy()
    for name in ("value", "spread", "q1", "q3"):
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(float)
    frame["threads"] = frame["threads"].astype("Int64")
    for name in [c for c in frame.columns if c.startswith("shape.")]:
        present = frame[name].dropna()
        if len(present) and all(type(v) is int for v in present):
            frame[name] = frame[name].astype("Int64")
    return frame


def new_run_id(root: Path, *, now: datetime | None = None) -> str:
    """`<counter>_<short commit|nogit>_<UTC yyyymmdd-hhmmss>`, e.g. `0007_3fa2c1d_20250301-142233`.

    The counter is one more than the largest among the run directories already under `root`.
    """
    counters = [int(m.group(1)) for p in _children(root) if (m := RUN_ID.match(p.name))]
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%d-%H%M%S")
    return f"{max(counters, default=0) + 1:04d}_{git_state()['short']}_{stamp}"


def latest_run(root: Path) -> Path:
    """The run directory under `root` with the highest counter."""
    runs = [(int(m.group(1)), p) for p in _children(root) if (m := RUN_ID.match(p.name))]
    if not runs:
        raise ArchbenchError(f"no runs under {root}")
    return max(runs)[1]


def _children(root: Path) -> Iterable[Path]:
    root = Path(root)
    return [p for p in root.iterdir() if p.is_dir()] if root.is_dir() else []



def current_frame(run_dir):
    """The run's rows as the report should see them: a unit's failure row is dropped once a later attempt of
    that unit finished (the failure is history, the finished rows are the result)."""
    run_dir = Path(run_dir)
    frame = load_frame(run_dir)
    if not (run_dir / DONE).exists() or frame.empty:
        return frame
    done = ResultStore(run_dir.parent, run_dir.name).completed_keys()
    stale = (frame.measure == "unit") & frame.apply(lambda r: (r.suite, r.case) in done, axis=1)
    return frame[~stale].reset_index(drop=True)



__all__ = ["Row", "ResultStore", "load_rows", "load_frame", "new_run_id", "latest_run", "STATUSES", "STATS", "IDENTITY"]
