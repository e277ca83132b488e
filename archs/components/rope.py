"""Position encodings: RoPE (RoFormer; partial rotary and a start position for cached decoding),
fixed sinusoidal (Vaswani et al.) and learned absolute embeddings.

RoPE rotates queries and keys inside each mixer. The other two are added to the token embeddings: built as
`Cls.build(cfg)`, with their parameter count `params_formula(cfg)`; `archs.components.POSITIONS` names them."""
from __future__ import annotations

import math

import torch
from torch import nn


class RotaryEmbedding(nn.Module):
    """Rotates the first `rot_dim` features of each head by position-dependent angles (rotate-half layout,
    as in GPT-NeoX / HF LLaMA). Features past rot_dim pass through unchanged (partial rotary). No parameters."""

    def __init__(self, rot_dim: int, theta: float = 10000.0):
        super().__init__()
        if rot_dim % 2:
            raise ValueError(f"rot_dim must be even, got {rot_dim}")
        self.rot_dim = rot_dim
        self.register_buffer("inv_freq", theta ** (-torch.arange(0, rot_dim, 2).float() / rot_dim),
                             persistent=False)

    def angles(self, T: int, start_pos: int, device) -> tuple[torch.Tensor, torch.Tensor]:
        pos = torch.arange(start_pos, start_pos + T, device=device, dtype=torch.float32)
        freqs = torch.outer(pos, self.inv_freq.to(device))            # (T, rot/2)
        emb = torch.cat([freqs, freqs], dim=-1)                       # (T, rot)
        return emb.cos(), emb.sin()

    def forward(self, x: torch.Tensor, start_pos: int = 0) -> torch.Tensor:
        """x: [B, H, T, K] -> same shape, positions start_pos .. start_pos+T-1."""
        T = x.shape[-2]
        cos, sin = self.angles(T, start_pos, x.device)
        x_rot, x_pass = x[..., : self.rot_dim].float(), x[..., self.rot_dim:]
        half = self.rot_dim // 2
        rotated = torch.cat([-x_rot[..., half:], x_rot[..., :half]], dim=-1)
        out = (x_rot * cos + rotated * sin).to(x.dtype)
        return torch.cat([out, x_pass], dim=-1) if x_pass.shape[-1] else out


def sinusoidal_table(T: int, dim: int, start_pos: int = 0) -> torch.Tensor:
    """The fixed table of 'Attention is all you need': sin on even features, cos on odd, [T, dim]."""
    pos = torch.arange(start_pos, start_pos + T, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(T, dim)
    table[:, 0::2] = torch.sin(pos * div)
    table[:, 1::2] = torch.cos(pos * div)[:, : dim // 2]
    return table


class SinusoidalPositions(nn.Module):
    """Adds the sinusoidal table to token embeddings, which are first scaled by √dim as in Vaswani et al.
    §3.4: without it the unit-amplitude table swamps small-initialised embeddings and the comparison with
    RoPE measures an initialisation accident. No parameters; works at any length."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    @classmethod
    def build(cls, cfg) -> "SinusoidalPositions":
        return cls(cfg.dim)

    @staticmethod
    def params_formula(cfg) -> int:
        return 0

    def forward(self, x: torch.Tensor, start_pos: int = 0) -> torch.Tensor:
        table = sinusoidal_table(x.shape[1], self.dim, start_pos).to(x.device, x.dtype)
        return x * self.dim ** 0.5 + table


class LearnedPositions(nn.Module):
    """Adds a learned embedding per absolute position (GPT-2). Positions past max_seq_len are an error:
    a learned table cannot extrapolate, which is what the positions suite shows."""
    param_kind = "positions"

    def __init__(self, dim: int, max_seq_len: int):
        super().__init__()
        self.table = nn.Embedding(max_seq_len, dim)

    @classmethod
    def build(cls, cfg) -> "LearnedPositions":
        return cls(cfg.dim, cfg.max_seq_len)

    @staticmethod
    def params_formula(cfg) -> int:
        return cfg.max_seq_len * cfg.dim

    def forward(self, x: torch.Tensor, start_pos: int = 0) -> torch.Tensor:
        T = x.shape[1]
        if start_pos + T > self.table.num_embeddings:
            raise ValueError(f"position {start_pos + T - 1} is past the learned table "
                             f"({self.table.num_embeddings} positions)")
        return x + self.table(torch.arange(start_pos, start_pos + T, device=x.device))

