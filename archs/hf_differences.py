"""Every recorded difference between what archbench builds from a Hugging Face config.json and the real model, with
its size: parameters against the published checkpoint and against the model transformers builds, forward FLOPs
as torch's FlopCounterMode counts transformers' forward, and the bytes of the cache transformers keeps.

A size is the reference's value minus archbench's (0: behaviour only; None: not computable). Summed per
component over `differences(...)`, archbench's formulas plus the sizes give the reference's numbers exactly;
tests/archs/test_hf_exact.py checks that against transformers for every supported model type.

FLOPs are compared in the counter's convention: every query-key pair (`causal=False`) and no triangular solve
(FlopCounterMode has no rule for one). The GatedDeltaNet differences are those of transformers' reference torch
implementation (used where flash-linear-attention and causal-conv1d are not installed).
"""
from __future__ import annotations

from dataclasses import dataclass

from archs import analytic
from archs.components import deltanet
from archs.config import DecoderConfig
from archs.hf import known_differences, model_type, transformers_config


@dataclass(frozen=True)
class Difference:
    quantity: str                  # "params", "flops" or "cache_bytes"
    reference: str                 # "checkpoint" or "transformers"
    component: str                 # the kind it belongs to in archbench's breakdowns ("model" when none)
    text: str
    size: int | None               # the reference's value minus archbench's


def param_differences(cfg: DecoderConfig) -> list[Difference]:
    """Against the published checkpoint (the DIFF notes of archs.hf) and against the model transformers builds."""
    out = [Difference("params", "checkpoint", "model", text, size) for text, size in known_differences(cfg).items()]
    built = transformers_config(cfg)
    if built is not cfg:
        gap = analytic.params(built).total - analytic.params(cfg).total
        out.append(Difference("params", "transformers", "mtp", "transformers builds no MTP module (the checkpoint's "
                              "mtp.* tensors are not loaded)", gap))
    return out


def _gdn_layers(cfg: DecoderConfig) -> int:
    return sum(spec.mixer == "gdn" for spec in cfg.layers)


def flops_differences(cfg: DecoderConfig, T: int, batch: int = 1) -> list[Difference]:
    """Forward FLOPs of `batch` sequences of T tokens: transformers' counted FLOPs minus archbench's formula."""
    n = _gdn_layers(cfg) if model_type(cfg) == "qwen3_next" else 0
    if not n:
        return []
    H, Hv, K, V, W, C = deltanet.gdn_dims(cfg)
    Tp, channels = -(-T // C) * C, 2 * H * K + Hv * V

    def flop(text: str, per_sequence: int) -> Difference:
        return Difference("flops", "transformers", "gdn", text, n * batch * per_sequence)

    return [
        flop("the triangular solve of each chunk: archbench's formula counts it, torch's FlopCounterMode has no "
             "rule for it", -deltanet.flops_terms(cfg, T)["solve"]),
        flop("archbench forms the chunk's inverse and multiplies it into βV and βe^γK (two C×C matmuls); "
             "transformers solves against them directly (not counted)", -Hv * Tp * C * 2 * (K + V)),
        flop("transformers' reference causal conv computes T + conv_size − 1 outputs and drops the first "
             "conv_size − 1", 2 * (W - 1) * channels * W),
    ]


def cache_differences(cfg: DecoderConfig, batch: int, T: int, dtype_bytes: int) -> list[Difference]:
    """Bytes of the cache after a prompt of T tokens: what transformers keeps minus archbench's formula."""
    n = _gdn_layers(cfg) if model_type(cfg) == "qwen3_next" else 0
    if not n:
        return []
    H, Hv, K, V, W, _ = deltanet.gdn_dims(cfg)
    return [Difference("cache_bytes", "transformers", "gdn", "transformers keeps conv_size columns of the conv "
                       "input per layer, archbench the conv_size − 1 the next step needs",
                       n * batch * (2 * H * K + Hv * V) * dtype_bytes)]


def differences(cfg: DecoderConfig, *, T: int, batch: int = 1, dtype_bytes: int = 2) -> list[Difference]:
    """Every difference: parameters, then FLOPs of one forward of T tokens, then cache bytes after T tokens."""
    return (param_differences(cfg) + flops_differences(cfg, T, batch)
            + cache_differences(cfg, batch, T, dtype_bytes))
