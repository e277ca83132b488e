"""archs.decoder.Block: the residual layouts a config chooses (pre-norm, Gemma 2's norms after each output too,
GPT-NeoX's parallel residual), written out by hand and compared with the block."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from archs import analytic
from archs.config import DecoderConfig, LayerSpec
from archs.decoder import Block
from harness.measure.counting import count_params

BASE = dict(vocab_size=32, dim=16, n_layers=1, n_heads=2, ffn_dim=24, norm="layer")


def block(**kw) -> Block:
    torch.manual_seed(0)
    cfg = DecoderConfig(**BASE, **kw)
    b = Block(cfg, cfg.pattern[0]).eval()
    with torch.no_grad():                              # non-trivial norm weights, so a swapped norm shows
        for p in b.parameters():
            p.add_(torch.rand_like(p))
    return b


def test_parallel_residual_adds_both_outputs_to_the_same_input():
    b, x = block(parallel_residual=True), torch.randn(2, 5, 16)
    with torch.no_grad():
        by_hand = x + b.mixer(b.mixer_norm(x)) + b.ffn(b.ffn_norm(x))
        torch.testing.assert_close(b(x), by_hand)


def test_post_norms_normalise_each_output_before_it_is_added():
    b, x = block(post_norms=True), torch.randn(2, 5, 16)
    with torch.no_grad():
        h = x + b.mixer_post_norm(b.mixer(b.mixer_norm(x)))
        torch.testing.assert_close(b(x), h + b.ffn_post_norm(b.ffn(b.ffn_norm(h))))


@pytest.mark.parametrize("kw", [{}, {"post_norms": True}, {"parallel_residual": True}])
def test_the_formulas_count_the_block_norms(kw):
    cfg = DecoderConfig(**BASE, **kw)
    assert count_params(cfg.build()).by_kind == analytic.params(cfg).by_kind


def test_geglu_gates_the_up_projection_with_tanh_gelu():
    b, x = block(pattern=(LayerSpec(ffn="geglu"),)), torch.randn(3, 16)
    f = b.ffn
    with torch.no_grad():
        torch.testing.assert_close(f(x), f.down(F.gelu(f.gate(x), approximate="tanh") * f.up(x)))
