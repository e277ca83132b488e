"""Hugging Face `config.json` -> DecoderConfig, for public models archbench rebuilds from its own components.

`load_hf_config(path)` reads a local config.json (or a directory holding one); nothing is fetched. Supported
model_type: SUPPORTED (llama, mistral, mixtral, qwen2, qwen3, qwen3_moe, qwen3_next, deepseek_v3, gpt2,
gpt_neox, gemma2, phi3). Every spelling the type's transformers
config class accepts is read (`ALIASES`: attribute-map aliases, v4 `rope_theta`/`rope_scaling` and v5
`rope_parameters`); two spellings that disagree are an error. A missing field that cannot change the model's size
takes transformers' default for that model_type; one whose transformers default is a particular model's number
(DeepSeek-V3's 256 experts, Mistral's 8 KV heads...) is required, because reading it as absent would analyse a
different model (a DeepSeek-V3 without its expert count is not a dense model). Impossible values (zero heads,
a zero layer frequency, NaN or non-positive eps and RoPE base) are one-line errors naming the field.

The components build what these models hold (q/k norms, Qwen3-Next's attention output gate, value heads and
shared-expert gate, DeepSeek-V3's router bias, Gemma 2's extra norms and GeGLU, GPT-NeoX's parallel residual,
...). Where the published model still differs from what archbench builds, `cfg.assumptions` holds one line
starting with DIFF per difference, ending in the parameters the checkpoint holds beyond ours: `[+N params]`
(0 for behaviour only). `known_differences(cfg)` returns them as numbers, so for every supported model
`analytic.params(cfg).total + sum(known_differences(cfg).values())` is the count of the checkpoint config.json
describes (a difference whose size is unknown maps to None). What transformers builds can differ from the
checkpoint: `transformers_config(cfg)` is the config of the model transformers builds (DeepSeek-V3 without its
MTP module), and `archs.hf_exact` lists where transformers' FLOPs and cache differ from archbench's formulas.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from pathlib import Path

from archs.config import AttentionConfig, DecoderConfig, DeltaNetConfig, LayerSpec, MLAConfig, MoEConfig, MTPConfig
from harness.errors import ArchbenchError, ConfigError

SUPPORTED = ("llama", "mistral", "mixtral", "qwen2", "qwen3", "qwen3_moe", "qwen3_next", "deepseek_v3", "gpt2",
             "gpt_neox", "gemma2", "phi3")
DIFF = "differs from HF: "
MTP_NOTE = "MTP module: "             # starts every difference that concerns DeepSeek-V3's MTP module
_PARAMS = re.compile(r" \[([+-][\d,]+) params\]$")
# transformers' defaults where they differ from archbench's (rms_norm_eps 1e-6, rope_theta 1e4, full rotary)
_EPS = {"mixtral": 1e-5, "gpt2": 1e-5, "gpt_neox": 1e-5, "phi3": 1e-5}
_THETA = {"mixtral": 1e6}
_ROTARY = {"qwen3_next": 0.25, "gpt_neox": 0.25}
# the field naming the activation, per type (default hidden_act), and the FFN each activation means
_ACT_FIELD = {"gpt2": "activation_function", "gemma2": "hidden_activation"}
_ACT_DEFAULT = {"gpt2": "gelu_new", "gpt_neox": "gelu", "gemma2": "gelu_pytorch_tanh"}
_EPS_FIELD = {"gpt2": "layer_norm_epsilon", "gpt_neox": "layer_norm_eps"}
_GELU_TANH = ("gelu_new", "gelu_fast", "gelu_pytorch_tanh", "gelu_accurate")
_PLAIN_MLP = ("gpt2", "gpt_neox")              # up, activation, down; every other type is gated
# Every spelling a model type's transformers config class accepts for one field: its `attribute_map` aliases
# and the names transformers 4 and 5 write (Qwen3-MoE's `num_experts` became `num_local_experts` in v5).
# canonical name -> other spellings. tests/archs/test_hf.py checks this against the installed transformers.
ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "gpt2": {"hidden_size": ("n_embd",), "max_position_embeddings": ("n_positions",),
             "num_attention_heads": ("n_head",), "num_hidden_layers": ("n_layer",)},
    "mixtral": {"num_local_experts": ("num_experts",)},
    "qwen3_moe": {"num_experts": ("num_local_experts",)},
    "deepseek_v3": {"n_routed_experts": ("num_local_experts",), "num_nextn_predict_layers": ("num_mtp_layers",)},
}
# transformers fills a missing num_key_value_heads with a fixed number for these types (8, 8, 4, 2), not with
# num_attention_heads: absent, the count is unknowable, so the field is required
_KV_HEADS_REQUIRED = ("mistral", "mixtral", "qwen3_moe", "qwen3_next")
_KINDS = {int: "an integer", float: "a number", bool: "a boolean", list: "a list", dict: "an object", str: "a string"}


class _Fields:
    """Typed, validated access to one config.json under every spelling its model type accepts; every error is
    one line naming the file. Integers must be >= `least` (default 1), numbers finite and > `least` (default
    >= 0 when `least` is given, > 0 when not): an impossible value fails here, not as a division by zero later."""

    def __init__(self, raw: dict, path: Path, model_type=None, prefix: str = ""):
        self.raw, self.path, self.prefix = raw, path, prefix
        self.type = raw.get("model_type") if model_type is None else model_type
        self.aliases = ALIASES.get(self.type, {}) if isinstance(self.type, str) else {}

    def fail(self, msg: str):
        raise ArchbenchError(f"{self.path}: {msg}")

    def nested(self, key: str) -> _Fields:
        """The object field `key` (empty when absent) with the same checks, its fields named `key.<name>`."""
        return _Fields(self.get(key, None, dict) or {}, self.path, self.type, f"{self.prefix}{key}.")

    def spellings(self, key: str) -> tuple[str, ...]:
        return (key, *self.aliases.get(key, ()))

    def lookup(self, key: str) -> tuple[str, object] | None:
        """`(spelling, value)` of `key` under whichever accepted spelling the file uses (null counts as absent);
        two spellings with different values are an error."""
        found = [(name, self.raw[name]) for name in self.spellings(key) if self.raw.get(name) is not None]
        if len({json.dumps(value, sort_keys=True) for _, value in found}) > 1:
            self.fail(" and ".join(f"field {self.prefix + n!r} = {v!r}" for n, v in found)
                      + " spell the same setting and disagree")
        return found[0] if found else None

    def _name(self, key: str) -> str:
        others = self.aliases.get(key, ())
        return f"{self.prefix + key!r}" + (f" (or {', '.join(repr(o) for o in others)})" if others else "")

    def req(self, key: str, kind=int, least=None):
        """A field whose absence would change the model's count: missing or null is an error naming it."""
        if self.lookup(key) is None:
            self.fail(f"required field {self._name(key)} is missing (model_type {self.type!r}); archbench "
                      "does not guess what sets the model's size or kind")
        return self.get(key, None, kind, least)

    def present(self, key: str, kind=int, least=None):
        """A field that must be written out but may be null (e.g. DeepSeek's q_lora_rank: null = no q LoRA)."""
        if not any(name in self.raw for name in self.spellings(key)):
            self.req(key, kind, least)
        return self.get(key, None, kind, least)

    def get(self, key: str, default, kind=int, least=None):
        hit = self.lookup(key)
        if hit is None:
            return default
        name, value = hit
        if not isinstance(value, (int, float) if kind is float else kind) or \
                (kind is not bool and isinstance(value, bool)):
            self.fail(f"field {self.prefix + name!r} must be {_KINDS[kind]}, got {value!r}")
        if kind is float:
            value = float(value)
            if not math.isfinite(value) or (value <= 0 if least is None else value < least):
                bound = "> 0" if least is None else f">= {least}"
                self.fail(f"field {self.prefix + name!r} must be a finite number {bound}, got {value!r}")
        elif kind is int and value < (1 if least is None else least):
            self.fail(f"field {self.prefix + name!r} must be an integer >= {1 if least is None else least}, "
                      f"got {value!r}")
        return value

    def int_list(self, key: str, least: int = 0) -> list[int]:
        values = self.get(key, [], list)
        if any(type(v) is not int or v < least for v in values):
            self.fail(f"field {self.prefix + key!r} must list integers >= {least}, got {values!r}")
        return values


def _read(path: Path) -> _Fields:
    file = path / "config.json" if path.is_dir() else path
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArchbenchError(f"{file}: no such file") from None
    except json.JSONDecodeError as err:
        raise ArchbenchError(f"{file}: invalid JSON at line {err.lineno} column {err.colno}: {err.msg}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ArchbenchError(f"{file}: cannot be read: {getattr(err, 'strerror', None) or err}") from None
    if not isinstance(raw, dict):
        raise ArchbenchError(f"{file}: expected a JSON object, got {type(raw).__name__}")
    return _Fields(raw, file)


def _diff(notes: list, text: str, params: int | None = 0) -> None:
    notes.append(f"{DIFF}{text}" + ("" if params is None else f" [{params:+,} params]"))


def _one_of(f: _Fields, spelled: list[tuple[str, float | None]]) -> float | None:
    """The value of a setting that config.json may write in several places; places that disagree are an error."""
    given = [(name, value) for name, value in spelled if value is not None]
    if len({value for _, value in given}) > 1:
        f.fail(" and ".join(f"field {name!r} = {value!r}" for name, value in given)
               + " spell the same setting and disagree")
    return given[0][1] if given else None


def _rope(f: _Fields, notes: list) -> tuple[float, float]:
    """rope_theta and partial_rotary_factor: top level (transformers 4) or inside rope_parameters (transformers 5,
    which also reads the v4 `rope_scaling` object as rope_parameters)."""
    if f.lookup("rope_parameters") and f.lookup("rope_scaling"):
        f.fail("fields 'rope_parameters' and 'rope_scaling' are both set: transformers reads only one of them")
    params = f.nested("rope_parameters" if f.lookup("rope_parameters") else "rope_scaling")
    theta = _one_of(f, [("rope_theta", f.get("rope_theta", None, float)),
                        ("rotary_emb_base", f.get("rotary_emb_base", None, float)),       # GPT-NeoX, v4
                        (f"{params.prefix}rope_theta", params.get("rope_theta", None, float))])
    rotary = _one_of(f, [("partial_rotary_factor", f.get("partial_rotary_factor", None, float)),
                         ("rotary_pct", f.get("rotary_pct", None, float)),                # GPT-NeoX, v4
                         (f"{params.prefix}partial_rotary_factor", params.get("partial_rotary_factor", None, float))])
    kind = params.get("rope_type", None, str) or params.get("type", None, str)
    if kind not in (None, "default"):
        _diff(notes, f"rope_scaling {kind!r} is not modelled: archbench's RoPE is unscaled (no parameters)")
    return theta or _THETA.get(f.type, 10000.0), rotary or _ROTARY.get(f.type, 1.0)


def _topk_note(f: _Fields, notes: list) -> None:
    if not f.get("norm_topk_prob", True, bool):
        _diff(notes, "norm_topk_prob=false: archbench always renormalises the top-k routing weights")


def _tile(layers: list[LayerSpec]) -> tuple[LayerSpec, ...]:
    """The shortest pattern that tiles to the per-layer list (a per-layer pattern when nothing repeats)."""
    n = len(layers)
    return next(tuple(layers[:p]) for p in range(1, n + 1) if n % p == 0 and layers == layers[:p] * (n // p))


def _windows(f: _Fields, n: int, sliding) -> list[int | None]:
    """Each layer's attention window: `layer_types` where config.json lists them (transformers 5 writes them),
    else the type's own rule, `sliding(i)` is True for a sliding-window layer."""
    types = f.get("layer_types", None, list)
    kinds = ("full_attention", "sliding_attention")
    if types is not None and (len(types) != n or not set(types) <= set(kinds)):
        f.fail(f"layer_types must list {n} of {', '.join(kinds)}, got {types!r}")
    window = f.get("sliding_window", None)
    if types is None:
        return [window if sliding(i) else None for i in range(n)]
    if "sliding_attention" in types and window is None:
        f.fail("layer_types names sliding_attention layers but field 'sliding_window' is missing")
    return [window if t == "sliding_attention" else None for t in types]


def _qwen_windows(f: _Fields, n: int) -> list[int | None]:
    """Qwen: with use_sliding_window, layers from max_window_layers on attend within sliding_window."""
    full = f.get("max_window_layers", n, least=0)
    return _windows(f, n, lambda i: f.get("use_sliding_window", False, bool) and i >= full)


def _qk_norm(kw) -> None:
    kw["attn"] = replace(kw["attn"], qk_norm=True)


# ---------------------------------------------------------------- one function per family: (layers, extra)
def _dense(f, kw, notes):
    every = f.type in ("mistral", "phi3")               # these window every layer when sliding_window is set
    return [LayerSpec(window=w) for w in _windows(f, kw["n_layers"], lambda i: every)], {}


def _qwen_dense(f, kw, notes):
    if f.type == "qwen2":                                # Qwen2: biases on q, k, v and none on o
        kw["attn"] = replace(kw["attn"], qkv_bias=True)
    else:
        _qk_norm(kw)
    return [LayerSpec(window=w) for w in _qwen_windows(f, kw["n_layers"])], {}


def _gpt(f, kw, notes):
    """GPT-2 (learned positions, always biased) and GPT-NeoX (partial RoPE, parallel residual): LayerNorm and
    a plain GELU MLP, its width 4·dim where config.json leaves it out."""
    kw.update(norm="layer", ffn_dim=f.get("n_inner", None) or 4 * kw["dim"] if f.type == "gpt2" else
              f.req("intermediate_size"))
    if f.type == "gpt2":
        kw.update(position="learned", bias=True, max_seq_len=f.req("max_position_embeddings"),
                  tie_embeddings=f.get("tie_word_embeddings", True, bool))
    else:
        kw.update(parallel_residual=f.get("use_parallel_residual", True, bool))
    return [LayerSpec(ffn=kw.pop("ffn_kind"))] * kw["n_layers"], {}


def _gemma2(f, kw, notes):
    kw.update(post_norms=True, tie_embeddings=f.get("tie_word_embeddings", True, bool))
    _diff(notes, "attention and final logit soft-capping (tanh), query_pre_attn_scalar and the √dim embedding "
          "scale are not modelled (no parameters; the counted FLOPs are matmuls)")
    _diff(notes, "zero-centred RMSNorm weights (1 + w) are not modelled: same parameters")
    kind, windows = kw.pop("ffn_kind"), _windows(f, kw["n_layers"], lambda i: i % 2 == 0)   # even layers slide
    return [LayerSpec(ffn=kind, window=w) for w in windows], {}


def _mixtral(f, kw, notes):
    moe = MoEConfig(n_experts=f.req("num_local_experts"), top_k=f.req("num_experts_per_tok"),
                    expert_dim=kw["ffn_dim"], aux_loss_coef=f.get("router_aux_loss_coef", 0.001, float, 0))
    windows = _windows(f, kw["n_layers"], lambda i: True)
    return [LayerSpec(ffn="moe", window=w) for w in windows], {"moe": moe}


def _qwen_moe(f, n: int, shared: int = 0) -> tuple[list[bool], MoEConfig | None]:
    """Which layers are MoE (mlp_only_layers, decoder_sparse_step) and the MoEConfig, if any layer is."""
    experts, step = f.req("num_experts", least=0), f.get("decoder_sparse_step", 1)   # 0 experts: all dense
    dense = set(f.int_list("mlp_only_layers"))
    is_moe = [experts > 0 and i not in dense and (i + 1) % step == 0 for i in range(n)]
    if not any(is_moe):
        return is_moe, None
    return is_moe, MoEConfig(n_experts=experts, top_k=f.req("num_experts_per_tok"),
                             expert_dim=f.req("moe_intermediate_size"), n_shared=1 if shared else 0,
                             shared_dim=shared or None, shared_gate=bool(shared),
                             aux_loss_coef=f.get("router_aux_loss_coef", 0.001, float, 0))


def _qwen3_moe(f, kw, notes):
    n = kw["n_layers"]
    is_moe, moe = _qwen_moe(f, n)
    layers = [LayerSpec(ffn="moe" if m else "swiglu", window=w) for m, w in zip(is_moe, _qwen_windows(f, n))]
    _qk_norm(kw)
    _topk_note(f, notes)
    return layers, {"moe": moe}


def _deepseek_v3(f, kw, notes):
    n, V, D = kw["n_layers"], kw["vocab_size"], kw["dim"]
    # transformers' defaults for these (256 experts, 3 dense layers, 1 shared expert, 1 MTP layer, q LoRA 1536)
    # describe one model; a config.json without them is not that model, so each is required
    experts, first = f.req("n_routed_experts", least=0), f.req("first_k_dense_replace", least=0)
    freq = f.get("moe_layer_freq", 1)
    is_moe = [experts > 0 and i >= first and i % freq == 0 for i in range(n)]
    kw.update(n_kv_heads=None, head_dim=None)                # MLA: the head dims come from MLAConfig
    depth = f.req("num_nextn_predict_layers", least=0)
    extra = {"mla": MLAConfig(kv_lora_rank=f.req("kv_lora_rank"), q_lora_rank=f.present("q_lora_rank"),
                              qk_nope_dim=f.req("qk_nope_head_dim"), qk_rope_dim=f.req("qk_rope_head_dim"),
                              v_head_dim=f.req("v_head_dim")),
             "mtp": MTPConfig(depth=depth, with_block=True) if depth else None}
    if any(is_moe):
        scoring = f.get("scoring_func", "softmax", str)
        if scoring not in ("softmax", "sigmoid"):
            f.fail(f"scoring_func {scoring!r} is not supported; supported: softmax, sigmoid")
        extra["moe"] = MoEConfig(n_experts=experts, top_k=f.req("num_experts_per_tok"),
                                 expert_dim=f.req("moe_intermediate_size"), n_shared=f.req("n_shared_experts", least=0),
                                 shared_dim=f.req("moe_intermediate_size"), router=scoring,
                                 router_bias=f.get("topk_method", "", str) == "noaux_tc")
        _diff(notes, f"group-limited routing (n_group {f.get('n_group', 1)}, topk_group {f.get('topk_group', 1)})"
              f" and routed_scaling_factor {f.get('routed_scaling_factor', 1.0, float)} are not modelled")
        _topk_note(f, notes)
    if depth:
        _diff(notes, f"{MTP_NOTE}each MTP layer of the checkpoint stores its own copy of embed_tokens and "
              "shared_head.head; archbench shares the trunk's, as the paper does", 2 * V * D * depth)
        _diff(notes, f"{MTP_NOTE}archbench projects [norm(h); norm(e)], DeepSeek [enorm(e); hnorm(h)]: same "
              "parameters, other order")
    if f.get("quantization_config", None, dict):
        notes.append("the checkpoint stores weights quantized (quantization_config); counts are parameters")
    return [LayerSpec(mixer="mla", ffn="moe" if m else "swiglu") for m in is_moe], extra


def _qwen3_next(f, kw, notes):
    n = kw["n_layers"]
    f.req("head_dim")                                        # transformers' default is 256, not dim / heads
    types = f.get("layer_types", None, list)
    if types is None:                                        # transformers: every interval-th layer attends fully
        every = f.get("full_attention_interval", 4)
        types = ["linear_attention" if (i + 1) % every else "full_attention" for i in range(n)]
    mixers = {"linear_attention": "gdn", "full_attention": "attention"}
    if len(types) != n or not set(types) <= set(mixers):
        f.fail(f"layer_types must list {n} of {', '.join(mixers)}, got {types!r}")
    shared = f.req("shared_expert_intermediate_size", least=0)   # transformers' default: 512
    is_moe, moe = _qwen_moe(f, n, shared)
    kh, vh = f.req("linear_num_key_heads"), f.req("linear_num_value_heads")
    kd, vd, conv = f.req("linear_key_head_dim"), f.req("linear_value_head_dim"), f.get("linear_conv_kernel_dim", 4)
    if vh % kh:
        f.fail(f"linear_num_value_heads={vh} is not a multiple of linear_num_key_heads={kh}")
    kw["attn"] = replace(kw["attn"], qk_norm=True, output_gate=True)
    _diff(notes, "zero-centred RMSNorm weights (1 + w) are not modelled: same parameters")
    _diff(notes, "the release also ships an MTP layer (mtp.* tensors) config.json does not declare; transformers "
          "does not load it either, so it is neither built nor counted")
    _topk_note(f, notes)
    layers = [LayerSpec(mixer=mixers[t], ffn="moe" if m else "swiglu") for t, m in zip(types, is_moe)]
    return layers, {"moe": moe, "gdn": DeltaNetConfig(n_heads=kh, n_v_heads=vh, head_k_dim=kd, head_v_dim=vd,
                                                      conv_size=conv)}


_FAMILIES = {"llama": _dense, "mistral": _dense, "phi3": _dense, "mixtral": _mixtral, "qwen2": _qwen_dense,
             "qwen3": _qwen_dense, "qwen3_moe": _qwen3_moe, "deepseek_v3": _deepseek_v3, "qwen3_next": _qwen3_next,
             "gpt2": _gpt, "gpt_neox": _gpt, "gemma2": _gemma2}


def _ffn_kind(f: _Fields, notes: list) -> str:
    """The FFN kind the type's activation means: silu gates a SwiGLU, tanh GELU a GeGLU (Gemma); GPT-2 and
    GPT-NeoX have a plain GELU (or ReLU) MLP. A tanh-approximated GELU in a plain MLP is recorded."""
    name = _ACT_FIELD.get(f.type, "hidden_act")
    act = f.get(name, None, str) or f.get("hidden_act", None, str) or _ACT_DEFAULT.get(f.type, "silu")
    if f.type in _PLAIN_MLP:
        if act in ("relu", "gelu"):
            return act
        if act in _GELU_TANH:
            _diff(notes, f"{name} {act!r} is GELU's tanh approximation; archbench's plain MLP uses the exact GELU "
                  "(same parameters and matmuls)")
            return "gelu"
        f.fail(f"{name} {act!r} is not supported for {f.type}; supported: gelu, relu, {', '.join(_GELU_TANH)}")
    gated = {"silu": "swiglu", "swish": "swiglu", "gelu_pytorch_tanh": "geglu", "gelu_new": "geglu"}
    if act not in gated:
        f.fail(f"{name} {act!r} is not supported: archbench's gated FFNs are SwiGLU (silu) and GeGLU "
               "(gelu_pytorch_tanh)")
    return gated[act]


def load_hf_config(path: str | Path) -> DecoderConfig:
    """The DecoderConfig of a local Hugging Face config.json (or a directory holding one)."""
    f = _read(Path(path))
    f.req("model_type", str)
    if f.type not in _FAMILIES:
        f.fail(f"model_type {f.type!r} is not supported; supported: {', '.join(SUPPORTED)}")
    notes = [f"from Hugging Face {f.path.name} (model_type {f.type})"]
    ffn_kind = _ffn_kind(f, notes)
    heads = f.req("num_attention_heads")
    kv = f.req("num_key_value_heads") if f.type in _KV_HEADS_REQUIRED else f.get("num_key_value_heads", heads)
    theta, rotary = _rope(f, notes)
    bias = f.get("attention_bias", f.type == "gpt_neox", bool)
    if f.type not in _PLAIN_MLP and (bias or f.get("mlp_bias", False, bool)):
        _diff(notes, "attention_bias/mlp_bias: archbench has one bias flag for attention and FFN", None)
    dim, head_dim = f.req("hidden_size"), f.get("head_dim", None)
    kw = dict(vocab_size=f.req("vocab_size"), dim=dim, n_layers=f.req("num_hidden_layers"),
              n_heads=heads, ffn_dim=f.get("intermediate_size", 0) if f.type in _PLAIN_MLP else
              f.req("intermediate_size"), n_kv_heads=None if kv == heads else kv,
              head_dim=None if head_dim == dim / heads else head_dim,    # transformers 5 writes the default out
              norm_eps=f.get(_EPS_FIELD.get(f.type, "rms_norm_eps"), _EPS.get(f.type, 1e-6), float),
              rope_theta=theta, rope_fraction=rotary, max_seq_len=f.get("max_position_embeddings", 4096),
              tie_embeddings=f.get("tie_word_embeddings", False, bool), bias=bias, attn=AttentionConfig(),
              ffn_kind=ffn_kind)
    layers, extra = _FAMILIES[f.type](f, kw, notes)
    kw.pop("ffn_kind", None)
    try:
        return DecoderConfig(**kw, **extra, pattern=_tile(layers), assumptions=tuple(notes))
    except ConfigError as err:
        raise ConfigError(f"{f.path}: {err}") from None


def known_differences(cfg: DecoderConfig) -> dict[str, int | None]:
    """Each recorded difference from the Hugging Face model -> parameters the real model holds beyond
    archbench's build (0: behaviour only; None: not computable, e.g. while the component is missing)."""
    out: dict[str, int | None] = {}
    for line in cfg.assumptions:
        if not line.startswith(DIFF):
            continue
        text = line[len(DIFF):]
        if m := _PARAMS.search(text):
            out[text[:m.start()]] = int(m[1].replace(",", ""))
        else:
            out[text] = None
    return out


def model_type(cfg: DecoderConfig) -> str | None:
    """The model_type of the config.json `cfg` was loaded from (None for a config not read by this module)."""
    m = re.match(r"from Hugging Face .* \(model_type (\w+)\)$", cfg.assumptions[0]) if cfg.assumptions else None
    return m[1] if m else None


def transformers_config(cfg: DecoderConfig) -> DecoderConfig:
    """The config of the model transformers builds from the same config.json: DeepSeek-V3 without its MTP module
    (transformers has none; the checkpoint's mtp.* tensors are not loaded), every other type as it is."""
    if model_type(cfg) != "deepseek_v3" or cfg.mtp is None:
        return cfg
    notes = tuple(a for a in cfg.assumptions if not a.startswith(DIFF + MTP_NOTE))
    return replace(cfg, mtp=None, assumptions=notes + ("as transformers builds it: no MTP module",))
