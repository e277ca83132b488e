"""Decode-time gated delta rule: advances a fixed-size [B, H, K, V] state by one or a few tokens.

Same per-token update as the reference (naive.py), without its whole-sequence framing: the state comes in and
goes out, so a layer can keep it in its cache between calls. Cost per token is O(H·K·V), independent of how
many tokens came before — the point of a linear-attention mixer at decode time.
"""
from __future__ import annotations

import torch

from archs.ops.gated_delta.naive import gated_delta_scan


def recurrent_gated_delta_step(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, g: torch.Tensor,
                               beta: torch.Tensor, state: torch.Tensor | None, scale: float | None = None
                               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Consumes T (small) new tokens starting from `state`.

    q, k: [B, T, H, K]; v: [B, T, H, V]; g, beta: [B, T, H]; state: [B, H, K, V] (None -> zeros).
    Returns (o: [B, T, H, V] in v's dtype, new state [B, H, K, V] fp32). The input state is not modified.
    """
    B, T, H, K = q.shape
    V = v.shape[-1]
    scale = K ** -0.5 if scale is None else scale
    state = q.new_zeros(B, H, K, V, dtype=torch.float32) if state is None else state
    o, state = gated_delta_scan(state, q, k, v, g, beta, scale)
    return o.to(v.dtype), state
