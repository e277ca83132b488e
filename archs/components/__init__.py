"""The table of components: every mixer, FFN, norm and position kind a config can name, and the class that
implements it. The decoder builds from it, the config validates against it, `archs.analytic` sums the formulas
it reaches, and each class declares the parameter kind the counter files its weights under. Adding a mixer kind
is one module (a `Component` subclass, its formulas beside it) plus one entry in MIXERS.

Contract shared by every mixer and FFN (`component.Component`; the decoder, the counters and the suites rely
on it):

- Built as `Cls.build(cfg, spec)` from a `DecoderConfig` and the layer's `LayerSpec`. `Cls.check_config(cfg)`
  raises ConfigError where the config cannot hold the component (called for every kind a pattern uses).
- Mixers run as `forward(x, cache=None, doc_ids=None) -> y` with x, y: [B, T, D]. `new_cache()` returns an
  empty decode cache (a `cache.Cache`) which forward fills in place; with a cache, forward continues from
  `cache.pos` (prefill, then one token at a time).
- FFNs run as `forward(x) -> y`; an MoE also leaves its load-balance loss in `self.aux_loss` (a scalar tensor)
  after every forward.
- `kind` names the component in the formulas' breakdowns; `param_kind` is what the parameter counter files
  its weights under (`harness.measure.counting`: the outermost declaration on a parameter's path wins; the
  MoE declares none and lets its router, shared and routed experts declare theirs).
- Formulas, pure functions of the config (no tensors), the independent references for the module-tree counters
  and the torch FLOP counter; each module defines them as functions and its class exposes them:
    `params_formula(cfg, spec) -> int`   and, split as the counter files them, `params_by_kind(cfg, spec)`;
        `params_at_fraction(cfg, spec) -> {share: params}` for parameters a token uses only a share of
    `flops_formula(cfg, spec, T, causal=True) -> int`   forward FLOPs of one sequence of T tokens (prefill, no
        cache), 2 FLOPs per multiply-add, matmuls only (norms, softmax, activations excluded); causal=True
        halves the T² attention terms (Megatron convention)
    `cache_bytes_formula(cfg, spec, batch, T, dtype_bytes) -> int`   decode state held after T tokens

Norms are built as `Cls(dim, eps)` with `Cls.params_formula(dim)`; positions added to the embeddings as
`Cls.build(cfg)` with `Cls.params_formula(cfg)` (None: nothing is added, RoPE rotates inside the mixers).
"""
from __future__ import annotations

from torch import nn

from archs.components.attention import Attention
from archs.components.component import Component
from archs.components.deltanet import GatedDeltaNet
from archs.components.mla import MLA
from archs.components.mlp import FFN_KINDS, MLP
from archs.components.moe import MoE
from archs.components.norms import LayerNorm, RMSNorm
from archs.components.rope import LearnedPositions, SinusoidalPositions

MIXERS: dict[str, type[Component]] = {"attention": Attention,   # MHA / GQA / MQA by n_kv_heads
                                      "mla": MLA, "gdn": GatedDeltaNet}
FFNS: dict[str, type[Component]] = {**dict.fromkeys(FFN_KINDS, MLP), "moe": MoE}
NORMS: dict[str, type[nn.Module]] = {"rms": RMSNorm, "layer": LayerNorm}
POSITIONS: dict[str, type[nn.Module] | None] = {"rope": None, "sinusoidal": SinusoidalPositions,
                                                "learned": LearnedPositions, "none": None}


def build_norm(kind: str, dim: int, eps: float = 1e-6) -> nn.Module:
    return NORMS[kind](dim, eps)


def norm_params(kind: str, dim: int) -> int:
    return NORMS[kind].params_formula(dim)


def build_positions(cfg) -> nn.Module | None:
    """The position module a decoder adds to its embeddings (None for RoPE and for no positions)."""
    cls = POSITIONS[cfg.position]
    return cls.build(cfg) if cls is not None else None


def position_params(cfg) -> int:
    cls = POSITIONS[cfg.position]
    return cls.params_formula(cfg) if cls is not None else 0
