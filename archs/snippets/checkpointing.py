"""Document 002's gradient-checkpointing sketch ("trade compute for memory: recompute activations during backward").

`SketchLayer` is the sketch's pre-norm layer (x + attention(norm1(x)), then + ffn(norm2(x))) built from
archbench's components; in training mode with `gradient_checkpointing` its forward runs through
`torch.utils.checkpoint`, as the sketch does. `measure` runs one forward and backward and returns:
- `saved_bytes`: bytes of the activations autograd keeps for backward, counted with saved-tensor hooks
  (parameters excluded, each storage once); with checkpointing only the layer's input is kept.
- `forward_calls`: how often the layer body ran; 2 with checkpointing (the recompute is the compute traded).
- `grad_error`: relative difference of the input and parameter gradients from the plain layer's (same weights).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from archs.components.attention import Attention
from archs.components.mlp import MLP
from archs.components.norms import RMSNorm
from archs.config import DecoderConfig, LayerSpec


class SketchLayer(nn.Module):
    def __init__(self, dim: int = 128, n_heads: int = 4, gradient_checkpointing: bool = False):
        super().__init__()
        cfg = DecoderConfig(vocab_size=8, dim=dim, n_layers=1, n_heads=n_heads, ffn_dim=4 * dim)
        self.attention, self.ffn = Attention(cfg, LayerSpec()), MLP(dim, 4 * dim, "swiglu")
        self.norm1, self.norm2 = RMSNorm(dim), RMSNorm(dim)
        self.gradient_checkpointing = gradient_checkpointing
        self.body_calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.gradient_checkpointing:
            return checkpoint(self._forward, x, use_reentrant=False)
        return self._forward(x)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        self.body_calls += 1
        x = x + self.attention(self.norm1(x))
        return x + self.ffn(self.norm2(x))


@dataclass(frozen=True)
class Measurement:
    saved_bytes: int
    forward_calls: int
    grads: tuple[torch.Tensor, ...]        # input gradient, then each parameter's


def measure(layer: SketchLayer, x: torch.Tensor) -> Measurement:
    """One training step's forward and backward through `layer` (train mode) on a copy of `x`."""
    params = {p.untyped_storage().data_ptr() for p in layer.parameters()}
    saved: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in params:
            saved[storage.data_ptr()] = storage.nbytes()
        return t

    layer.train()
    layer.body_calls = 0
    x = x.detach().clone().requires_grad_(True)
    layer.zero_grad(set_to_none=True)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = layer(x)
    out.square().mean().backward()
    grads = (x.grad,) + tuple(p.grad for p in layer.parameters())
    return Measurement(sum(saved.values()), layer.body_calls, grads)


def compare(dim: int = 128, n_heads: int = 4, T: int = 256, seed: int = 0) -> tuple[Measurement, Measurement, float]:
    """(plain, checkpointed, relative gradient difference) for one layer with the same weights and input."""
    torch.manual_seed(seed)
    layer = SketchLayer(dim, n_heads)
    x = torch.randn(2, T, dim)
    plain = measure(layer, x)
    layer.gradient_checkpointing = True
    ckpt = measure(layer, x)
    diff = torch.cat([(a - b).flatten() for a, b in zip(plain.grads, ckpt.grads)]).norm()
    ref = torch.cat([a.flatten() for a in plain.grads]).norm()
    return plain, ckpt, float(diff / ref)
