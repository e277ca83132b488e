"""Analytic parameter, FLOP and decode-state formulas for a whole model, summed from the formulas that sit
beside each component. These are the independent references the module-tree and torch counters are checked
against, and the only numbers available for models too large to run.

FLOP convention (Megatron-LM, Narayanan et al. 2021): 2 FLOPs per multiply-add; matmuls only; a training
step costs 3 × the forward (backward = 2 × forward); causal attention counts half of the T² score and
value products (the `causal=False` column counts all of them, which is what kernels and torch's counter see);
the logits matmul is counted; an embedding lookup is free; tied embeddings count once as parameters but the
output matmul is still paid.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from archs import parallel_stacks
from archs.components import MIXERS, mtp, norm_params, position_params
from archs.config import DecoderConfig
from archs.decoder import block_norms


def _is_decoder(cfg) -> bool:
    return isinstance(cfg, DecoderConfig)


def _stacks_params(cfg) -> "AnalyticParams":
    """Document 003's model has its own formula; only the embedding tables are broken out."""
    total = parallel_stacks.params_formula(cfg)
    table = cfg.vocab_size * cfg.dim
    by_kind = {"embedding": table, "output": 0 if cfg.tie_embeddings else table}
    by_kind["parallel_stacks"] = total - sum(by_kind.values())
    return AnalyticParams(total=total, active=total, by_kind=by_kind)


def _mtp_heads(cfg: DecoderConfig) -> list[bool]:
    """with_block flag of every MTP head the decoder builds."""
    layer_heads = [False for spec in cfg.layers if spec.mtp]
    return layer_heads + ([cfg.mtp.with_block] * cfg.mtp.depth if cfg.mtp else [])


def _block_params(cfg: DecoderConfig, spec, at_fraction: Counter) -> Counter:
    """One decoder layer's parameters by kind (its norms, mixer and FFN); adds the parameters a token uses
    only a share of to `at_fraction`."""
    by: Counter = Counter({"norm": block_norms(cfg) * norm_params(cfg.norm, cfg.dim)})
    for component in spec.components:
        by.update(component.params_by_kind(cfg, spec))
        at_fraction.update(component.params_at_fraction(cfg, spec))
    return by


def _block_flops(cfg: DecoderConfig, spec, T: int, causal: bool) -> Counter:
    return Counter({component.kind: component.flops_formula(cfg, spec, T, causal) for component in spec.components})


@dataclass
class AnalyticParams:
    total: int
    active: int
    by_kind: dict[str, int]


def params(cfg) -> AnalyticParams:
    """Parameters by component kind, total and active per token, from formulas only. Active: every parameter
    once, except those a token uses only a share of (routed experts: top_k / n_experts), counted at that share."""
    if not _is_decoder(cfg):
        return _stacks_params(cfg)
    by: Counter = Counter()
    at_fraction: Counter = Counter()
    by["embedding"] = cfg.vocab_size * cfg.dim
    by["output"] = 0 if cfg.tie_embeddings else cfg.vocab_size * cfg.dim
    by["positions"] = position_params(cfg)
    for spec in cfg.layers:
        by.update(_block_params(cfg, spec, at_fraction))
    by["norm"] += norm_params(cfg.norm, cfg.dim)
    for with_block in _mtp_heads(cfg):               # everything an MTP head holds counts as "mtp"
        block = sum(_block_params(cfg, cfg.pattern[-1], at_fraction).values()) if with_block else 0
        by["mtp"] += mtp.params_formula(cfg, with_block_params=block)
    total = sum(by.values())
    active = total - sum(at_fraction.values()) + sum(round(n * share) for share, n in at_fraction.items())
    return AnalyticParams(total=total, active=active, by_kind={k: v for k, v in by.items() if v})


def flops_forward(cfg, T: int, causal: bool = True, with_mtp: bool = False) -> dict[str, int]:
    """Forward FLOPs of one sequence of T tokens, by part: mixers, ffn, logits (and mtp when training)."""
    if not _is_decoder(cfg):
        return {"parallel_stacks": parallel_stacks.flops_formula(cfg, T, causal)}
    parts: Counter = Counter()
    for spec in cfg.layers:
        parts.update(_block_flops(cfg, spec, T, causal))
    parts["logits"] = 2 * T * cfg.dim * cfg.vocab_size
    if with_mtp:
        for with_block in _mtp_heads(cfg):
            block = sum(_block_flops(cfg, cfg.pattern[-1], T, causal).values()) if with_block else 0
            parts["mtp"] += mtp.flops_formula(cfg, T) + block + 2 * T * cfg.dim * cfg.vocab_size
    return dict(parts)


def flops_per_token(cfg, T: int, causal: bool = True, training: bool = False) -> float:
    """Forward (or training = 3 × forward incl. MTP) FLOPs per token at context T."""
    fwd = sum(flops_forward(cfg, T, causal, with_mtp=training).values())
    return (3 * fwd if training else fwd) / T


def cache_bytes(cfg, batch: int, T: int, dtype_bytes: int = 2) -> dict[str, int]:
    """Decode state after T tokens, by mixer kind (KV cache for attention, latent for MLA, fixed state for GDN)."""
    if not _is_decoder(cfg):
        return {"attention": parallel_stacks.cache_bytes_formula(cfg, batch, T, dtype_bytes)}
    out: Counter = Counter()
    for spec in cfg.layers:
        mixer = MIXERS[spec.mixer]
        out[mixer.kind] += mixer.cache_bytes_formula(cfg, spec, batch, T, dtype_bytes)
    return dict(out)


# ---------------------------------------------------------------- training memory
PRECISIONS = {"fp32": 4, "bf16": 2, "int8": 1}


def training_memory(cfg, batch: int, T: int, precision: str = "bf16", checkpointing: bool = False) -> dict[str, int]:
    """Bytes to train one step without sharding, by part.

    Weights at `precision`; gradients at the same width; Adam keeps m and v in fp32 (8 bytes/param) plus an fp32
    master copy when weights are not fp32 (mixed precision, Micikevicius et al. 2018). Activations follow
    Korthikanti et al. 2022 for a layer with FlashAttention-style attention (no T² term stored):
    34·T·B·D bytes per layer at 16-bit activations (×2 at fp32), applied to every layer kind (an approximation
    for MoE and Gated DeltaNet layers), plus the logits (B·T·V at activation width + fp32 softmax). With full
    activation checkpointing only each layer's input (2·T·B·D bytes) is kept, plus one layer's activations
    while it is recomputed.
    """
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"training precision {precision!r}: use fp32 or bf16 (int8 is for weights at rest)")
    n = params(cfg).total
    w = PRECISIONS[precision]
    act_bytes = 4 if precision == "fp32" else 2
    per_layer = 34 * T * batch * cfg.dim * act_bytes // 2
    layers = cfg.n_layers
    logits = batch * T * cfg.vocab_size * (act_bytes + 4)
    if checkpointing:
        activations = layers * 2 * T * batch * cfg.dim * act_bytes // 2 + per_layer + logits
    else:
        activations = layers * per_layer + logits
    return {"weights": n * w, "gradients": n * w, "optimizer": n * 8 + (0 if precision == "fp32" else n * 4),
            "activations": activations}
