"""Tests of the DeepSeek-V3 multi-token-prediction head: shapes, formulas and causality, with and without an
injected block."""
from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from archs.components import mtp as mtp_mod
from archs.components.mla import MLA
from archs.components.mtp import MTPHead
from archs.config import DecoderConfig, LayerSpec, MLAConfig


def make_cfg(norm: str = "rms") -> DecoderConfig:
    return DecoderConfig(vocab_size=64, dim=24, n_layers=1, n_heads=2, ffn_dim=48, norm=norm,
                         pattern=(LayerSpec(mixer="mla"),),
                         mla=MLAConfig(kv_lora_rank=8, qk_nope_dim=4, qk_rope_dim=4, v_head_dim=4))


def make_head(with_block: bool, seed: int = 0) -> MTPHead:
    """with_block injects an MLA mixer: a causal stand-in for the decoder's Block."""
    torch.manual_seed(seed)
    cfg = make_cfg()
    return MTPHead(cfg, block=MLA(cfg, cfg.pattern[0]) if with_block else None).eval()


@pytest.mark.parametrize("with_block", [False, True])
def test_output_has_trunk_shape(with_block):
    h, e = torch.randn(2, 7, 24), torch.randn(2, 7, 24)
    assert make_head(with_block)(h, e).shape == (2, 7, 24)


@pytest.mark.parametrize("norm", ["rms", "layer"])
def test_params_formula_equals_module_count_without_block(norm):
    cfg = make_cfg(norm)
    assert mtp_mod.params_formula(cfg) == sum(p.numel() for p in MTPHead(cfg).parameters())


def test_params_formula_adds_the_block_params():
    head = make_head(True)
    block = sum(p.numel() for p in head.block.parameters())
    assert mtp_mod.params_formula(make_cfg(), with_block_params=block) == sum(p.numel() for p in head.parameters())


def test_flops_formula_matches_torch_counter():
    head = make_head(False)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        head(torch.randn(3, 5, 24), torch.randn(3, 5, 24))
    assert counter.get_total_flops() == pytest.approx(mtp_mod.flops_formula(make_cfg(), 15), rel=0.01)


@pytest.mark.parametrize("which", ["h", "e"])
@pytest.mark.parametrize("with_block", [False, True])
def test_output_at_t_depends_only_on_inputs_up_to_t(with_block, which):
    head, t0 = make_head(with_block), 4
    h, e = torch.randn(1, 9, 24), torch.randn(1, 9, 24)
    h2, e2 = h.clone(), e.clone()
    (h2 if which == "h" else e2)[:, t0:] += torch.randn(1, 9 - t0, 24)
    with torch.no_grad():
        y, y2 = head(h, e), head(h2, e2)
    assert torch.equal(y[:, :t0], y2[:, :t0])          # bit-equal: positions < t0 never read the change
    assert not torch.allclose(y[:, t0:], y2[:, t0:])


def test_doc_ids_reach_the_block():
    head = make_head(True)
    h, e = torch.randn(1, 8, 24), torch.randn(1, 8, 24)
    doc_ids = torch.tensor([[0] * 4 + [1] * 4])
    h2 = h.clone()
    h2[:, :4] += 1.0                                   # change only the first document
    with torch.no_grad():
        y, y2 = head(h, e, doc_ids), head(h2, e, doc_ids)
    assert torch.equal(y[:, 4:], y2[:, 4:])            # the second document never reads the first
