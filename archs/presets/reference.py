"""Public reference models, built from the same components, to calibrate the counters against published counts.

Published exact parameter counts (Hugging Face model cards / safetensors metadata):
Llama-2-7B 6,738,415,616; Llama-2-70B 68,976,648,192; Mixtral-8x7B 46,702,792,704.
"""
from __future__ import annotations

from dataclasses import replace

from archs.presets import ARCHS
from archs.config import DecoderConfig, LayerSpec, MoEConfig
from archs.presets.shrink import shrink

PUBLISHED_PARAMS = {"llama-2-7b": 6_738_415_616, "llama-2-70b": 68_976_648_192, "mixtral-8x7b": 46_702_792_704}


@ARCHS.register("llama-2-7b", doc="ref", scale="reference", title="Llama-2-7B (Touvron et al. 2023)")
def llama2_7b() -> DecoderConfig:
    return DecoderConfig(vocab_size=32000, dim=4096, n_layers=32, n_heads=32, ffn_dim=11008, norm_eps=1e-5,
                         max_seq_len=4096)


@ARCHS.register("llama-2-70b", doc="ref", scale="reference", title="Llama-2-70B: GQA with 8 KV heads")
def llama2_70b() -> DecoderConfig:
    return replace(llama2_7b(), dim=8192, n_layers=80, n_heads=64, n_kv_heads=8, ffn_dim=28672)


@ARCHS.register("mixtral-8x7b", doc="ref", scale="reference", title="Mixtral-8x7B: 8 experts, top-2")
def mixtral_8x7b() -> DecoderConfig:
    return replace(llama2_7b(), n_kv_heads=8, ffn_dim=14336, rope_theta=1e6, max_seq_len=32768,
                   pattern=(LayerSpec(ffn="moe"),),
                   moe=MoEConfig(n_experts=8, top_k=2, expert_dim=14336, router="softmax"))


@ARCHS.register("llama-2-tiny", doc="ref", scale="tiny", title="Llama-2 shape at 128 wide")
def llama2_tiny() -> DecoderConfig:
    return shrink(llama2_7b(), n_layers=2)
