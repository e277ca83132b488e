"""Tests of the preallocated decode caches (archs.components.cache): tokens written in place, geometric growth,
a sliding window that keeps its storage, forks that leave the original intact, exact byte counts."""
from __future__ import annotations

import copy

import pytest
import torch

from archs.components import cache as cache_mod
from archs.components.cache import KVCache, TokenBuffer


def tokens(first: int, n: int, width: int = 3) -> torch.Tensor:
    """[1, n, width] whose entries name their token: token t is all t's, so a view shows which tokens it holds."""
    return torch.arange(first, first + n, dtype=torch.float32)[None, :, None].expand(1, n, width).clone()


def held(buffer: TokenBuffer) -> list[int]:
    return buffer.views()[0][0, :, 0].long().tolist()


def test_decode_steps_write_in_place_until_capacity_then_grow_geometrically():
    buffer = TokenBuffer(dim=1)
    buffer.append((tokens(0, 100),))
    capacity, storage = buffer.capacity_tokens(), buffer.storage[0].data_ptr()
    assert capacity >= cache_mod.GROWTH * 100              # room to decode after a prefill
    for t in range(100, capacity):                          # every step until full: same storage
        out, = buffer.append((tokens(t, 1),))
        assert buffer.storage[0].data_ptr() == storage and out.shape[1] == t + 1
    buffer.append((tokens(capacity, 1),))                   # one past: new storage, GROWTH x larger
    assert buffer.capacity_tokens() >= cache_mod.GROWTH * (capacity + 1) - 1
    assert held(buffer) == list(range(capacity + 1))


def test_requested_capacity_is_allocated_on_the_first_append():
    buffer = TokenBuffer(dim=1, capacity=1000)
    buffer.append((tokens(0, 10),))
    assert buffer.capacity_tokens() == 1000 and held(buffer) == list(range(10))


@pytest.mark.parametrize("window, steps", [(4, 40), (7, 3), (16, 100)])
def test_sliding_window_keeps_window_minus_one_tokens_in_fixed_storage(window, steps):
    buffer = TokenBuffer(dim=1, window=window)
    buffer.append((tokens(0, 2),))
    storage = buffer.storage[0].data_ptr()
    for t in range(2, 2 + steps):
        out, = buffer.append((tokens(t, 1),))
        # attention sees the kept tokens and the new one: the last `window` tokens
        assert out[0, :, 0].long().tolist() == list(range(max(0, t + 1 - window), t + 1))
        assert held(buffer) == list(range(max(0, t + 2 - window), t + 1))
    assert buffer.storage[0].data_ptr() == storage           # shifted in place, never reallocated


def test_sliding_window_prefill_longer_than_its_storage_returns_everything_and_keeps_the_tail():
    buffer = TokenBuffer(dim=1, window=4)
    buffer.append((tokens(0, 2),))
    out, = buffer.append((tokens(2, 50),))
    assert out[0, :, 0].long().tolist() == list(range(52)) and held(buffer) == [49, 50, 51]


def test_sliding_window_first_prefill_longer_than_its_storage_returns_it_and_keeps_the_tail():
    buffer = TokenBuffer(dim=1, window=4)                 # nothing cached, no storage yet (a prefill of 50)
    out, = buffer.append((tokens(0, 50),))
    assert out[0, :, 0].long().tolist() == list(range(50)) and held(buffer) == [47, 48, 49]


@pytest.mark.parametrize("window", [None, 5])
def test_a_fork_appends_without_changing_the_original(window):
    buffer = TokenBuffer(dim=1, window=window)
    buffer.append((tokens(0, 9),))
    before = held(buffer)
    for step in range(20):                                  # forks from the same point, as the suites time decode
        fork = copy.copy(buffer)
        out, = fork.append((tokens(100 + step, 1),))
        assert out[0, -1, 0] == 100 + step
        assert held(buffer) == before
    buffer.append((tokens(9, 1),))                          # the original goes on as if no fork had been made
    assert held(buffer) == (list(range(10)) if window is None else [6, 7, 8, 9])


def test_kv_cache_nbytes_counts_the_cached_tokens_and_capacity_bytes_the_storage():
    cache = KVCache(capacity=64)
    k = torch.randn(2, 3, 10, 8)
    k_all, v_all = cache.append(k, 2 * k)
    torch.testing.assert_close(v_all, 2 * k)
    assert cache.pos == 10 and cache.k.shape == (2, 3, 10, 8)
    assert cache.nbytes() == 2 * k.numel() * 4                # keys and values of 10 tokens, as the formula
    assert cache.capacity_bytes() == 2 * 2 * 3 * 64 * 8 * 4    # what is allocated: 64 token slots each
    fork = copy.copy(cache)
    fork.append(k[:, :, :1], k[:, :, :1])
    assert (fork.pos, cache.pos, cache.k.shape[2], fork.k.shape[2]) == (11, 10, 10, 11)
