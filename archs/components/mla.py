"""Multi-head latent attention (DeepSeek-V2 §2.1, DeepSeek-V3 §2.1.1): a low-rank KV cache with decoupled RoPE.

Every token's keys and values are generated from one compressed latent c_kv = RMSNorm(W_dkv x) of width
kv_lora_rank (C), plus ONE rotary key k_rope of width qk_rope_dim (R) shared by all heads. Only (c_kv, k_rope)
are cached: C + R numbers per token and layer instead of H·(nope+rope) + H·v for MHA.

Two attention paths, chosen by `MLA.attn_impl` (every forward, with or without a cache):
  "naive"    up-projects the latent with wkv_b into per-head k_nope and v, then ordinary attention.
  "absorbed" folds W_uk into the query (q_nope·W_uk^h lives in latent space) and W_uv into the output, so
             attention runs directly over the cached latent (DeepSeek-V2 §2.1.2, "absorb"). Same maths,
             different FLOPs: see `decode_flops_formula`.

Shapes: B batch, T new tokens, S keys attended, H heads, N qk_nope_dim, R qk_rope_dim, V v_head_dim,
C kv_lora_rank.
No biases anywhere (DeepSeek uses none), so cfg.bias is ignored; the two inner norms are always RMSNorm
(as in DeepSeek), whatever cfg.norm says.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from archs.components.attention import attended_pairs, cache_tokens, dense_mask, make_mask_mod
from archs.components.cache import Cache, TokenBuffer
from archs.components.component import Component
from archs.components.norms import RMSNorm
from archs.components.rope import RotaryEmbedding
from harness.errors import ConfigError

ATTN_IMPLS = ("naive", "absorbed")


@dataclass
class MLACache(Cache):
    """Per token, the normalised latent (C numbers) and the roped shared key (R): nothing per head. Stored side by
    side, [B, S, C+R] (the absorbed path attends over exactly that), in a preallocated TokenBuffer; `latent`
    [B, S, C] and `k_rope` [B, S, R] are views of it. With `window`, only the last window-1 tokens are kept, as in
    `KVCache`."""
    rank: int = 0                                    # C: where the latent ends and the rope key begins
    window: int | None = None
    capacity: int = 0
    buffer: TokenBuffer | None = None

    def __post_init__(self):
        if self.buffer is None:
            self.buffer = TokenBuffer(dim=1, window=self.window, capacity=self.capacity)

    def tensors(self) -> list[torch.Tensor]:
        """The latent and the rope key (what the analytic formula counts), as views of the one buffer."""
        if not self.buffer.storage:
            return []
        kv, = self.buffer.views()
        return [kv[..., :self.rank], kv[..., self.rank:]]

    @property
    def latent(self) -> torch.Tensor | None:
        return self.tensors()[0] if self.buffer.storage else None

    @property
    def k_rope(self) -> torch.Tensor | None:
        return self.tensors()[1] if self.buffer.storage else None

    def append(self, kv: torch.Tensor) -> torch.Tensor:
        """Adds the new tokens' [B, T, C+R]; returns every token attention needs now, [B, S, C+R] (before a
        window trims the front)."""
        self.pos += kv.shape[1]
        return self.buffer.append((kv,))[0]


# ---- formulas (2 FLOPs per multiply-add, matmuls only; see archs/components/__init__.py)

def _projection_flops(cfg, T: int) -> int:
    """Everything that does not depend on the context: query, wkv_a and output projections."""
    m, H = cfg.mla, cfg.n_heads
    qk = m.qk_nope_dim + m.qk_rope_dim
    q = cfg.dim * m.q_lora_rank + m.q_lora_rank * H * qk if m.q_lora_rank else cfg.dim * H * qk
    return 2 * T * (q + cfg.dim * (m.kv_lora_rank + m.qk_rope_dim) + H * m.v_head_dim * cfg.dim)


def params_formula(cfg, spec) -> int:
    m, H = cfg.mla, cfg.n_heads
    qk = m.qk_nope_dim + m.qk_rope_dim
    q = (cfg.dim * m.q_lora_rank + m.q_lora_rank + m.q_lora_rank * H * qk) if m.q_lora_rank else cfg.dim * H * qk
    kv = (cfg.dim * (m.kv_lora_rank + m.qk_rope_dim) + m.kv_lora_rank                  # wkv_a, kv_norm
          + m.kv_lora_rank * H * (m.qk_nope_dim + m.v_head_dim))                     # wkv_b
    return q + kv + H * m.v_head_dim * cfg.dim


def flops_formula(cfg, spec, T: int, causal: bool = True) -> int:
    """Prefill of T tokens on the naive path: projections + wkv_b on every token + QK^T and PV over the
    query-key pairs of `attention.attended_pairs` (T² non-causal, what SDPA computes and torch's FLOP counter
    reports; T²/2 causal, Megatron; bounded by a sliding window), the same convention as softmax attention."""
    m, H = cfg.mla, cfg.n_heads
    up = 2 * T * m.kv_lora_rank * H * (m.qk_nope_dim + m.v_head_dim)
    pairs = attended_pairs(T, spec.window, causal)
    return int(_projection_flops(cfg, T) + up + 2 * pairs * H * (m.qk_nope_dim + m.qk_rope_dim + m.v_head_dim))


def decode_flops_formula(cfg, spec, context: int, impl: str = "naive") -> int:
    """FLOPs of ONE new token after `context` cached tokens (as `attention.decode_flops_formula`): it attends
    S = context + 1 keys, capped at spec.window. naive re-expands all S latents with wkv_b every step (cost
    ∝ S·C·H·(N+V)); absorbed pays H·C·(N+V) once for the token and attends over C+R wide keys instead."""
    m, H = cfg.mla, cfg.n_heads
    S = context + 1 if spec.window is None else min(context + 1, spec.window)
    C, N, R, V = m.kv_lora_rank, m.qk_nope_dim, m.qk_rope_dim, m.v_head_dim
    if impl == "naive":
        core = 2 * S * C * H * (N + V) + 2 * S * H * (N + R) + 2 * S * H * V
    elif impl == "absorbed":
        core = 2 * H * N * C + 2 * S * H * (C + R) + 2 * S * H * C + 2 * H * C * V
    else:
        raise ValueError(f"impl={impl!r} is not one of {', '.join(ATTN_IMPLS)}")
    return _projection_flops(cfg, 1) + core


def cache_bytes_formula(cfg, spec, batch: int, T: int, dtype_bytes: int) -> int:
    """batch · kept · (C + R) · dtype_bytes, kept = T (or min(T, window-1) with a sliding window)."""
    return batch * cache_tokens(T, spec.window) * (cfg.mla.kv_lora_rank + cfg.mla.qk_rope_dim) * dtype_bytes


def naive_kv_bytes_per_token(cfg, dtype_bytes: int = 2) -> int:
    """Bytes per token and layer if the materialised K, V were cached MHA-style: H·(N+R) key + H·V value
    numbers. Against `cache_bytes_formula(cfg, spec, 1, 1, dtype_bytes)` this is the KV-reduction claim."""
    m, H = cfg.mla, cfg.n_heads
    return (H * (m.qk_nope_dim + m.qk_rope_dim) + H * m.v_head_dim) * dtype_bytes


# ---- the module
class MLA(Component):
    """Multi-head latent attention: forward(x [B, T, D], cache=None, doc_ids=None) -> [B, T, D]."""
    kind = param_kind = "mla"
    params_formula = staticmethod(params_formula)
    flops_formula = staticmethod(flops_formula)
    cache_bytes_formula = staticmethod(cache_bytes_formula)

    def __init__(self, cfg, spec):
        super().__init__()
        m = cfg.mla
        self.n_heads, self.window = cfg.n_heads, spec.window
        self.nope, self.rope_dim, self.v_dim, self.rank = m.qk_nope_dim, m.qk_rope_dim, m.v_head_dim, m.kv_lora_rank
        qk = self.nope + self.rope_dim
        self.scale = 1.0 / math.sqrt(qk)          # the softmax scale of the full query width (DeepSeek-V2 eq. 19)
        self.attn_impl = "naive"
        self.low_rank_q = bool(m.q_lora_rank)
        if self.low_rank_q:                          # low-rank queries cut activation memory in training (V2 §2.1.2)
            self.wq_a = nn.Linear(cfg.dim, m.q_lora_rank, bias=False)
            self.q_norm = RMSNorm(m.q_lora_rank, cfg.norm_eps)
            self.wq_b = nn.Linear(m.q_lora_rank, self.n_heads * qk, bias=False)
        else:
            self.wq = nn.Linear(cfg.dim, self.n_heads * qk, bias=False)
        self.wkv_a = nn.Linear(cfg.dim, self.rank + self.rope_dim, bias=False)
        self.kv_norm = RMSNorm(self.rank, cfg.norm_eps)
        self.wkv_b = nn.Linear(self.rank, self.n_heads * (self.nope + self.v_dim), bias=False)
        self.wo = nn.Linear(self.n_heads * self.v_dim, cfg.dim, bias=False)
        # RoPE would make W_uk position-dependent and un-absorbable, hence the separate rope part (V2 §2.1.3)
        self.rotary = RotaryEmbedding(self.rope_dim, cfg.rope_theta) if cfg.position == "rope" else None

    @classmethod
    def check_config(cls, cfg) -> None:
        if cfg.mla is None:
            raise ConfigError("DecoderConfig.mla is required: the pattern uses mla")

    def new_cache(self, capacity: int = 0) -> MLACache:
        """An empty cache; `capacity` tokens (e.g. prompt + generation length) are allocated on the first call."""
        return MLACache(rank=self.rank, window=self.window, capacity=capacity)

    def _rope(self, x: torch.Tensor, start: int) -> torch.Tensor:
        return x if self.rotary is None else self.rotary(x, start)

    def _queries(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, T, D] -> q [B, H, T, N+R] (not yet roped)."""
        q = self.wq_b(self.q_norm(self.wq_a(x))) if self.low_rank_q else self.wq(x)
        B, T, _ = x.shape
        return q.view(B, T, self.n_heads, -1).transpose(1, 2)

    def _up_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """wkv_b split per head: W_uk [H, N, C] and W_uv [H, V, C]."""
        w = self.wkv_b.weight.view(self.n_heads, self.nope + self.v_dim, self.rank)
        return w[:, : self.nope], w[:, self.nope:]

    def forward(self, x: torch.Tensor, cache: MLACache | None = None,
                doc_ids: torch.Tensor | None = None) -> torch.Tensor:
        """x [B, T, D] -> [B, T, D]; with a cache, x holds the tokens after cache.pos. doc_ids [B, T] marks
        packed documents (training / prefill from position 0 only, as in `attention.Attention`)."""
        if self.attn_impl not in ATTN_IMPLS:
            raise ValueError(f"MLA.attn_impl={self.attn_impl!r} is not one of {', '.join(ATTN_IMPLS)}")
        B, T, _ = x.shape
        start = 0 if cache is None else cache.pos
        if doc_ids is not None and start:
            raise ValueError("MLA: doc_ids are for packed training/prefill, not cached decoding")
        q = self._queries(x)
        q_nope, q_rope = q.split([self.nope, self.rope_dim], dim=-1)         # [B, H, T, N], [B, H, T, R]
        q_rope = self._rope(q_rope, start)
        latent, k_rope = self.wkv_a(x).split([self.rank, self.rope_dim], dim=-1)
        latent = self.kv_norm(latent)                                         # [B, T, C]
        k_rope = self._rope(k_rope[:, None], start)[:, 0]                     # [B, T, R]: one key for all heads
        kv = torch.cat([latent, k_rope], dim=-1)                              # [B, T, C+R]: what the cache keeps
        if cache is not None:
            kv = cache.append(kv)                                             # [B, S, C+R]
        S = kv.shape[1]
        key_offset = start + T - S                                            # the cache holds the last S tokens
        mask = None                                                           # None: plain causal, T == S
        if self.window is not None or doc_ids is not None or T != S:
            # one mask definition for every mixer: attention.make_mask_mod, materialised for SDPA
            mask = dense_mask(make_mask_mod(start - key_offset, self.window, doc_ids), B, T, S, x.device)
        if self.attn_impl == "naive":
            out = self._naive(q_nope, q_rope, kv, mask)
        else:
            out = self._absorbed(q_nope, q_rope, kv, mask)
        return self.wo(out.transpose(1, 2).reshape(B, T, self.n_heads * self.v_dim))

    def _naive(self, q_nope, q_rope, kv, mask) -> torch.Tensor:
        """Materialise per-head keys and values from the latent (the whole cache, at every decode step)."""
        B, S, _ = kv.shape
        latent, k_rope = kv.split([self.rank, self.rope_dim], dim=-1)       # [B, S, C], [B, S, R]
        up = self.wkv_b(latent).view(B, S, self.n_heads, self.nope + self.v_dim).transpose(1, 2)
        k_nope, v = up.split([self.nope, self.v_dim], dim=-1)                 # [B, H, S, N], [B, H, S, V]
        k = torch.cat([k_nope, k_rope[:, None].expand(B, self.n_heads, S, self.rope_dim)], dim=-1)
        q = torch.cat([q_nope, q_rope], dim=-1)                               # [B, H, T, N+R]
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=mask is None,
                                              scale=self.scale)   # [B, H, T, V]

    def _absorbed(self, q_nope, q_rope, kv, mask) -> torch.Tensor:
        """q_nope·k_nope = q_nope·(W_uk c) = (W_uk^T q_nope)·c, and p·(W_uv c) = W_uv (p·c): attend over c."""
        B, S, _ = kv.shape
        w_uk, w_uv = self._up_weights()
        q_lat = torch.einsum("bhtn,hnc->bhtc", q_nope, w_uk)                  # [B, H, T, C]
        q = torch.cat([q_lat, q_rope], dim=-1)                                # [B, H, T, C+R]
        # the scale stays 1/sqrt(N+R): the logits are the same numbers as on the naive path
        if q.shape[2] == 1:
            # decoding: all heads attend the same keys (the cache), so the H queries become query rows of one
            # shared KV head (multi-query form) and the cache is read once; keys expanded per head made CPU SDPA
            # copy them H times (49x slower at 16k tokens, measured). mask [B, 1, 1, S] holds for every row.
            o_lat = F.scaled_dot_product_attention(q.transpose(1, 2), kv[:, None], kv[:, None, :, :self.rank],
                                                   attn_mask=mask, scale=self.scale).transpose(1, 2)
        else:
            k = kv[:, None].expand(B, self.n_heads, S, self.rank + self.rope_dim)  # the cache itself, a view
            v = kv[:, None, :, :self.rank].expand(B, self.n_heads, S, self.rank)  # [B, H, S, C], a view
            o_lat = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=mask is None,
                                                  scale=self.scale)  # [B, H, T, C]
        return torch.einsum("bhtc,hvc->bhtv", o_lat, w_uv)                    # [B, H, T, V]
