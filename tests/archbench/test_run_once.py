"""`archbench run` on one results folder: one process at a time, a rerun continues a run only with the same
identity, units whose rows were lost are redone, failed units make the exit status 1."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from archbench.cli import main
from harness.store.lock import results_lock
from harness.store.results import latest_run


@pytest.fixture
def quick_run(tmp_path, monkeypatch):
    """`archbench run` of the cheap roofline suite (the machine's peaks, measured once per process) into
    tmp_path/results, without judging the claims (seconds per run, and not what these tests are about); the git state is pinned (other edits of the tree between two
    runs would otherwise change the run's identity)."""
    monkeypatch.setattr("harness.store.resume.git_state", lambda: {"commit": "c0ffee", "diff_sha256": None})
    monkeypatch.setattr("archbench.cli.judge_run", lambda run_dir, claims: [])
    base = ["run", "--suites", "roofline", "--results", str(tmp_path / "results"), "--no-report"]
    return lambda *extra: main([*base, *extra])


def test_a_second_run_on_the_same_results_folder_stops_naming_the_first(quick_run, tmp_path, capsys):
    with results_lock(tmp_path / "results"):                      # a run in progress (this process)
        assert quick_run() == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"archbench: {tmp_path / 'results'} is in use by archbench (pid {os.getpid()} on ")
    assert len(err.splitlines()) == 1 and not list((tmp_path / "results").iterdir())


def test_a_rerun_with_another_seed_starts_a_new_run_and_says_why(quick_run, tmp_path, capsys):
    assert quick_run() == 0
    first = Path(capsys.readouterr().out.strip())
    identity = json.loads((first / "run.json").read_text())["identity"]
    assert set(identity) == {"commit", "diff_sha256", "profile", "device", "dtype", "seed", "threads", "corpus",
                             "corpus_sha256", "tokenizer"}
    assert quick_run("--seed", "1") == 0
    captured = capsys.readouterr()
    assert Path(captured.out.strip()) != first and "seed 0 -> 1" in captured.err


def test_units_whose_rows_were_lost_are_redone(quick_run, capsys):
    assert quick_run() == 0
    run = Path(capsys.readouterr().out.strip())
    rows = (run / "rows.jsonl").read_text()
    (run / "rows.jsonl").write_text("")                            # lost; done.jsonl survives
    assert quick_run() == 0
    captured = capsys.readouterr()
    assert Path(captured.out.strip()) == run and " 0 already done" in captured.err
    assert (run / "rows.jsonl").read_text().count("\n") == rows.count("\n")


def test_redo_retrains_past_a_corrupt_checkpoint(quick_run, capsys):
    assert quick_run() == 0
    run = Path(capsys.readouterr().out.strip())
    (run / "checkpoints").mkdir()
    (run / "checkpoints" / "loss.pt").write_bytes(b"truncated")
    assert quick_run("--redo") == 0
    assert not (run / "checkpoints").exists()


def test_a_run_with_failed_units_exits_1_saying_how_many_and_where(quick_run, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("archbench.cli.run_suites", lambda *a, **k: {"roofline": {"ok": 1, "failed": 2,
                                                                                      "skipped": 0}})
    assert quick_run() == 1
    rows = latest_run(tmp_path / "results") / "rows.jsonl"
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"archbench: 2 unit(s) failed; each left a failed row with its reason in {rows} (listed under Failures "
        "in the report)")


def test_import_benchmark_makes_one_run_of_the_timed_benchmarks(tmp_path, capsys):
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps({"benchmarks": [
        {"name": "test_rmsnorm", "stats": {"median": 0.002, "q1": 0.0019, "q3": 0.0021, "rounds": 10}},
        {"name": "disabled", "stats": {}}]}))
    assert main(["import-benchmark", str(bench), "--results", str(tmp_path / "results")]) == 0
    run = latest_run(tmp_path / "results")
    assert capsys.readouterr().out.strip() == f"1 benchmark rows -> {run}"
    assert json.loads((run / "rows.jsonl").read_text())["run_id"] == run.name
