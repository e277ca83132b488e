"""Outputs for tools: `export`, `--json` on list and compare, `list suites|claims` with filters, and compare's
threshold exit status (a CI gate)."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from archbench.cli import main
from harness.store.results import ResultStore
from harness.store.verdicts import VERDICTS, Status, VerdictRecord, write_verdicts

RUN_A, RUN_B = "0001_nogit_20250101-000000", "0002_nogit_20250102-000000"


def make_run(root, run_id, latency=1.0, tokens_per_s=100.0, params=1000.0, verdicts=None):
    """A run of three rows: a lower-is-better time, a higher-is-better rate and a count with no direction."""
    store = ResultStore(root, run_id)
    for suite, metric, value, unit in (("norms", "latency_fwd_s", latency, "s"),
                                       ("throughput", "tokens_per_s", tokens_per_s, "tokens/s"),
                                       ("params_flops", "params_total", params, "params")):
        store.append(store.row(suite=suite, case="x", measure="m", metric=metric, value=value, unit=unit,
                               stat="median", spread=0.02, shape={"T": 64}))
    if verdicts is not None:
        write_verdicts(store.run_dir, verdicts)
    return store.run_dir


def verdicts(status):
    return [VerdictRecord(claim="001-gqa-table-kv3", doc="001", status=status, value=4.0, unit="ratio",
                          suites=("throughput",)),
            VerdictRecord(claim="002-x", doc="002", status=Status.REFUTED)]


@pytest.fixture
def two_runs(tmp_path):
    a = make_run(tmp_path, RUN_A, verdicts=verdicts(Status.HOLDS))
    b = make_run(tmp_path, RUN_B, latency=1.2, tokens_per_s=95.0, params=2000.0, verdicts=verdicts(Status.REFUTED))
    return str(a), str(b)


def test_compare_exits_1_when_a_metric_regresses_past_the_threshold(two_runs, capsys):
    assert main(["compare", *two_runs, "--threshold", "0.1"]) == 1     # latency +20%: worse past 10%
    out = capsys.readouterr().out
    assert "WORSE" in out and "1 metric(s) worse by more than 10%" in out
    assert main(["compare", *two_runs, "--threshold", "0.25"]) == 0    # params doubled, but has no direction
    assert ": pass" in capsys.readouterr().out


def test_compare_higher_is_better_metric_regresses_when_it_falls(two_runs, capsys):
    assert main(["compare", *two_runs, "--metric", "tokens_per_s", "--threshold", "0.04"]) == 1
    assert main(["compare", *two_runs, "--metric", "tokens_per_s", "--threshold", "0.06"]) == 0


def test_compare_filters_by_suite_and_shows_verdict_changes(two_runs, capsys):
    assert main(["compare", *two_runs, "--suite", "throughput"]) == 0   # no threshold: no gate
    out = capsys.readouterr().out
    assert "tokens_per_s" in out and "latency_fwd_s" not in out and "params_total" not in out
    assert "001-gqa-table-kv3: holds -> refuted" in out
    assert max(len(line) for line in out.splitlines()) <= 120          # readable in a terminal
    assert main(["compare", *two_runs, "--suite", "norms"]) == 0        # claims of other suites are left out
    assert "verdicts: 0 of 0 claims changed status" in capsys.readouterr().out


def test_compare_json_lists_rows_regressions_and_verdict_changes(two_runs, capsys):
    assert main(["compare", *two_runs, "--json", "--threshold", "0.1"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert {r["metric"] for r in data["rows"]} == {"latency_fwd_s", "tokens_per_s", "params_total"}
    assert [r["metric"] for r in data["regressions"]] == ["latency_fwd_s"]
    assert data["verdict_changes"] == [{"claim": "001-gqa-table-kv3", "status_a": "holds", "status_b": "refuted",
                                        "value_a": 4.0, "value_b": 4.0, "unit": "ratio"}]


def test_compare_does_not_write_verdicts_into_a_run_without_them(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("archbench.report_inputs.load_all_claims", lambda: [])   # judging itself is not the point
    a, b = make_run(tmp_path, RUN_A), make_run(tmp_path, RUN_B, latency=0.9)
    assert main(["compare", str(a), str(b)]) == 0
    assert "judging its rows now (not written)" in capsys.readouterr().err
    assert not (a / VERDICTS).exists() and not (b / VERDICTS).exists()


@pytest.mark.parametrize("args, message", [
    (["--threshold", "-1"], "expected a relative change"),
    (["--suite", "nosuch"], "no metric in common among suites nosuch"),
])
def test_compare_bad_options_are_one_line_and_exit_2(two_runs, capsys, args, message):
    assert main(["compare", *two_runs, *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_export_writes_tidy_rows_and_verdicts_csv(two_runs, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("archbench.cli.parquet_available", lambda: False)
    monkeypatch.setattr("harness.store.export.parquet_available", lambda: False)
    assert main(["export", two_runs[0], "--out", str(tmp_path / "x")]) == 0
    captured = capsys.readouterr()
    assert "pyarrow is not installed: CSV only" in captured.err
    rows = pd.read_csv(tmp_path / "x" / "rows.csv")
    assert len(rows) == 3 and {"row", "suite", "metric", "value", "shape.T"} <= set(rows.columns)
    assert rows.set_index("metric").loc["tokens_per_s", "value"] == 100.0
    verdict_table = pd.read_csv(tmp_path / "x" / "verdicts.csv")
    assert list(verdict_table.claim) == ["001-gqa-table-kv3", "002-x"]
    assert list(verdict_table.status) == ["holds", "refuted"]
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == ["rows.csv", "verdicts.csv"]


def test_list_suites_json_names_every_suite(capsys):
    from suites import SUITES
    assert main(["list", "suites", "--json"]) == 0
    assert [s["name"] for s in json.loads(capsys.readouterr().out)] == SUITES.names()


def test_list_archs_json_has_parameter_counts(capsys):
    assert main(["list", "archs", "--json"]) == 0
    by_name = {a["name"]: a for a in json.loads(capsys.readouterr().out)}
    assert by_name["llama-2-7b"]["params"] == 6_738_415_616       # the published count, computed on meta


def test_list_claims_filters_by_document_and_by_the_runs_status(two_runs, tmp_path, capsys):
    assert main(["list", "claims", "--doc", "001", "--json", "--results", str(tmp_path)]) == 0
    claims = json.loads(capsys.readouterr().out)
    assert claims and {c["doc"] for c in claims} == {"001"}
    status = {c["id"]: c["status"] for c in claims}
    assert status["001-gqa-table-kv3"] == "refuted"                  # the latest run's verdict
    assert set(status.values()) == {"refuted", "not judged"}
    assert main(["list", "claims", "--status", "holds", "--run", two_runs[0], "--json"]) == 0
    assert [c["id"] for c in json.loads(capsys.readouterr().out)] == ["001-gqa-table-kv3"]


@pytest.mark.parametrize("args, message", [
    (["list", "claims", "--status", "great", "--run", "RUN"], "unknown status 'great'; known: holds"),
    (["list", "suites", "--doc", "001"], "--doc and --status filter claims"),
])
def test_list_bad_filters_are_one_line_and_exit_2(two_runs, capsys, args, message):
    assert main([a.replace("RUN", two_runs[0]) for a in args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_analyze_json_is_the_dict_the_text_is_drawn_from(capsys):
    assert main(["analyze", "nexus-1.5b", "--context", "2048", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["params"] == 162_417_408 and sum(data["by_kind"].values()) == data["params"]
    assert [c["T"] for c in data["contexts"]] == [2048] and data["contexts"][0]["decode_state_bytes"] > 0


def test_export_writes_parquet_beside_the_csv_where_pyarrow_is_installed(two_runs, tmp_path, capsys):
    pytest.importorskip("pyarrow")
    assert main(["export", two_runs[0], "--out", str(tmp_path / "x")]) == 0
    assert "pyarrow" not in capsys.readouterr().err
    rows, csv = pd.read_parquet(tmp_path / "x" / "rows.parquet"), pd.read_csv(tmp_path / "x" / "rows.csv")
    assert rows.shape == csv.shape and list(rows.metric) == list(csv.metric)
    assert list(pd.read_parquet(tmp_path / "x" / "verdicts.parquet").status) == ["holds", "refuted"]


def test_compare_lists_changed_rows_and_counts_the_equal_ones(tmp_path, capsys):
    a = make_run(tmp_path, RUN_A, verdicts=[])
    b = make_run(tmp_path, RUN_B, latency=2.0, verdicts=[])
    assert main(["compare", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "latency_fwd_s" in out and "tokens_per_s" not in out
    assert "(2 of 3 compared rows are equal in both runs: --all lists them)" in out
    assert main(["compare", str(a), str(b), "--all"]) == 0
    assert "tokens_per_s" in capsys.readouterr().out
