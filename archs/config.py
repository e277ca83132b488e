"""Configs for every decoder archbench builds: frozen dataclasses, validated on construction.

A model is `DecoderConfig(...).build()`. Swappable parts are short strings, the names of the component table
(`archs.components`: `mixer="gdn"`, `ffn="moe"`, `norm="layer"`), so a head-to-head comparison is one
`dataclasses.replace`. Sub-configs hold what only one component reads and carry its name
(`attn: AttentionConfig`, `moe: MoEConfig`, `mla: MLAConfig`, `gdn: DeltaNetConfig`; `mtp: MTPConfig`). Every
check raises `ConfigError` naming the offending field. `to_dict()` is plain JSON-serialisable data and `from_dict` rebuilds the config from it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, is_dataclass
from typing import Literal, get_args, get_origin, get_type_hints

from archs.components import FFNS, MIXERS, NORMS, POSITIONS
from archs.decoder import Decoder
from harness.errors import ConfigError


def _positive(obj, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value <= 0):
            raise ConfigError(f"{type(obj).__name__}.{name} must be a positive integer, got {value!r}")


def _choice(obj, name: str, allowed: tuple[str, ...]) -> None:
    value = getattr(obj, name)
    if value not in allowed:
        raise ConfigError(f"{type(obj).__name__}.{name}={value!r} is not one of {', '.join(allowed)}")


class DictConfig:
    """`to_dict()` (nested plain data, JSON-serialisable) and its inverse `from_dict`, for config dataclasses."""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict):
        """The config `to_dict` described, also after a JSON round trip (which turns tuples into lists)."""
        return _from_dict(cls, data)


def _from_dict(cls, data: dict):
    if not isinstance(data, dict):
        raise ConfigError(f"{cls.__name__}: expected a dict of fields, got {data!r}")
    hints, known = get_type_hints(cls), {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{cls.__name__}: unknown config field {unknown[0]!r}")
    return cls(**{name: _decode(hints[name], value) for name, value in data.items()})


def _decode(hint, value):
    """`value` as the type `hint` names: dicts become the dataclass it names, lists become tuples."""
    if value is None:
        return None
    if get_origin(hint) is tuple:
        return tuple(_decode(get_args(hint)[0], v) for v in value)
    config = next((t for t in (hint, *get_args(hint)) if is_dataclass(t)), None)
    return _from_dict(config, value) if config is not None and isinstance(value, dict) else value


def round_to_multiple(x: float, multiple: int) -> int:
    return int(multiple * ((int(x) + multiple - 1) // multiple))


def swiglu_hidden(dim: int, multiple_of: int = 256) -> int:
    """LLaMA's default SwiGLU width: 2/3 of 4·dim (same parameters as a 4·dim GELU MLP), rounded up."""
    return round_to_multiple(2 * 4 * dim / 3, multiple_of)


@dataclass(frozen=True, kw_only=True)
class LayerSpec:
    """What one decoder layer holds. `window` turns softmax attention into sliding-window attention;
    `mtp` attaches a multi-token-prediction head to this layer's output (document 000's superblocks).
    `mixer` is a key of archs.components.MIXERS, `ffn` one of FFNS."""
    mixer: str = "attention"
    ffn: str = "swiglu"
    window: int | None = None
    mtp: bool = False

    def __post_init__(self):
        _choice(self, "mixer", tuple(MIXERS))
        _choice(self, "ffn", tuple(FFNS))
        _positive(self, "window")

    @property
    def components(self) -> tuple:
        """The classes of this layer's mixer and FFN."""
        return MIXERS[self.mixer], FFNS[self.ffn]


@dataclass(frozen=True, kw_only=True)
class AttentionConfig:
    """Softmax attention's options beyond its head counts, as public models use them (all off: LLaMA's)."""
    qk_norm: bool = False                        # RMSNorm over every query and key head before RoPE (Qwen3)
    output_gate: bool = False                    # q_proj also emits a sigmoid gate per output channel (Qwen3-Next)
    qkv_bias: bool = False                       # biases on q, k, v only (Qwen2); DecoderConfig.bias sets them all


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
    shared_gate: bool = False                    # a sigmoid gate (D -> 1) scales the shared experts' output (Qwen)
    router_bias: bool = False                    # a per-expert bias added to the scores to choose the experts, not to
    #                                              weight them (DeepSeek-V3's auxiliary-loss-free balancing)

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
    """Gated DeltaNet dims (Yang et al. 2024; Qwen3-Next). head_k_dim/head_v_dim None -> dim // n_heads.
    `n_heads` query/key heads; `n_v_heads` value heads (a multiple of n_heads, each group of n_v_heads/n_heads
    value heads reads one key head, as GQA shares KV heads): each value head has its own state, decay and beta."""
    n_heads: int | None = None                   # None -> DecoderConfig.n_heads
    n_v_heads: int | None = None                 # None -> n_heads
    head_k_dim: int | None = None
    head_v_dim: int | None = None
    conv_size: int = 4
    chunk_size: int = 64

    def __post_init__(self):
        _positive(self, "n_heads", "n_v_heads", "head_k_dim", "head_v_dim", "conv_size", "chunk_size")


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
class DecoderConfig(DictConfig):
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
    norm: str = "rms"                            # a key of archs.components.NORMS
    norm_eps: float = 1e-6
    position: str = "rope"                       # a key of archs.components.POSITIONS
    rope_theta: float = 10000.0
    rope_fraction: float = 1.0                   # partial rotary: fraction of head_dim that is rotated
    max_seq_len: int = 4096                      # only learned / sinusoidal positions depend on it
    pattern: tuple[LayerSpec, ...] = (LayerSpec(),)
    tie_embeddings: bool = False
    bias: bool = False
    post_norms: bool = False                     # a norm on the mixer's and the FFN's outputs too (Gemma 2)
    parallel_residual: bool = False              # x + mixer(norm(x)) + ffn(norm'(x)) (GPT-J, GPT-NeoX)
    attn: AttentionConfig = field(default_factory=AttentionConfig)    # read only by attention layers
    moe: MoEConfig | None = None
    mla: MLAConfig | None = None
    gdn: DeltaNetConfig = field(default_factory=DeltaNetConfig)    # read only by gdn layers
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
        _choice(self, "norm", tuple(NORMS))
        _choice(self, "position", tuple(POSITIONS))
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
        for component in dict.fromkeys(c for spec in self.pattern for c in spec.components):
            component.check_config(self)
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
    def layers(self) -> tuple[LayerSpec, ...]:
        """The pattern tiled over n_layers: one LayerSpec per layer."""
        return self.pattern * (self.n_layers // len(self.pattern))

    def build(self) -> Decoder:
        return Decoder(self)
