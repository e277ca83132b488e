"""The command line: bad input ends in one line on stderr and exit status 2, never a traceback."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from archbench.cli import main
from harness.store.results import ResultStore, Row
from harness.store.verdicts import VERDICTS, Status, VerdictRecord, read_verdicts, write_verdicts


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "archbench", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


@pytest.mark.parametrize("args, message", [
    (["run", "--bogus"], "unrecognized arguments: --bogus"),
    (["run", "--profile", "huge"], "invalid choice: 'huge'"),
    (["run", "--suites", "norm"], "unknown suite 'norm'"),
    (["run", "--archs", "nexus-13"], "did you mean nexus-13b"),
    (["analyze", "llama-3"], "unknown architecture 'llama-3'"),
    (["run", "--threads", "0"], "expected a positive integer, got '0'"),
    (["run", "--corpus", "/no/such/text"], "corpus '/no/such/text' is neither"),
    (["analyze", "nexus-13b", "--context", "-5"], "expected a positive integer"),
    (["analyze", "/no/such/config.json"], "config.json"),
    (["report", "/no/such/run"], "not a run directory"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_corrupt_results_file_names_file_and_line(tmp_path, capsys):
    run = tmp_path / "0001_nogit_20250101-000000"
    run.mkdir()
    good = Row(run_id=run.name, suite="s", case="c", measure="m", metric="latency_fwd_s", value=1.0, unit="s")
    (run / "rows.jsonl").write_text(json.dumps(good.to_record()) + "\nnot json\n")
    assert main(["compare", str(run), str(run)]) == 2
    err = capsys.readouterr().err.strip()
    assert "rows.jsonl line 2" in err and len(err.splitlines()) == 1


def test_cli_subprocess_exits_2_without_traceback():
    proc = run_cli("run", "--threads", "two")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "--threads" in proc.stderr


def test_list_prints_every_preset_with_its_parameter_count(capsys):
    from archs import ARCHS
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ARCHS.names():
        assert name in out
    assert "6,738,415,616" in out          # Llama-2-7B's published count, computed on meta


def test_analyze_reads_a_preset(capsys):
    assert main(["analyze", "nexus-1.5b", "--context", "2048"]) == 0
    assert "162.4M parameters (162,417,408)" in capsys.readouterr().out


def test_a_rerun_continues_the_last_run_and_skips_finished_units(tmp_path, capsys, monkeypatch):
    # the run's identity holds the tree's diff; other edits between the two runs must not start a new one here
    monkeypatch.setattr("harness.store.resume.git_state", lambda: {"commit": "c0ffee", "diff_sha256": None})
    args = ["run", "--suites", "roofline", "--results", str(tmp_path), "--no-report"]
    assert main(args) == 0
    first = capsys.readouterr()
    verdicts = {v.claim: v for v in read_verdicts(first.out.strip())}    # the run judged its claims
    assert "claims judged" in first.err and verdicts["001-gqa-table-kv3"].status is Status.HOLDS
    assert main(args) == 0
    second = capsys.readouterr()
    assert first.out == second.out                               # same run directory
    assert "0 ok" in second.err and "already done" in second.err
    assert main(args + ["--fresh"]) == 0
    assert capsys.readouterr().out != first.out                  # --fresh starts a new run


def test_tokenizer_flag_accepts_byte_and_bpe_sizes_only(capsys):
    from archbench.cli import tokenizer_name
    assert tokenizer_name("byte") == "byte" and tokenizer_name("bpe:2048") == "bpe:2048"
    assert main(["run", "--tokenizer", "bpe:12"]) == 2
    assert "expected 'byte' or 'bpe:<256..65536>'" in capsys.readouterr().err


def make_run(root, run_id, value):
    store = ResultStore(root, run_id)
    store.append(store.row(suite="attention", case="gqa-3kv", measure="kv_vs_mha", metric="kv_reduction",
                           value=value, unit="ratio", stat="analytic"))
    return store.run_dir


def test_report_of_a_run_without_verdicts_judges_it_first_and_says_so(tmp_path, capsys):
    run = make_run(tmp_path, "0001_nogit_20250101-000000", 4.0)
    assert main(["report", str(run), "--out", str(tmp_path / "out")]) == 0
    assert "has no current verdicts.jsonl; judging its rows now" in capsys.readouterr().err
    verdicts = {v.claim: v for v in read_verdicts(run)}
    assert verdicts["001-gqa-table-kv3"].status is Status.HOLDS
    assert "001-gqa-table-kv3" in (tmp_path / "out" / run.name / "doc_001.html").read_text()
    assert main(["report", str(run), "--out", str(tmp_path / "out")]) == 0     # now read, not judged again
    assert "judging" not in capsys.readouterr().err


def test_compare_shows_the_verdicts_that_changed(tmp_path, capsys):
    runs = [make_run(tmp_path, f"000{i}_nogit_20250101-000000", value) for i, value in ((1, 4.0), (2, 3.0))]
    for run, status, value in zip(runs, (Status.HOLDS, Status.REFUTED), (4.0, 3.0)):
        write_verdicts(run, [VerdictRecord(claim="001-x", doc="001", status=status, value=value, unit="ratio"),
                             VerdictRecord(claim="001-y", doc="001", status=Status.UNTESTABLE)])
    assert main(["compare", *map(str, runs)]) == 0
    out = capsys.readouterr().out
    assert out.index("kv_reduction") < out.index("verdicts: 1 of 2 claims changed status")
    assert "  001-x: holds -> refuted (4 -> 3)" in out and "001-y" not in out
