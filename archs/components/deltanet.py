"""Gated DeltaNet token mixer (Yang, Kautz & Hatamizadeh 2024; the linear-attention layer of Qwen3-Next).

x -> q, k, v (short causal depthwise conv + SiLU; q, k L2-normalised per head), a per-head decay
g = −exp(A_log)·softplus(a + dt_bias) (Mamba2's parametrisation) and write strength β = sigmoid(b); the gated
delta rule mixes tokens into a fixed [K, V] state per head; the output is RMSNorm(o)·silu(z) per head, then
projected back to dim. Training and prefill use the chunk-parallel op; decoding a few tokens with a cache uses
the recurrent step. Unlike a KV cache, the decode state does not grow with the sequence.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from archs.components.cache import Cache
from archs.components.component import Component
from archs.components.norms import RMSNorm
from archs.ops.gated_delta import chunk_gated_delta_rule, recurrent_gated_delta_step
from harness.errors import ConfigError

# At most this many new tokens with a cache go through the token-by-token step instead of the chunked op.
# fla switches at 64 with a fused GPU kernel; in plain torch on 2 CPU cores (B=1, H=4, K=V=64) a step costs
# ~60 us per token and one padded chunk ~0.43 ms, so the two cross near 7 tokens.
RECURRENT_MAX_TOKENS = 8


def gdn_dims(cfg) -> tuple[int, int, int, int, int, int]:
    """(key heads, value heads, head_k_dim, head_v_dim, conv_size, chunk_size) from cfg.gdn, its None dims
    derived."""
    gdn = cfg.gdn
    H = gdn.n_heads or cfg.n_heads
    return (H, gdn.n_v_heads or H, gdn.head_k_dim or cfg.dim // H, gdn.head_v_dim or cfg.dim // H, gdn.conv_size,
            gdn.chunk_size)


@dataclass
class GDNCache(Cache):
    """Decode state of one layer: the delta-rule memory and the short-conv history, both fixed-size.

    state: [B, Hv, K, V] fp32 (one per value head; the recurrence accumulates over the whole sequence, so it is
    kept in fp32); conv_state: [B, 2·H·K + Hv·V, conv_size − 1], the last pre-conv q/k/v projections, in the
    model dtype (H key heads, Hv value heads)."""
    state: torch.Tensor | None = None
    conv_state: torch.Tensor | None = None


# ---------------------------------------------------------------- formulas (independent references)
def params_formula(cfg, spec) -> int:
    H, Hv, K, V, W, _ = gdn_dims(cfg)
    D, ch = cfg.dim, 2 * H * K + Hv * V
    n = D * (ch + Hv * V) + D * 2 * Hv + ch * W + 2 * Hv + V + Hv * V * D   # in, ab, conv, A_log+dt_bias, norm, out
    if cfg.bias:
        n += ch + Hv * V + D
    return n


def flops_terms(cfg, T: int) -> dict[str, int]:
    """Matmul FLOPs (2 per multiply-add) of one sequence of T tokens through the layer, by part (H key heads,
    Hv value heads; the delta rule runs once per value head, on its group's q and k).

    projections  in: D -> 2HK + 2HvV, ab: D -> 2Hv, out: HvV -> D       2·T·D·(2HK + 3HvV + 2Hv)
    conv         depthwise, conv_size taps per channel                 2·T·(2HK + HvV)·W
    chunk        per value head, over the padded length Tp = ⌈T/C⌉·C (the op really computes the padding);
                 per chunk of C tokens (see archs/ops/gated_delta/chunk.py):
                   (βK)Kᵀ, QKᵀ, 𝒯(βe^γK): C×C×K each                   3·2·C²·K
                   𝒯(βV), attn·U: C×C×V each                           2·2·C²·V
                   W_k S0, (e^{γ_C−γ}K)ᵀU, (e^γQ) S0: C×K×V each       3·2·C·K·V
                 i.e. per padded token                                 C·(6K + 4V) + 6·K·V
    solve        𝒯 = (I + A)⁻¹ by a unit-lower-triangular solve against I: C(C−1)/2 MACs for each of
                 C columns per chunk, C·(C−1) per padded token
    torch's FlopCounterMode has no rule for triangular solves, so it counts all but `solve`."""
    H, Hv, K, V, W, C = gdn_dims(cfg)
    D, Tp = cfg.dim, -(-T // C) * C
    return {
        "projections": 2 * T * D * (2 * H * K + 3 * Hv * V + 2 * Hv),
        "conv": 2 * T * (2 * H * K + Hv * V) * W,
        "chunk": Hv * Tp * (C * (6 * K + 4 * V) + 6 * K * V),
        "solve": Hv * Tp * C * (C - 1),
    }


def flops_formula(cfg, spec, T: int, causal: bool = True) -> int:
    """Forward FLOPs of T tokens (prefill, chunked op). `causal` is ignored: the recurrence is causal by
    construction and its cost has no T² term to halve."""
    return sum(flops_terms(cfg, T).values())


def decode_flops_formula(cfg, spec, context: int = 0) -> int:
    """One decoded token; independent of `context` (fixed-size state). Per head the recurrent step does
    Sᵀk, the rank-1 write k uᵀ and Sᵀq, 2·K·V FLOPs each, on top of the T = 1 projections and conv."""
    _, Hv, K, V = gdn_dims(cfg)[:4]
    terms = flops_terms(cfg, 1)
    return terms["projections"] + terms["conv"] + 6 * Hv * K * V


def cache_bytes_formula(cfg, spec, batch: int, T: int, dtype_bytes: int) -> int:
    """fp32 state [B, Hv, K, V] plus the conv history [B, 2HK + HvV, W − 1] at dtype_bytes; independent of T."""
    H, Hv, K, V, W, _ = gdn_dims(cfg)
    return batch * Hv * K * V * 4 + batch * (2 * H * K + Hv * V) * (W - 1) * dtype_bytes


# ---------------------------------------------------------------- the module
class GatedDeltaNet(Component):
    """Gated DeltaNet mixer: forward(x [B, T, D], cache=None, doc_ids=None) -> [B, T, D]."""
    kind = param_kind = "gdn"
    params_formula = staticmethod(params_formula)
    flops_formula = staticmethod(flops_formula)
    cache_bytes_formula = staticmethod(cache_bytes_formula)

    def __init__(self, cfg, spec):
        super().__init__()
        H, Hv, K, V, W, C = gdn_dims(cfg)
        self.n_heads, self.n_v_heads, self.head_k, self.head_v, self.conv_size, self.chunk_size = H, Hv, K, V, W, C
        self.conv_channels = 2 * H * K + Hv * V
        # one input projection for q, k, v and the output gate z, one for the two per-value-head scalars a, b
        # (Qwen3-Next's in_proj_qkvz / in_proj_ba layout: two matmuls instead of six)
        self.in_proj = nn.Linear(cfg.dim, self.conv_channels + Hv * V, bias=cfg.bias)
        self.ab_proj = nn.Linear(cfg.dim, 2 * Hv, bias=False)         # dt_bias is a's bias; b has none (fla)
        self.conv = nn.Conv1d(self.conv_channels, self.conv_channels, W, groups=self.conv_channels, bias=False)
        # Mamba2 init: A ~ U[1, 16]; dt ~ log-uniform[1e-3, 1e-1] stored through softplus⁻¹ so that
        # softplus(dt_bias) = dt at a = 0, i.e. per-token decay exp(−A·dt) starts between ~0.999 and ~0.2
        self.A_log = nn.Parameter(torch.empty(Hv).uniform_(1, 16).log())
        dt = torch.exp(torch.rand(Hv) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3)).clamp(min=1e-4)
        self.dt_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))
        self.o_norm = RMSNorm(V, eps=cfg.norm_eps)                    # per head over V, weight shared by heads
        self.o_proj = nn.Linear(Hv * V, cfg.dim, bias=cfg.bias)

    @classmethod
    def check_config(cls, cfg) -> None:
        heads = cfg.gdn.n_heads or cfg.n_heads
        if (cfg.gdn.n_v_heads or heads) % heads:
            raise ConfigError(f"DeltaNetConfig.n_v_heads={cfg.gdn.n_v_heads} is not a multiple of n_heads={heads}")
        if None in (cfg.gdn.head_k_dim, cfg.gdn.head_v_dim) and cfg.dim % heads:
            raise ConfigError(f"DeltaNetConfig.n_heads={heads} does not divide dim={cfg.dim} "
                              "(set head_k_dim and head_v_dim, or pick a divisor)")

    def new_cache(self) -> GDNCache:
        return GDNCache()

    def _short_conv(self, x: torch.Tensor, cache: GDNCache | None) -> torch.Tensor:
        """Causal depthwise conv over time + SiLU. x: [B, T, ch] -> [B, T, ch]. With a cache, the first
        conv_size − 1 inputs come from the previous call and the last conv_size − 1 are kept for the next."""
        B, T, ch = x.shape
        x = x.transpose(1, 2)                                          # [B, ch, T]
        past = (cache.conv_state if cache is not None and cache.conv_state is not None
                else x.new_zeros(B, ch, self.conv_size - 1))            # zeros = causal left padding
        x = torch.cat([past.to(x.dtype), x], dim=-1)                   # [B, ch, W − 1 + T]
        if cache is not None:
            cache.conv_state = x[..., x.shape[-1] - (self.conv_size - 1):].clone()   # own the W − 1 columns
        y = F.conv1d(x, self.conv.weight, groups=ch)                   # [B, ch, T]
        return F.silu(y).transpose(1, 2)

    def forward(self, x: torch.Tensor, cache: GDNCache | None = None, doc_ids: torch.Tensor | None = None):
        """x: [B, T, D] -> [B, T, D]. With a cache, x holds the tokens after cache.pos."""
        if doc_ids is not None:
            raise ValueError("GatedDeltaNet does not support doc_ids: the recurrent state would carry across "
                             "document boundaries (it would need a state reset per document)")
        B, T, _ = x.shape
        H, Hv, K, V = self.n_heads, self.n_v_heads, self.head_k, self.head_v
        qkv, z = self.in_proj(x).split([self.conv_channels, Hv * V], dim=-1)
        q, k, v = self._short_conv(qkv, cache).split([H * K, H * K, Hv * V], dim=-1)
        # L2-normalised q, k keep the delta rule's transition (I − β k kᵀ) a contraction: its eigenvalues
        # are 1 − β and 1 (Yang et al. 2024, "Parallelizing Linear Transformers with the Delta Rule")
        q = F.normalize(q.reshape(B, T, H, K).float(), dim=-1, eps=1e-6)   # [B, T, H, K]
        k = F.normalize(k.reshape(B, T, H, K).float(), dim=-1, eps=1e-6)
        if Hv != H:                                    # each key head serves Hv/H value heads, in order
            q, k = q.repeat_interleave(Hv // H, dim=2), k.repeat_interleave(Hv // H, dim=2)   # [B, T, Hv, K]
        v = v.reshape(B, T, Hv, V)                                         # [B, T, Hv, V]
        a, b = self.ab_proj(x).float().chunk(2, dim=-1)                    # [B, T, Hv] each
        g = -self.A_log.float().exp() * F.softplus(a + self.dt_bias.float())   # log α_t <= 0
        beta = b.sigmoid()

        if cache is not None and T <= RECURRENT_MAX_TOKENS:
            o, cache.state = recurrent_gated_delta_step(q, k, v, g, beta, cache.state)
        else:
            state = None if cache is None else cache.state
            o, final = chunk_gated_delta_rule(q, k, v, g, beta, initial_state=state,
                                              output_final_state=cache is not None, chunk_size=self.chunk_size)
            if cache is not None:
                cache.state = final
        if cache is not None:
            cache.pos += T
        # gated output norm (Qwen3-Next / fla FusedRMSNormGated): normalise each head, then gate by silu(z)
        o = self.o_norm(o) * F.silu(z.reshape(B, T, Hv, V))                # [B, T, Hv, V]
        return self.o_proj(o.reshape(B, T, Hv * V))
