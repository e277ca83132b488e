"""Decode caches: the state a mixer keeps between incremental forward calls, and their exact byte size.

Caches that grow with the sequence (attention's keys and values, MLA's latent) keep their tokens in a
`TokenBuffer`: storage preallocated to a capacity in tokens and written in place, so a decode step copies only its
new token, never the tokens already cached (a concatenation per step copies all S of them: 3-7x slower decoding
at 4k-64k tokens of context, measured on CPU). When a write does not fit, the storage grows geometrically
(GROWTH x what is needed), so the copies on growth cost O(1) per token amortised; a caller that knows the
generation length can ask for that capacity up front (exactly that is then allocated, until it is exceeded).
A sliding-window buffer never grows past its window: once its storage is full it moves the last window-1 tokens
to the front, in place.

`nbytes()` counts the tokens the cache holds (exactly what the analytic cache formulas give); `capacity_bytes()`
counts the storage allocated for them.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, fields

import torch

# Storage grows to GROWTH x the tokens needed, rounded up to whole blocks of BLOCK_TOKENS; a sliding-window buffer
# holds WINDOW_SLOTS windows, so the window-1 kept tokens move to the front once every ~window tokens.
GROWTH = 1.5
BLOCK_TOKENS = 64
WINDOW_SLOTS = 2


@dataclass
class TokenBuffer:
    """Per-token tensors (e.g. keys and values) that share one token axis `dim`, in preallocated storage.

    The cached tokens are storage[start:end] along `dim`. With `window`, only the last window-1 tokens are kept
    after an append: a window of w lets token t see t-w+1..t, so w-1 past tokens are all the next step needs.
    `capacity` (tokens) is what the first append allocates, if that is enough. `copy.copy` forks: the fork shares
    the storage and owns its own start/end, so it can append past the tokens it inherited without touching the
    original's; a buffer whose storage is shared moves tokens only into new storage. (Two forks appending from the
    same point write the same slots: a fork is for "one more step from this cache", as the suites time decoding.)"""
    dim: int
    window: int | None = None
    capacity: int = 0
    storage: tuple[torch.Tensor, ...] = ()
    start: int = 0
    end: int = 0
    shared: bool = False

    def __len__(self) -> int:
        return self.end - self.start

    def views(self) -> tuple[torch.Tensor, ...]:
        return tuple(t.narrow(self.dim, self.start, len(self)) for t in self.storage)

    def capacity_tokens(self) -> int:
        return self.storage[0].shape[self.dim] if self.storage else 0

    def capacity_bytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.storage)

    def __copy__(self) -> TokenBuffer:
        self.shared = True
        return TokenBuffer(self.dim, self.window, self.capacity, self.storage, self.start, self.end, shared=True)

    def append(self, news: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        """Writes the new tokens after the cached ones; returns every token attention needs now: the cached ones
        and the new ones (before a window trims the front), as views of the storage."""
        n = news[0].shape[self.dim]
        kept = len(self) if self.window is None else min(len(self), self.window - 1)
        self.start = self.end - kept
        if self.window is not None and kept + n > self._window_capacity():
            return self._append_past_window(news)
        if self.end + n > self.capacity_tokens():
            self._relocate(kept + n, news)
        for slot, new in zip(self.storage, news):
            slot.narrow(self.dim, self.end, n).copy_(new)
        self.end += n
        everything = self.views()
        if self.window is not None:
            self.start = max(self.start, self.end - (self.window - 1))
        return everything

    def _window_capacity(self) -> int:
        return max(self.capacity, WINDOW_SLOTS * self.window)

    def _relocate(self, needed: int, news: tuple[torch.Tensor, ...]) -> None:
        """Room for `needed` tokens from slot 0: the cached tokens move to the front of the storage, into new
        storage when it is too small (grown geometrically) or shared with a fork; in place otherwise."""
        if self.window is not None:
            size = self._window_capacity()
        elif self.capacity >= needed:                      # as requested: room for the whole generation
            size = self.capacity
        else:
            size = BLOCK_TOKENS * math.ceil(GROWTH * needed / BLOCK_TOKENS)
        olds = self.views()
        if self.shared or size > self.capacity_tokens():
            self.storage = tuple(new.new_empty(_with(new.shape, self.dim, size)) for new in news)
            self.shared = False
        elif self.start < len(self):                         # source and destination overlap
            olds = tuple(t.clone() for t in olds)
        for slot, old in zip(self.storage, olds):
            slot.narrow(self.dim, 0, len(self)).copy_(old)
        self.start, self.end = 0, len(self)

    def _append_past_window(self, news: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        """More new tokens than the window's storage holds (a long prefill): attention gets the cached tokens and
        the new ones concatenated, and the storage keeps the last window-1 of them."""
        if len(self):
            everything = tuple(torch.cat([old, new], dim=self.dim) for old, new in zip(self.views(), news))
        else:                                        # nothing cached yet (no storage either): the new tokens only
            everything = tuple(news)
        self.start = self.end = 0
        self._relocate(0, news)
        keep = self.window - 1
        tail = tuple(t.narrow(self.dim, t.shape[self.dim] - keep, keep) for t in everything)
        for slot, new in zip(self.storage, tail):
            slot.narrow(self.dim, 0, keep).copy_(new)
        self.end = keep
        return everything


def _with(shape: torch.Size, dim: int, size: int) -> list[int]:
    return [size if i == dim else s for i, s in enumerate(shape)]


@dataclass
class Cache:
    """Base for every mixer's decode state. `pos` counts tokens already consumed. `nbytes()` sums the bytes of
    every tensor the cache holds (its tensor fields, and the cached tokens of its TokenBuffer fields), so the
    measured cache size is exactly what is stored; `capacity_bytes()` counts what is allocated for it."""
    pos: int = 0

    def tensors(self) -> list[torch.Tensor]:
        out = []
        for value in (getattr(self, f.name) for f in fields(self)):
            if isinstance(value, torch.Tensor):
                out.append(value)
            elif isinstance(value, TokenBuffer):
                out.extend(value.views())
        return out

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.tensors())

    def capacity_bytes(self) -> int:
        return sum(value.capacity_bytes() if isinstance(value, TokenBuffer) else value.numel() * value.element_size()
                   for value in (getattr(self, f.name) for f in fields(self))
                   if isinstance(value, (torch.Tensor, TokenBuffer)))

    def __copy__(self) -> Cache:
        """A shallow copy whose token buffers are forks (see TokenBuffer): one more step from the same cache."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        for f in fields(self):
            if isinstance(value := getattr(self, f.name), TokenBuffer):
                setattr(new, f.name, copy.copy(value))
        return new


@dataclass
class KVCache(Cache):
    """Softmax attention: keys and values of every past token, [B, H_kv, T, K]. With `window`, only the
    last window-1 tokens are kept (sliding-window attention), so memory is bounded by the window."""
    window: int | None = None
    capacity: int = 0
    buffer: TokenBuffer | None = None

    def __post_init__(self):
        if self.buffer is None:
            self.buffer = TokenBuffer(dim=2, window=self.window, capacity=self.capacity)

    @property
    def k(self) -> torch.Tensor | None:
        return self.buffer.views()[0] if self.buffer.storage else None

    @property
    def v(self) -> torch.Tensor | None:
        return self.buffer.views()[1] if self.buffer.storage else None

    def append(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Adds k, v for the new tokens; returns the keys and values attention needs now (before trimming)."""
        self.pos += k.shape[2]
        return self.buffer.append((k, v))
