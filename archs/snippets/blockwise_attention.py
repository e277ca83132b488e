"""The Nexus Core document's (002) "flash attention" snippet beside a correct online-softmax blockwise attention.

What the document's snippet does, re-implemented in `doc_blockwise_attention`: for each query block it loops
over the key blocks, takes a softmax of the scaled scores *within that key block only*, multiplies by the
block's values and adds the result into the output. Each block's weights sum to 1, so with n_k key blocks a
query's weights sum to n_k and the output is a sum of n_k per-block averages, not one average over all keys.
It equals exact attention only when there is a single key block (block_size >= seq_len). The snippet also
applies no causal mask, although the same document lists causal masking in its layer structure.
The document's scale is `1/sqrt(d_k)` with `d_k` never defined in the snippet; we read it as the head dim.

`online_softmax_attention` is the algorithm FlashAttention uses (Milakov & Gimelshein's online softmax,
Dao et al. 2022): keep per query row a running max m, a running denominator l and an unnormalised
accumulator; when a key block raises the max, rescale l and the accumulator by exp(m_old - m_new), and divide
by l once at the end. Exact up to rounding, for any block size.

Memory: both blockwise versions need only O(block² + block·d) scratch besides q, k, v and the output, so the
document's "O(N) memory instead of O(N²)" holds for its snippet too; what fails is the result.
`peak_extra_elements` gives these counts; `measure_peak_extra_bytes` measures them on CUDA.

Shapes: q [..., Nq, d], k and v [..., Nk, d] (any leading batch/head dims); outputs [..., Nq, d].
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from harness.measure.gates import rel_err


def _scale(q: torch.Tensor, scale: float | None) -> float:
    return 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale


def exact_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = False,
                    scale: float | None = None) -> torch.Tensor:
    """softmax(q kᵀ · scale) v with the full [Nq, Nk] matrix, in float64 (the yardstick for errors)."""
    s = (q.double() @ k.double().transpose(-2, -1)) * _scale(q, scale)
    if causal:
        nq, nk = s.shape[-2:]
        # query i (aligned to the end of the keys, as in decoding) sees keys j <= i + (nk - nq)
        allowed = torch.ones(nq, nk, dtype=torch.bool, device=q.device).tril(nk - nq)
        s = s.masked_fill(~allowed, float("-inf"))
    return (s.softmax(-1) @ v.double()).to(q.dtype)


def doc_blockwise_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, block_size: int,
                            scale: float | None = None) -> torch.Tensor:
    """Document 002's snippet: softmax per key block, block results summed, no rescaling, no mask."""
    scale = _scale(q, scale)
    nq, nk = q.shape[-2], k.shape[-2]
    out = torch.zeros_like(q)
    for i in range(0, nq, block_size):
        qb = q[..., i:i + block_size, :]
        for j in range(0, nk, block_size):
            kb, vb = k[..., j:j + block_size, :], v[..., j:j + block_size, :]
            attn = ((qb @ kb.transpose(-2, -1)) * scale).softmax(-1)  # normalised over THIS block only
            out[..., i:i + block_size, :] += attn @ vb
    return out


def online_softmax_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, block_size: int,
                             causal: bool = False, scale: float | None = None) -> torch.Tensor:
    """Exact attention computed block by block with the online-softmax rescaling (FlashAttention forward).

    Accumulates in fp32 whatever the input dtype, like the fused kernels do. Causal masking aligns the last
    query with the last key (same convention as `exact_attention`).
    """
    scale = _scale(q, scale)
    nq, nk = q.shape[-2], k.shape[-2]
    offset = nk - nq  # query i sees keys j <= i + offset
    out = torch.empty_like(q)
    for i in range(0, nq, block_size):
        qb = q[..., i:i + block_size, :].float()
        bq = qb.shape[-2]
        m = torch.full((*qb.shape[:-1], 1), float("-inf"), device=q.device)  # running row max
        l = torch.zeros_like(m)  # running sum of exp(s - m)
        acc = torch.zeros_like(qb)  # running sum of exp(s - m) · v
        q_idx = torch.arange(i, i + bq, device=q.device)[:, None]
        # with a causal mask, key blocks that start after the block's last visible key are all masked: skip
        k_end = min(nk, i + bq + offset) if causal else nk
        for j in range(0, k_end, block_size):
            kb, vb = k[..., j:j + block_size, :].float(), v[..., j:j + block_size, :].float()
            s = (qb @ kb.transpose(-2, -1)) * scale
            if causal:
                k_idx = torch.arange(j, j + kb.shape[-2], device=q.device)[None, :]
                s = s.masked_fill(k_idx > q_idx + offset, float("-inf"))
            m_new = torch.maximum(m, s.amax(-1, keepdim=True))
            # a row with no visible key yet has m_new = -inf; use 0 there so exp() gives 0, not nan
            m_safe = torch.where(torch.isinf(m_new), torch.zeros_like(m_new), m_new)
            p = torch.exp(s - m_safe)
            alpha = torch.exp(m - m_safe)  # rescales what was accumulated under the old max
            l = alpha * l + p.sum(-1, keepdim=True)
            acc = alpha * acc + p @ vb
            m = m_new
        out[..., i:i + bq, :] = (acc / l).to(q.dtype)
    return out


def doc_attention_error(seq_len: int, block_size: int, head_dim: int = 64, batch: int = 2, seed: int = 0) -> float:
    """Relative error (`rel_err`, in float64) of the document's snippet against exact attention on random N(0,1)
    q, k, v."""
    g = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(batch, seq_len, head_dim, generator=g) for _ in range(3))
    return rel_err(doc_blockwise_attention(q, k, v, block_size), exact_attention(q, k, v))


def peak_extra_elements(method: str, seq_len: int, head_dim: int, block_size: int) -> int:
    """Scratch elements alive at the peak, per (batch, head), beyond q, k, v and the output.

    "exact"  : scores and probabilities, two [N, N] matrices.
    "doc"    : scores and softmax of one block pair [b, b] each, and attn@v [b, d] before it is added.
    "online" : scores and exp of one block pair [b, b] each, p@v [b, d], the accumulator [b, d], m and l [b].
    (Views and the fp32 copies of the input blocks are ignored; they do not change the order.)
    """
    n, d = seq_len, head_dim
    b = min(block_size, n)
    if method == "exact":
        return 2 * n * n
    if method == "doc":
        return 2 * b * b + b * d
    if method == "online":
        return 2 * b * b + 2 * b * d + 2 * b
    raise ValueError(f"unknown method {method!r}; expected exact, doc or online")


def measure_peak_extra_bytes(fn: Callable[..., torch.Tensor], *args, **kwargs) -> int:
    """CUDA only: peak bytes allocated while fn(*args) runs, minus what was allocated before and the output."""
    if not torch.cuda.is_available():
        raise RuntimeError("measure_peak_extra_bytes needs CUDA (the CPU allocator keeps no peak statistics)")
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    out = fn(*args, **kwargs)
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - base - out.numel() * out.element_size()
