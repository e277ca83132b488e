"""Softmax attention against independent references: a naive softmax(QKᵀ/√d)V with hand-built masks, a
head-by-head MHA, FlexAttention, and its own formulas."""
from dataclasses import replace

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from archs.components import attention as attn
from archs.components.attention import Attention
from archs.config import AttentionConfig, DecoderConfig, LayerSpec

CFG = DecoderConfig(vocab_size=256, dim=64, n_layers=1, n_heads=8, n_kv_heads=2, ffn_dim=128)


def layer(cfg=CFG, spec=LayerSpec(), impl="sdpa", seed=0):
    torch.manual_seed(seed)
    module = Attention(cfg, spec, impl=impl)
    for p in module.parameters():
        torch.nn.init.normal_(p, std=0.2)
    return module.eval()


def naive(module, x, mask):
    """Reference written from scratch: per head, repeat KV heads, explicit softmax with a given bool mask."""
    B, T, _ = x.shape
    H, Hkv, K = module.n_heads, module.n_kv, module.head_dim
    q = module.rope(module.wq(x).view(B, T, H, K).transpose(1, 2))
    k = module.rope(module.wk(x).view(B, T, Hkv, K).transpose(1, 2))
    v = module.wv(x).view(B, T, Hkv, K).transpose(1, 2)
    outs = []
    for h in range(H):
        kv = h // (H // Hkv)                            # query head h reads KV head h // group
        s = q[:, h] @ k[:, kv].transpose(-1, -2) / K ** 0.5
        outs.append(s.masked_fill(~mask, float("-inf")).softmax(-1) @ v[:, kv])
    return module.wo(torch.stack(outs, 1).transpose(1, 2).reshape(B, T, H * K))


def explicit_mask(T, window=None, doc_ids=None):
    mask = torch.zeros(doc_ids.shape[0] if doc_ids is not None else 1, T, T, dtype=torch.bool)
    for i in range(T):
        for j in range(i + 1):
            ok = window is None or i - j < window
            mask[:, i, j] = ok if doc_ids is None else torch.tensor(ok) & (doc_ids[:, i] == doc_ids[:, j])
    return mask


# FlexAttention has no CPU backward in torch 2.13: forward comparisons run under no_grad (the layer falls back
# to the masked SDPA path when gradients are needed on CPU)
@pytest.mark.parametrize("impl", ["sdpa", "math", "flex"])
@torch.no_grad()
def test_causal_attention_equals_naive_reference(impl):
    module, x = layer(impl=impl), torch.randn(2, 20, 64)
    torch.testing.assert_close(module(x), naive(module, x, explicit_mask(20)), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("impl", ["sdpa", "flex"])
@pytest.mark.parametrize("T", [20, 43])                  # dense mask; blocked path (T >= 8·window)
@torch.no_grad()
def test_sliding_window_equals_an_explicit_mask(impl, T):
    module, x = layer(spec=LayerSpec(window=5), impl=impl), torch.randn(2, T, 64)
    torch.testing.assert_close(module(x), naive(module, x, explicit_mask(T, window=5)), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("impl", ["sdpa", "flex"])
@torch.no_grad()
def test_document_mask_equals_an_explicit_mask(impl):
    module, x = layer(impl=impl), torch.randn(2, 16, 64)
    docs = torch.tensor([[0] * 5 + [1] * 7 + [2] * 4, [0] * 10 + [1] * 6])
    torch.testing.assert_close(module(x, doc_ids=docs), naive(module, x, explicit_mask(16, doc_ids=docs)),
                               rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("T", [20, 23, 41])                # whole blocks, a padded tail, several blocks
def test_blocked_sliding_window_equals_the_dense_mask(T):
    q, k, v = torch.randn(2, 8, T, 16), torch.randn(2, 2, T, 16), torch.randn(2, 2, T, 16)
    dense = attn.sdpa(q, k, v, attn.make_mask_mod(window=5), causal_only=False)
    torch.testing.assert_close(attn.local_window_attention(q, k, v, 5), dense, rtol=1e-5, atol=1e-5)


def test_flex_layer_trains_on_cpu_through_the_equivalent_masked_path():
    module, x = layer(spec=LayerSpec(window=5), impl="flex"), torch.randn(1, 12, 64)
    module(x).sum().backward()
    assert module.wq.weight.grad is not None


def test_gqa_with_all_kv_heads_equals_head_by_head_mha():
    mha_cfg = replace(CFG, n_kv_heads=None)
    module, x = layer(cfg=mha_cfg), torch.randn(1, 12, 64)
    assert module.n_kv == module.n_heads
    torch.testing.assert_close(module(x), naive(module, x, explicit_mask(12)), rtol=1e-4, atol=1e-4)


def test_attention_is_causal():
    module, x = layer(), torch.randn(1, 16, 64)
    y = x.clone()
    y[:, 10:] += 1.0
    torch.testing.assert_close(module(x)[:, :10], module(y)[:, :10], rtol=0, atol=1e-6)


@pytest.mark.parametrize("window", [None, 6])
def test_cached_decoding_equals_the_full_forward(window):
    module, x = layer(spec=LayerSpec(window=window)), torch.randn(2, 20, 64)
    cache = module.new_cache()
    steps = [module(x[:, :9], cache)] + [module(x[:, t:t + 1], cache) for t in range(9, 20)]
    torch.testing.assert_close(torch.cat(steps, 1), module(x), rtol=1e-4, atol=1e-5)
    assert cache.nbytes() == attn.cache_bytes_formula(CFG, LayerSpec(window=window), 2, 20, 4)


GATED = replace(CFG, attn=AttentionConfig(qk_norm=True, output_gate=True))       # Qwen3-Next's attention


@pytest.mark.parametrize("window", [None, 6])
def test_cached_decoding_with_q_k_norms_and_an_output_gate_equals_the_full_forward(window):
    module = Attention(GATED, LayerSpec(window=window))
    x = torch.randn(2, 20, 64)
    cache = module.new_cache()
    steps = [module(x[:, :9], cache)] + [module(x[:, t:t + 1], cache) for t in range(9, 20)]
    torch.testing.assert_close(torch.cat(steps, 1), module(x), rtol=1e-4, atol=1e-5)


def test_the_output_gate_multiplies_each_channel_by_the_sigmoid_of_its_gate():
    gated = Attention(GATED, LayerSpec())
    plain = Attention(replace(GATED, attn=AttentionConfig(qk_norm=True)), LayerSpec())
    weights = gated.state_dict()
    query_then_gate = weights["wq.weight"].view(8, 2, 8, 64)         # per head: 8 query rows, then 8 gate rows
    query_then_gate[:, 1] = 0                                         # gate logits 0: every gate is 1/2
    plain.load_state_dict(weights | {"wq.weight": query_then_gate[:, 0].reshape(64, 64)})
    gated.load_state_dict(weights)
    x = torch.randn(1, 5, 64)
    with torch.no_grad():                                             # wo has no bias: halving commutes with it
        torch.testing.assert_close(gated(x), plain(x) / 2)


def test_param_formula_counts_the_module():
    for cfg in (CFG, replace(CFG, bias=True), replace(CFG, n_kv_heads=1), GATED,
                replace(CFG, attn=AttentionConfig(qkv_bias=True)), replace(GATED, bias=True)):
        assert attn.params_formula(cfg, LayerSpec()) == sum(p.numel() for p in Attention(cfg, LayerSpec()).parameters())


def test_flop_formula_equals_torch_counter_on_full_scores():
    import harness.measure.counting  # noqa: F401  (registers a formula for torch's CPU SDPA kernel)
    module, x = layer(), torch.randn(1, 32, 64)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(x)
    assert counter.get_total_flops() == attn.flops_formula(CFG, LayerSpec(), 32, causal=False)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        Attention(GATED, LayerSpec())(x)                      # the gate: q_proj twice as wide
    assert counter.get_total_flops() == attn.flops_formula(GATED, LayerSpec(), 32, causal=False)
    causal = attn.flops_formula(CFG, LayerSpec(), 32, causal=True)
    assert causal == attn.flops_formula(CFG, LayerSpec(), 32, causal=False) - 2 * 32 * 32 * 8 * 8   # T²/2 saved


def test_kv_cache_bytes_per_token_follow_2_nkv_head_dim():
    assert attn.cache_bytes_formula(CFG, LayerSpec(), 1, 1, 2) == 2 * 2 * 8 * 2
    assert attn.cache_bytes_formula(CFG, LayerSpec(window=4), 1, 100, 2) == 3 * 2 * 2 * 8 * 2   # window-1 kept
