"""Tests of multi-head latent attention: exact formulas, causality, masks, and the decode paths."""
from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from archs.components import mla as mla_mod
from archs.components.mla import MLA
from archs.config import DecoderConfig, LayerSpec, MLAConfig

# fp32 everywhere; two computations of the same attention in a different order (prefill vs one token at a
# time, naive vs absorbed) differ by accumulated rounding of a few 1e-7 relative on O(1) outputs
ATOL, RTOL = 1e-5, 1e-4


def make_cfg(q_lora_rank: int | None = 12, **kw) -> DecoderConfig:
    mla = MLAConfig(kv_lora_rank=16, q_lora_rank=q_lora_rank, qk_nope_dim=8, qk_rope_dim=4, v_head_dim=6)
    return DecoderConfig(vocab_size=64, dim=32, n_layers=1, n_heads=4, ffn_dim=64,
                         pattern=(LayerSpec(mixer="mla"),), mla=mla, **kw)


def make_mla(window: int | None = None, q_lora_rank: int | None = 12, seed: int = 0) -> MLA:
    torch.manual_seed(seed)
    return MLA(make_cfg(q_lora_rank), LayerSpec(mixer="mla", window=window)).eval()


def reference_attention(m: MLA, x: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """MLA written out with explicit matmuls and softmax under a given boolean mask [B, T, T]."""
    B, T, _ = x.shape
    H, N, R, V, C = m.n_heads, m.nope, m.rope_dim, m.v_dim, m.rank
    q = (m.wq_b(m.q_norm(m.wq_a(x))) if m.low_rank_q else m.wq(x)).view(B, T, H, N + R).transpose(1, 2)
    q = torch.cat([q[..., :N], m.rotary(q[..., N:], 0)], dim=-1)
    kv_a = m.wkv_a(x)
    latent, k_rope = m.kv_norm(kv_a[..., :C]), m.rotary(kv_a[..., C:][:, None], 0)   # [B,T,C], [B,1,T,R]
    kv = m.wkv_b(latent).view(B, T, H, N + V).transpose(1, 2)
    k = torch.cat([kv[..., :N], k_rope.expand(B, H, T, R)], dim=-1)
    scores = q @ k.transpose(-1, -2) / math.sqrt(N + R)
    scores = scores.masked_fill(~allowed[:, None], float("-inf"))
    out = scores.softmax(-1) @ kv[..., N:]                                            # [B, H, T, V]
    return m.wo(out.transpose(1, 2).reshape(B, T, H * V))


def decode_stepwise(m: MLA, x: torch.Tensor, prefill: int) -> torch.Tensor:
    cache = m.new_cache()
    outs = [m(x[:, :prefill], cache=cache)]
    outs += [m(x[:, t:t + 1], cache=cache) for t in range(prefill, x.shape[1])]
    return torch.cat(outs, dim=1)


@pytest.mark.parametrize("q_lora_rank", [12, None])
def test_params_formula_equals_module_count(q_lora_rank):
    cfg = make_cfg(q_lora_rank)
    spec = cfg.pattern[0]
    assert mla_mod.params_formula(cfg, spec) == sum(p.numel() for p in MLA(cfg, spec).parameters())


@pytest.mark.parametrize("q_lora_rank", [12, None])
def test_prefill_flops_formula_matches_torch_counter(q_lora_rank):
    cfg, T = make_cfg(q_lora_rank), 10
    m = make_mla(q_lora_rank=q_lora_rank)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        m(torch.randn(2, T, 32))
    # the counter charges SDPA the full T×T score matrix whatever the mask, i.e. the causal=False count;
    # batch 2 is twice one sequence
    expected = 2 * mla_mod.flops_formula(cfg, cfg.pattern[0], T, causal=False)
    assert counter.get_total_flops() == pytest.approx(expected, rel=0.01)


def test_causal_flops_halve_only_the_attention_terms():
    cfg, T = make_cfg(), 64
    spec = cfg.pattern[0]
    full, causal = mla_mod.flops_formula(cfg, spec, T, causal=False), mla_mod.flops_formula(cfg, spec, T)
    m = cfg.mla
    assert full - causal == T * T * cfg.n_heads * (m.qk_nope_dim + m.qk_rope_dim + m.v_head_dim)


def test_window_bounds_the_causal_attention_flops():
    cfg, T, w = make_cfg(), 64, 8
    m = cfg.mla
    no_window = mla_mod.flops_formula(cfg, cfg.pattern[0], T)
    windowed = mla_mod.flops_formula(cfg, LayerSpec(mixer="mla", window=w), T)
    # causal pairs: T²/2 without a window; with one, T·w − w(w−1)/2 (each query sees at most w keys)
    pairs_saved = T * T / 2 - (T * w - w * (w - 1) / 2)
    assert no_window - windowed == pairs_saved * 2 * cfg.n_heads * (m.qk_nope_dim + m.qk_rope_dim + m.v_head_dim)


@pytest.mark.parametrize("impl", ["naive", "absorbed"])
@pytest.mark.parametrize("window", [None, 4])
def test_decode_flops_formula_matches_torch_counter(impl, window):
    m, context = make_mla(window=window), 8          # 8 cached tokens, the 9th is decoded
    m.attn_impl = impl
    x = torch.randn(1, context + 1, 32)
    cache = m.new_cache()
    with torch.no_grad():
        m(x[:, :-1], cache=cache)
        with FlopCounterMode(display=False) as counter:
            m(x[:, -1:], cache=cache)
    expected = mla_mod.decode_flops_formula(make_cfg(), LayerSpec(mixer="mla", window=window), context, impl)
    assert counter.get_total_flops() == pytest.approx(expected, rel=0.01)


def test_absorbed_decode_is_cheaper_at_long_context():
    # DeepSeek-V3 attention dims, one layer: re-expanding the latent every step dominates the naive path
    cfg = DecoderConfig(vocab_size=8, dim=7168, n_layers=1, n_heads=128, ffn_dim=8, pattern=(LayerSpec(mixer="mla"),),
                        mla=MLAConfig(kv_lora_rank=512, q_lora_rank=1536))
    spec = cfg.pattern[0]
    naive = mla_mod.decode_flops_formula(cfg, spec, 4096, "naive")
    absorbed = mla_mod.decode_flops_formula(cfg, spec, 4096, "absorbed")
    assert absorbed < naive / 4


@pytest.mark.parametrize("window", [None, 5])
def test_cache_bytes_formula_equals_cache_nbytes(window):
    m, T = make_mla(window=window), 11
    cache = m.new_cache()
    with torch.no_grad():
        m(torch.randn(3, T - 2, 32), cache=cache)
        m(torch.randn(3, 1, 32), cache=cache)
        m(torch.randn(3, 1, 32), cache=cache)
    spec = LayerSpec(mixer="mla", window=window)
    assert cache.nbytes() == mla_mod.cache_bytes_formula(make_cfg(), spec, 3, T, dtype_bytes=4)


def test_cache_holds_only_the_latent_and_the_shared_rope_key():
    m = make_mla()
    cache = m.new_cache()
    with torch.no_grad():
        m(torch.randn(2, 7, 32), cache=cache)
    assert [tuple(t.shape) for t in cache.tensors()] == [(2, 7, 16), (2, 7, 4)]
    assert cache.pos == 7


def test_naive_kv_bytes_per_token_for_deepseek_v3_dims():
    cfg = DecoderConfig(vocab_size=8, dim=7168, n_layers=1, n_heads=128, ffn_dim=8, pattern=(LayerSpec(mixer="mla"),),
                        mla=MLAConfig(kv_lora_rank=512, q_lora_rank=1536))
    # 128 heads × (192-wide keys + 128-wide values) vs 512 + 64 latent numbers, bf16
    assert mla_mod.naive_kv_bytes_per_token(cfg, 2) == 128 * (192 + 128) * 2 == 81920
    assert mla_mod.cache_bytes_formula(cfg, cfg.pattern[0], 1, 1, 2) == 576 * 2


@pytest.mark.parametrize("window", [None, 4])
def test_naive_and_absorbed_paths_give_equal_outputs(window):
    m = make_mla(window=window)
    x = torch.randn(2, 12, 32)
    with torch.no_grad():
        naive_full, naive_dec = m(x), decode_stepwise(m, x, prefill=5)
        m.attn_impl = "absorbed"
        absorbed_full, absorbed_dec = m(x), decode_stepwise(m, x, prefill=5)
    torch.testing.assert_close(absorbed_full, naive_full, atol=ATOL, rtol=RTOL)
    torch.testing.assert_close(absorbed_dec, naive_dec, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("impl", ["naive", "absorbed"])
@pytest.mark.parametrize("window", [None, 4])
@pytest.mark.parametrize("q_lora_rank", [12, None])
def test_full_forward_equals_prefill_then_token_by_token_decode(impl, window, q_lora_rank):
    m = make_mla(window=window, q_lora_rank=q_lora_rank)
    m.attn_impl = impl
    x = torch.randn(2, 12, 32)
    with torch.no_grad():
        torch.testing.assert_close(decode_stepwise(m, x, prefill=5), m(x), atol=ATOL, rtol=RTOL)


def test_output_at_t_ignores_inputs_after_t():
    m, t0 = make_mla(), 6
    x = torch.randn(1, 12, 32)
    x2 = x.clone()
    x2[:, t0:] += torch.randn(1, 12 - t0, 32)
    with torch.no_grad():
        y, y2 = m(x), m(x2)
    assert torch.equal(y[:, :t0], y2[:, :t0])       # bit-equal: masked keys get exactly zero weight
    assert not torch.allclose(y[:, t0:], y2[:, t0:])


def test_module_matches_explicit_matmul_reference_with_causal_mask():
    m = make_mla()
    x = torch.randn(2, 9, 32)
    allowed = torch.ones(9, 9, dtype=torch.bool).tril().expand(2, 9, 9)
    with torch.no_grad():
        torch.testing.assert_close(m(x), reference_attention(m, x, allowed), atol=ATOL, rtol=RTOL)


def test_window_mask_equals_hand_built_mask():
    T, w = 9, 3
    hand = torch.tensor([[0 <= i - j < w for j in range(T)] for i in range(T)])
    m, x = make_mla(window=w), torch.randn(2, T, 32)
    with torch.no_grad():
        torch.testing.assert_close(m(x), reference_attention(m, x, hand.expand(2, T, T)), atol=ATOL, rtol=RTOL)


def test_doc_mask_equals_hand_built_mask():
    doc_ids = torch.tensor([[0, 0, 0, 1, 1, 2, 2, 2], [5, 5, 5, 5, 5, 7, 7, 7]])
    B, T = doc_ids.shape
    hand = torch.tensor([[[j <= i and doc_ids[b, i] == doc_ids[b, j] for j in range(T)] for i in range(T)]
                         for b in range(B)])
    m, x = make_mla(), torch.randn(B, T, 32)
    with torch.no_grad():
        torch.testing.assert_close(m(x, doc_ids=doc_ids), reference_attention(m, x, hand), atol=ATOL, rtol=RTOL)


def test_packed_documents_do_not_see_each_other():
    m = make_mla()
    a, b = torch.randn(1, 5, 32), torch.randn(1, 4, 32)
    doc_ids = torch.tensor([[0] * 5 + [1] * 4])
    with torch.no_grad():
        packed = m(torch.cat([a, b], dim=1), doc_ids=doc_ids)
        alone_a, alone_b = m(a), m(b)
    torch.testing.assert_close(packed[:, :5], alone_a, atol=ATOL, rtol=RTOL)
    # b starts at position 5 when packed and 0 alone: RoPE scores depend only on relative positions
    torch.testing.assert_close(packed[:, 5:], alone_b, atol=ATOL, rtol=RTOL)


def test_doc_ids_while_decoding_raise():
    m = make_mla()
    cache = m.new_cache()
    m(torch.randn(1, 3, 32), cache=cache, doc_ids=torch.zeros(1, 3, dtype=torch.long))   # prefill: allowed
    with pytest.raises(ValueError, match="doc_ids"):
        m(torch.randn(1, 1, 32), cache=cache, doc_ids=torch.zeros(1, 1, dtype=torch.long))


def test_prefill_with_doc_ids_into_a_cache_equals_the_full_forward():
    m = make_mla()
    x, doc_ids = torch.randn(2, 8, 32), torch.tensor([[0] * 3 + [1] * 5, [4] * 8])
    with torch.no_grad():
        cached = m(x, cache=m.new_cache(), doc_ids=doc_ids)
        torch.testing.assert_close(cached, m(x, doc_ids=doc_ids), atol=ATOL, rtol=RTOL)


def test_unknown_attn_impl_raises():
    m = make_mla()
    m.attn_impl = "flash"
    with pytest.raises(ValueError, match="attn_impl"):
        m(torch.randn(1, 3, 32))


def test_position_none_skips_rotary():
    cfg = replace(make_cfg(), position="none")
    assert MLA(cfg, cfg.pattern[0]).rotary is None
