"""Tests for the results store: schema, crash safety, error messages, run ids, resume markers, run comparison."""
import dataclasses
import json
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from harness.errors import ArchbenchError
from harness.store.compare import compare_runs
from harness.store.results import ResultStore, Row, latest_run, load_frame, load_rows, new_run_id

REPO = Path(__file__).resolve().parents[3]


def make_row(store, **overrides):
    fields = dict(suite="speed", case="attn", arch="gpt", measure="time", metric="forward", value=0.5,
                  unit="s", stat="median", spread=0.1, n=7, q1=0.45, q3=0.55, shape={"B": 2, "T": 128},
                  method="blocked_autorange", device="cpu", dtype="float32", threads=2, config={"d": 64})
    return store.row(**{**fields, **overrides})


def test_rows_round_trip_through_jsonl(tmp_path):
    store = ResultStore(tmp_path, "0001_nogit_20250101-000000")
    written = [make_row(store), Row(run_id=store.run_id, suite="speed", case="attn", measure="time", metric="backward",
                                    value=None, unit="", status="failed", reason="RuntimeError: out of memory")]
    for row in written:
        store.append(row)
    assert load_rows(store.rows_path) == written


def test_ok_row_without_value_is_rejected():
    with pytest.raises(ArchbenchError, match="no value"):
        Row(run_id="r", suite="s", case="c", measure="m", metric="x", value=None, unit="s")


def test_non_finite_value_is_rejected():
    with pytest.raises(ArchbenchError, match="'value'"):
        Row(run_id="r", suite="s", case="c", measure="m", metric="x", value=float("nan"), unit="s")


def test_frame_puts_each_shape_entry_in_a_prefixed_column(tmp_path):
    store = ResultStore(tmp_path, "run")
    store.append(make_row(store))
    frame = load_frame(store.run_dir)
    assert (frame.loc[0, "shape.B"], frame.loc[0, "shape.T"]) == (2, 128)


def test_rows_are_on_disk_after_a_hard_crash(tmp_path):
    script = ("import os, sys; from harness.store.results import ResultStore\n"
              "s = ResultStore(sys.argv[1], 'run')\n"
              "for i in range(3): s.append(s.row(suite='s', case=str(i), measure='m', metric='x', value=i, unit='s'))\n"
              "os._exit(1)\n")
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=REPO, check=False)
    assert list(load_frame(tmp_path / "run")["case"]) == ["0", "1", "2"]


def test_empty_run_loads_as_an_empty_frame_with_the_schema(tmp_path):
    store = ResultStore(tmp_path, "run")
    frame = load_frame(store.run_dir)
    assert len(frame) == 0 and {"run_id", "value", "status", "config"} <= set(frame.columns)


def write_lines(path: Path, lines: list[str], end: str = "\n") -> Path:
    path.write_text("\n".join(lines) + end)
    return path


def good_line(**overrides) -> str:
    record = dict(run_id="r", suite="s", case="c", measure="m", metric="x", value=1.0, unit="s", status="ok")
    return json.dumps({**record, **overrides})


def test_corrupt_line_error_names_file_and_line(tmp_path):
    path = write_lines(tmp_path / "rows.jsonl", [good_line(), "{not json", good_line()])
    with pytest.raises(ArchbenchError, match=rf"{re.escape(str(path))} line 2: corrupt line"):
        load_rows(path)


def test_truncated_last_line_error_names_file_and_line(tmp_path):
    path = write_lines(tmp_path / "rows.jsonl", [good_line(), good_line()[:20]], end="")
    with pytest.raises(ArchbenchError, match=rf"{re.escape(str(path))} line 2: truncated last line"):
        load_rows(path)


def test_missing_column_error_names_file_line_and_column(tmp_path):
    record = json.loads(good_line())
    del record["unit"]
    path = write_lines(tmp_path / "rows.jsonl", [good_line(), json.dumps(record)])
    with pytest.raises(ArchbenchError, match=r"rows.jsonl line 2: missing column\(s\) unit"):
        load_rows(path)


def test_unknown_column_is_rejected(tmp_path):
    path = write_lines(tmp_path / "rows.jsonl", [good_line(vaule=2.0)])
    with pytest.raises(ArchbenchError, match=r"line 1: unknown column\(s\) vaule"):
        load_rows(path)


def test_error_messages_are_one_line(tmp_path):
    path = write_lines(tmp_path / "rows.jsonl", ["[1, 2]"])
    with pytest.raises(ArchbenchError) as caught:
        load_rows(path)
    assert "\n" not in str(caught.value)


def test_reopening_a_run_moves_a_torn_last_line_aside(tmp_path):
    store = ResultStore(tmp_path, "run")
    store.append(make_row(store))
    with open(store.rows_path, "a") as handle:
        handle.write('{"run_id": "ru')
    reopened = ResultStore(tmp_path, "run")
    reopened.append(make_row(reopened, case="next"))
    assert list(load_frame(reopened.run_dir)["case"]) == ["attn", "next"]
    assert (reopened.run_dir / "rows.jsonl.torn").read_text() == '{"run_id": "ru\n'


def test_completed_keys_survive_reopening_the_run(tmp_path):
    ResultStore(tmp_path, "run").mark_done("speed", "attn|B=2")
    assert ResultStore(tmp_path, "run").completed_keys() == {("speed", "attn|B=2")}


def test_rerun_rows_supersede_the_crashed_attempt(tmp_path):
    store = ResultStore(tmp_path, "run")
    store.append(make_row(store, value=9.0))
    store.append(make_row(store, value=1.0))
    assert list(load_frame(store.run_dir)["value"]) == [1.0]
    assert list(load_frame(store.run_dir, keep_superseded=True)["value"]) == [9.0, 1.0]


def test_run_info_is_written_once(tmp_path):
    store = ResultStore(tmp_path, "run")
    store.record_run_info({"host": "first"})
    assert ResultStore(tmp_path, "run").record_run_info({"host": "second"}) == {"host": "first"}


def test_row_from_another_run_is_refused(tmp_path):
    store = ResultStore(tmp_path, "run")
    with pytest.raises(ArchbenchError, match="belongs to run"):
        store.append(dataclasses.replace(make_row(store), run_id="other"))


def test_run_id_has_counter_commit_and_utc_time(tmp_path):
    run_id = new_run_id(tmp_path, now=datetime(2025, 3, 1, 14, 22, 33, tzinfo=timezone.utc))
    assert re.fullmatch(r"0001_([0-9a-f]{7}|nogit)_20250301-142233", run_id)


def test_run_id_counter_follows_the_highest_existing_run(tmp_path):
    (tmp_path / "0007_nogit_20250101-000000").mkdir()
    (tmp_path / "notes").mkdir()
    assert new_run_id(tmp_path).startswith("0008_")


def test_created_stores_get_distinct_run_ids(tmp_path):
    assert ResultStore.create(tmp_path).run_id != ResultStore.create(tmp_path).run_id


def test_latest_run_is_the_highest_counter(tmp_path):
    for name in ("0002_nogit_20250101-000000", "0010_nogit_20240101-000000", "0003_nogit_20260101-000000"):
        (tmp_path / name).mkdir()
    assert latest_run(tmp_path).name == "0010_nogit_20240101-000000"


def test_latest_run_without_runs_raises(tmp_path):
    with pytest.raises(ArchbenchError, match="no runs under"):
        latest_run(tmp_path)


def frame_of(tmp_path, name, rows):
    store = ResultStore(tmp_path, name)
    for overrides in rows:
        store.append(make_row(store, **overrides))
    return load_frame(store.run_dir)


def test_compare_runs_reports_delta_and_ratio_per_metric(tmp_path):
    a = frame_of(tmp_path, "a", [{"value": 2.0, "shape": {"T": 128}}, {"value": 4.0, "shape": {"T": 256}}])
    b = frame_of(tmp_path, "b", [{"value": 1.0, "shape": {"T": 128}}, {"value": 4.0, "shape": {"T": 256}}])
    diff = compare_runs(a, b).set_index("shape.T")
    assert (diff.loc[128, "delta"], diff.loc[128, "ratio"], diff.loc[256, "pct_change"]) == (-1.0, 0.5, 0.0)


def test_compare_runs_matches_shapes_when_one_run_has_rows_without_them(tmp_path):
    a = frame_of(tmp_path, "a", [{"value": 2.0, "shape": {"T": 8}}])
    b = frame_of(tmp_path, "b", [{"value": 3.0, "shape": {"T": 8}}, {"metric": "params", "value": 5.0, "shape": {}}])
    diff = compare_runs(a, b)
    assert list(diff["present"]) == ["both", "b_only"] and diff.loc[0, "delta"] == 1.0


def test_compare_runs_ignores_device_so_machines_line_up(tmp_path):
    a = frame_of(tmp_path, "a", [{"device": "cpu", "threads": 2}])
    b = frame_of(tmp_path, "b", [{"device": "cuda", "threads": None}])
    assert list(compare_runs(a, b)["present"]) == ["both"]


def test_compare_runs_rejects_keys_that_match_several_rows(tmp_path):
    a = frame_of(tmp_path, "a", [{"threads": 1}, {"threads": 2}])
    with pytest.raises(ArchbenchError, match="run a has 2 rows sharing one key"):
        compare_runs(a, a)


def test_compare_runs_accepts_extra_keys(tmp_path):
    a = frame_of(tmp_path, "a", [{"threads": 1}, {"threads": 2}])
    keys = ["suite", "case", "arch", "measure", "metric", "threads"]
    assert list(compare_runs(a, a, keys=keys)["threads"]) == [1, 2]


def test_wrongly_typed_column_is_rejected(tmp_path):
    path = write_lines(tmp_path / "rows.jsonl", [good_line(value="1.0")])
    with pytest.raises(ArchbenchError, match=r"line 1: row column 'value' must be a finite number"):
        load_rows(path)
