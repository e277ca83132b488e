"""Multi-token prediction head (DeepSeek-V3 §2.2): predicts one more token ahead from the trunk's hidden state
and the embedding of the next token.

    h' = W_proj [ norm(h_t) ; norm(e_{t+1}) ]        (2D -> D, no bias; V3 eq. 21)
    h' = Block(h')                                   (optional: V3 puts one full decoder layer here)
    out = norm(h')

The caller owns the embedding and the output head, which V3 shares between the trunk and every MTP module:
it passes e (the embedding of token t+1 at position t) and applies the shared head to the returned hidden.
Everything here is per position except the optional block, which is causal, so the head is causal.
"""
from __future__ import annotations

import torch
from torch import nn

from archs.components.norms import build_norm, norm_params


def _default_block(cfg, spec) -> nn.Module:
    """The decoder's own layer (archs.decoder.Block), imported late: the decoder imports this module."""
    try:
        from archs.decoder import Block
    except ImportError as err:
        raise ImportError("MTPHead(with_block=True) needs archs.decoder.Block, or pass block=...") from err
    return Block(cfg, spec if spec is not None else cfg.layers[-1])


class MTPHead(nn.Module):
    """forward(h [B, T, D], e [B, T, D]) -> hidden [B, T, D] for the shared output head.

    The optional decoder layer is `block` if given (any causal module x [B, T, D] -> [B, T, D], e.g. the
    decoder's own Block), else, with with_block=True, archs.decoder.Block(cfg, spec) with spec defaulting to
    the last trunk layer's LayerSpec. with_block=None means "a block if one is given"."""

    def __init__(self, cfg, with_block: bool | None = None, block: nn.Module | None = None, spec=None):
        super().__init__()
        if with_block is None:
            with_block = block is not None
        if block is not None and not with_block:
            raise ValueError("MTPHead: a block was given but with_block=False")
        self.norm_h = build_norm(cfg.norm, cfg.dim, cfg.norm_eps)
        self.norm_e = build_norm(cfg.norm, cfg.dim, cfg.norm_eps)
        self.proj = nn.Linear(2 * cfg.dim, cfg.dim, bias=False)
        self.block = (block if block is not None else _default_block(cfg, spec)) if with_block else None
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
