"""Tests of the gated delta rule ops (chunked vs token loop vs decode step) and the Gated DeltaNet layer."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from archs.components import deltanet as gdn_mod
from archs.components.deltanet import GatedDeltaNet
from archs.config import DecoderConfig, DeltaNetConfig, LayerSpec
from archs.ops.gated_delta import (chunk_gated_delta_rule, naive_recurrent_gated_delta_rule,
                                   recurrent_gated_delta_step)
from archs.ops.gated_delta import chunk as chunk_mod
from harness.errors import ConfigError

# fp32 throughout. The chunked form reassociates the same sums (a triangular solve, cumulative decays,
# chunk-level state hand-off); measured relative RMS differences are ~1e-6 for outputs and gradients, so 1e-4
# leaves two orders of margin while any algebra slip (a wrong mask, decay off by one token) gives O(0.1–1).
REL_TOL = 1e-4


def rel_rmse(ref: torch.Tensor, out: torch.Tensor) -> float:
    return ((ref - out).pow(2).mean().sqrt() / ref.pow(2).mean().sqrt()).item()


def make_inputs(T: int, B: int = 2, H: int = 3, K: int = 16, V: int = 24, decay_scale: float = 1.0, seed: int = 0):
    """q, k (unit norm, as the layer feeds them), v, g = log-sigmoid decay (<= 0), beta in (0, 1)."""
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(B, T, H, K, generator=gen)
    k = F.normalize(torch.randn(B, T, H, K, generator=gen), dim=-1)
    v = torch.randn(B, T, H, V, generator=gen)
    g = decay_scale * F.logsigmoid(torch.randn(B, T, H, generator=gen))
    beta = torch.rand(B, T, H, generator=gen)
    return q, k, v, g, beta


def state_like(q: torch.Tensor, v: torch.Tensor, seed: int = 1) -> torch.Tensor:
    B, _, H, K = q.shape
    return torch.randn(B, H, K, v.shape[-1], generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------- ops
@pytest.mark.parametrize("T, chunk_size, with_state", [(128, 64, False), (150, 64, True), (37, 64, True),
                                                       (150, 16, True)])
def test_chunk_matches_naive_outputs_and_final_state(T, chunk_size, with_state):
    q, k, v, g, beta = make_inputs(T)
    s0 = state_like(q, v) if with_state else None
    o_ref, s_ref = naive_recurrent_gated_delta_rule(q, k, v, g, beta, initial_state=s0, output_final_state=True)
    o, s = chunk_gated_delta_rule(q, k, v, g, beta, initial_state=s0, output_final_state=True,
                                  chunk_size=chunk_size)
    assert o.shape == o_ref.shape and s.shape == s_ref.shape
    assert rel_rmse(o_ref, o) < REL_TOL
    assert rel_rmse(s_ref, s) < REL_TOL


def _grads(fn, inputs, s0, seed: int = 2):
    """Gradients of a fixed random projection of (o, final state) w.r.t. q, k, v, g, beta and the initial state."""
    leaves = [x.clone().requires_grad_(True) for x in (*inputs, s0)]
    o, s = fn(*leaves)
    gen = torch.Generator().manual_seed(seed)
    loss = (o * torch.randn(o.shape, generator=gen)).sum() + (s * torch.randn(s.shape, generator=gen)).sum()
    return torch.autograd.grad(loss, leaves)


NAMES = ("q", "k", "v", "g", "beta", "initial_state")


def test_chunk_over_several_segments_matches_naive(monkeypatch):
    # the op walks long sequences in segments of whole chunks; shrink segments to one chunk (16 tokens
    # here) so the test's short sequence crosses several segment boundaries, the last one padded
    monkeypatch.setattr(chunk_mod, "SEGMENT_TOKEN_HEADS", 1)
    inputs = make_inputs(75)
    s0 = state_like(inputs[0], inputs[2])
    o_ref, s_ref = naive_recurrent_gated_delta_rule(*inputs, initial_state=s0, output_final_state=True)
    o, s = chunk_gated_delta_rule(*inputs, initial_state=s0, output_final_state=True, chunk_size=16)
    assert rel_rmse(o_ref, o) < REL_TOL and rel_rmse(s_ref, s) < REL_TOL
    ref = _grads(lambda *a: naive_recurrent_gated_delta_rule(*a[:5], initial_state=a[5], output_final_state=True),
                 inputs, s0)
    out = _grads(lambda *a: chunk_gated_delta_rule(*a[:5], initial_state=a[5], output_final_state=True,
                                                   chunk_size=16), inputs, s0)
    for name, r, o in zip(NAMES, ref, out):
        assert rel_rmse(r, o) < REL_TOL, name


def test_each_input_enters_the_graph_once_whatever_the_number_of_segments(monkeypatch):
    # the backward stays linear in T only if no segment's backward writes a gradient of the whole input: each input
    # is split once (one backward node that concatenates the pieces' gradients), not sliced per segment
    monkeypatch.setattr(chunk_mod, "SEGMENT_TOKEN_HEADS", 1)            # one chunk of 16 per segment: 5 segments
    leaves = [x.requires_grad_(True) for x in make_inputs(75)]
    o, _ = chunk_gated_delta_rule(*leaves, chunk_size=16)
    consumers, seen, todo = {id(x): 0 for x in leaves}, set(), [o.grad_fn]
    while todo:
        node = todo.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        for child, _ in node.next_functions:
            if child is not None and hasattr(child, "variable") and id(child.variable) in consumers:
                consumers[id(child.variable)] += 1
            todo.append(child)
    assert list(consumers.values()) == [1] * 5


def test_chunk_gradients_match_naive():
    inputs = make_inputs(150)                        # 150 = 2 full chunks + a padded tail of 22
    s0 = state_like(inputs[0], inputs[2])
    ref = _grads(lambda *a: naive_recurrent_gated_delta_rule(*a[:5], initial_state=a[5], output_final_state=True),
                 inputs, s0)
    out = _grads(lambda *a: chunk_gated_delta_rule(*a[:5], initial_state=a[5], output_final_state=True),
                 inputs, s0)
    for name, r, o in zip(NAMES, ref, out):
        assert rel_rmse(r, o) < REL_TOL, name


def test_recurrent_step_matches_chunk_outputs_and_gradients():
    inputs = make_inputs(20)
    s0 = state_like(inputs[0], inputs[2])
    ref = chunk_gated_delta_rule(*inputs, initial_state=s0, output_final_state=True)
    out = recurrent_gated_delta_step(*inputs, state=s0)
    assert rel_rmse(ref[0], out[0]) < REL_TOL and rel_rmse(ref[1], out[1]) < REL_TOL
    g_ref = _grads(lambda *a: chunk_gated_delta_rule(*a[:5], initial_state=a[5], output_final_state=True),
                   inputs, s0)
    g_out = _grads(lambda *a: recurrent_gated_delta_step(*a[:5], state=a[5]), inputs, s0)
    for name, r, o in zip(NAMES, g_ref, g_out):
        assert rel_rmse(r, o) < REL_TOL, name


def test_recurrent_steps_continue_a_prefix_exactly_like_one_pass():
    q, k, v, g, beta = make_inputs(30)
    o_ref, s_ref = naive_recurrent_gated_delta_rule(q, k, v, g, beta, output_final_state=True)
    _, state = naive_recurrent_gated_delta_rule(q[:, :20], k[:, :20], v[:, :20], g[:, :20], beta[:, :20],
                                                output_final_state=True)
    outs = []
    for t0, t1 in [(20, 21), (21, 24), (24, 30)]:    # one token, then a few at once
        o, state = recurrent_gated_delta_step(q[:, t0:t1], k[:, t0:t1], v[:, t0:t1], g[:, t0:t1],
                                              beta[:, t0:t1], state)
        outs.append(o)
    # same per-token update in the same order: equal up to fp32 rounding of identical operations
    torch.testing.assert_close(torch.cat(outs, dim=1), o_ref[:, 20:], rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(state, s_ref, rtol=1e-6, atol=1e-6)


def test_chunk_stays_finite_and_exact_under_very_strong_decay():
    # g ≈ −40 per token: e^{γ} across a chunk underflows to 0 and e^{−γ} would overflow; only differences
    # γ_i − γ_j (j <= i) may be exponentiated
    q, k, v, g, beta = make_inputs(100, decay_scale=40.0)
    o_ref, s_ref = naive_recurrent_gated_delta_rule(q, k, v, g, beta, output_final_state=True)
    o, s = chunk_gated_delta_rule(q, k, v, g, beta, output_final_state=True)
    assert torch.isfinite(o).all() and torch.isfinite(s).all()
    assert rel_rmse(o_ref, o) < REL_TOL and rel_rmse(s_ref, s) < REL_TOL


# ---------------------------------------------------------------- layer
def make_cfg(bias: bool = False, **gdn) -> DecoderConfig:
    return DecoderConfig(vocab_size=64, dim=32, n_layers=1, n_heads=4, ffn_dim=64, bias=bias,
                         pattern=(LayerSpec(mixer="gdn"),), gdn=DeltaNetConfig(chunk_size=16, **gdn))


def make_layer(cfg: DecoderConfig | None = None, seed: int = 0) -> GatedDeltaNet:
    torch.manual_seed(seed)
    cfg = cfg or make_cfg()
    layer = GatedDeltaNet(cfg, cfg.pattern[0]).eval()
    with torch.no_grad():                            # non-uniform norm weights, so a channel mix-up shows
        layer.o_norm.weight.uniform_(0.5, 1.5)
    return layer


def test_layer_is_causal():
    layer = make_layer()
    x = torch.randn(2, 40, 32)
    x2 = x.clone()
    x2[:, 25] += 1.0                                 # change token 25 only
    with torch.no_grad():
        y, y2 = layer(x), layer(x2)
    # earlier outputs must not move at all (masked terms are exact zeros; 1e-6 only allows reassociation)
    torch.testing.assert_close(y2[:, :25], y[:, :25], rtol=0, atol=1e-6)
    assert (y2[:, 25:] - y[:, 25:]).abs().max() > 1e-3   # and the change does reach the later outputs


def decode_in_pieces(layer: GatedDeltaNet, x: torch.Tensor, cuts: list[int]):
    cache = layer.new_cache()
    bounds = [0, *cuts, x.shape[1]]
    with torch.no_grad():
        ys = [layer(x[:, a:b], cache=cache) for a, b in zip(bounds[:-1], bounds[1:])]
    return torch.cat(ys, dim=1), cache


@pytest.mark.parametrize("value_heads", [None, 8], ids=["one-head-count", "two-value-heads-per-key-head"])
@pytest.mark.parametrize("cuts", [[37, 38, 39, 40, 41],       # chunked prefill, then one token at a time
                                  [5, 30, 31, 33]])           # short prefill (step), a chunked span, 1, 2
def test_prefill_then_decode_matches_full_forward(cuts, value_heads):
    layer = make_layer(make_cfg(n_v_heads=value_heads))
    x = torch.randn(2, 45, 32)
    with torch.no_grad():
        full = layer(x)
    pieces, cache = decode_in_pieces(layer, x, cuts)
    assert cache.pos == 45
    # prefill vs full differ only by fp32 reassociation (~1e-6 relative); the layer's O(1) outputs allow 1e-5
    torch.testing.assert_close(pieces, full, rtol=1e-4, atol=1e-5)


def test_value_heads_of_one_key_head_read_its_query_and_key():
    # 2 key heads, 4 value heads: value heads 0-1 read key head 0, 2-3 key head 1 (transformers' grouping)
    cfg = make_cfg(n_heads=2, n_v_heads=4, head_k_dim=8, head_v_dim=8)
    layer = make_layer(cfg)
    assert layer.ab_proj.out_features == 2 * 4 and layer.A_log.shape == (4,) and layer.o_proj.in_features == 32
    with pytest.raises(ConfigError, match="n_v_heads=3 is not a multiple of n_heads=2"):
        make_cfg(n_heads=2, n_v_heads=3)


def test_doc_ids_raise():
    layer = make_layer()
    with pytest.raises(ValueError, match="doc_ids"):
        layer(torch.randn(1, 8, 32), doc_ids=torch.zeros(1, 8, dtype=torch.long))


@pytest.mark.parametrize("cfg", [make_cfg(), make_cfg(bias=True),
                                 make_cfg(n_heads=2, head_k_dim=8, head_v_dim=12, conv_size=3),
                                 make_cfg(n_heads=2, n_v_heads=6, head_k_dim=8, head_v_dim=12)])
def test_params_formula_equals_module_count(cfg):
    layer = GatedDeltaNet(cfg, cfg.pattern[0])
    assert gdn_mod.params_formula(cfg, cfg.pattern[0]) == sum(p.numel() for p in layer.parameters())


@pytest.mark.parametrize("value_heads", [None, 4])
@pytest.mark.parametrize("T", [16, 45])             # a whole number of chunks, and a padded tail
def test_flops_formula_matches_torch_counter(T, value_heads):
    cfg = make_cfg(n_heads=2, n_v_heads=value_heads, head_k_dim=8, head_v_dim=12)
    layer = make_layer(cfg)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        layer(torch.randn(3, T, 32))
    terms = gdn_mod.flops_terms(cfg, T)
    # the counter has no rule for the triangular solve; compare on everything else, batch 3 = 3 sequences.
    # Both sides count the same matmuls exactly; 1% is the project's bar for formula vs counter.
    counted = 3 * (gdn_mod.flops_formula(cfg, cfg.pattern[0], T) - terms["solve"])
    assert counter.get_total_flops() == pytest.approx(counted, rel=0.01)


def test_solve_term_counts_forward_substitution_macs():
    # the one term the torch counter cannot check: inverting a unit-lower-triangular C×C matrix by forward
    # substitution against I costs, for each of its C columns, i multiply-adds in row i
    cfg, T = make_cfg(n_heads=2, head_k_dim=8, head_v_dim=12), 45
    C, chunks = cfg.gdn.chunk_size, -(-T // cfg.gdn.chunk_size)
    macs_per_chunk = C * sum(i for i in range(C))
    assert gdn_mod.flops_terms(cfg, T)["solve"] == 2 * 2 * chunks * macs_per_chunk     # 2 heads, 2 FLOPs per MAC


def test_decode_flops_formula_matches_torch_counter():
    cfg = make_cfg()
    layer = make_layer(cfg)
    cache = layer.new_cache()
    with torch.no_grad():
        layer(torch.randn(2, 20, 32), cache=cache)
        with FlopCounterMode(display=False) as counter:
            layer(torch.randn(2, 1, 32), cache=cache)        # one token for each of 2 sequences
    assert counter.get_total_flops() == pytest.approx(2 * gdn_mod.decode_flops_formula(cfg, cfg.pattern[0]),
                                                      rel=0.01)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("value_heads", [None, 8])
def test_cache_bytes_formula_equals_cache_after_prefill_and_decode(dtype, value_heads):
    cfg = make_cfg(conv_size=3, n_v_heads=value_heads)
    layer = make_layer(cfg).to(dtype)
    cache = layer.new_cache()
    nbytes = lambda T: gdn_mod.cache_bytes_formula(cfg, cfg.pattern[0], 2, T, dtype.itemsize)
    with torch.no_grad():
        layer(torch.randn(2, 21, 32, dtype=dtype), cache=cache)
        assert cache.nbytes() == nbytes(21)
        layer(torch.randn(2, 1, 32, dtype=dtype), cache=cache)
        assert cache.nbytes() == nbytes(22)
    assert cache.state.dtype == torch.float32 and cache.conv_state.dtype == dtype
