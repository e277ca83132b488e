"""Decode caches: the state a mixer keeps between incremental forward calls, and their exact byte size."""
from __future__ import annotations

from dataclasses import dataclass, fields

import torch


@dataclass
class Cache:
    """Base for every mixer's decode state. `pos` counts tokens already consumed. `nbytes()` sums the bytes of
    every tensor field, so the measured cache size is exactly what is stored."""
    pos: int = 0

    def tensors(self) -> list[torch.Tensor]:
        return [v for f in fields(self) if isinstance(v := getattr(self, f.name), torch.Tensor)]

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.tensors())


@dataclass
class KVCache(Cache):
    """Softmax attention: keys and values of every past token, [B, H_kv, T, K]. With `window`, only the
    last `window` tokens are kept (sliding-window attention), so memory is bounded by the window."""
    k: torch.Tensor | None = None
    v: torch.Tensor | None = None
    window: int | None = None

    def append(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Adds k, v for the new tokens; returns the keys and values attention needs now (before trimming)."""
        k_all = k if self.k is None else torch.cat([self.k, k], dim=2)
        v_all = v if self.v is None else torch.cat([self.v, v], dim=2)
        keep = k_all.shape[2] if self.window is None else min(self.window - 1, k_all.shape[2])
        # a window of w lets token t see t-w+1..t, so w-1 past tokens are all the next step needs
        if keep < k_all.shape[2]:                 # copy, so the trimmed cache does not pin the full buffer
            k_all_kept, v_all_kept = k_all[:, :, -keep:].clone(), v_all[:, :, -keep:].clone()
            self.k, self.v = k_all_kept, v_all_kept
        else:
            self.k, self.v = k_all, v_all
        self.pos += k.shape[2]
        return k_all, v_all
