"""Length-sorted dynamic batching as the Nexus Core document (002) describes it, against FIFO batching.

The document's routine, re-implemented in `doc_dynamic_batch`: sort the requests by length, walk them in that
order and close the current batch when it already holds max_batch_size requests, or when the next request is
longer than 1.2× the longest one in the batch. Batches are padded to their longest request, so grouping similar
lengths wastes fewer padded tokens than batching in arrival order (`fifo_batches`).

Two things the snippet leaves open, resolved here:
- It sorts by `len(r.tokens)` but compares and tracks `r.length`. We use a single length per request (the
  `lengths` argument) for both, which is what the routine evidently intends.
- It sorts the caller's list in place; ours returns indices and leaves the input alone.

What the 1.2 rule actually bounds: since requests arrive sorted, the batch's current max is always the last
request added, so the test compares each request with its predecessor, not with the batch's shortest one.
Within a batch consecutive lengths grow by at most growth×, but the longest/shortest ratio can reach
growth**(size−1) (e.g. 100, 120, 144, 172 share one batch). `max_ratio_in_batches` measures that.

Lengths are token counts (ints > 0); batches are lists of request indices into `lengths`.
"""
from __future__ import annotations

from typing import Sequence


def doc_dynamic_batch(lengths: Sequence[int], max_batch_size: int = 32, growth: float = 1.2) -> list[list[int]]:
    """Document 002's routine: sorted by length, a batch is cut when full or when a request exceeds
    growth × the batch's current longest request. Ties keep arrival order (stable sort)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    current_max = 0
    for i in order:
        if len(current) >= max_batch_size or (current_max > 0 and lengths[i] > current_max * growth):
            batches.append(current)
            current, current_max = [], 0
        current.append(i)
        current_max = max(current_max, lengths[i])
    if current:
        batches.append(current)
    return batches


def fifo_batches(lengths: Sequence[int], max_batch_size: int = 32) -> list[list[int]]:
    """Arrival order, cut every max_batch_size requests: the no-sorting baseline."""
    n = len(lengths)
    return [list(range(s, min(s + max_batch_size, n))) for s in range(0, n, max_batch_size)]


def sorted_chunks(lengths: Sequence[int], max_batch_size: int = 32) -> list[list[int]]:
    """Sorted by length and cut only when full: the document's routine without the growth rule, to show
    what that rule adds (fewer padded tokens, at the price of more, smaller batches)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[s:s + max_batch_size] for s in range(0, len(order), max_batch_size)]


def padded_tokens(batches: list[list[int]], lengths: Sequence[int]) -> int:
    """Tokens processed when each batch is padded to its longest request."""
    return sum(len(b) * max(lengths[i] for i in b) for b in batches if b)


def padding_efficiency(batches: list[list[int]], lengths: Sequence[int]) -> float:
    """Real tokens / padded tokens, in (0, 1]; 1 means no padding at all."""
    real = sum(lengths[i] for b in batches for i in b)
    return real / padded_tokens(batches, lengths)


def max_ratio_in_batches(batches: list[list[int]], lengths: Sequence[int]) -> float:
    """Largest longest/shortest length ratio over all batches."""
    return max(max(lengths[i] for i in b) / min(lengths[i] for i in b) for b in batches if b)
