"""Multi-token prediction head (DeepSeek-V3 §2.2): predicts one more token ahead from the trunk's hidden state
and the embedding of the next token.

    h' = W_proj [ norm(h_t) ; norm(e_{t+1}) ]        (2D -> D, no bias; V3 eq. 21)
    h' = Block(h')                                   (optional: V3 puts one full decoder layer here)
    out = norm(h')

The caller owns the embedding, the output head (V3 shares both between the trunk and every MTP module) and
the optional block: it passes the block in, passes e (the embedding of token t+1 at position t) and applies the
shared head to the returned hidden.
Everything here is per position except the optional block, which is causal, so the head is causal.
"""
from __future__ import annotations

import torch
from torch import nn

from archs.components import build_norm, norm_params


class MTPHead(nn.Module):
    """forward(h [B, T, D], e [B, T, D]) -> hidden [B, T, D] for the shared output head.

    `block` is the optional decoder layer inside the head: any causal module x [B, T, D] -> [B, T, D] (the
    decoder passes its own Block), called with doc_ids when they are given. The counters file everything the
    head holds, its block included, under "mtp"."""
    param_kind = "mtp"

    def __init__(self, cfg, block: nn.Module | None = None):
        super().__init__()
        self.norm_h = build_norm(cfg.norm, cfg.dim, cfg.norm_eps)
        self.norm_e = build_norm(cfg.norm, cfg.dim, cfg.norm_eps)
        self.proj = nn.Linear(2 * cfg.dim, cfg.dim, bias=False)
        self.block = block
        self.norm_out = build_norm(cfg.norm, cfg.dim, cfg.norm_eps)

    def forward(self, h: torch.Tensor, e: torch.Tensor, doc_ids: torch.Tensor | None = None) -> torch.Tensor:
        """doc_ids [B, T] (packed documents) reach the block's mixer, so it does not attend across documents."""
        # both inputs are normalised first: trunk states and embeddings live at very different scales
        x = self.proj(torch.cat([self.norm_h(h), self.norm_e(e)], dim=-1))    # [B, T, 2D] -> [B, T, D]
        if self.block is not None:
            x = self.block(x) if doc_ids is None else self.block(x, doc_ids=doc_ids)
        return self.norm_out(x)


# ---- formulas (2 FLOPs per multiply-add, matmuls only; the block's own formulas are the caller's)

def params_formula(cfg, with_block_params: int = 0) -> int:
    """Three norms + the 2D -> D projection + whatever the optional block holds (pass its count)."""
    return 3 * norm_params(cfg.norm, cfg.dim) + 2 * cfg.dim * cfg.dim + with_block_params


def flops_formula(cfg, T: int, with_block_flops: int = 0) -> int:
    """The projection for T tokens + the optional block's FLOPs (pass them). The shared output head is the
    caller's, and is not counted here."""
    return 2 * T * 2 * cfg.dim * cfg.dim + with_block_flops
