"""Tests of the mixture-of-experts FFN: grouped dispatch against a dense reference, router weights, the
load-balance loss by hand, and exact parameter / FLOP formulas."""
from __future__ import annotations

import math

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from archs.components import moe as moe_mod
from archs.components.moe import MoE
from archs.config import DecoderConfig, LayerSpec, MoEConfig
from harness.errors import ConfigError

# fp32: the grouped path and the dense reference add the same k weighted expert outputs in a different order
ATOL, RTOL = 1e-6, 1e-5


def make_cfg(dim: int = 16, bias: bool = False, **moe_kw) -> DecoderConfig:
    moe = MoEConfig(**{"n_experts": 6, "top_k": 2, "expert_dim": 12, **moe_kw})
    return DecoderConfig(vocab_size=64, dim=dim, n_layers=1, n_heads=2, ffn_dim=32, bias=bias,
                         pattern=(LayerSpec(ffn="moe"),), moe=moe)


def make_moe(seed: int = 0, **kw) -> MoE:
    torch.manual_seed(seed)
    cfg = make_cfg(**kw)
    return MoE(cfg, cfg.pattern[0])


def dense_reference_moe(moe: MoE, x: torch.Tensor) -> torch.Tensor:
    """Every expert on every token, masked by the router's top-k weights: Σ_e w[n, e] · expert_e(x_n)."""
    flat = x.reshape(-1, x.shape[-1])
    weights, experts, _ = moe.router(flat)
    dense_w = torch.zeros(flat.shape[0], len(moe.experts)).scatter(1, experts, weights)     # [N, E]
    outs = torch.stack([expert(flat) for expert in moe.experts], dim=1)                      # [N, E, D]
    y = (dense_w[:, :, None] * outs).sum(1)
    if moe.shared is not None:
        y = y + moe.shared(flat)
    return y.reshape(x.shape)


@pytest.mark.parametrize("expert_ffn", ["swiglu", "gelu", "relu2"])
@pytest.mark.parametrize("n_shared", [0, 2])
@pytest.mark.parametrize("router", ["softmax", "sigmoid"])
def test_grouped_dispatch_equals_dense_reference(router, n_shared, expert_ffn):
    moe = make_moe(router=router, n_shared=n_shared, shared_dim=8 if n_shared else None, expert_ffn=expert_ffn)
    x = torch.randn(3, 7, 16)
    with torch.no_grad():
        torch.testing.assert_close(moe(x), dense_reference_moe(moe, x), atol=ATOL, rtol=RTOL)


def test_softmax_weights_are_the_renormalised_top_k_probabilities():
    moe = make_moe(router="softmax", top_k=3)
    x = torch.randn(20, 16)
    with torch.no_grad():
        weights, experts, _ = moe.router(x)
        picked_logits = moe.router.gate(x).gather(1, experts)
    # renormalised top-k softmax probabilities == a softmax over the k picked logits (the partition cancels)
    torch.testing.assert_close(weights, picked_logits.softmax(-1), atol=1e-6, rtol=1e-5)


def test_sigmoid_weights_are_the_picked_scores_normalised_to_one():
    moe = make_moe(router="sigmoid", top_k=3)
    x = torch.randn(20, 16)
    with torch.no_grad():
        weights, experts, _ = moe.router(x)
        scores = moe.router.gate(x).sigmoid()
    picked = scores.gather(1, experts)
    assert torch.equal(picked, scores.topk(3, dim=-1).values)            # chosen by the sigmoid score
    torch.testing.assert_close(weights, picked / picked.sum(-1, keepdim=True), atol=1e-6, rtol=1e-5)


def test_top_k_above_n_experts_raises_config_error():
    with pytest.raises(ConfigError, match="top_k"):
        MoEConfig(n_experts=4, top_k=5, expert_dim=8)


@pytest.mark.parametrize("gated", [False, True], ids=["", "shared-gate-router-bias"])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("n_shared", [0, 2])
def test_params_formula_equals_module_count(n_shared, bias, gated):
    cfg = make_cfg(bias=bias, n_shared=n_shared, shared_dim=8 if n_shared else None, shared_gate=gated,
                   router_bias=gated)
    moe = MoE(cfg, cfg.pattern[0])
    assert moe_mod.params_formula(cfg, cfg.pattern[0]) == sum(p.numel() for p in moe.parameters())


@pytest.mark.parametrize("n_shared", [0, 2])
def test_active_params_formula_counts_router_shared_and_top_k_experts(n_shared):
    cfg = make_cfg(n_shared=n_shared)
    moe = MoE(cfg, cfg.pattern[0])
    count = lambda mod: sum(p.numel() for p in mod.parameters()) if mod is not None else 0   # noqa: E731
    by_hand = count(moe.router) + cfg.moe.top_k * count(moe.experts[0]) + count(moe.shared)
    assert moe_mod.active_params_formula(cfg, cfg.pattern[0]) == by_hand


@pytest.mark.parametrize("shared_gate", [False, True])
@pytest.mark.parametrize("expert_ffn", ["swiglu", "gelu"])
@pytest.mark.parametrize("n_shared", [0, 1])
def test_flops_formula_matches_torch_counter(n_shared, expert_ffn, shared_gate):
    cfg = make_cfg(n_shared=n_shared, expert_ffn=expert_ffn, shared_gate=shared_gate)
    moe = MoE(cfg, cfg.pattern[0])
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        moe(torch.randn(2, 9, 16))
    assert counter.get_total_flops() == pytest.approx(moe_mod.flops_formula(cfg, cfg.pattern[0], 18), rel=0.01)


def fixed_router(moe: MoE) -> None:
    """gate = identity on the first E features: token logits are its first E inputs."""
    with torch.no_grad():
        moe.router.gate.weight.copy_(torch.eye(moe.n_experts, 16))


def test_aux_loss_equals_hand_computation_softmax_top1():
    moe = make_moe(n_experts=4, top_k=1, router="softmax")
    fixed_router(moe)
    x = torch.zeros(4, 16)
    for n, e in enumerate([0, 1, 0, 3]):
        x[n, e] = 2.0                                  # token n prefers expert e with logit 2, others 0
    moe(x)
    hot, cold = math.exp(2) / (math.exp(2) + 3), 1 / (math.exp(2) + 3)
    f = [2 / 4, 1 / 4, 0, 1 / 4]                       # fraction of tokens per expert
    P = [(2 * hot + 2 * cold) / 4, (hot + 3 * cold) / 4, 4 * cold / 4, (hot + 3 * cold) / 4]
    assert moe.aux_loss.item() == pytest.approx(4 * sum(fi * pi for fi, pi in zip(f, P)), rel=1e-6)
    assert moe.last_counts.tolist() == [2, 1, 0, 1]


def test_aux_loss_equals_hand_computation_sigmoid_top2():
    moe = make_moe(n_experts=3, top_k=2, router="sigmoid")
    fixed_router(moe)
    x = torch.zeros(2, 16)
    x[0, :3] = torch.tensor([1.0, 0.0, -1.0])          # picks experts 0, 1
    x[1, :3] = torch.tensor([-1.0, 1.0, 0.0])          # picks experts 1, 2
    moe(x)
    s = lambda z: 1 / (1 + math.exp(-z))                                                     # noqa: E731
    row0, row1 = [s(1), s(0), s(-1)], [s(-1), s(1), s(0)]
    p0, p1 = [v / sum(row0) for v in row0], [v / sum(row1) for v in row1]  # scores normalised over E
    f = [1 / 4, 2 / 4, 1 / 4]                          # 4 token-slots: expert 1 got two
    P = [(a + b) / 2 for a, b in zip(p0, p1)]
    assert moe.aux_loss.item() == pytest.approx(3 * sum(fi * pi for fi, pi in zip(f, P)), rel=1e-6)
    assert moe.last_counts.tolist() == [1, 2, 1]


def test_aux_loss_is_recomputed_every_forward():
    moe = make_moe()
    moe(torch.randn(4, 16))
    first = moe.aux_loss
    moe(torch.randn(4, 16) * 10)
    assert moe.aux_loss is not first and moe.aux_loss.dim() == 0


def test_router_gets_gradient_from_output_and_aux_loss():
    moe = make_moe()
    out = moe(torch.randn(2, 5, 16))
    (grad_out,) = torch.autograd.grad(out.sum(), moe.router.gate.weight, retain_graph=True)
    (grad_aux,) = torch.autograd.grad(moe.aux_loss, moe.router.gate.weight)
    assert grad_out.abs().sum() > 0 and grad_aux.abs().sum() > 0


def test_last_counts_sum_to_tokens_times_top_k():
    moe = make_moe(top_k=2)
    moe(torch.randn(3, 5, 16))
    assert int(moe.last_counts.sum()) == 3 * 5 * 2


def test_router_bias_chooses_the_experts_but_does_not_weight_them():
    moe = make_moe(router="sigmoid", router_bias=True)
    fixed_router(moe)
    x = torch.zeros(1, 16)
    x[0, :6] = torch.tensor([3.0, 2.0, 1.0, 0.0, -1.0, -2.0])           # scores fall with the expert index
    with torch.no_grad():
        moe.router.selection_bias.copy_(torch.tensor([0.0, 0.0, 0.0, 0.0, 5.0, 5.0]))
        weights, experts, _ = moe.router(x)
    assert sorted(experts[0].tolist()) == [4, 5]                        # the bias picks the last two
    scores = x[0, 4:6].sigmoid()
    torch.testing.assert_close(weights[0].sort().values, (scores / scores.sum()).sort().values)
    assert not moe.router.selection_bias.requires_grad


def test_shared_gate_scales_the_shared_experts_output():
    moe = make_moe(n_shared=1, shared_gate=True)
    x = torch.randn(1, 3, 16)
    with torch.no_grad():
        gated = moe(x)
        moe.shared_gate.weight.fill_(-1e4 / 16)
        closed = moe(x * 0 + x.abs())                 # positive inputs: gate sigmoid(-large) = 0
        moe.shared_gate.weight.zero_()                # gate = 1/2
        half = moe(x)
        moe.shared_gate = None
        ungated = moe(x)
    routed = ungated - moe.shared(x)
    torch.testing.assert_close(half, routed + moe.shared(x) / 2)
    assert not torch.allclose(gated, ungated)
    torch.testing.assert_close(closed, moe(x.abs()) - moe.shared(x.abs()), atol=1e-5, rtol=1e-4)
