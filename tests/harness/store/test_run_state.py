"""What a rerun may trust: done markers only with their rows, run.json only with its types, one process per folder."""
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.errors import ArchbenchError
from harness.store.lock import LOCK, results_lock
from harness.store.results import ResultStore, Row, read_run_info

REPO = Path(__file__).resolve().parents[3]


def finish_unit(store: ResultStore, key: str) -> None:
    store.append(Row(run_id=store.run_id, suite="s", case=key, measure="m", metric="x", value=1.0, unit="s"))
    store.mark_done("s", key)


def test_markers_outlive_neither_a_lost_nor_a_truncated_rows_file(tmp_path):
    store = ResultStore(tmp_path, "run")
    for key in ("a", "b", "c"):
        finish_unit(store, key)
    rows = store.rows_path.read_text()
    assert ResultStore(tmp_path, "run").completed_keys() == {("s", "a"), ("s", "b"), ("s", "c")}
    store.rows_path.write_text(rows[: rows.index("\n") + 1])            # only unit a's row survives
    assert ResultStore(tmp_path, "run").completed_keys() == {("s", "a")}
    assert (store.run_dir / "done.jsonl.dropped").read_text().count("\n") == 2
    store.rows_path.unlink()                                             # rows.jsonl lost altogether
    assert ResultStore(tmp_path, "run").completed_keys() == set()


def test_a_marker_of_a_unit_without_rows_stays(tmp_path):
    ResultStore(tmp_path, "run").mark_done("s", "nothing-to-write")
    assert ResultStore(tmp_path, "run").completed_keys() == {("s", "nothing-to-write")}


def test_an_old_marker_without_a_length_needs_a_non_empty_rows_file(tmp_path):
    store = ResultStore(tmp_path, "run")
    store.done_path.write_text(json.dumps({"suite": "s", "key": "old"}) + "\n")
    assert ResultStore(tmp_path, "run").completed_keys() == set()


@pytest.mark.parametrize("text, message", [
    ("[1, 2]", "expected a JSON object, got list"),
    ('{"git": "abc"}', "field 'git' must be an object"),
    ('{"suites": 3}', "field 'suites' must be a list or a string or null"),
    ('{"gpu": {"devices": [1]}}', "'gpu.devices' must be a list of objects"),
    ('{"profile": ', "run.json: "),
])
def test_run_json_with_wrong_types_is_one_line(tmp_path, text, message):
    (tmp_path / "run.json").write_text(text)
    with pytest.raises(ArchbenchError) as err:
        read_run_info(tmp_path)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_second_holder_of_the_results_lock_is_refused_naming_the_first(tmp_path):
    with results_lock(tmp_path):
        with pytest.raises(ArchbenchError, match=r"is in use by archbench \(pid \d+ on .*one run per results folder"):
            with results_lock(tmp_path):
                pass
    with results_lock(tmp_path):                                        # released: free again
        pass


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path):
    (tmp_path / LOCK).write_text("999999999 elsewhere\n")               # no process holds the OS lock
    with results_lock(tmp_path):
        assert (tmp_path / LOCK).read_text().split()[0] != "999999999"


def test_another_process_holding_the_lock_blocks_this_one(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(REPO)!r})
        from harness.store.lock import results_lock
        with results_lock({str(tmp_path)!r}):
            print("held", flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ArchbenchError, match=f"pid {holder.pid} "):
            with results_lock(tmp_path):
                pass
    finally:
        holder.kill()
        holder.wait()
    with results_lock(tmp_path):                                        # the holder died: taken over
        pass


def test_the_lock_file_is_gone_after_the_run(tmp_path):
    with results_lock(tmp_path) as path:
        assert path.read_text().split()[0].isdigit()
    assert not (tmp_path / LOCK).exists()
