"""Chunked gated delta rule: the parallel form of Gated DeltaNet for training and prefill, in plain torch.

The sequence is cut into chunks of C tokens. Inside a chunk every quantity that does not depend on the
chunk-start state S0 is computed for all chunks at once with batched matmuls (Yang et al. 2024, "Gated
Delta Networks", §3, extending the WY/UT form of Yang et al. 2024, "Parallelizing Linear Transformers
with the Delta Rule"); only the state hand-off between chunks is a loop, N = T/C steps of two small matmuls.

Derivation (per head, state S: [K, V], γ_i = Σ_{j≤i} g_j the log-decay from the chunk start to token i):
  Writing the token updates as S_i = e^{γ_i} S0 + Σ_{j≤i} e^{γ_i−γ_j} k_j u_jᵀ, the delta-rule write is
      u_i = β_i (v_i − S'_iᵀ k_i),  S'_i = e^{γ_i} S0 + Σ_{j<i} e^{γ_i−γ_j} k_j u_jᵀ
  so   (I + A) U = β V − (β e^γ K) S0,   A_ij = β_i e^{γ_i−γ_j} (k_i·k_j) for j < i (strictly lower).
  With 𝒯 = (I + A)⁻¹ (one unit-lower-triangular inverse per chunk), W_v = 𝒯 (β V), W_k = 𝒯 (β e^γ K):
      U = W_v − W_k S0
      O = scale · (e^γ Q) S0 + (scale · Q Kᵀ ⊙ D) U,           D_ij = e^{γ_i−γ_j} for j ≤ i, else 0
      S_C = e^{γ_C} S0 + (e^{γ_C−γ} K)ᵀ U
The decay factors only ever appear as e^{γ_i−γ_j} with j ≤ i (≤ 1), formed from differences of γ, so
strongly negative g cannot overflow.

Speed notes (CPU, plain torch; each measured on a 2-core machine): chunks are made contiguous once, so every
batched matmul gets dense operands (a strided [C, K] operand made k·kᵀ ~2x slower); the upper triangle of the
decay matrix is clamped to e^0 and zeroed by a multiply rather than set to −inf before exp (exp(−inf) takes
a slow path, ~10x a normal exp); 𝒯 is formed explicitly because one inverse plus two matmuls beats a solve
with V + K right-hand sides and the copy that concatenates them; chunks are processed in cache-sized
segments (see SEGMENT_TOKEN_HEADS) so the cost per token does not grow with T.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


# Log-decays are floored here before exp: e^-60 ≈ 1e-26 is far below fp32 resolution of anything it is added
# to, while exp of lower values gives subnormal floats, and CPU matmuls on subnormals run ~10-100x slower
# (chunk_size = 128 with g ≈ -0.8 per token hit this: 9x slower than chunk_size = 64).
LOG_DECAY_FLOOR = -60.0
# token-heads (B·H·tokens) per segment: 16 chunks of 64 for B·H = 4, one chunk from B·H = 64 on
SEGMENT_TOKEN_HEADS = 4096


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
    return x.reshape(x.shape[0], B * H, C, *x.shape[4:]).contiguous()  # [N, B·H, C, *]


def _segment(q, k, v, gb, state: torch.Tensor, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The chunked rule over one stretch of whole chunks, in fp32.

    q, k: [N, B·H, C, K]; v: [N, B·H, C, V]; gb: [N, B·H, C, 2] (g, beta) in the layout of `_to_chunks`;
    state: [B·H, K, V] at the stretch's start. Returns (o: [N, B·H, C, V], state at the stretch's end)."""
    C = q.shape[2]
    g, beta = gb[..., :1], gb[..., 1:]                                  # [N, BH, C, 1] each

    gam = g.cumsum(2)                                                   # γ_i: [N, BH, C, 1]
    e_gam = gam.clamp(min=LOG_DECAY_FLOOR).exp()                        # e^{γ_i} <= 1
    causal = torch.ones(C, C, dtype=torch.bool, device=q.device).tril()
    # D_ij = e^{γ_i − γ_j} on and below the diagonal, 0 above. The upper differences are positive and could
    # overflow exp, so they are clamped to 0 before it and zeroed after.
    decay = (gam - gam.transpose(-1, -2)).clamp(LOG_DECAY_FLOOR, 0).exp() * causal   # [N, BH, C, C]

    # UT transform: 𝒯 = (I + A)⁻¹. A's diagonal and upper triangle are never read (unitriangular lower
    # solve), so the full product can be passed.
    kb = k * beta                                                       # β_i k_i: [N, BH, C, K]
    a = (kb @ k.transpose(-1, -2)) * decay                              # A (lower part): [N, BH, C, C]
    eye = torch.eye(C, device=q.device).expand_as(a)
    t_inv = torch.linalg.solve_triangular(a, eye, upper=False, unitriangular=True)   # 𝒯: [N, BH, C, C]
    w_v = t_inv @ (v * beta)                                            # [N, BH, C, V]
    w_k = t_inv @ (kb * e_gam)                                          # [N, BH, C, K]

    attn = (q @ k.transpose(-1, -2)) * decay                            # scores, unscaled: [N, BH, C, C]
    q_in = q * (scale * e_gam)                                          # reads S0 through e^{γ_i}
    to_end = (gam[:, :, -1:] - gam).clamp(min=LOG_DECAY_FLOOR).exp()   # e^{γ_C − γ_i}: [N, BH, C, 1]
    k_out_t = (k * to_end).transpose(-1, -2)                            # writes, decayed to chunk end: [N, BH, K, C]
    chunk_decay = e_gam[:, :, -1:]                                      # e^{γ_C}: [N, BH, 1, 1]

    starts, news = [], []
    # the only sequential part: two [BH]-batched matmuls per chunk; unbind once instead of N indexings.
    # (bmm then sub / addcmul measured faster than baddbmm, which first copies its input into the result.)
    for wv_n, wk_n, kt_n, cd_n in zip(w_v.unbind(0), w_k.unbind(0), k_out_t.unbind(0), chunk_decay.unbind(0)):
        u = wv_n - torch.bmm(wk_n, state)                               # U = W_v − W_k S0: [BH, C, V]
        starts.append(state)
        news.append(u)
        state = torch.addcmul(torch.bmm(kt_n, u), state, cd_n)          # S_C = e^{γ_C} S0 + K_outᵀ U
    s0, u = torch.stack(starts), torch.stack(news)                      # [N, BH, K, V], [N, BH, C, V]
    o = torch.baddbmm((q_in @ s0).flatten(0, 1), attn.flatten(0, 1), u.flatten(0, 1), alpha=scale)
    return o.view(u.shape), state                                       # scale·(e^γ Q) S0 + scale·attn U


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
    V, C, out_dtype = v.shape[-1], chunk_size, v.dtype
    scale = K ** -0.5 if scale is None else scale
    state = (q.new_zeros(B * H, K, V, dtype=torch.float32) if initial_state is None
             else initial_state.float().reshape(B * H, K, V))               # [BH, K, V]
    if T == 0:
        return v.new_zeros(B, 0, H, V), (state.reshape(B, H, K, V) if output_final_state else None)
    # Walk the sequence in segments of whole chunks, about SEGMENT_TOKEN_HEADS token-heads each, carrying the
    # state: a segment's temporaries then stay cache-sized and time grows linearly with T (one pass over all
    # chunks at once measured ~2x slower per token at T = 16384 than at T = 1024 on a 2-core CPU); each segment is
    # put in chunk layout just before use, while it is in cache (chunking the whole input up front measured ~10%
    # slower). The segments are views from one `split` per input, whose backward concatenates their gradients
    # once: slicing the inputs per segment made each slice's backward write a zero gradient of the full input,
    # O(T²/segment) in all.
    seg = max(1, SEGMENT_TOKEN_HEADS // (B * H * C)) * C                  # tokens per segment
    outs = []
    for pieces in zip(*(x.split(seg, dim=1) for x in (q, k, v, torch.stack([g, beta], dim=-1)))):
        o, state = _segment(*(_to_chunks(x, C) for x in pieces), state, scale)   # [n, BH, C, K|V|2] each
        outs.append(o.view(-1, B, H, C, V).permute(1, 0, 3, 2, 4))      # [B, n, C, H, V], a view
    o = torch.cat(outs, dim=1).reshape(B, -1, H, V)[:, :T]              # one copy into [B, T, H, V] order
    final = state.reshape(B, H, K, V) if output_final_state else None
    return o.to(out_dtype), final
