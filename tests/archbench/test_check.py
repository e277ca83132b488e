"""`archbench check`: a document folder with claims and a config.json, and no Python, gives a report with
verdicts (the worked example in examples/ is built here with --analytic); a bad folder is one line and exit 2."""
from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from archbench.cli import main
from archs import get_config
from archs.modelfile import load_model
from archs.parallel_stacks import equivalent_dense
from harness.claims.expr import install_namespace
from harness.store.verdicts import read_verdicts

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "mixtral-8x7b"


@pytest.fixture(autouse=True)
def no_namespace_left_behind():
    yield
    install_namespace({})


def check(tmp_path: Path, *folders: Path) -> int:
    return main(["check", *map(str, folders), "--analytic", "--results", str(tmp_path / "results"),
                 "--out", str(tmp_path / "out")])


def test_the_worked_example_builds_its_report_from_data_only(tmp_path, capsys):
    assert not list(EXAMPLE.rglob("*.py"))
    assert check(tmp_path, EXAMPLE) == 0
    (run,) = (tmp_path / "results").iterdir()
    verdicts = {v.claim: v for v in read_verdicts(run)}
    assert len(verdicts) == len((EXAMPLE / "claims.toml").read_text().split("[[claim]]")) - 1
    status = {claim: str(v.status.value) for claim, v in verdicts.items()}
    # the published config.json gives 46,702,792,704 parameters, 12,879,925,248 active and 32,768 positions
    assert status["mixtral-total-params"] == status["mixtral-context-32k"] == "holds"
    assert status["mixtral-active-params"] == "holds under an assumption"      # it rests on a reading
    assert [r["status"] for r in verdicts["mixtral-active-params"].readings] == ["holds",
                                                                                 "refuted"]
    assert verdicts["mixtral-dense-32k-cache"].value == pytest.approx(8, rel=0.01)
    page = (tmp_path / "out" / run.name / "doc_mixtral.html").read_text()
    assert "Mixtral 8x7B" in page and "mixtral-active-params" in page
    out = capsys.readouterr().out
    assert "mixtral:" in out and "report:" in out


def copy_example(tmp_path: Path) -> Path:
    folder = tmp_path / "doc"
    shutil.copytree(EXAMPLE, folder)
    return folder


@pytest.mark.parametrize("edit, words", [
    (lambda f: (f / "document.toml").unlink(), ["no document.toml"]),
    (lambda f: (f / "document.toml").write_text('id = "x"\nauthor = "me"\n'), ["title", "author"]),
    (lambda f: (f / "models" / "mixtral-tiny.toml").write_text('base = "mixtral-8x7b.json"\nheads = 3\n'),
     ["mixtral-tiny.toml", "'heads'", "n_heads"]),
    (lambda f: (f / "models" / "mixtral-8x7b.json").write_text('{"model_type": "mixtral"}'),
     ["mixtral-8x7b.json"]),
    (lambda f: (f / "claims.toml").write_text((f / "claims.toml").read_text().replace(
        "params('mixtral-8x7b')", "params('mixtral-8x22b')", 1)), ["mixtral-total-params", "mixtral-8x22b"]),
    (lambda f: (f / "claims.toml").write_text((f / "claims.toml").read_text() + '\n[[claim]]\nid = "s"\n'
                                              'quote = "q"\nkind = "numeric"\nquantity = "q"\ncheck = "untestable"\n'
                                              'reason = "r"\nsuites = ["nrms"]\n'), ["'s'", "nrms", "norms"]),
])
def test_a_bad_document_folder_is_one_line_and_exit_2(edit, words, tmp_path, capsys):
    folder = copy_example(tmp_path)
    edit(folder)
    assert check(tmp_path, folder) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    for word in words:
        assert word in err
    assert not (tmp_path / "results").exists()              # nothing ran


def test_the_same_document_twice_is_refused(tmp_path, capsys):
    assert check(tmp_path, EXAMPLE, copy_example(tmp_path)) == 2
    assert "document id 'mixtral'" in capsys.readouterr().err


def test_a_seed_document_is_checked_from_its_folder(tmp_path, capsys):
    """002 answers every claim that needs no measurement from its expressions and the formula suite alone."""
    folder = REPO / "suites" / "documents" / "002-nexus"
    assert check(tmp_path, folder) == 0
    (run,) = (tmp_path / "results").iterdir()
    verdicts = read_verdicts(run)
    assert {v.doc for v in verdicts} == {"002"}
    analytic = [v for v in verdicts if not v.suites and v.kind != "untestable"]
    assert len(analytic) > 40
    assert [v.claim for v in analytic if str(v.status.value) in ("untestable here", "not run in this run")] == []
    assert "002: " in capsys.readouterr().out


def test_seed_variant_model_files_are_the_configs_their_claims_mean():
    """003's dense decoder is archs.parallel_stacks.equivalent_dense of either config; 004's MHA reading of mla-moe
    keeps its windows and experts and only swaps the mixers (heads of 64)."""
    documents = REPO / "suites" / "documents"
    dense = load_model(documents / "003-parallel-stacks" / "models" / "dense-128x1024-v110k.toml")
    assert dense == equivalent_dense(get_config("parallel-stacks-2x64"), n_layers=128) == \
        equivalent_dense(get_config("parallel-stacks-current"), n_layers=128)
    mla = get_config("mla-moe")
    as_mha = replace(mla, head_dim=64, mla=None, pattern=tuple(replace(s, mixer="attention") for s in mla.pattern))
    assert load_model(documents / "004-mla-moe" / "models" / "mla-moe-as-mha.toml") == as_mha
