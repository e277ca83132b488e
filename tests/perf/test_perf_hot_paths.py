"""pytest-benchmark timings of issue 16's hot paths against the previous algorithms kept beside them (reference_*):
the chunked gated delta rule's forward + backward, and one decode step from a preallocated cache vs a cache that
concatenates every step.

Each pair shares a benchmark group, so `make bench-perf` prints current and reference side by side; `make test`
runs each once (`--benchmark-disable`) and checks that the two give the same result. No timing is asserted.
Shapes are small enough for `make test`; tests/perf/measure_hot_paths.py measures the long sequences.
"""
from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from archs.components.attention import Attention
from archs.components.mla import MLA
from archs.config import DecoderConfig, LayerSpec, MLAConfig
from archs.ops.gated_delta import chunk_gated_delta_rule
from tests.perf.reference_concat_cache import ConcatKVCache, ConcatMLACache
from tests.perf.reference_gdn_chunk import chunk_gated_delta_rule as reference_chunk_gated_delta_rule

GDN_OPS = {"current": chunk_gated_delta_rule, "reference": reference_chunk_gated_delta_rule}
OTHER = {"current": "reference", "reference": "current"}


def gdn_forward_backward(op, leaves: list[torch.Tensor], dy: torch.Tensor) -> tuple[torch.Tensor, ...]:
    o, _ = op(*leaves)
    return (o.detach(), *torch.autograd.grad(o, leaves, dy))


@pytest.mark.parametrize("impl", ["current", "reference"])
def test_gdn_chunk_forward_backward(benchmark, impl):
    # B·H = 8 puts 8 chunks of 64 in a segment: 4 segments at T = 2048, where the reference's per-segment slices
    # make its backward write 4 full-size zero gradients per input (T/512 in general)
    gen = torch.Generator().manual_seed(0)
    B, T, H, K = 1, 2048, 8, 32
    q, k = (F.normalize(torch.randn(B, T, H, K, generator=gen), dim=-1) for _ in range(2))
    v, g = torch.randn(B, T, H, K, generator=gen), F.logsigmoid(torch.randn(B, T, H, generator=gen) + 2)
    leaves = [x.requires_grad_(True) for x in (q, k, v, g, torch.rand(B, T, H, generator=gen))]
    dy = torch.randn(B, T, H, K, generator=gen)
    benchmark.group = f"gdn chunk forward+backward B{B} T{T} H{H} K{K}"
    out = benchmark(gdn_forward_backward, GDN_OPS[impl], leaves, dy)
    for mine, theirs in zip(out, gdn_forward_backward(GDN_OPS[OTHER[impl]], leaves, dy)):
        torch.testing.assert_close(mine, theirs, rtol=1e-4, atol=1e-5)


def decode_layer(variant: str) -> torch.nn.Module:
    torch.manual_seed(0)
    if variant == "gqa":
        cfg = DecoderConfig(vocab_size=64, dim=512, n_layers=1, n_heads=8, n_kv_heads=2, ffn_dim=1024)
        return Attention(cfg, LayerSpec()).eval()
    cfg = DecoderConfig(vocab_size=64, dim=512, n_layers=1, n_heads=8, ffn_dim=1024, pattern=(LayerSpec(mixer="mla"),),
                        mla=MLAConfig(kv_lora_rank=128, qk_nope_dim=64, qk_rope_dim=32, v_head_dim=64))
    return MLA(cfg, cfg.pattern[0]).eval()


REFERENCE_CACHE = {"gqa": ConcatKVCache, "mla-absorbed": ConcatMLACache}


def cached_tokens(layer: torch.nn.Module, context: int) -> tuple[torch.Tensor, ...]:
    """Random per-token cache entries for `context` tokens, in the layout the layer's cache appends: (k, v)
    [1, H_kv, S, K] for attention, kv [1, S, C+R] for MLA. A decode step's work does not depend on the values."""
    gen = torch.Generator().manual_seed(1)
    if isinstance(layer, MLA):
        return (torch.randn(1, context, layer.rank + layer.rope_dim, generator=gen),)
    return tuple(torch.randn(1, layer.n_kv, context, layer.head_dim, generator=gen) for _ in range(2))


@pytest.mark.parametrize("variant", ["gqa", "mla-absorbed"])
@pytest.mark.parametrize("impl", ["current", "reference"])
def test_decode_step_at_context_4096(benchmark, variant, impl):
    layer, context = decode_layer(variant), 4096
    if variant.startswith("mla"):
        layer.attn_impl = "absorbed"
    entries, x1 = cached_tokens(layer, context), torch.randn(1, 1, 512)
    caches = {"current": layer.new_cache(), "reference": REFERENCE_CACHE[variant]()}
    for cache in caches.values():                       # the same tokens in both
        cache.append(*entries)
    benchmark.group = f"decode step {variant} at context {context}"
    with torch.no_grad():
        y = benchmark(lambda: layer(x1, copy.copy(caches[impl])))     # one more step from the same cache
        torch.testing.assert_close(y, layer(x1, copy.copy(caches[OTHER[impl]])), rtol=1e-4, atol=1e-5)
