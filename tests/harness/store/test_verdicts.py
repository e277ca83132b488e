"""Tests for verdicts as data: the run's verdicts.jsonl round-trips, a bad line is one error naming file and line,
the file goes stale when rows are added, and two runs' verdicts are compared claim by claim."""
import os
import re

import numpy as np
import pytest

from harness.errors import ArchbenchError
from harness.store.compare import compare_verdicts
from harness.store.results import ResultStore
from harness.store.verdicts import (VERDICTS, Status, VerdictRecord, read_verdicts, verdicts_current,
                                    write_verdicts)

RUN_ID = "0001_nogit_20250101-000000"


def record(claim="002-x", status=Status.HOLDS, value=4.19e9, **fields):
    return VerdictRecord(claim=claim, doc=claim[:3], status=status, value=value, unit="bytes", **fields)


def test_verdicts_round_trip_through_jsonl(tmp_path):
    written = [record(evidence="4.19 GB vs stated 4.19 GB", rows=(3, 4), stated=[1.0, 2.0], tolerance=0.01,
                      suites=("attention",), details=[{"row": 3, "value": 1.5, "verdict": "holds"}],
                      quote="“4.19 GB” — über", assumption="fp16 cache"),
               record("003-y", Status.UNTESTABLE, None, reason="needs a GPU", evidence="needs a GPU")]
    write_verdicts(tmp_path, written)
    assert read_verdicts(tmp_path) == written


def test_records_are_json_clean_so_what_is_read_equals_what_was_written(tmp_path):
    """numpy numbers from a frame and NaN (no value) become plain JSON before they are written."""
    made = record(value=np.float64("nan"), rows=[np.int64(2)], details=[{"low": np.float32(0.5), "n": np.int64(3)}])
    assert made.value is None and made.rows == (2,) and made.details == [{"low": 0.5, "n": 3}]
    write_verdicts(tmp_path, [made])
    assert read_verdicts(tmp_path) == [made]


@pytest.mark.parametrize("line, message", [("not json", "corrupt line"),
                                           ('{"claim": "x", "doc": "000"}', "missing key(s) status"),
                                           ('{"claim": "x", "doc": "0", "status": "maybe"}', "'maybe' is not a valid"),
                                           ('{"claim": "x", "doc": "0", "status": "holds", "colour": 1}', "colour")])
def test_a_bad_line_is_one_error_naming_file_and_line(tmp_path, line, message):
    write_verdicts(tmp_path, [record()])
    with open(tmp_path / VERDICTS, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")
    with pytest.raises(ArchbenchError, match=f"{VERDICTS} line 2: .*{re.escape(message)}") as err:
        read_verdicts(tmp_path)
    assert "\n" not in str(err.value)


def test_a_run_without_verdicts_says_so(tmp_path):
    with pytest.raises(ArchbenchError, match="no verdicts file"):
        read_verdicts(tmp_path)


def test_verdicts_go_stale_when_the_run_gets_rows_after_judging(tmp_path):
    store = ResultStore(tmp_path, RUN_ID)
    store.append(store.row(suite="s", case="c", measure="m", metric="speedup", value=1.0, unit="ratio"))
    assert not verdicts_current(store.run_dir)
    write_verdicts(store.run_dir, [record()])
    assert verdicts_current(store.run_dir)
    store.append(store.row(suite="s", case="d", measure="m", metric="speedup", value=2.0, unit="ratio"))
    later = (store.run_dir / VERDICTS).stat().st_mtime + 1
    os.utime(store.rows_path, (later, later))        # file times may be coarse: make "after" unambiguous
    assert not verdicts_current(store.run_dir)


def test_compare_verdicts_lists_changed_statuses_and_claims_judged_once():
    a = [record("002-same"), record("002-flip", value=1.0), record("002-gone")]
    b = [record("002-same", value=5.0), record("002-flip", Status.REFUTED, 2.0), record("002-new")]
    changes = compare_verdicts(a, b)
    assert [c.claim for c in changes] == ["002-flip", "002-new", "002-gone"]
    assert str(changes[0]) == "002-flip: holds -> refuted (1 B -> 2 B)"
    assert str(changes[1]) == "002-new: (not judged) -> holds (— -> 4.19 GB)"
    assert changes[2].status_b is None
