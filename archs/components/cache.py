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


def append_windowed(olds: tuple, news: tuple, dim: int, window: int | None) -> tuple[tuple, tuple]:
    """Concatenate each new tensor to its old one (None = empty) along `dim`. Returns (everything, what to keep):
    a window of w lets token t see t-w+1..t, so w-1 past tokens are all the next step needs. Trimmed tensors are
    copied, so the cache does not pin the full buffer."""
    alls = tuple(new if old is None else torch.cat([old, new], dim=dim) for old, new in zip(olds, news))
    length = alls[0].shape[dim]
    keep = length if window is None else min(window - 1, length)
    if keep == length:
        return alls, alls
    return alls, tuple(t.narrow(dim, length - keep, keep).clone() for t in alls)


@dataclass
class KVCache(Cache):
    """Softmax attention: keys and values of every past token, [B, H_kv, T, K]. With `window`, only the
    last window-1 tokens are kept (sliding-window attention), so memory is bounded by the window."""
    k: torch.Tensor | None = None
    v: torch.Tensor | None = None
    window: int | None = None

    def append(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Adds k, v for the new tokens; returns the keys and values attention needs now (before trimming)."""
        (k_all, v_all), (self.k, self.v) = append_windowed((self.k, self.v), (k, v), 2, self.window)
        self.pos += k.shape[2]
        return k_all, v_all
