"""Softmax attention with n_kv_heads (MHA = n_heads, GQA, MQA = 1), RoPE, a KV cache, and sliding-window and
document (packed sequence) masks through SDPA or FlexAttention.

Masks are written once, as FlexAttention `mask_mod` functions of (batch, head, q_idx, kv_idx). The SDPA path
materialises the same functions into a boolean mask, so both back-ends see one definition; a test checks they
agree. FlexAttention is used only when asked (`impl="flex"`): on CPU without torch.compile it materialises the
score matrix anyway, so SDPA is the default.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from archs.components.cache import KVCache
from archs.components.component import Component
from archs.components.norms import RMSNorm
from archs.components.rope import RotaryEmbedding


# ---------------------------------------------------------------- masks (FlexAttention mask_mod convention)
def make_mask_mod(offset: int = 0, window: int | None = None, doc_ids: torch.Tensor | None = None):
    """Causal mask for queries at positions offset+q_idx against keys at kv_idx, optionally limited to the last
    `window` positions (a query sees itself and window-1 earlier tokens) and to keys of the same document."""
    def mask_mod(b, h, q_idx, kv_idx):
        q_pos = q_idx + offset
        keep = kv_idx <= q_pos
        if window is not None:
            keep = keep & (q_pos - kv_idx < window)
        if doc_ids is not None:
            keep = keep & (doc_ids[b, q_pos] == doc_ids[b, kv_idx])
        return keep
    return mask_mod


def dense_mask(mask_mod, B: int, T: int, S: int, device) -> torch.Tensor:
    """The boolean [B, 1, T, S] mask a mask_mod describes (True = attend)."""
    b = torch.arange(B, device=device)[:, None, None, None]
    q = torch.arange(T, device=device)[None, None, :, None]
    k = torch.arange(S, device=device)[None, None, None, :]
    return mask_mod(b, torch.zeros_like(b), q, k).expand(B, 1, T, S)


def sdpa(q, k, v, mask_mod, causal_only: bool) -> torch.Tensor:
    """q: [B, H, T, K], k/v: [B, H_kv, S, K]; GQA by repeating kv heads inside SDPA (enable_gqa), except for one
    query per head (decoding): then the H/H_kv query heads that share a KV head become query rows of that head, so
    its keys and values are read once instead of repeated per query head (a copy of the cache on CPU: GQA decoding
    at 16k tokens measured 2.2x slower that way)."""
    B, H, T, _ = q.shape
    S, H_kv = k.shape[2], k.shape[1]
    gqa = bool(H != H_kv)                        # a tensor under JIT tracing (fvcore)
    if causal_only and T == S:
        return F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=gqa)
    mask = dense_mask(mask_mod, B, T, S, q.device)
    if gqa and T == 1:                           # the mask [B, 1, 1, S] is the same for every row
        y = F.scaled_dot_product_attention(q.reshape(B, H_kv, H // H_kv, q.shape[-1]), k, v, attn_mask=mask)
        return y.reshape(B, H, 1, v.shape[-1])
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=gqa)


def local_window_attention(q, k, v, window: int) -> torch.Tensor:
    """Causal sliding-window attention in O(T·window) instead of a dense [T, T] mask: queries in blocks of w
    attend to their own block and the one before (all keys a window of w can reach), masked to the exact window.
    q: [B, H, T, K], k/v: [B, H_kv, T, K] (no cache offset). Equal to the dense-mask path (tested)."""
    B, H, T, K = q.shape
    k, v = (t.repeat_interleave(H // t.shape[1], dim=1) for t in (k, v))
    w, nb = window, -(-T // window)
    q, k, v = (F.pad(t, (0, 0, 0, nb * w - T)).view(B, H, nb, w, K) for t in (q, k, v))   # (B, H, nb, w, K)
    prev = lambda t: F.pad(t, (0, 0, 0, 0, 1, 0))[:, :, :-1]      # noqa: E731  block i-1 beside block i
    keys, values = torch.cat([prev(k), k], dim=3), torch.cat([prev(v), v], dim=3)   # (B, H, nb, 2w, K)
    i = torch.arange(w, device=q.device)[:, None]
    j = torch.arange(2 * w, device=q.device)[None, :]
    # query b·w+i sees key (b-1)·w+j when 0 <= (w+i-j) < w; block 0 has no previous block
    mask = ((j > i) & (j <= i + w))[None].expand(nb, w, 2 * w).clone()
    mask[0, :, :w] = False
    y = F.scaled_dot_product_attention(q, keys, values, attn_mask=mask)
    return y.reshape(B, H, nb * w, K)[:, :, :T]


def flex(q, k, v, mask_mod, causal_only: bool) -> torch.Tensor:
    """FlexAttention with the block-sparse mask built from the same mask_mod. Where this torch cannot run it
    (no backward on CPU), the masked SDPA path computes the identical result."""
    if q.device.type == "cpu" and torch.is_grad_enabled() and any(t.requires_grad for t in (q, k, v)):
        return sdpa(q, k, v, mask_mod, causal_only)
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention
    B, _, T, _ = q.shape
    block_mask = create_block_mask(mask_mod, B, None, T, k.shape[2], device=str(q.device))
    return flex_attention(q, k, v, block_mask=block_mask, enable_gqa=q.shape[1] != k.shape[1])


def math_attention(q, k, v, mask_mod, causal_only: bool) -> torch.Tensor:
    """Explicit softmax(QKᵀ/√d)V: the naive reference, and a path every FLOP counter sees."""
    B, H, T, K = q.shape
    k = k.repeat_interleave(H // k.shape[1], dim=1)
    v = v.repeat_interleave(H // v.shape[1], dim=1)
    scores = (q @ k.transpose(-2, -1)) / K ** 0.5
    scores = scores.masked_fill(~dense_mask(mask_mod, B, T, k.shape[2], q.device), float("-inf"))
    return scores.softmax(-1) @ v


ATTENTION_IMPLS = {"sdpa": sdpa, "flex": flex, "math": math_attention}


# ---------------------------------------------------------------- formulas (independent references)
def params_formula(cfg, spec) -> int:
    """q, k, v, o (q twice as wide with an output gate), their biases, and one RMSNorm weight over a head for
    queries and one for keys with qk_norm."""
    H, Hkv, K, D, a = cfg.n_heads, cfg.kv_heads, cfg.attn_head_dim, cfg.dim, cfg.attn
    n = D * H * K * (3 if a.output_gate else 2) + D * Hkv * K * 2
    if cfg.bias or a.qkv_bias:
        n += H * K * (2 if a.output_gate else 1) + 2 * Hkv * K
    if cfg.bias:
        n += D
    return n + (2 * K if a.qk_norm else 0)


def attended_pairs(T: int, window: int | None, causal: bool) -> float:
    """Query-key pairs scored for T tokens. Non-causal convention: T² (what kernels compute and what torch's
    counter counts). Causal: T²/2 (Megatron), or T·window when a window bounds it."""
    if window is not None and window < T:
        return T * window - window * (window - 1) / 2 if causal else T * window
    return T * T / 2 if causal else T * T


def flops_formula(cfg, spec, T: int, causal: bool = True) -> int:
    """Projections 2·T·D·(2·H·K + 2·H_kv·K) (+ 2·T·D·H·K with an output gate), QKᵀ and AV: 2·2·pairs·H·K."""
    return int(2 * T * _projection_macs(cfg) + 4 * attended_pairs(T, spec.window, causal) * cfg.n_heads *
               cfg.attn_head_dim)


def _projection_macs(cfg) -> int:
    """Multiply-adds of one token through q (and its gate), k, v and o."""
    H, Hkv, K, D = cfg.n_heads, cfg.kv_heads, cfg.attn_head_dim, cfg.dim
    return D * ((3 if cfg.attn.output_gate else 2) * H * K + 2 * Hkv * K)


def decode_flops_formula(cfg, spec, context: int) -> int:
    """One new token attending to `context` cached tokens (bounded by the window)."""
    seen = min(context + 1, spec.window) if spec.window else context + 1
    return 2 * _projection_macs(cfg) + 4 * seen * cfg.n_heads * cfg.attn_head_dim


def cache_tokens(T: int, window: int | None) -> int:
    return T if window is None else min(T, window - 1)


def cache_bytes_formula(cfg, spec, batch: int, T: int, dtype_bytes: int) -> int:
    """K and V for every kept token: 2 · n_kv · head_dim · dtype_bytes per token per sequence."""
    return 2 * batch * cache_tokens(T, spec.window) * cfg.kv_heads * cfg.attn_head_dim * dtype_bytes


# ---------------------------------------------------------------- the module
class Attention(Component):
    """Multi-head attention with n_kv_heads key/value heads (MHA, GQA when fewer than n_heads, MQA at one) and the
    options of cfg.attn: RMSNorm per query and key head before RoPE (qk_norm), a sigmoid gate on each output
    channel computed by q_proj beside the query (output_gate, Qwen3-Next's gated attention: per head the
    projection holds the query then the gate), biases on q, k, v only (qkv_bias)."""
    kind = param_kind = "attention"
    params_formula = staticmethod(params_formula)
    flops_formula = staticmethod(flops_formula)
    cache_bytes_formula = staticmethod(cache_bytes_formula)

    def __init__(self, cfg, spec, impl: str = "sdpa"):
        super().__init__()
        self.n_heads, self.n_kv, self.head_dim = cfg.n_heads, cfg.kv_heads, cfg.attn_head_dim
        self.window = spec.window
        self.impl = impl
        H, Hkv, K, a = self.n_heads, self.n_kv, self.head_dim, cfg.attn
        qkv_bias = cfg.bias or a.qkv_bias
        self.gated = a.output_gate
        self.wq = nn.Linear(cfg.dim, H * K * (2 if self.gated else 1), bias=qkv_bias)
        self.wk = nn.Linear(cfg.dim, Hkv * K, bias=qkv_bias)
        self.wv = nn.Linear(cfg.dim, Hkv * K, bias=qkv_bias)
        self.wo = nn.Linear(H * K, cfg.dim, bias=cfg.bias)
        self.q_norm = RMSNorm(K, cfg.norm_eps) if a.qk_norm else None
        self.k_norm = RMSNorm(K, cfg.norm_eps) if a.qk_norm else None
        rot = int(K * cfg.rope_fraction)
        self.rope = RotaryEmbedding(rot, cfg.rope_theta) if cfg.position == "rope" else None

    def new_cache(self, capacity: int = 0) -> KVCache:
        """An empty cache; `capacity` tokens (e.g. prompt + generation length) are allocated on the first call."""
        return KVCache(window=self.window, capacity=capacity)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, doc_ids: torch.Tensor | None = None):
        """x: [B, T, D] -> [B, T, D]. With a cache, x holds the tokens after cache.pos."""
        B, T, _ = x.shape
        start = cache.pos if cache is not None else 0
        if doc_ids is not None and start:
            raise ValueError("document masks are for packed training/prefill, not cached decoding")
        q = self.wq(x).view(B, T, self.n_heads, -1)
        if self.gated:
            q, gate = q.chunk(2, dim=-1)                                         # (B, T, H, K) each
        k = self.wk(x).view(B, T, self.n_kv, self.head_dim)
        if self.q_norm is not None:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k = q.transpose(1, 2), k.transpose(1, 2)                              # (B, H, T, K), (B, H_kv, T, K)
        v = self.wv(x).view(B, T, self.n_kv, self.head_dim).transpose(1, 2)
        if self.rope is not None:
            q, k = self.rope(q, start), self.rope(k, start)
        if cache is not None:
            k, v = cache.append(k, v)                 # all keys this step needs: (B, H_kv, S, K)
        S = k.shape[2]
        key_offset = start + T - S                    # absolute position of k[:, :, 0] (window trims the front)
        mask_mod = make_mask_mod(offset=start - key_offset, window=self.window, doc_ids=doc_ids)
        causal_only = self.window is None and doc_ids is None
        if self.impl == "sdpa" and self.window and doc_ids is None and S == T and T >= 8 * self.window:
            # O(T·w) blocks beat the dense [T, T] mask from T ≈ 8w on (measured on CPU: T=2048, w=256:
            # 27 vs 35 ms; T=8192: 108 vs 640 ms); below that the dense mask's fused kernel is faster
            y = local_window_attention(q, k, v, self.window)
        else:
            y = ATTENTION_IMPLS[self.impl](q, k, v, mask_mod, causal_only)
        y = y.transpose(1, 2)                                                    # (B, T, H, K)
        if self.gated:
            y = y * gate.sigmoid()
        return self.wo(y.reshape(B, T, self.n_heads * self.head_dim))
