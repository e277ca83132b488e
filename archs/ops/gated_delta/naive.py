"""Reference gated delta rule: the per-token recurrence of Gated DeltaNet, looped over time in fp32.

Yang, Kautz & Hatamizadeh 2024 ("Gated Delta Networks", §3) write the state update as
    S_t = S_{t-1} · α_t (I − β_t k_t k_tᵀ) + β_t v_t k_tᵀ,      o_t = S_t q_t
with S: [V, K]. We store the transpose, S: [K, V] (as fla does), so reads are Sᵀk and writes are k uᵀ. The
loop is slow (T sequential steps) but is the definition every faster form is tested against.
"""
from __future__ import annotations

import torch


def gated_delta_token_update(state: torch.Tensor, q_t: torch.Tensor, k_t: torch.Tensor, v_t: torch.Tensor,
                             g_t: torch.Tensor, beta_t: torch.Tensor, scale: float
                             ) -> tuple[torch.Tensor, torch.Tensor]:
    """One token of the gated delta rule, all in the caller's dtype (fp32 in practice).

    state: [B, H, K, V]; q_t, k_t: [B, H, K]; v_t: [B, H, V]; g_t, beta_t: [B, H] (g in log space, <= 0).
    Returns (o_t: [B, H, V], new state: [B, H, K, V]). The state is not modified in place (autograd-safe).
    """
    state = state * g_t.exp()[..., None, None]                     # gate: α_t = exp(g_t) forgets uniformly
    k_col = k_t.unsqueeze(-1)                                       # [B, H, K, 1]
    pred = (k_col.transpose(-1, -2) @ state).squeeze(-2)            # Sᵀk: [B, H, V], what memory recalls for k_t
    u = beta_t.unsqueeze(-1) * (v_t - pred)                         # delta rule: write only the error, β-scaled
    state = state + k_col @ u.unsqueeze(-2)                         # rank-1 write k uᵀ: [B, H, K, V]
    o_t = scale * (q_t.unsqueeze(-2) @ state).squeeze(-2)           # o = Sᵀq: [B, H, V]
    return o_t, state


def gated_delta_scan(state: torch.Tensor, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, g: torch.Tensor,
                     beta: torch.Tensor, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Applies the token update to each of T tokens in order, in fp32.

    state: [B, H, K, V]; q, k: [B, T, H, K]; v: [B, T, H, V]; g, beta: [B, T, H].
    Returns (o: [B, T, H, V] fp32, final state [B, H, K, V] fp32).
    """
    B, T, H, V = v.shape
    state = state.float()
    q, k, v, g, beta = (x.float() for x in (q, k, v, g, beta))
    outs = []
    for t in range(T):
        o_t, state = gated_delta_token_update(state, q[:, t], k[:, t], v[:, t], g[:, t], beta[:, t], scale)
        outs.append(o_t)
    o = torch.stack(outs, dim=1) if outs else v.new_zeros(B, 0, H, V)   # [B, T, H, V]
    return o, state


def naive_recurrent_gated_delta_rule(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, g: torch.Tensor,
                                     beta: torch.Tensor, scale: float | None = None,
                                     initial_state: torch.Tensor | None = None,
                                     output_final_state: bool = False
                                     ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Gated delta rule by a Python loop over tokens, in fp32.

    q, k: [B, T, H, K]; v: [B, T, H, V]; g: [B, T, H] log-space decay (<= 0); beta: [B, T, H] in (0, 1);
    initial_state: [B, H, K, V] or None (zeros). scale defaults to K^-1/2.
    Returns (o: [B, T, H, V] in v's dtype, final state [B, H, K, V] fp32 or None).
    """
    B, T, H, K = q.shape
    V = v.shape[-1]
    scale = K ** -0.5 if scale is None else scale
    state = q.new_zeros(B, H, K, V, dtype=torch.float32) if initial_state is None else initial_state.float()
    o, state = gated_delta_scan(state, q, k, v, g, beta, scale)
    return o.to(v.dtype), (state if output_final_state else None)
