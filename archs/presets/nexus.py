"""Document 002, Nexus Core dense decoders: base (405B claimed), standard (13B claimed), nano (1.5B claimed),
with exactly the documented dimensions. KV heads are not given; the choices are recorded as assumptions."""
from __future__ import annotations

from dataclasses import replace

from archs.presets import ARCHS
from archs.config import DecoderConfig
from archs.presets.shrink import shrink


@ARCHS.register("nexus-405b", doc="002", scale="full", title="Nexus Core base: 96 × 8192, 128 heads, FFN 32768")
def nexus_base() -> DecoderConfig:
    return DecoderConfig(vocab_size=128000, dim=8192, n_layers=96, n_heads=128, head_dim=64, n_kv_heads=8,
                         ffn_dim=32768, max_seq_len=128000,
                         assumptions=("GQA is named but not sized: 8 KV heads (Llama-3 style)",
                                      "untied input and output embeddings (002 lists both tables)"))


@ARCHS.register("nexus-13b", doc="002", scale="full", title="Nexus Core standard: 32 × 2048, 32 heads, FFN 8192")
def nexus_standard() -> DecoderConfig:
    return replace(nexus_base(), vocab_size=50000, dim=2048, n_layers=32, n_heads=32, n_kv_heads=None,
                   ffn_dim=8192, max_seq_len=8192,
                   assumptions=("MHA: 002's KV-cache line multiplies by the full hidden size",
                                "untied input and output embeddings (002 lists both tables)"))


@ARCHS.register("nexus-1.5b", doc="002", scale="full", title="Nexus Core nano: 12 × 768, 12 heads, FFN 3072")
def nexus_nano() -> DecoderConfig:
    return replace(nexus_standard(), vocab_size=32000, dim=768, n_layers=12, n_heads=12, ffn_dim=3072,
                   max_seq_len=2048)


@ARCHS.register("nexus-tiny", doc="002", scale="tiny", title="Nexus nano's shape at 128 wide")
def nexus_tiny() -> DecoderConfig:
    return shrink(nexus_nano(), n_layers=2)
