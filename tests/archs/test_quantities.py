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


def test_solve_for_the_expert_count_gives_back_the_target_total():
    """Parameters are affine in the expert count: the solved (fractional) count reproduces the target exactly."""
    cfg = get_config("hybrid-235b")
    experts = solve(cfg, "moe.n_experts", 235e9)
    p = analytic.params(cfg)
    rest = p.total - p.by_kind["moe_experts"] - p.by_kind["moe_router"]
    moe_layers = sum(spec.ffn == "moe" for spec in cfg.layers)
    assert rest + experts * moe_layers * (3 * cfg.dim * cfg.moe.expert_dim + cfg.dim) == pytest.approx(235e9, rel=1e-9)


def test_positions_are_a_part_even_where_they_hold_nothing(ev):
    assert ev("params('modern-768', 'positions')") == 0
    learned = replace(get_config("modern-768"), position="learned")
    assert analytic.params(learned).by_kind["positions"] == learned.max_seq_len * learned.dim


def test_mixer_flops_of_one_layer_and_the_mixing_alone(ev):
    cfg = get_config("hybrid-235b")
    gqa, mha = cfg, replace(cfg, n_kv_heads=None)
    install_namespace(Quantities(lambda name: {"gqa": gqa, "mha": mha}.get(name) or get_config(name)).namespace())
    layer = ev("mixer_flops('mha', 4096) - mixer_flops('gqa', 4096)")
    assert layer == 2 * 4096 * cfg.dim * 2 * (16 - 4) * cfg.attn_head_dim     # only K and V projections shrink
    assert ev("mixer_flops('mha', 4096, part='mixing')") == ev("mixer_flops('gqa', 4096, part='mixing')")
    assert ev("mixer_flops('gqa', 4096, 'gdn', 'mixing')") < ev("mixer_flops('gqa', 4096, 'gdn')")


def test_mixer_crossover_is_the_first_length_where_the_cheaper_mixer_wins(ev):
    T = ev("mixer_crossover('hybrid-235b', 'gdn', 'attention', 'mixing')")

    def gdn_minus_attention(t: float) -> float:
        return ev(f"mixer_flops('hybrid-235b', {t}, 'gdn', 'mixing') - mixer_flops('hybrid-235b', {t}, 'attention', "
                  f"'mixing')")

    assert gdn_minus_attention(int(T / 1.02)) >= 0 > gdn_minus_attention(T)
    assert ev("mixer_crossover('hybrid-235b', 'attention', 'gdn')") == float("inf")


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
    ("mixer_flops('llama-2-7b', 64, 'gdn')", ["'gdn'", "attention"]),
    ("mixer_flops('mla-moe', 64, 'mla', 'mixing')", ["'mla'", "gdn"]),
])
def test_a_bad_quantity_is_one_line_naming_what_is_allowed(ev, expr, words):
    with pytest.raises(ArchbenchError) as err:
        ev(expr)
    assert "\n" not in str(err.value)
    for word in words:
        assert word in str(err.value)
