"""Mixture-of-experts FFN: a top-k router, routed experts, optional always-on shared experts (DeepSeekMoE),
and the Switch Transformer load-balance loss.

Routing weights (`Router`):
  softmax  p = softmax(logits) over all E experts; the top-k probabilities are renormalised to sum to 1
           (Mixtral; identical to a softmax over the k selected logits).
  sigmoid  s = sigmoid(logits) (DeepSeek-V3 §2.1.2): experts are chosen by s and the k selected scores are
           normalised to sum to 1. V3's route scale and group-limited routing are not modelled.
  With `router_bias` a per-expert bias b is added to the scores to choose the experts (top-k of s + b), not to
  weight them (DeepSeek-V3's auxiliary-loss-free balancing; b is adjusted outside the gradient, so it is a
  parameter with requires_grad=False). With `shared_gate` the shared experts' output is scaled by
  sigmoid(w·x), one weight vector per layer (Qwen2-MoE, Qwen3-Next).
Dispatch is dropless (no capacity factor): token-slots are sorted by expert and each expert runs once on
the contiguous group of tokens it received.

Parameter kinds: the router, the shared experts and the routed experts each declare their own (moe_router,
moe_shared, moe_experts); the routed experts also declare that a token uses top_k / n_experts of them.
"""
from __future__ import annotations

from fractions import Fraction

import torch
from torch import nn

from archs.components.component import Component, with_param_kind
from archs.components.mlp import MLP, mlp_flops, mlp_params
from harness.errors import ConfigError


# ---- formulas (2 FLOPs per multiply-add, matmuls only; see archs/components/__init__.py)

def _shared_dim(m) -> int:
    return m.shared_dim if m.shared_dim is not None else m.expert_dim


def _shared_hidden(m) -> int:
    return m.n_shared * _shared_dim(m)


def params_by_kind(cfg, spec=None) -> dict[str, int]:
    """The router (and its selection bias), every routed expert and the shared experts (and their gate), as the
    counters file them."""
    m = cfg.moe
    shared = mlp_params(cfg.dim, _shared_hidden(m), m.expert_ffn, cfg.bias) + (cfg.dim if m.shared_gate else 0)
    return {"moe_router": cfg.dim * m.n_experts + (m.n_experts if m.router_bias else 0),
            "moe_experts": m.n_experts * mlp_params(cfg.dim, m.expert_dim, m.expert_ffn, cfg.bias),
            "moe_shared": shared if m.n_shared else 0}


def params_formula(cfg, spec=None) -> int:
    """Total: router + every routed expert + the shared experts."""
    return sum(params_by_kind(cfg, spec).values())


def active_fraction(cfg) -> Fraction:
    """The share of the routed experts' parameters one token uses: top_k / n_experts (exact)."""
    return Fraction(cfg.moe.top_k, cfg.moe.n_experts)


def params_at_fraction(cfg, spec=None) -> dict[Fraction, int]:
    return {active_fraction(cfg): params_by_kind(cfg, spec)["moe_experts"]}


def active_params_formula(cfg, spec=None) -> int:
    """Parameters one token touches: router + top_k routed experts + the shared experts (and their gates)."""
    m, parts = cfg.moe, params_by_kind(cfg, spec)
    one_expert = mlp_params(cfg.dim, m.expert_dim, m.expert_ffn, cfg.bias)
    return parts["moe_router"] + m.top_k * one_expert + parts["moe_shared"]


def flops_formula(cfg, spec, T: int, causal: bool = True) -> int:
    """T · (router + top_k routed experts + shared experts and their gate). Dropless routing: every token runs
    exactly top_k experts, so the count does not depend on how balanced the routing is."""
    m = cfg.moe
    gate = 2 * cfg.dim if m.n_shared and m.shared_gate else 0
    per_token = 2 * cfg.dim * m.n_experts + gate + mlp_flops(cfg.dim, m.top_k * m.expert_dim + _shared_hidden(m),
                                                             m.expert_ffn, 1)
    return T * per_token


class Router(nn.Module):
    """x [N, D] -> (weights [N, k], experts [N, k] long, probs [N, E]): probs are the per-expert
    probabilities the load-balance loss averages (for sigmoid, the scores normalised over all E experts,
    as in DeepSeek-V3's sequence-wise balance loss, eq. 18)."""
    param_kind = "moe_router"

    def __init__(self, dim: int, n_experts: int, top_k: int, kind: str, selection_bias: bool = False):
        super().__init__()
        self.top_k, self.kind = top_k, kind
        self.gate = nn.Linear(dim, n_experts, bias=False)
        self.selection_bias = (nn.Parameter(torch.zeros(n_experts), requires_grad=False) if selection_bias
                               else None)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        logits = self.gate(x).float()                                     # [N, E], fp32 for stable routing
        scores = logits.softmax(-1) if self.kind == "softmax" else logits.sigmoid()
        if self.selection_bias is None:
            top, experts = scores.topk(self.top_k, dim=-1)                # [N, k]
        else:                                                             # the bias chooses, the scores weight
            experts = (scores + self.selection_bias.float()).topk(self.top_k, dim=-1).indices
            top = scores.gather(-1, experts)
        weights = top / top.sum(-1, keepdim=True)
        probs = scores if self.kind == "softmax" else scores / scores.sum(-1, keepdim=True)
        return weights, experts, probs


def load_balance_loss(probs: torch.Tensor, experts: torch.Tensor, n_experts: int) -> torch.Tensor:
    """Switch Transformer eq. 4, generalised to top-k: E · Σ_i f_i · P_i with f_i the fraction of the N·k
    token-slots sent to expert i and P_i the mean router probability of expert i. 1.0 at perfect balance,
    E at total collapse. Gradient flows through P only (f is a count)."""
    counts = torch.bincount(experts.reshape(-1), minlength=n_experts)
    f = counts.float() / experts.numel()                                  # [E], sums to 1
    return n_experts * (f * probs.mean(0)).sum()


class MoE(Component):
    """Router, routed experts and optional shared experts: forward(x [B, T, D]) -> [B, T, D]."""
    kind = "moe"
    param_kind = None                             # its router, shared and routed experts declare their own
    params_formula = staticmethod(params_formula)
    flops_formula = staticmethod(flops_formula)
    params_by_kind = staticmethod(params_by_kind)
    params_at_fraction = staticmethod(params_at_fraction)

    def __init__(self, cfg, spec=None):
        super().__init__()
        m = cfg.moe
        self.n_experts, self.top_k = m.n_experts, m.top_k
        self.router = Router(cfg.dim, m.n_experts, m.top_k, m.router, m.router_bias)
        self.experts = with_param_kind(nn.ModuleList(MLP(cfg.dim, m.expert_dim, m.expert_ffn, cfg.bias)
                                                     for _ in range(m.n_experts)), "moe_experts")
        self.experts.active_fraction = active_fraction(cfg)
        # n_shared experts of width shared_dim are one MLP of width n_shared·shared_dim: the sum of their
        # outputs is exactly that wider MLP's output (DeepSeekMoE §3.2 isolates them the same way)
        self.shared = (with_param_kind(MLP(cfg.dim, m.n_shared * _shared_dim(m), m.expert_ffn, cfg.bias),
                                       "moe_shared") if m.n_shared else None)
        self.shared_gate = (with_param_kind(nn.Linear(cfg.dim, 1, bias=False), "moe_shared")
                            if m.n_shared and m.shared_gate else None)
        self.aux_loss = torch.zeros(())
        self.last_counts = torch.zeros(m.n_experts, dtype=torch.long)

    @classmethod
    def check_config(cls, cfg) -> None:
        if cfg.moe is None:
            raise ConfigError("DecoderConfig.moe is required: the pattern uses moe")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, T, D] -> [B, T, D]. Leaves the unweighted balance loss in self.aux_loss (the trainer
        multiplies by cfg.moe.aux_loss_coef) and tokens per expert in self.last_counts."""
        shape = x.shape
        x = x.reshape(-1, shape[-1])                                      # [N, D]
        weights, experts, probs = self.router(x)                          # [N, k], [N, k], [N, E]
        if x.is_meta:                      # routing is data the meta device does not have: count FLOPs
            return self._balanced_on_meta(x).reshape(shape)
        self.aux_loss = load_balance_loss(probs, experts, self.n_experts)

        flat = experts.reshape(-1)                                        # [N·k] expert of each token-slot
        order = flat.argsort(stable=True)                                 # slots grouped by expert
        token_of_slot = order // self.top_k                               # [N·k] the token each slot came from
        slot_weight = weights.reshape(-1)[order].to(x.dtype)              # [N·k]
        counts = torch.bincount(flat, minlength=self.n_experts)
        self.last_counts = counts.detach()

        out = torch.zeros_like(x)
        start = 0
        for e, n in enumerate(counts.tolist()):                           # one batched call per expert
            if n == 0:
                continue
            tokens = token_of_slot[start:start + n]
            y = self.experts[e](x[tokens]) * slot_weight[start:start + n, None]
            out.index_add_(0, tokens, y)
            start += n
        return (out + self._shared(x)).reshape(shape)

    def _balanced_on_meta(self, x: torch.Tensor) -> torch.Tensor:
        """Meta-device stand-in for dispatch (FLOP counting of full-size models): the N·k token-slots are
        spread evenly over the experts, the routing a perfectly balanced router would produce."""
        slots, E = x.shape[0] * self.top_k, self.n_experts
        for e, expert in enumerate(self.experts):
            n = slots // E + (1 if e < slots % E else 0)
            if n:
                expert(x.new_empty(n, x.shape[-1]))
        return torch.zeros_like(x) + self._shared(x)

    def _shared(self, x: torch.Tensor) -> torch.Tensor | float:
        """The shared experts' output, scaled by its gate where there is one (0 without shared experts)."""
        if self.shared is None:
            return 0.0
        y = self.shared(x)
        return y * self.shared_gate(x).sigmoid() if self.shared_gate is not None else y
