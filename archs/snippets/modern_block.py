"""Document 001's "Modern Transformer Block" (RMSNorm + GQA + RoPE + SwiGLU), built as its sketch wires it.

The sketch constructs four components (GQA attention, a RoPE module, two RMSNorms, a SwiGLU FFN) but its
forward pass is x + attention(norm1(x)), then h + ffn(norm2(h)): the RoPE module is never called, and the
attention it builds takes no position argument. `SketchBlock` reproduces that wiring from archbench's
components (attention without its own RoPE, so that positions can only come from the block's RoPE module);
`with_rope=True` applies the block's RoPE inside attention, which is what combining the four would mean.

Two measurements tell them apart:
- `components_called`: forward hooks count which of the four named components a forward pass runs.
- `prefix_order_change`: causal attention without positions sees the earlier tokens as a set, so permuting
  them leaves the last token's output unchanged (relative change at float rounding); with RoPE it changes.
"""
from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

from archs.components.attention import Attention
from archs.components.mlp import MLP
from archs.components.norms import RMSNorm
from archs.components.rope import RotaryEmbedding
from archs.config import DecoderConfig, LayerSpec, swiglu_hidden

COMPONENTS = ("attention", "rope", "norm", "ffn")


class SketchBlock(nn.Module):
    """The sketch's block at d_model=dim, n_heads, n_kv_heads; SwiGLU hidden width auto-computed (2/3·4·d)."""

    def __init__(self, dim: int = 768, n_heads: int = 12, n_kv_heads: int = 3, with_rope: bool = False):
        super().__init__()
        cfg = DecoderConfig(vocab_size=8, dim=dim, n_layers=1, n_heads=n_heads, n_kv_heads=n_kv_heads,
                            ffn_dim=swiglu_hidden(dim), position="none")
        self.attention = Attention(cfg, LayerSpec())
        self.rope = RotaryEmbedding(dim // n_heads)
        if with_rope:                                # what the text promises: RoPE applied to q and k
            self.attention = Attention(replace(cfg, position="rope"), LayerSpec())
            self.attention.rope = self.rope
        self.norm1, self.norm2 = RMSNorm(dim), RMSNorm(dim)
        self.ffn = MLP(dim, cfg.ffn_dim, "swiglu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x + self.attention(self.norm1(x))
        return h + self.ffn(self.norm2(h))


def components_called(block: SketchBlock, x: torch.Tensor) -> dict[str, int]:
    """Calls of each named component during one forward pass (the two norms count as one component)."""
    calls = dict.fromkeys(COMPONENTS, 0)
    modules = {"attention": [block.attention], "rope": [block.rope], "norm": [block.norm1, block.norm2],
               "ffn": [block.ffn]}
    handles = [m.register_forward_hook(lambda *_, name=name: calls.__setitem__(name, calls[name] + 1))
               for name, mods in modules.items() for m in mods]
    try:
        with torch.no_grad():
            block(x)
    finally:
        for h in handles:
            h.remove()
    return calls


def prefix_order_change(block: SketchBlock, T: int = 16, seed: int = 0) -> float:
    """Relative change of the last token's output when the T-1 tokens before it are put in reverse order."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, T, block.norm1.weight.numel(), generator=g)
    shuffled = torch.cat([x[:, :-1].flip(1), x[:, -1:]], dim=1)
    with torch.no_grad():
        a, b = block(x)[:, -1], block(shuffled)[:, -1]
    return float((a - b).norm() / a.norm())
