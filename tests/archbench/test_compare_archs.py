"""`archbench compare-archs`: presets and config.json files side by side from the formulas (a page and the rows it
reads, in its own folder), measured columns of the runnable presets only with --measure, and bad input as one
line with exit status 2."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from archbench.cli import main
from archs import analytic, get_config
from harness.store.results import load_frame
from harness.store.units import format_value

LLAMA_JSON = Path(__file__).resolve().parents[1] / "archs" / "fixtures" / "hf" / "llama-2-7b.json"


def test_presets_and_a_config_file_side_by_side_from_the_formulas_in_their_own_folder(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare-archs", "nexus-1.5b", str(LLAMA_JSON), "modern-tiny", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == str(out / "index.html")
    assert "--measure would run the throughput, memory suites for modern-tiny" in captured.err
    frame = load_frame(out)
    assert list(dict.fromkeys(frame.arch)) == ["nexus-1.5b", "llama-2-7b", "modern-tiny"]
    assert set(frame.stat) == {"analytic"} and not (frame.suite == "throughput").any()
    html = (out / "index.html").read_text(encoding="utf-8")
    assert format_value(analytic.params(get_config("nexus-1.5b")).total, "params") in html
    assert "6.738B" in html                                           # Llama-2-7B from its config.json
    assert html.count("<svg") == 2 and (out / "environment.html").is_file()
    assert json.loads((out / "run.json").read_text())["command"] == "compare-archs"
    assert main(["compare-archs", "nexus-13b", "--out", str(out)]) == 0      # a second comparison replaces it
    assert set(load_frame(out).arch) == {"nexus-13b"}


def test_measure_runs_the_runnable_presets_only(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare-archs", "modern-tiny", "nexus-1.5b", "--measure", "--profile", "smoke",
                 "--out", str(out)]) == 0
    measured = load_frame(out).query("suite == 'throughput' and metric == 'tokens_per_s'")
    assert set(measured.arch) == {"modern-tiny"} and set(measured["extra"].map(lambda e: e["phase"])) == \
        {"prefill", "decode", "train"}
    assert "measured decode tokens/s" in (out / "index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("args, message", [
    (["nexus-1.5b", "nexus-1.5b"], "nexus-1.5b named twice"),
    (["nexus-1.5"], "unknown architecture 'nexus-1.5'"),
    (["nexus-1.5b", "--out", "RESULTS"], "holds rows.jsonl not written by compare-archs"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, message):
    run = tmp_path / "0001_nogit_20250101-000000"
    run.mkdir()
    (run / "rows.jsonl").write_text("")
    assert main(["compare-archs", *(str(run) if a == "RESULTS" else a for a in args),
                 *([] if "--out" in args else ["--out", str(tmp_path / "cmp")])]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
