"""Normalization layers: RMSNorm (documents 000/001 formula) and LayerNorm. Both are built as `Cls(dim, eps)`
and state their parameter count as `params_formula(dim)`; `archs.components.NORMS` names them.
`CompositeLayerNorm` is LayerNorm written as RMSNorm is (eager elementwise ops in fp32): the equal-effort
counterpart a speed comparison of the two ideas needs (torch's LayerNorm is one fused kernel)."""
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


class CompositeLayerNorm(LayerNorm):
    """LayerNorm as eager ops, in the style of RMSNorm above: centre, scale by rsqrt(var + eps) in fp32, cast
    back, affine. Same parameters and outputs as torch's LayerNorm, at the implementation effort of RMSNorm."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        centred = xf - xf.mean(-1, keepdim=True)
        return (centred * torch.rsqrt(centred.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype) * self.weight \
            + self.bias
