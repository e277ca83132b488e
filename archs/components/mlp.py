"""Dense feed-forward blocks: SwiGLU (LLaMA), GELU MLP (GPT-2), ReLU (Vaswani et al.) and ReLU² (Primer,
modded-nanogpt)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

FFN_KINDS = ("swiglu", "gelu", "relu", "relu2")


class MLP(nn.Module):
    """x -> down(act(up(x))) or, for SwiGLU, x -> down(silu(gate(x)) * up(x)).

    `hidden` is the inner width. SwiGLU has three matrices, so at equal hidden width it holds 1.5x the
    parameters of the two-matrix MLPs; suites compare at matched parameters by choosing `hidden`."""

    def __init__(self, dim: int, hidden: int, kind: str = "swiglu", bias: bool = False):
        super().__init__()
        if kind not in FFN_KINDS:
            raise ValueError(f"unknown ffn kind {kind!r}")
        self.kind = kind
        self.up = nn.Linear(dim, hidden, bias=bias)
        self.gate = nn.Linear(dim, hidden, bias=bias) if kind == "swiglu" else None
        self.down = nn.Linear(hidden, dim, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "swiglu":
            h = F.silu(self.gate(x)) * self.up(x)
        elif self.kind == "gelu":
            h = F.gelu(self.up(x))
        elif self.kind == "relu":
            h = F.relu(self.up(x))
        else:
            h = F.relu(self.up(x)).square()
        return self.down(h)


def mlp_matrices(kind: str) -> int:
    return 3 if kind == "swiglu" else 2


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
