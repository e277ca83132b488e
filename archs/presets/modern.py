"""Document 001, modern components: a RMSNorm + GQA + RoPE + SwiGLU decoder, and its LLaMA-2-70B configuration."""
from __future__ import annotations

from dataclasses import replace

from archs.presets import ARCHS
from archs.config import DecoderConfig, swiglu_hidden
from archs.presets.reference import llama2_70b
from archs.presets.shrink import shrink


@ARCHS.register("modern-768", doc="001", scale="full",
                title="001 integration example: d=768, 12 heads, 3 KV heads, SwiGLU 2/3·4·d")
def modern_768() -> DecoderConfig:
    return DecoderConfig(
        vocab_size=50257, dim=768, n_layers=12, n_heads=12, n_kv_heads=3, ffn_dim=swiglu_hidden(768),
        assumptions=("001 gives the block only: 12 layers and the GPT-2 vocabulary (50,257) are chosen",
                     "SwiGLU hidden width 2/3·4·768 rounded up to a multiple of 256 = 2048",
                     "no biases (001's SwiGLU example enables biases; its block example disables them)"))


@ARCHS.register("modern-llama2-70b", doc="001", scale="full", title="001's 'LLaMA 2 70B configuration'")
def modern_llama2_70b() -> DecoderConfig:
    return replace(llama2_70b(), assumptions=("001 lists d_model, heads and KV heads only; the rest is "
                                              "Llama-2-70B's published configuration",))


@ARCHS.register("modern-tiny", doc="001", scale="tiny", title="001 block at 128 wide (4 heads, 1 KV head)")
def modern_tiny() -> DecoderConfig:
    return shrink(modern_768(), n_layers=2)
