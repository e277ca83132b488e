"""pytest-benchmark timings of the hot components, each checked against an independent reference.

`make bench-perf` times them (`--benchmark-only --benchmark-autosave`); `make test` runs each once under
`--benchmark-disable`, so the correctness half runs everywhere. `benchmark(fn, *args)` returns fn's result, which is
compared with a formula written out here (not with the module under test). Shapes are small: these track
regressions of one machine over time; the suites (suites/norms.py, ffn.py, attention.py, mixers.py) are the
measurements that answer claims.
"""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from archs.components.attention import Attention
from archs.components.mlp import MLP
from archs.components.norms import RMSNorm
from archs.config import DecoderConfig, LayerSpec
from archs.ops.gated_delta import chunk_gated_delta_rule, naive_recurrent_gated_delta_rule

T, D = 256, 768


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    with torch.no_grad():
        yield


def test_rmsnorm(benchmark):
    x, norm = torch.randn(T, D), RMSNorm(D, eps=1e-6)
    norm.weight.data.uniform_(0.5, 1.5)
    y = benchmark(norm, x)
    torch.testing.assert_close(y, x / (x.pow(2).mean(-1, keepdim=True) + 1e-6).sqrt() * norm.weight)


def test_layernorm(benchmark):
    x, norm = torch.randn(T, D), torch.nn.LayerNorm(D, eps=1e-6)
    norm.weight.data.uniform_(0.5, 1.5)
    norm.bias.data.uniform_(-0.5, 0.5)
    y = benchmark(norm, x)
    mean, var = x.mean(-1, keepdim=True), x.var(-1, unbiased=False, keepdim=True)
    torch.testing.assert_close(y, (x - mean) / (var + 1e-6).sqrt() * norm.weight + norm.bias)


def test_swiglu(benchmark):
    x, mlp = torch.randn(T, D), MLP(D, 2048, "swiglu")
    y = benchmark(mlp, x)
    ref = (F.silu(x @ mlp.gate.weight.T) * (x @ mlp.up.weight.T)) @ mlp.down.weight.T
    torch.testing.assert_close(y, ref, rtol=1e-4, atol=1e-5)


def test_gqa_forward(benchmark):
    cfg = DecoderConfig(vocab_size=256, dim=D, n_layers=1, n_heads=12, n_kv_heads=4, ffn_dim=4 * D)
    attn, x = Attention(cfg, LayerSpec()).eval(), torch.randn(1, T, D)
    y = benchmark(attn, x)
    attn.impl = "math"                           # explicit softmax(QKᵀ/√d)V with repeated KV heads
    torch.testing.assert_close(y, attn(x), rtol=1e-4, atol=1e-5)


def test_gdn_chunk(benchmark):
    B, H, K = 1, 4, 64
    q, k = (F.normalize(torch.randn(B, T, H, K), dim=-1) for _ in range(2))
    v, g, beta = torch.randn(B, T, H, K), F.logsigmoid(torch.randn(B, T, H) + 2), torch.rand(B, T, H)
    o, _ = benchmark(chunk_gated_delta_rule, q, k, v, g, beta)
    ref, _ = naive_recurrent_gated_delta_rule(q, k, v, g, beta)
    torch.testing.assert_close(o, ref, rtol=1e-4, atol=1e-5)
