"""The normalisation and activation formulas documents 000 and 001 write out, next to the published definitions.

- RMSNorm (000 and 001): weight · x / sqrt(mean(x²) + eps), `doc_rmsnorm`; the published definition (Zhang &
  Sennrich 2019) is torch's `F.rms_norm`.
- SwiGLU (001): (x·W_gate + b_gate) ⊗ Swish(x·W_up + b_up), `doc_swiglu`; the diagram under it also puts the
  Swish on the "up" branch. Shazeer (2020) writes Swish(xW) ⊗ xV, and LLaMA's code puts the SiLU on the branch
  it calls "gate". The names are swapped, the function is the same: `swiglu_error` maps the document's weights
  onto archbench's LLaMA-style `MLP` and measures the difference.
- RoPE (001): R_Θ,m is "a rotation matrix", so rotating must keep every vector's length (`rope_norm_change`).
Errors are relative Frobenius norms computed in float64 on random N(0, 1) inputs.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from archs.components.mlp import MLP
from archs.components.rope import RotaryEmbedding


def relative_error(got: torch.Tensor, want: torch.Tensor) -> float:
    return float((got - want).norm() / want.norm())


def doc_rmsnorm(x: torch.Tensor, weight: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Documents 000/001: weight * (x / sqrt(mean(x²) + eps)) over the last dimension."""
    return weight * (x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rmsnorm_error(dim: int = 768, eps: float = 1e-6, seed: int = 0) -> float:
    """Relative difference between the documents' formula and torch's RMSNorm (the published definition)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(4, 16, dim, generator=g, dtype=torch.float64)
    weight = 1 + 0.1 * torch.randn(dim, generator=g, dtype=torch.float64)
    return relative_error(doc_rmsnorm(x, weight, eps), F.rms_norm(x, (dim,), weight, eps))


def doc_swiglu(x: torch.Tensor, w_gate: torch.Tensor, b_gate: torch.Tensor, w_up: torch.Tensor,
               b_up: torch.Tensor) -> torch.Tensor:
    """Document 001's formula: (x W_gate + b_gate) ⊗ Swish(x W_up + b_up), weights as [in, out] matrices."""
    return (x @ w_gate + b_gate) * F.silu(x @ w_up + b_up)


def swiglu_error(dim: int = 96, hidden: int = 256, seed: int = 0) -> float:
    """Relative difference between the document's SwiGLU block (its formula, then Linear_down as in its diagram)
    and archbench's LLaMA-style MLP with the same weights: the document's W_up is the MLP's `gate` (the branch
    that goes through the SiLU), its W_gate the MLP's `up`. Biases are zero, as in the MLP."""
    torch.manual_seed(seed)
    mlp = MLP(dim, hidden, "swiglu").double()
    x = torch.randn(4, 16, dim, dtype=torch.float64)
    zeros = torch.zeros(hidden, dtype=torch.float64)
    with torch.no_grad():
        doc = doc_swiglu(x, mlp.up.weight.T, zeros, mlp.gate.weight.T, zeros) @ mlp.down.weight.T
        return relative_error(doc, mlp(x))


def rope_norm_change(head_dim: int = 64, positions: int = 2048, seed: int = 0) -> float:
    """Largest relative change of a vector's length under RoPE over positions 0..positions-1 (0 for a rotation)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1, 1, positions, head_dim, generator=g)
    rotated = RotaryEmbedding(head_dim)(x)
    return float(((rotated.norm(dim=-1) - x.norm(dim=-1)).abs() / x.norm(dim=-1)).max())
