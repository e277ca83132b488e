"""Tests for the report's inputs from the suites layer: suite/claim/document inputs for render_run and the hybrid
MVP stage pages (full-size figures from archs.analytic, memory rows preferred, tiny-scale rows linked)."""
from __future__ import annotations

import pandas as pd
import pytest

from archs import analytic, get_config
from harness.report.render import Link, Page
from harness.store.results import ResultStore, load_frame
from suites import SUITES
from suites.pages.mvp_figures import memory_table, stage_figures
from suites.pages.mvp_pages import mvp_pages, rows_table
from archbench.report_inputs import DOC_TITLES, build_report_inputs, load_all_claims

RUN_ID = "0001_abcdef0_20250101-000000"


def frame_of(tmp_path, rows) -> pd.DataFrame:
    store = ResultStore(tmp_path, RUN_ID)
    for fields in rows:
        store.append(store.row(**fields))
    return load_frame(store.run_dir)


def test_inputs_name_every_suite_every_document_and_the_mvp_pages():
    inputs = build_report_inputs()
    assert [s.name for s in inputs["suites"]] == SUITES.names()
    assert set(inputs["docs"]) == {"000", "001", "002", "003", "004"} == set(DOC_TITLES)
    assert inputs["extra_pages"] == [mvp_pages]
    assert set(inputs) == {"suites", "docs", "extra_pages"}             # verdicts come from the run, not from here


def test_every_claim_belongs_to_a_titled_document():
    assert all(c.doc in DOC_TITLES for c in load_all_claims())


def test_a_folder_without_claim_files_has_no_claims(tmp_path):
    assert load_all_claims(tmp_path) == []


def test_stage_figures_match_the_analytic_formulas(tmp_path):
    empty = frame_of(tmp_path, [])
    s = stage_figures(2, empty)
    cfg = get_config("hybrid-mvp2")
    assert not s.error and s.superblocks == 3
    assert s.params["total"] == analytic.params(cfg).total
    assert s.cache[131072] == analytic.cache_bytes(cfg, 1, 131072, 2)
    parts = analytic.training_memory(cfg, 1, 4096, "bf16", True)
    assert s.memory_total(True) == sum(parts.values())
    assert s.memory_total(True) < s.memory_total(False)          # checkpointing keeps fewer activations


def test_memory_rows_of_the_run_replace_the_formula_and_link_to_their_row(tmp_path):
    frame = frame_of(tmp_path, [dict(suite="memory", case="hybrid-mvp1", arch="hybrid-mvp1", measure="train_memory",
                                     metric="train_memory_bytes", value=1.0e9, unit="bytes", stat="analytic",
                                     dtype="bf16", extra={"part": "weights", "checkpointing": False})])
    s = stage_figures(1, frame)
    assert s.memory[False]["weights"] == (1.0e9, Link("1 GB", "suite_memory.html#row-0"))
    assert s.memory[True]["weights"][1] is None                  # the ckpt variant still comes from the formula
    table = memory_table(s)
    assert table.rows[0][:2] == ["weights", Link("1 GB", "suite_memory.html#row-0")]


def test_mvp_pages_are_four_stages_and_a_comparison(tmp_path):
    pages = mvp_pages(frame_of(tmp_path, []))
    assert [p.name for p in pages] == ["mvp_1", "mvp_2", "mvp_3", "mvp_4", "mvp_compare"]
    assert all(isinstance(p, Page) for p in pages)
    titles = [s.title for s in pages[0].sections]
    assert titles[:4] == ["Parameters", "FLOPs per token", "Decode state (batch 1, bf16)",
                          "Training memory (bf16, B=1, T=4096)"]
    assert "No rows for the tiny stage" in next(s.text for s in pages[0].sections if "tiny scale" in s.title)
    assert sum(bool(s.plot) for s in pages[-1].sections) == 3


def test_tiny_rows_table_keeps_the_last_step_of_each_curve(tmp_path):
    rows = [dict(suite="train", case="c", arch="hybrid-mvp1-tiny", measure="loss", metric="val_loss", value=5.0 - st,
                 unit="nats", shape={"step": st, "seed": seed}) for seed in (0, 1) for st in (1, 2, 3)]
    rows.append(dict(suite="throughput", case="c", arch="hybrid-mvp1-tiny", measure="train", metric="tokens_per_s",
                     value=100.0, unit="tokens/s", extra={"phase": "train"}))
    frame = frame_of(tmp_path, rows)
    table = rows_table(frame, frame)
    assert [r[4] for r in table.rows] == ["seed0-step3", "seed1-step3", ""]
    assert [r[5] for r in table.rows] == ["", "", "train"] and "last step" in table.note
    pages = mvp_pages(frame)
    assert any(s.title == "Tiny-scale loss curves" and s.plot for s in pages[0].sections)


@pytest.mark.parametrize("stage", [1, 4])
def test_a_broken_formula_is_shown_not_raised(tmp_path, monkeypatch, stage):
    monkeypatch.setattr(analytic, "params", lambda cfg: (_ for _ in ()).throw(RuntimeError("formula broke")))
    s = stage_figures(stage, frame_of(tmp_path, []))
    assert s.error == "RuntimeError: formula broke"
    page = mvp_pages(frame_of(tmp_path / "b", []))[stage - 1]
    assert page.sections[0].title == "Full-size figures unavailable"
