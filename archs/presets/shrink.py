"""Derive a small, runnable twin of a full-size config: same pattern and component kinds, ratios kept."""
from __future__ import annotations

from dataclasses import replace

from archs.config import DecoderConfig, round_to_multiple

TINY_VOCAB = 256   # the byte tokenizer's size: tiny presets train on real text without a vocabulary download


def shrink(cfg: DecoderConfig, *, dim: int = 128, n_heads: int = 4, n_layers: int | None = None,
           vocab_size: int = TINY_VOCAB, max_experts: int = 8) -> DecoderConfig:
    """Scale a config to `dim`, keeping: the layer pattern, n_kv_heads/n_heads, ffn_dim/dim, expert and MLA
    widths relative to dim, top_k relative to the expert count. Head dims follow dim // n_heads."""
    scale = dim / cfg.dim
    kv = None if cfg.n_kv_heads is None else max(1, n_heads * cfg.n_kv_heads // cfg.n_heads)
    while kv is not None and n_heads % kv:
        kv -= 1
    out = replace(cfg, dim=dim, n_heads=n_heads, n_kv_heads=kv, head_dim=None, vocab_size=vocab_size,
                  ffn_dim=round_to_multiple(cfg.ffn_dim * scale, 16),
                  n_layers=n_layers or len(cfg.pattern), max_seq_len=min(cfg.max_seq_len, 1024),
                  assumptions=cfg.assumptions + (f"tiny twin: dim {dim}, {n_heads} heads, vocab {vocab_size}",))
    if cfg.moe:
        E = min(cfg.moe.n_experts, max_experts)
        k = max(1, round(cfg.moe.top_k * E / cfg.moe.n_experts))
        out = replace(out, moe=replace(cfg.moe, n_experts=E, top_k=k,
                                       expert_dim=round_to_multiple(cfg.moe.expert_dim * scale, 16),
                                       shared_dim=None if cfg.moe.shared_dim is None
                                       else round_to_multiple(cfg.moe.shared_dim * scale, 16)))
    if cfg.mla:
        m = cfg.mla
        head = dim // n_heads
        out = replace(out, mla=replace(m, kv_lora_rank=round_to_multiple(m.kv_lora_rank * scale, 8),
                                       q_lora_rank=None if m.q_lora_rank is None
                                       else round_to_multiple(m.q_lora_rank * scale, 8),
                                       qk_nope_dim=head, qk_rope_dim=max(8, head // 2), v_head_dim=head))
    g = cfg.gdn                                      # dims follow dim; value heads per key head are kept
    groups = None if g.n_v_heads is None else g.n_v_heads // (g.n_heads or cfg.n_heads)
    out = replace(out, gdn=replace(g, n_heads=None, n_v_heads=groups and n_heads * groups, head_k_dim=None,
                                   head_v_dim=None))
    return out
