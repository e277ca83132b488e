"""Document 004: MLA attention, MoE FFNs with ReLU² experts, sliding-window + document-aware masking.

004 states no dimensions; the full preset is a nanoGPT-scale model (d=768, 12 layers, the nanoGPT padded
vocabulary) with DeepSeek-V2-Lite-like MLA ratios. Every choice is listed in `assumptions`."""
from __future__ import annotations

from dataclasses import replace

from archs.presets import ARCHS
from archs.config import DecoderConfig, LayerSpec, MLAConfig, MoEConfig
from archs.presets.shrink import shrink


@ARCHS.register("mla-moe", doc="004", scale="full", title="004: MLA + MoE(ReLU²) + sliding window, d=768")
def mla_moe() -> DecoderConfig:
    return DecoderConfig(
        vocab_size=50304, dim=768, n_layers=12, n_heads=12, ffn_dim=3072, max_seq_len=49152,
        pattern=(LayerSpec(mixer="mla", ffn="moe", window=1024), LayerSpec(mixer="mla", ffn="moe")),
        mla=MLAConfig(kv_lora_rank=256, q_lora_rank=None, qk_nope_dim=64, qk_rope_dim=32, v_head_dim=64),
        moe=MoEConfig(n_experts=8, top_k=2, expert_dim=1536, n_shared=1, shared_dim=1536, expert_ffn="relu2"),
        assumptions=("004 gives no sizes: d=768, 12 layers, 12 heads, vocabulary 50,304 (nanoGPT)",
                     "MLA: kv_lora_rank 256, no query compression, nope/rope/v head dims 64/32/64",
                     "MoE: 8 ReLU² experts of width 1536, top-2, plus one shared expert of width 1536",
                     "every other layer uses a 1024-token sliding window; all layers take document masks"))


@ARCHS.register("mla-moe-tiny", doc="004", scale="tiny", title="004 at 128 wide, 2 layers")
def mla_moe_tiny() -> DecoderConfig:
    cfg = shrink(mla_moe(), n_layers=2)       # a 32-token window, so short test sequences exercise it
    return replace(cfg, pattern=(replace(cfg.pattern[0], window=32), cfg.pattern[1]))
