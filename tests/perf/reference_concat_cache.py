"""The decode caches as they were before preallocation (commit 9159fc0), kept as the reference the perf benchmarks
and tests/perf/measure_hot_paths.py compare the current caches with.

Every append concatenates the whole cache with the new tokens (`torch.cat`), so one decode step copies all
S cached tokens: O(S) bytes written per token on top of the O(S) attention reads. Same interface as
archs.components.cache.KVCache and archs.components.mla.MLACache. Not imported by the package.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from archs.components.cache import Cache


def append_windowed(olds: tuple, news: tuple, dim: int, window: int | None) -> tuple[tuple, tuple]:
    """Concatenate each new tensor to its old one (None = empty) along `dim`. Returns (everything, what to keep):
    the last window-1 tokens with a window, copied so the cache does not pin the full buffer."""
    alls = tuple(new if old is None else torch.cat([old, new], dim=dim) for old, new in zip(olds, news))
    length = alls[0].shape[dim]
    keep = length if window is None else min(window - 1, length)
    if keep == length:
        return alls, alls
    return alls, tuple(t.narrow(dim, length - keep, keep).clone() for t in alls)


@dataclass
class ConcatKVCache(Cache):
    """Keys and values [B, H_kv, T, K], grown by concatenation."""
    k: torch.Tensor | None = None
    v: torch.Tensor | None = None
    window: int | None = None

    def append(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        (k_all, v_all), (self.k, self.v) = append_windowed((self.k, self.v), (k, v), 2, self.window)
        self.pos += k.shape[2]
        return k_all, v_all


@dataclass
class ConcatMLACache(Cache):
    """MLA's per-token latent and shared rope key side by side, [B, S, C+R], grown by concatenation. (Before,
    the latent and the rope key were concatenated separately, and the absorbed path concatenated them once more.)"""
    kv: torch.Tensor | None = None
    window: int | None = None

    def append(self, kv: torch.Tensor) -> torch.Tensor:
        (kv_all,), (self.kv,) = append_windowed((self.kv,), (kv,), 1, self.window)
        self.pos += kv.shape[1]
        return kv_all
