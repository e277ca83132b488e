"""Normalization layers: RMSNorm (documents 000/001 formula) and LayerNorm, chosen by name."""
from __future__ import annotations

import torch
from torch import nn


class RMSNorm(nn.Module):
    """weight * x / sqrt(mean(x²) + eps), computed in fp32 and cast back (LLaMA). No bias, no mean centring."""

    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype) * self.weight


def layer_norm(dim: int, eps: float = 1e-6) -> nn.LayerNorm:
    """torch's LayerNorm (weight and bias): the baseline RMSNorm is compared with."""
    return nn.LayerNorm(dim, eps=eps)


NORMS = {"rms": RMSNorm, "layer": layer_norm}


def build_norm(kind: str, dim: int, eps: float = 1e-6) -> nn.Module:
    return NORMS[kind](dim, eps)


def norm_params(kind: str, dim: int) -> int:
    return dim if kind == "rms" else 2 * dim
