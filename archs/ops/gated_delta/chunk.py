"""Chunked gated delta rule: the parallel form of Gated DeltaNet for training and prefill, in plain torch.

The sequence is cut into chunks of C tokens. Inside a chunk every quantity that does not depend on the
chunk-start state S0 is computed for all chunks at once with batched matmuls (Yang et al. 2024, "Gated
Delta Networks", §3.3, extending the WY/UT form of Yang et al. 2024, "Parallelizing Linear Transformers
with the Delta Rule"); only the state hand-off between chunks is a loop, N = T/C steps of two small matmuls.

Derivation (per head, state S: [K, V], γ_i = Σ_{j≤i} g_j the log-decay from the chunk start to token i):
  Writing the token updates as S_i = e^{γ_i} S0 + Σ_{j≤i} e^{γ_i−γ_j} k_j u_jᵀ, the delta-rule write is
      u_i = β_i (v_i − S'_iᵀ k_i),  S'_i = e^{γ_i} S0 + Σ_{j<i} e^{γ_i−γ_j} k_j u_jᵀ
  so   (I + A) U = β V − (β e^γ K) S0,   A_ij = β_i e^{γ_i−γ_j} (k_i·k_j) for j < i (strictly lower).
  With W = (I + A)⁻¹ [β V, β e^γ K] =: [W_v, W_k] (one unit-lower-triangular solve per chunk):
      U = W_v − W_k S0
      O = scale · (e^γ Q) S0 + (scale · Q Kᵀ ⊙ D) U,           D_ij = e^{γ_i−γ_j} for j ≤ i, else 0
      S_C = e^{γ_C} S0 + (e^{γ_C−γ} K)ᵀ U
The decay factors only ever appear as e^{γ_i−γ_j} with j ≤ i (≤ 1), formed from differences of γ, so
strongly negative g cannot overflow.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def _to_chunks(x: torch.Tensor, C: int) -> torch.Tensor:
    """[B, T, H, *] -> [N, B·H, C, *] fp32 contiguous, zero-padded at the end to a multiple of C.

    Chunk index leads so the inter-chunk loop slices contiguous [B·H, C, *] blocks."""
    B, T, H = x.shape[:3]
    pad = (-T) % C
    x = x.float()
    if pad:
        x = F.pad(x, (0, 0) * (x.dim() - 2) + (0, pad))             # pad dim 1 (T)
    x = x.reshape(B, -1, C, H, *x.shape[3:])                           # [B, N, C, H, *]
    x = x.movedim(3, 1).movedim(2, 0)                                  # [N, B, H, C, *]
    return x.reshape(x.shape[0], B * H, C, *x.shape[4:])               # [N, B·H, C, *] (copies once)


def chunk_gated_delta_rule(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, g: torch.Tensor,
                           beta: torch.Tensor, scale: float | None = None,
                           initial_state: torch.Tensor | None = None, output_final_state: bool = False,
                           chunk_size: int = 64) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Gated delta rule over a whole sequence, chunk-parallel, in fp32, differentiable by autograd.

    q, k: [B, T, H, K]; v: [B, T, H, V]; g: [B, T, H] log-space decay (<= 0); beta: [B, T, H] in (0, 1);
    initial_state: [B, H, K, V] or None (zeros). scale defaults to K^-1/2. T need not divide chunk_size:
    the tail is padded with g = 0, beta = 0, k = 0 tokens, which leave the state untouched.
    Returns (o: [B, T, H, V] in v's dtype, final state [B, H, K, V] fp32 or None).
    """
    B, T, H, K = q.shape
    V = v.shape[-1]
    C = chunk_size
    scale = K ** -0.5 if scale is None else scale
    out_dtype = v.dtype
    if T == 0:
        state = initial_state.float() if initial_state is not None else q.new_zeros(B, H, K, V, dtype=torch.float32)
        return v.new_zeros(B, 0, H, V), (state if output_final_state else None)

    q, k, v = _to_chunks(q, C), _to_chunks(k, C), _to_chunks(v, C)   # [N, BH, C, K|V]
    g, beta = _to_chunks(g[..., None], C), _to_chunks(beta[..., None], C)   # [N, BH, C, 1]
    N = q.shape[0]

    gam = g.cumsum(2)                                                   # γ_i: [N, BH, C, 1]
    causal = torch.ones(C, C, dtype=torch.bool, device=q.device).tril()
    # D_ij = e^{γ_i − γ_j} on and below the diagonal, 0 above: mask the exponent, not the result, so the
    # (positive) upper-triangle differences never reach exp.
    decay = torch.where(causal, gam - gam.transpose(-1, -2), float("-inf")).exp()   # [N, BH, C, C]

    # UT transform: solve (I + A) W = [βV, β e^γ K]. A's diagonal and upper triangle are never read
    # (unitriangular lower solve), so the full product can be passed.
    kb = k * beta                                                       # β_i k_i: [N, BH, C, K]
    a = (kb @ k.transpose(-1, -2)) * decay                              # A (lower part): [N, BH, C, C]
    rhs = torch.cat([v * beta, kb * gam.exp()], dim=-1)                 # [N, BH, C, V+K]
    w = torch.linalg.solve_triangular(a, rhs, upper=False, unitriangular=True)
    w_v, w_k = w[..., :V], w[..., V:]                                   # [N, BH, C, V], [N, BH, C, K]

    qs = q * scale
    attn = (qs @ k.transpose(-1, -2)) * decay                           # intra-chunk scores: [N, BH, C, C]
    q_in = qs * gam.exp()                                               # reads S0 through e^{γ_i}
    k_out_t = (k * (gam[:, :, -1:] - gam).exp()).transpose(-1, -2)     # writes decayed to chunk end: [N, BH, K, C]
    chunk_decay = gam[:, :, -1:].exp()                                  # e^{γ_C}: [N, BH, 1, 1]

    state = (q.new_zeros(B * H, K, V) if initial_state is None
             else initial_state.float().reshape(B * H, K, V))           # [BH, K, V]
    starts, news = [], []
    for n in range(N):                                                  # the only sequential part
        u = torch.baddbmm(w_v[n], w_k[n], state, alpha=-1.0)            # U = W_v − W_k S0: [BH, C, V]
        starts.append(state)
        news.append(u)
        state = torch.baddbmm(state * chunk_decay[n], k_out_t[n], u)    # S_C: [BH, K, V]
    s0 = torch.stack(starts)                                            # [N, BH, K, V]
    o = q_in @ s0 + attn @ torch.stack(news)                            # [N, BH, C, V]

    o = o.reshape(N, B, H, C, V).permute(1, 0, 3, 2, 4).reshape(B, N * C, H, V)[:, :T]   # [B, T, H, V]
    final = state.reshape(B, H, K, V) if output_final_state else None
    return o.to(out_dtype), final
