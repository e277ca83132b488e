"""Configs for every decoder archbench builds: frozen dataclasses, validated on construction.

A model is `DecoderConfig(...).build()`. Swappable parts are short strings (`mixer="gdn"`, `ffn="moe"`,
`norm="layer"`), so a head-to-head comparison is one `dataclasses.replace` and every config serializes with
`asdict`. Sub-configs (`MoEConfig`, `MLAConfig`, `DeltaNetConfig`, `MTPConfig`) hold what only one component
reads. Every check raises `ConfigError` naming the offending field.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Literal

from harness.errors import ConfigError

Mixer = Literal["attn", "mla", "gdn"]            # attn = MHA / GQA / MQA by n_kv_heads
Ffn = Literal["swiglu", "gelu", "relu", "relu2", "moe"]
Norm = Literal["rms", "layer"]
Position = Literal["rope", "sinusoidal", "learned", "none"]

MIXER_NAMES = ("attn", "mla", "gdn")
FFN_NAMES = ("swiglu", "gelu", "relu", "relu2", "moe")
NORM_NAMES = ("rms", "layer")
POSITION_NAMES = ("rope", "sinusoidal", "learned", "none")


def _positive(obj, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value <= 0):
            raise ConfigError(f"{type(obj).__name__}.{name} must be a positive integer, got {value!r}")


def _choice(obj, name: str, allowed: tuple[str, ...]) -> None:
    value = getattr(obj, name)
    if value not in allowed:
        raise ConfigError(f"{type(obj).__name__}.{name}={value!r} is not one of {', '.join(allowed)}")


def round_to_multiple(x: float, multiple: int) -> int:
    return int(multiple * ((int(x) + multiple - 1) // multiple))


def swiglu_hidden(dim: int, multiple_of: int = 256) -> int:
    """LLaMA's default SwiGLU width: 2/3 of 4·dim (same parameters as a 4·dim GELU MLP), rounded up."""
    return round_to_multiple(2 * 4 * dim / 3, multiple_of)


@dataclass(frozen=True, kw_only=True)
class LayerSpec:
    """What one decoder layer holds. `window` turns softmax attention into sliding-window attention;
    `mtp` attaches a multi-token-prediction head to this layer's output (document 000's superblocks)."""
    mixer: Mixer = "attn"
    ffn: Ffn = "swiglu"
    window: int | None = None
    mtp: bool = False

    def __post_init__(self):
        _choice(self, "mixer", MIXER_NAMES)
        _choice(self, "ffn", FFN_NAMES)
        _positive(self, "window")


@dataclass(frozen=True, kw_only=True)
class MoEConfig:
    n_experts: int
    top_k: int
    expert_dim: int                              # hidden width of one expert
    n_shared: int = 0                            # shared experts, always active (DeepSeek)
    shared_dim: int | None = None                # hidden width of one shared expert; None -> expert_dim
    expert_ffn: Literal["swiglu", "gelu", "relu2"] = "swiglu"
    router: Literal["softmax", "sigmoid"] = "softmax"
    aux_loss_coef: float = 0.01                  # Switch-style load-balance loss weight

    def __post_init__(self):
        _positive(self, "n_experts", "top_k", "expert_dim", "shared_dim")
        if self.n_shared < 0:
            raise ConfigError(f"MoEConfig.n_shared must be >= 0, got {self.n_shared}")
        if self.top_k > self.n_experts:
            raise ConfigError(f"MoEConfig.top_k={self.top_k} exceeds n_experts={self.n_experts}")
        _choice(self, "expert_ffn", ("swiglu", "gelu", "relu2"))
        _choice(self, "router", ("softmax", "sigmoid"))


@dataclass(frozen=True, kw_only=True)
class MLAConfig:
    """DeepSeek-V2/V3 multi-head latent attention dims. q_lora_rank=None projects queries at full rank."""
    kv_lora_rank: int
    q_lora_rank: int | None = None
    qk_nope_dim: int = 128
    qk_rope_dim: int = 64
    v_head_dim: int = 128

    def __post_init__(self):
        _positive(self, "kv_lora_rank", "q_lora_rank", "qk_nope_dim", "qk_rope_dim", "v_head_dim")


@dataclass(frozen=True, kw_only=True)
class DeltaNetConfig:
    """Gated DeltaNet dims (Yang et al. 2024; Qwen3-Next). head_k_dim/head_v_dim None -> dim // n_heads."""
    n_heads: int | None = None                   # None -> DecoderConfig.n_heads
    head_k_dim: int | None = None
    head_v_dim: int | None = None
    conv_size: int = 4
    chunk_size: int = 64

    def __post_init__(self):
        _positive(self, "n_heads", "head_k_dim", "head_v_dim", "conv_size", "chunk_size")


@dataclass(frozen=True, kw_only=True)
class MTPConfig:
    """DeepSeek-V3-style multi-token prediction: module k predicts token t+1+k from the hidden state and the
    embedding of token t+k, sharing the embedding and the output head. `with_block` adds one decoder layer
    inside each module (DeepSeek-V3 does; a bare projection head does not)."""
    depth: int = 1
    with_block: bool = False
    loss_coef: float = 0.3

    def __post_init__(self):
        _positive(self, "depth")


@dataclass(frozen=True, kw_only=True)
class DecoderConfig:
    """One config for every decoder family (documents 000, 001, 002, 004 and the public reference models).

    `pattern` is tiled over `n_layers` (len(pattern) must divide n_layers). `n_kv_heads=None` means MHA.
    `mtp` adds trailing MTP modules (DeepSeek); a LayerSpec with `mtp=True` adds a head after that layer.
    `assumptions` records every value chosen where a document is silent, for reports to print.
    """
    vocab_size: int
    dim: int
    n_layers: int
    n_heads: int
    ffn_dim: int
    n_kv_heads: int | None = None
    head_dim: int | None = None                  # None -> dim // n_heads
    norm: Norm = "rms"
    norm_eps: float = 1e-6
    position: Position = "rope"
    rope_theta: float = 10000.0
    rope_fraction: float = 1.0                   # partial rotary: fraction of head_dim that is rotated
    max_seq_len: int = 4096                      # only learned / sinusoidal positions depend on it
    pattern: tuple[LayerSpec, ...] = (LayerSpec(),)
    tie_embeddings: bool = False
    bias: bool = False
    moe: MoEConfig | None = None
    mla: MLAConfig | None = None
    deltanet: DeltaNetConfig | None = None
    mtp: MTPConfig | None = None
    dropout: float = 0.0
    assumptions: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self):
        _positive(self, "vocab_size", "dim", "n_layers", "n_heads", "ffn_dim", "n_kv_heads", "head_dim",
                  "max_seq_len")
        if self.head_dim is None and self.dim % self.n_heads:
            raise ConfigError(f"DecoderConfig.n_heads={self.n_heads} does not divide dim={self.dim}")
        if self.n_kv_heads is not None and self.n_heads % self.n_kv_heads:
            raise ConfigError(f"DecoderConfig.n_kv_heads={self.n_kv_heads} does not divide n_heads={self.n_heads}")
        _choice(self, "norm", NORM_NAMES)
        _choice(self, "position", POSITION_NAMES)
        if not 0.0 < self.rope_fraction <= 1.0:
            raise ConfigError(f"DecoderConfig.rope_fraction must be in (0, 1], got {self.rope_fraction}")
        if self.position == "rope" and int(self.attn_head_dim * self.rope_fraction) % 2:
            raise ConfigError(f"DecoderConfig.rope_fraction={self.rope_fraction} rotates an odd number of dims "
                              f"of head_dim={self.attn_head_dim}")
        if not self.pattern:
            raise ConfigError("DecoderConfig.pattern must hold at least one LayerSpec")
        if self.n_layers % len(self.pattern):
            raise ConfigError(f"DecoderConfig.n_layers={self.n_layers} is not a multiple of "
                              f"len(pattern)={len(self.pattern)}")
        needs = {"moe": any(s.ffn == "moe" for s in self.pattern), "mla": any(s.mixer == "mla" for s in self.pattern)}
        for name, needed in needs.items():
            if needed and getattr(self, name) is None:
                raise ConfigError(f"DecoderConfig.{name} is required: the pattern uses {name}")
        if any(s.mixer == "gdn" for s in self.pattern) and None in (self.gdn.head_k_dim, self.gdn.head_v_dim):
            heads = self.gdn.n_heads or self.n_heads
            if self.dim % heads:
                raise ConfigError(f"DeltaNetConfig.n_heads={heads} does not divide dim={self.dim} "
                                  "(set head_k_dim and head_v_dim, or pick a divisor)")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"DecoderConfig.dropout must be in [0, 1), got {self.dropout}")

    # ---- derived values, one place for every module and formula to read them
    @property
    def kv_heads(self) -> int:
        return self.n_heads if self.n_kv_heads is None else self.n_kv_heads

    @property
    def attn_head_dim(self) -> int:
        return self.head_dim if self.head_dim is not None else self.dim // self.n_heads

    @property
    def gdn(self) -> DeltaNetConfig:
        return self.deltanet if self.deltanet is not None else DeltaNetConfig()

    @property
    def layers(self) -> tuple[LayerSpec, ...]:
        """The pattern tiled over n_layers: one LayerSpec per layer."""
        return self.pattern * (self.n_layers // len(self.pattern))

    def to_dict(self) -> dict:
        return asdict(self)

    def build(self):
        from archs.decoder import Decoder          # late import: configs stay importable without torch models
        return Decoder(self)


def field_names(cls) -> set[str]:
    return {f.name for f in fields(cls)}
