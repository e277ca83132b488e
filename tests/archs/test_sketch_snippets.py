"""Tests of the re-implemented code sketches of documents 000-002 (archs/snippets: formulas, modern_block,
checkpointing, training_loop, initialization). Each pins what the suite `sketches` reports: the document's version
against the published definition or the behaviour its text promises, and a wrong variant that must be told apart."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from archs.snippets import checkpointing, formulas, initialization, modern_block, training_loop


# ---------------------------------------------------------------- formulas
def test_doc_rmsnorm_is_torchs_rmsnorm_and_not_layernorm():
    assert formulas.rmsnorm_error(dim=64) < 1e-12
    x = torch.randn(3, 64, dtype=torch.float64) + 2.0           # a mean LayerNorm would remove
    weight = torch.ones(64, dtype=torch.float64)
    assert formulas.relative_error(formulas.doc_rmsnorm(x, weight), F.layer_norm(x, (64,))) > 0.1


def test_doc_swiglu_equals_llama_mlp_only_with_the_branches_named_as_the_document_does():
    assert formulas.swiglu_error(dim=32, hidden=64) < 1e-12
    from archs.components.mlp import MLP
    torch.manual_seed(0)
    mlp = MLP(32, 64, "swiglu").double()
    x = torch.randn(5, 32, dtype=torch.float64)
    zeros = torch.zeros(64, dtype=torch.float64)
    with torch.no_grad():   # Swish on the MLP's `up` branch instead: another function
        wrong = formulas.doc_swiglu(x, mlp.gate.weight.T, zeros, mlp.up.weight.T, zeros) @ mlp.down.weight.T
        assert formulas.relative_error(wrong, mlp(x)) > 0.1


def test_rope_keeps_vector_lengths():
    assert formulas.rope_norm_change(head_dim=16, positions=512) < 1e-5


# ---------------------------------------------------------------- the integration block of document 001
def test_sketch_block_never_calls_its_rope_and_is_blind_to_token_order():
    torch.manual_seed(0)
    block = modern_block.SketchBlock(dim=64, n_heads=4, n_kv_heads=1)
    calls = modern_block.components_called(block, torch.randn(1, 6, 64))
    assert calls == {"attention": 1, "rope": 0, "norm": 2, "ffn": 1}
    assert modern_block.prefix_order_change(block, T=10) < 1e-5


def test_block_with_rope_applied_calls_it_and_depends_on_order():
    torch.manual_seed(0)
    block = modern_block.SketchBlock(dim=64, n_heads=4, n_kv_heads=1, with_rope=True)
    assert modern_block.components_called(block, torch.randn(1, 6, 64))["rope"] == 2     # on q and on k
    assert modern_block.prefix_order_change(block, T=10) > 1e-3


# ---------------------------------------------------------------- gradient checkpointing
def test_checkpointing_keeps_only_the_input_recomputes_once_and_leaves_gradients_alone():
    plain, ckpt, grad_error = checkpointing.compare(dim=32, n_heads=2, T=16)
    assert ckpt.saved_bytes == 2 * 16 * 32 * 4             # the layer's fp32 input, nothing else
    assert plain.saved_bytes > 4 * ckpt.saved_bytes
    assert (plain.forward_calls, ckpt.forward_calls) == (1, 2)
    assert grad_error < 1e-6


def test_checkpointing_only_applies_in_training_mode():
    layer = checkpointing.SketchLayer(dim=32, n_heads=2, gradient_checkpointing=True).eval()
    layer(torch.randn(1, 4, 32))
    assert layer.body_calls == 1


# ---------------------------------------------------------------- training-loop sketches
def test_lr_schedule_warms_up_linearly_then_follows_half_a_cosine_to_zero():
    lr = lambda s: training_loop.doc_lr(s, warmup_steps=10, max_lr=1.0, total_steps=110)  # noqa: E731
    assert [lr(0), lr(5), lr(10)] == [0.0, 0.5, 1.0]
    assert lr(60) == pytest.approx(0.5) and lr(110) == pytest.approx(0.0, abs=1e-15)
    checks = training_loop.lr_checks(warmup_steps=10, total_steps=110, max_lr=1.0)
    assert checks["peak_error"] == 0.0 and checks["boundary_excess"] < 1e-12 and checks["lr_at_start"] == 0.0


def test_clipping_brings_the_norm_to_max_norm():
    assert training_loop.clipped_norm(max_norm=1.0) == pytest.approx(1.0, rel=1e-5)
    assert training_loop.clipped_norm(max_norm=0.5) == pytest.approx(0.5, rel=1e-5)


def test_accumulated_gradient_equals_the_full_batch_gradient():
    assert training_loop.accumulated_grads(accumulation_steps=3, micro_batch=5) < 1e-12


@pytest.mark.parametrize("batches, steps, tail", [(10, 4, 2), (8, 4, 0), (3, 4, 3)])
def test_tail_batches_are_never_stepped(batches, steps, tail):
    assert training_loop.tail_not_stepped(batches, steps) == tail


# ---------------------------------------------------------------- initialisation
def test_xavier_keeps_the_signal_scale_where_torchs_default_shrinks_it():
    assert 0.5 < initialization.signal_scale("xavier_uniform", depth=12, width=128) < 2.0
    # Kaiming-uniform with a = sqrt(5): variance 1/3 per layer, so about 3**-6 after 12 layers
    assert initialization.signal_scale("torch_default", depth=12, width=128) == pytest.approx(3 ** -6, rel=0.5)
    assert math.isfinite(initialization.signal_scale("xavier_uniform", depth=1, width=8))


def test_unknown_init_is_an_error():
    with pytest.raises(ValueError, match="unknown init"):
        initialization.signal_scale("orthogonal")
