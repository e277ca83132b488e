"""Document 003, the "parallel stacks" experimental decoder, as archbench reads it.

The reading (the document gives two figures we cannot see, a few sentences and a config list; this is what we
build and every choice the text leaves open is recorded in the preset's `assumptions`):

* token embedding (vocab × dim) -> stacks run one after another -> final RMSNorm -> output head dim -> vocab.
  The head is the "large Linear layer at the end" that 003 names as its memory drawback; untied by default.
* a stack holds P decoder layers that run in parallel on the same input x [B, T, dim]. Layer p projects x
  down to a narrow width w (dim -> w, no bias), runs ONE standard pre-norm decoder layer at width w (causal
  softmax attention with RoPE, then a SwiGLU FFN, each inside its own narrow residual), and yields w features
  per token. The P outputs are concatenated (P·w features, 003's "about 8" / "about 32 features for the
  tokens"), projected back up (P·w -> dim, no bias) and added to the residual stream: x = x + up(cat(...)).
* every parallel layer is a full causal attention layer over all positions: 003 insists the model "still
  takes into account all the positional embeddings and attention scores for each token as a normal decoder".
  So each of the P layers keeps its own KV cache (width w each), and cached decoding equals the full forward.
* the narrow layer is `archs.decoder.Block` built from a narrow `DecoderConfig` (dim=w, the stack's n_heads,
  SwiGLU hidden = round(2/3 · ffn_mult · w), i.e. parameter-matched to a ffn_mult·w GELU MLP, LLaMA's rule
  without rounding up to a hardware multiple, which at w = 8 would double the FFN).

Shapes: B batch, T tokens, D dim, P parallel layers of a stack, w their width, V vocab.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from archs.components import attention as attn
from archs.components import norm_params
from archs.components.component import with_param_kind
from archs.components.mlp import mlp_flops, mlp_params
from archs.components.norms import RMSNorm
from archs.config import DecoderConfig, DictConfig, LayerSpec, _positive
from archs.decoder import Block, Decoder, DecoderOutput
from archs.presets import ARCHS
from harness.errors import ConfigError

LAYER = LayerSpec()                       # every parallel layer: full causal softmax attention + SwiGLU


@dataclass(frozen=True, kw_only=True)
class StackSpec:
    """One stack: n_parallel decoder layers, each `width` wide with `n_heads` heads (head_dim = width/n_heads)."""
    n_parallel: int
    width: int
    n_heads: int

    def __post_init__(self):
        _positive(self, "n_parallel", "width", "n_heads")
        if self.width % self.n_heads:
            raise ConfigError(f"StackSpec.n_heads={self.n_heads} does not divide width={self.width}")
        if (self.width // self.n_heads) % 2:
            raise ConfigError(f"StackSpec.width={self.width} with n_heads={self.n_heads} gives an odd head_dim "
                              f"{self.width // self.n_heads}; RoPE rotates pairs of features")


@dataclass(frozen=True, kw_only=True)
class ParallelStacksConfig(DictConfig):
    vocab_size: int
    dim: int
    stacks: tuple[StackSpec, ...]
    ffn_mult: float = 4.0                  # SwiGLU hidden = round(2/3 · ffn_mult · width)
    norm_eps: float = 1e-6
    rope_theta: float = 10000.0
    tie_embeddings: bool = False
    assumptions: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self):
        _positive(self, "vocab_size", "dim")
        if not isinstance(self.stacks, tuple) or not self.stacks:
            raise ConfigError(f"ParallelStacksConfig.stacks must be a non-empty tuple of StackSpec, "
                              f"got {self.stacks!r}")
        for i, s in enumerate(self.stacks):
            if not isinstance(s, StackSpec):
                raise ConfigError(f"ParallelStacksConfig.stacks[{i}] must be a StackSpec, got {s!r}")
        for name in ("ffn_mult", "norm_eps", "rope_theta"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ConfigError(f"ParallelStacksConfig.{name} must be a positive number, got {value!r}")
        if self.ffn_hidden(min(s.width for s in self.stacks)) < 1:
            raise ConfigError(f"ParallelStacksConfig.ffn_mult={self.ffn_mult} leaves an empty FFN")

    @property
    def n_layers(self) -> int:
        """Decoder layers in all stacks together (003 counts its 2 × 64 model as 128 layers)."""
        return sum(s.n_parallel for s in self.stacks)

    def ffn_hidden(self, width: int) -> int:
        return round(2 * self.ffn_mult * width / 3)

    def layer_config(self, stack: StackSpec) -> DecoderConfig:
        """The narrow config one parallel layer of `stack` is built from (vocab/n_layers unused by a Block)."""
        return DecoderConfig(vocab_size=self.vocab_size, dim=stack.width, n_layers=1, n_heads=stack.n_heads,
                             ffn_dim=self.ffn_hidden(stack.width), norm_eps=self.norm_eps,
                             rope_theta=self.rope_theta, pattern=(LAYER,))

    def build(self) -> "ParallelStacksDecoder":
        return ParallelStacksDecoder(self)


class ParallelStack(nn.Module):
    """x [B, T, D] -> the stack's residual update [B, T, D]. The P down projections are one Linear D -> P·w
    (same parameters as P separate ones, one matmul); the P narrow layers run one after another."""

    def __init__(self, cfg: ParallelStacksConfig, stack: StackSpec):
        super().__init__()
        self.width = stack.width
        narrow = cfg.layer_config(stack)
        self.down = nn.Linear(cfg.dim, stack.n_parallel * stack.width, bias=False)
        self.layers = nn.ModuleList(Block(narrow, LAYER) for _ in range(stack.n_parallel))
        self.up = nn.Linear(stack.n_parallel * stack.width, cfg.dim, bias=False)

    def new_cache(self) -> list:
        return [layer.mixer.new_cache() for layer in self.layers]

    def forward(self, x, cache: list | None = None, doc_ids=None):
        parts = self.down(x).split(self.width, dim=-1)                        # P × [B, T, w]
        outs = [layer(h, cache[p] if cache else None, doc_ids)                # P × [B, T, w]
                for p, (layer, h) in enumerate(zip(self.layers, parts))]
        return self.up(torch.cat(outs, dim=-1))                               # [B, T, P·w] -> [B, T, D]


class ParallelStacksDecoder(nn.Module):
    """Token ids [B, T] -> logits [B, T, V], with archs.decoder.Decoder's interface (no MoE, no MTP)."""

    def __init__(self, cfg: ParallelStacksConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = with_param_kind(nn.Embedding(cfg.vocab_size, cfg.dim), "embedding")
        self.stacks = nn.ModuleList(ParallelStack(cfg, s) for s in cfg.stacks)
        self.norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.head = with_param_kind(nn.Linear(cfg.dim, cfg.vocab_size, bias=False), "output")
        if cfg.tie_embeddings:
            self.head.weight = self.embed.weight
        self.apply(Decoder._init)

    def new_cache(self) -> list:
        """One KVCache per parallel layer, stack by stack (len == cfg.n_layers)."""
        return [c for stack in self.stacks for c in stack.new_cache()]

    def forward(self, idx, cache: list | None = None, doc_ids=None, targets=None) -> DecoderOutput:
        x = self.embed(idx)                                                   # [B, T, D]
        first = 0
        for stack, spec in zip(self.stacks, self.cfg.stacks):
            part = cache[first:first + spec.n_parallel] if cache else None
            x = x + stack(x, part, doc_ids)
            first += spec.n_parallel
        return DecoderOutput(self.head(self.norm(x)), x.new_zeros(()))

    def loss(self, idx, targets) -> dict[str, torch.Tensor]:
        logits = self(idx).logits
        lm = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1))
        zero = lm.new_zeros(())
        return {"loss": lm, "lm": lm.detach(), "aux": zero, "mtp": zero}


# ---------------------------------------------------------------- formulas (pure config math)
def _layer_params(cfg: ParallelStacksConfig, stack: StackSpec) -> int:
    narrow = cfg.layer_config(stack)
    return (attn.params_formula(narrow, LAYER) + mlp_params(stack.width, narrow.ffn_dim, "swiglu")
            + 2 * norm_params("rms", stack.width))


def params_formula(cfg: ParallelStacksConfig) -> int:
    """Embedding + head (once if tied) + final norm + per stack: down D·P·w, P narrow layers, up P·w·D."""
    n = cfg.vocab_size * cfg.dim * (1 if cfg.tie_embeddings else 2) + cfg.dim
    for s in cfg.stacks:
        n += 2 * cfg.dim * s.n_parallel * s.width + s.n_parallel * _layer_params(cfg, s)
    return n


def flops_formula(cfg: ParallelStacksConfig, T: int, causal: bool = True) -> int:
    """Forward matmul FLOPs of one T-token sequence (2 per multiply-add): down and up projections, every
    narrow layer's attention (T² halved when causal) and SwiGLU, and the output head. Norms, RoPE and the
    softmax are not matmuls and are left out."""
    n = 2 * T * cfg.dim * cfg.vocab_size
    for s in cfg.stacks:
        narrow = cfg.layer_config(s)
        layer = attn.flops_formula(narrow, LAYER, T, causal) + mlp_flops(s.width, narrow.ffn_dim, "swiglu", T)
        n += 2 * 2 * T * cfg.dim * s.n_parallel * s.width + s.n_parallel * layer
    return n


def decode_flops_formula(cfg: ParallelStacksConfig, context: int) -> int:
    """One new token attending to `context` cached tokens in every parallel layer."""
    n = 2 * cfg.dim * cfg.vocab_size
    for s in cfg.stacks:
        narrow = cfg.layer_config(s)
        layer = attn.decode_flops_formula(narrow, LAYER, context) + mlp_flops(s.width, narrow.ffn_dim, "swiglu", 1)
        n += 4 * cfg.dim * s.n_parallel * s.width + s.n_parallel * layer
    return n


def cache_bytes_formula(cfg: ParallelStacksConfig, batch: int, T: int, dtype_bytes: int) -> int:
    """Every parallel layer caches K and V at its own width: 2 · w per token per layer."""
    return sum(s.n_parallel * attn.cache_bytes_formula(cfg.layer_config(s), LAYER, batch, T, dtype_bytes)
               for s in cfg.stacks)


def equivalent_dense(cfg: ParallelStacksConfig, n_layers: int | None = None) -> DecoderConfig:
    """The "normal" decoder 003 compares sizes with: n_layers (default: as many as the stacks hold) full-width
    pre-norm layers at the same dim, vocab and FFN rule, MHA with 64-wide heads."""
    heads = cfg.dim // 64 if cfg.dim % 64 == 0 else 1
    return DecoderConfig(vocab_size=cfg.vocab_size, dim=cfg.dim, n_layers=n_layers or cfg.n_layers,
                         n_heads=heads, ffn_dim=cfg.ffn_hidden(cfg.dim), norm_eps=cfg.norm_eps,
                         rope_theta=cfg.rope_theta, tie_embeddings=cfg.tie_embeddings,
                         assumptions=("003's 'normal Transformer Decoder': same dim, vocab, SwiGLU rule and "
                                      "embedding tying; MHA, head_dim 64 (head count does not change size)",))


# ---------------------------------------------------------------- presets
_COMMON = ("every parallel layer: projection dim -> width, one pre-norm layer (causal MHA with RoPE, SwiGLU "
           "hidden round(8/3 · width)), outputs concatenated and projected back to dim, added to the residual",
           "untied embedding and output head (003's 'large Linear layer at the end')",
           "RoPE theta 10000, RMSNorm eps 1e-6 (003 gives neither)")


@ARCHS.register("parallel-stacks-current", doc="003", scale="full",
                title="003 current config: dim 1024, 4 stacks × 8 parallel layers of width 128, vocab 110k")
def parallel_stacks_current() -> ParallelStacksConfig:
    return ParallelStacksConfig(
        vocab_size=110000, dim=1024, stacks=(StackSpec(n_parallel=8, width=128, n_heads=2),) * 4,
        assumptions=_COMMON + ("width 128 = dim / 8, so 8 parallel layers concatenate back to 1024 features",
                               "2 heads of 64 per parallel layer (003 gives no head count)"))


@ARCHS.register("parallel-stacks-2x64", doc="003", scale="full",
                title="003 current experiment: 2 stacks × 64 parallel layers of width 8 and 32, vocab 110k")
def parallel_stacks_2x64() -> ParallelStacksConfig:
    return ParallelStacksConfig(
        vocab_size=110000, dim=1024,
        stacks=(StackSpec(n_parallel=64, width=8, n_heads=1), StackSpec(n_parallel=64, width=32, n_heads=4)),
        assumptions=_COMMON + ("dim 1024, the embedding size 003 lists under its current config",
                               "'about 8' / 'about 32 features' read as each parallel layer's width: 8 and 32",
                               "heads: 1 of 8 in the first stack, 4 of 8 in the second (003 gives none)",
                               "BPE vocab 110000 as in 003's current config"))


@ARCHS.register("parallel-stacks-tiny", doc="003", scale="tiny",
                title="003's shape at 128 wide: 2 stacks × 4 parallel layers of width 32, byte vocab")
def parallel_stacks_tiny() -> ParallelStacksConfig:
    return ParallelStacksConfig(
        vocab_size=256, dim=128, stacks=(StackSpec(n_parallel=4, width=32, n_heads=2),) * 2,
        assumptions=_COMMON + ("tiny twin: dim 128, 2 stacks of 4 parallel layers of width 32 (2 heads of 16), "
                               "byte vocab 256",))
