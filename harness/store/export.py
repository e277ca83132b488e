"""A run as tidy tables for other tools: `export_run` writes rows.csv and verdicts.csv (and .parquet beside each
where pyarrow is installed).

rows: the run's current rows (`harness.store.results.current_frame`), one per number, shape entries as
`shape.<name>` columns, the dict columns (config, extra) as JSON text. verdicts: one per claim, the list columns
(suites, rows, readings, details) as JSON text, so each cell is one value a spreadsheet or pandas reads back.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import pandas as pd

from harness.store.results import current_frame
from harness.store.units import is_missing
from harness.store.verdicts import VerdictRecord

JSON_COLUMNS = ("config", "extra", "suites", "rows", "readings", "details", "stated")


def rows_table(run_dir: Path) -> pd.DataFrame:
    return _json_cells(current_frame(run_dir)).rename_axis("row").reset_index()


def verdicts_table(verdicts: Sequence[VerdictRecord]) -> pd.DataFrame:
    return _json_cells(pd.DataFrame([v.to_record() for v in verdicts],
                                    columns=list(VerdictRecord.__dataclass_fields__)))


def _json_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Lists and dicts as JSON text (a scalar `stated` stays as it is)."""
    frame = frame.copy()
    for name in JSON_COLUMNS:
        if name in frame:
            frame[name] = frame[name].map(
                lambda v: json.dumps(v, sort_keys=True, default=str) if isinstance(v, (list, tuple, dict)) else v)
    return frame


def _text_objects(table: pd.DataFrame) -> pd.DataFrame:
    """Object columns of mixed cells (a verdict's value is a number or a text) as text, missing cells kept:
    Parquet columns have one type."""
    return table.assign(**{c: table[c].map(lambda v: None if is_missing(v) else str(v))
                           for c in table.columns if table[c].dtype == object})


def parquet_available() -> bool:
    try:
        import pyarrow  # noqa: F401  (optional: pandas' Parquet engine)
    except ImportError:
        return False
    return True


def export_run(run_dir: Path, out_dir: Path, verdicts: Sequence[VerdictRecord]) -> list[Path]:
    """Write rows and verdicts as CSV (and Parquet when pyarrow is installed) into `out_dir`; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in (("rows", rows_table(run_dir)), ("verdicts", verdicts_table(verdicts))):
        table.to_csv(out_dir / f"{name}.csv", index=False)
        written.append(out_dir / f"{name}.csv")
        if parquet_available():
            _text_objects(table).to_parquet(out_dir / f"{name}.parquet", index=False)
            written.append(out_dir / f"{name}.parquet")
    return written
