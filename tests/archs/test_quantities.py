"""Generic quantities: each equals the analytic formula it reads, solve inverts a quantity, model names resolve
through the injected resolver, and a bad argument is one line naming what is allowed."""
from __future__ import annotations

from dataclasses import replace

import pytest

from archs import analytic, get_config
from archs.quantities import Quantities, solve, with_field
from harness.claims.expr import evaluate_expression, install_namespace
from harness.errors import ArchbenchError


@pytest.fixture
def ev():
    install_namespace(Quantities(get_config).namespace())
    yield lambda expr: evaluate_expression(expr, {})
    install_namespace({})


def test_parameters_total_active_and_per_component(ev):
    p = analytic.params(get_config("mixtral-8x7b"))
    assert ev("params('mixtral-8x7b')") == p.total
    assert ev("params('mixtral-8x7b', 'active')") == p.active < p.total
    assert ev("params('mixtral-8x7b', 'moe_experts')") == p.by_kind["moe_experts"]
    assert ev("weight_bytes('mixtral-8x7b', 'int8')") * 2 == ev("weight_bytes('mixtral-8x7b', 'bfloat16')")


def test_cache_bytes_flops_and_training_memory_follow_the_formulas(ev):
    cfg = get_config("hybrid-235b")
    cache = analytic.cache_bytes(cfg, 4, 8192, 2)
    assert ev("kv_bytes('hybrid-235b', 8192, batch=4)") == sum(cache.values())
    assert ev("kv_bytes('hybrid-235b', 8192, 4, 'float32', 'gdn')") == analytic.cache_bytes(cfg, 4, 8192, 4)["gdn"]
    assert ev("flops_per_token('hybrid-235b', 4096, training=True)") == \
        analytic.flops_per_token(cfg, 4096, training=True)
    memory = analytic.training_memory(cfg, 1, 4096, "bf16", checkpointing=True)
    assert ev("train_memory('hybrid-235b', 1, 4096, checkpointing=True)") == sum(memory.values())
    assert ev("train_memory('hybrid-235b', 1, 4096, part='activations')") > memory["activations"]


def test_solve_finds_the_field_value_that_makes_the_number_true():
    cfg = get_config("hybrid-235b")
    experts = solve(cfg, "moe.n_experts", 235e9)
    assert 8 < experts < 256 and experts != int(experts)
    below = analytic.params(with_field(cfg, "moe.n_experts", int(experts))).total
    above = analytic.params(with_field(cfg, "moe.n_experts", int(experts) + 1)).total
    assert below < 235e9 < above
    dim = solve(get_config("llama-2-7b"), "n_layers", 13e9)          # affine: exact for any target
    assert analytic.params(replace(get_config("llama-2-7b"), n_layers=round(dim))).total == pytest.approx(13e9, 0.02)


def test_a_document_model_shadows_a_preset_through_the_resolver():
    tiny = replace(get_config("llama-2-7b"), n_layers=1)
    install_namespace(Quantities(lambda name: tiny if name == "mine" else get_config(name)).namespace())
    try:
        assert evaluate_expression("params('llama-2-7b') - params('mine')", {}) > 0
        assert evaluate_expression("field('mine', 'n_layers')", {}) == 1
    finally:
        install_namespace({})


@pytest.mark.parametrize("expr, words", [
    ("params('llama-2-7b', 'experts')", ["'experts'", "active", "attention"]),
    ("kv_bytes('llama-2-7b', 10, dtype='fp64')", ["'fp64'", "bfloat16"]),
    ("field('llama-2-7b', 'moe.n_experts')", ["moe.n_experts"]),
    ("solve('llama-2-7b', 'dim', 1e9, quantity='speed')", ["'speed'", "params"]),
    ("params('no-such-model')", ["no-such-model"]),
])
def test_a_bad_quantity_is_one_line_naming_what_is_allowed(ev, expr, words):
    with pytest.raises(ArchbenchError) as err:
        ev(expr)
    assert "\n" not in str(err.value)
    for word in words:
        assert word in str(err.value)
