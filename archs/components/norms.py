"""Normalization layers: RMSNorm (documents 000/001 formula) and LayerNorm. Both are built as `Cls(dim, eps)`
and state their parameter count as `params_formula(dim)`; `archs.components.NORMS` names them."""
from __future__ import annotations

import torch
from torch import nn


class RMSNorm(nn.Module):
    """weight * x / sqrt(mean(x²) + eps), computed in fp32 and cast back (LLaMA). No bias, no mean centring."""
    param_kind = "norm"

    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype) * self.weight

    @staticmethod
    def params_formula(dim: int) -> int:
        return dim


class LayerNorm(nn.LayerNorm):
    """torch's LayerNorm (weight and bias): the baseline RMSNorm is compared with."""
    param_kind = "norm"

    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__(dim, eps=eps)

    @staticmethod
    def params_formula(dim: int) -> int:
        return 2 * dim
