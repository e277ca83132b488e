"""The public_models suite: its fixtures name their sources and agree with the full published configs shipped for
the HF-import tests, the component rules read the configs right, and every row is a valid Row of a known metric."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import ArchbenchError
from harness.runner import complete_row
from harness.store.metrics import metric
from harness.suite import Context
from suites import public_models as pm

FULL_CONFIGS = Path(__file__).resolve().parents[1] / "archs" / "fixtures" / "hf"
SAME_MODEL = {"llama-2-7b": "llama-2-7b", "llama-2-70b": "llama-2-70b", "mistral-7b": "mistral-7b-v0.1",
              "mixtral-8x7b": "mixtral-8x7b", "deepseek-v3": "deepseek-v3"}


def by_name(name: str) -> pm.PublicModel:
    return next(m for m in pm.load_models() if m.name == name)


def test_every_fixture_names_its_source_and_release():
    models = pm.load_models()
    assert len(models) >= 10
    for m in models:
        assert m.source.startswith("https://") and m.retrieved and m.implementation.get("source"), m.name
        assert 201801 <= pm._yyyymm(m.released, m.name) <= 203012


@pytest.mark.parametrize("name", SAME_MODEL)
def test_fixture_fields_equal_the_full_published_config(name):
    full = json.loads((FULL_CONFIGS / f"{SAME_MODEL[name]}.json").read_text())
    for field, value in by_name(name).config.items():
        assert full.get(field) == value, (name, field)


@pytest.mark.parametrize("name, present, absent", [
    ("llama-2-70b", {"rmsnorm", "rope", "swiglu", "gqa", "pre_norm"}, {"layernorm", "moe", "mla", "geglu"}),
    ("llama-2-7b", {"rmsnorm", "swiglu"}, {"gqa", "mqa"}),
    ("glm-130b", {"geglu", "layernorm", "rope"}, {"swiglu", "rmsnorm", "pre_norm"}),
    ("gpt-neox-20b", {"layernorm", "rope", "gelu"}, {"rmsnorm", "swiglu", "geglu"}),
    ("gemma-7b", {"rmsnorm", "geglu"}, {"swiglu", "gqa"}),
    ("mistral-7b", {"sliding_window", "gqa"}, {"moe"}),
    ("mixtral-8x7b", {"moe", "gqa"}, {"sliding_window", "mtp"}),
    ("deepseek-v2", {"mla", "shared_rope_key", "moe"}, {"mtp", "gqa"}),
    ("deepseek-v3", {"mla", "moe", "mtp"}, {"gqa"}),
])
def test_component_rules(name, present, absent):
    found = pm.components(by_name(name))
    assert set(found) == set(pm.COMPONENTS)
    assert {c for c in present if not found[c]} == set() and {c for c in absent if found[c]} == set()


def test_rows_are_valid_and_carry_the_numbers_claims_read():
    ctx = Context(run_id="0001_nogit_20250101-000000")
    rows = [complete_row(pm.SUITE, ctx, fields) for unit in pm.SUITE.plan(ctx) for fields in unit.run(ctx)]
    assert all(metric(r.metric) and r.status == "ok" and r.method for r in rows)
    assert {r.value for r in rows if r.metric == "has_component"} == {0.0, 1.0}
    value = {(r.arch, r.case, r.metric): r.value for r in rows}
    assert value["llama-2-70b", "gqa_vs_mha", "kv_reduction"] == 8
    assert value["gpt-neox-20b", "rope_fraction", "config_value"] == 0.25
    assert value["mixtral-8x7b", "released_yyyymm", "config_value"] == 202312
    assert value["arxiv:1910.07467", "rmsnorm", "has_component"] == 1


def test_arch_selection_keeps_papers_and_the_chosen_models():
    ctx = Context(run_id="0001_nogit_20250101-000000", archs=frozenset({"gemma-7b"}))
    archs = {fields["arch"] for unit in pm.SUITE.plan(ctx) for fields in unit.run(ctx)}
    assert "gemma-7b" in archs and "llama-2-7b" not in archs and any(a.startswith("arxiv:") for a in archs)


def test_a_broken_fixture_is_a_one_line_error(tmp_path):
    (tmp_path / "bad.json").write_text('{"name": "bad"}')
    with pytest.raises(ArchbenchError, match="bad.json"):
        pm.load_models(tmp_path)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ArchbenchError, match="cannot read fixture"):
        pm.load_models(tmp_path)
