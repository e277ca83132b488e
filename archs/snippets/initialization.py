"""Document 002's initialisation sketch: Xavier/Glorot-uniform Linear weights "for stability" (zero biases,
N(0, 0.02) embeddings).

What Xavier initialisation is for: a signal keeps its scale through a stack of layers (Glorot & Bengio 2010:
Var(W) = 2 / (fan_in + fan_out), so for square layers each one preserves the variance). `signal_scale` pushes a
unit-RMS batch through `depth` square bias-free Linear layers (no nonlinearity, residual or norm, so the
initialisation alone sets the scale) and returns RMS(out) / RMS(in): about 1 for Xavier; torch's default
(Kaiming-uniform with a = sqrt(5), Var(W) = 1 / (3 fan_in)) shrinks it by about sqrt(3) per layer.
"""
from __future__ import annotations

import torch
from torch import nn

INITS = ("xavier_uniform", "torch_default")


def signal_scale(init: str = "xavier_uniform", depth: int = 24, width: int = 512, seed: int = 0) -> float:
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; known: {', '.join(INITS)}")
    torch.manual_seed(seed)
    x = torch.randn(256, width)
    h = x
    with torch.no_grad():
        for _ in range(depth):
            layer = nn.Linear(width, width, bias=False)            # torch's default initialisation
            if init == "xavier_uniform":
                nn.init.xavier_uniform_(layer.weight)
            h = layer(h)
    return float(h.pow(2).mean().sqrt() / x.pow(2).mean().sqrt())
