"""Dense feed-forward blocks: SwiGLU (LLaMA), GeGLU (Gemma: the gate through tanh-approximated GELU), GELU MLP
(GPT-2), ReLU (Vaswani et al.) and ReLU² (Primer, modded-nanogpt). One class, `MLP`, for every kind in FFN_KINDS;
its formulas come first."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from archs.components.component import Component

FFN_KINDS = ("swiglu", "geglu", "gelu", "relu", "relu2")
GATED = ("swiglu", "geglu")                     # three matrices: gate, up, down


def mlp_matrices(kind: str) -> int:
    return 3 if kind in GATED else 2


def mlp_params(dim: int, hidden: int, kind: str, bias: bool = False) -> int:
    n = mlp_matrices(kind) * dim * hidden
    if bias:
        n += (mlp_matrices(kind) - 1) * hidden + dim
    return n


def mlp_flops(dim: int, hidden: int, kind: str, tokens: int) -> int:
    """Matmul FLOPs of `tokens` tokens through one MLP (2 per multiply-add)."""
    return 2 * tokens * mlp_matrices(kind) * dim * hidden


def matched_hidden(dim: int, hidden_2mat: int, kind: str) -> int:
    """Inner width of `kind` with the parameters of a two-matrix MLP of width hidden_2mat."""
    return hidden_2mat * 2 // mlp_matrices(kind)


def params_formula(cfg, spec) -> int:
    return mlp_params(cfg.dim, cfg.ffn_dim, spec.ffn, cfg.bias)


def flops_formula(cfg, spec, T: int, causal: bool = True) -> int:
    return mlp_flops(cfg.dim, cfg.ffn_dim, spec.ffn, T)


class MLP(Component):
    """x -> down(act(up(x))) or, gated, x -> down(act(gate(x)) * up(x)) (SwiGLU: silu; GeGLU: tanh GELU).

    `hidden` is the inner width. The gated kinds have three matrices, so at equal hidden width it holds 1.5x the
    parameters of the two-matrix MLPs; suites compare at matched parameters by choosing `hidden`. In a
    decoder layer (`build`) the kind is the LayerSpec's ffn and the width cfg.ffn_dim."""
    kind = param_kind = "ffn"
    params_formula = staticmethod(params_formula)
    flops_formula = staticmethod(flops_formula)

    def __init__(self, dim: int, hidden: int, kind: str = "swiglu", bias: bool = False):
        super().__init__()
        if kind not in FFN_KINDS:
            raise ValueError(f"unknown ffn kind {kind!r}")
        self.activation = kind
        self.up = nn.Linear(dim, hidden, bias=bias)
        self.gate = nn.Linear(dim, hidden, bias=bias) if kind in GATED else None
        self.down = nn.Linear(hidden, dim, bias=bias)

    @classmethod
    def build(cls, cfg, spec) -> "MLP":
        return cls(cfg.dim, cfg.ffn_dim, spec.ffn, cfg.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.activation == "swiglu":
            h = F.silu(self.gate(x)) * self.up(x)
        elif self.activation == "geglu":
            h = F.gelu(self.gate(x), approximate="tanh") * self.up(x)
        elif self.activation == "gelu":
            h = F.gelu(self.up(x))
        elif self.activation == "relu":
            h = F.relu(self.up(x))
        else:
            h = F.relu(self.up(x)).square()
        return self.down(h)
