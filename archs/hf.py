"""Hugging Face `config.json` -> DecoderConfig, for public models archbench rebuilds from its own components.

`load_hf_config(path)` reads a local config.json (or a directory holding one); nothing is fetched. Supported
model_type: llama, mistral, mixtral, qwen3_moe, deepseek_v3, qwen3_next. Every spelling the type's transformers
config class accepts is read (`ALIASES`: attribute-map aliases, v4 `rope_theta`/`rope_scaling` and v5
`rope_parameters`); two spellings that disagree are an error. A missing field that cannot change the model's size
takes transformers' default for that model_type; one whose transformers default is a particular model's number
(DeepSeek-V3's 256 experts, Mistral's 8 KV heads...) is required, because reading it as absent would analyse a
different model (a DeepSeek-V3 without its expert count is not a dense model). Impossible values (zero heads,
a zero layer frequency, NaN or non-positive eps and RoPE base) are one-line errors naming the field.

Where the published model differs from what archbench builds (q/k norms, an attention output gate, router
biases, ...), `cfg.assumptions` holds one line starting with DIFF per difference, ending in the parameters the
real model holds beyond ours: `[+N params]`, or `[HF layer N params]` where our side depends on a component's
own layout (GatedDeltaNet). `known_differences(cfg)` returns them as numbers, so for every supported model
`analytic.params(cfg).total + sum(known_differences(cfg).values())` is the count of the model config.json
describes (a difference that changes no count maps to None).
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

from archs.components import deltanet
from archs.config import DecoderConfig, DeltaNetConfig, LayerSpec, MLAConfig, MoEConfig, MTPConfig
from harness.errors import ArchbenchError, ConfigError

SUPPORTED = ("llama", "mistral", "mixtral", "qwen3_moe", "deepseek_v3", "qwen3_next")
DIFF = "differs from HF: "
_PARAMS = re.compile(r" \[([+-][\d,]+) params\]$")
_HF_LAYER = re.compile(r" \[HF layer ([\d,]+) params\]$")
# transformers' defaults where they differ from archbench's (rms_norm_eps 1e-6, rope_theta 1e4, full rotary)
_EPS = {"mixtral": 1e-5}
_THETA = {"mixtral": 1e6}
_ROTARY = {"qwen3_next": 0.25}
# Every spelling a model type's transformers config class accepts for one field: its `attribute_map` aliases
# and the names transformers 4 and 5 write (Qwen3-MoE's `num_experts` became `num_local_experts` in v5).
# canonical name -> other spellings. tests/archs/test_hf.py checks this against the installed transformers.
ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
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
                        (f"{params.prefix}rope_theta", params.get("rope_theta", None, float))])
    rotary = _one_of(f, [("partial_rotary_factor", f.get("partial_rotary_factor", None, float)),
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


# ---------------------------------------------------------------- one function per family: (layers, extra)
def _dense(f, kw, notes):
    window = f.get("sliding_window", None) if f.type == "mistral" else None
    return [LayerSpec(window=window)] * kw["n_layers"], {}


def _mixtral(f, kw, notes):
    moe = MoEConfig(n_experts=f.req("num_local_experts"), top_k=f.req("num_experts_per_tok"),
                    expert_dim=kw["ffn_dim"], aux_loss_coef=f.get("router_aux_loss_coef", 0.001, float, 0))
    return [LayerSpec(ffn="moe", window=f.get("sliding_window", None))] * kw["n_layers"], {"moe": moe}


def _qwen_moe(f, n: int, shared: int = 0) -> tuple[list[bool], MoEConfig | None]:
    """Which layers are MoE (mlp_only_layers, decoder_sparse_step) and the MoEConfig, if any layer is."""
    experts, step = f.req("num_experts", least=0), f.get("decoder_sparse_step", 1)   # 0 experts: all dense
    dense = set(f.int_list("mlp_only_layers"))
    is_moe = [experts > 0 and i not in dense and (i + 1) % step == 0 for i in range(n)]
    if not any(is_moe):
        return is_moe, None
    return is_moe, MoEConfig(n_experts=experts, top_k=f.req("num_experts_per_tok"),
                             expert_dim=f.req("moe_intermediate_size"), n_shared=1 if shared else 0,
                             shared_dim=shared or None, aux_loss_coef=f.get("router_aux_loss_coef", 0.001, float, 0))


def _qwen3_moe(f, kw, notes):
    n = kw["n_layers"]
    is_moe, moe = _qwen_moe(f, n)
    window = f.get("sliding_window", None) if f.get("use_sliding_window", False, bool) else None
    full = f.get("max_window_layers", n, least=0)           # Qwen: the first max_window_layers layers attend fully
    layers = [LayerSpec(ffn="moe" if m else "swiglu", window=window if i >= full else None)
              for i, m in enumerate(is_moe)]
    K = kw["head_dim"] or kw["dim"] // kw["n_heads"]
    _diff(notes, "RMSNorm on every query and key head (q_norm, k_norm) is not built", 2 * K * n)
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
                                 shared_dim=f.req("moe_intermediate_size"), router=scoring)
        if f.get("topk_method", "", str) == "noaux_tc":      # one bias per expert in every MoE layer, MTP's too
            _diff(notes, "the router's e_score_correction_bias (auxiliary-loss-free balancing) is not built; "
                  "archbench balances with the Switch loss", experts * (sum(is_moe) + depth * is_moe[-1]))
        _diff(notes, f"group-limited routing (n_group {f.get('n_group', 1)}, topk_group {f.get('topk_group', 1)})"
              f" and routed_scaling_factor {f.get('routed_scaling_factor', 1.0, float)} are not modelled")
        _topk_note(f, notes)
    if depth:
        _diff(notes, "each MTP layer of the checkpoint stores its own copy of embed_tokens and shared_head.head; "
              "archbench shares the trunk's, as the paper does", 2 * V * D * depth)
        _diff(notes, "MTP projects [norm(h); norm(e)], DeepSeek [enorm(e); hnorm(h)]: same parameters, other order")
    if f.get("quantization_config", None, dict):
        notes.append("the checkpoint stores weights quantized (quantization_config); counts are parameters")
    return [LayerSpec(mixer="mla", ffn="moe" if m else "swiglu") for m in is_moe], extra


def _qwen3_next(f, kw, notes):
    n, D, H = kw["n_layers"], kw["dim"], kw["n_heads"]
    K = f.req("head_dim")                                    # transformers' default is 256, not dim / heads
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
    n_attn = types.count("full_attention")
    # transformers' Qwen3NextGatedDeltaNet: in_proj_qkvz, in_proj_ba, depthwise conv1d (no bias) over q,k,v,
    # A_log and dt_bias per value head, gated RMSNorm over head_v_dim, out_proj
    hf_gdn = D * (2 * kh * kd + 2 * vh * vd) + D * 2 * vh + conv * (2 * kh * kd + vh * vd) + 2 * vh + vd + vh * vd * D
    _diff(notes, "gated attention: q_proj also emits a sigmoid output gate per query channel; not built",
          n_attn * H * K * D)
    _diff(notes, "RMSNorm on every query and key head (q_norm, k_norm) is not built", n_attn * 2 * K)
    _diff(notes, f"GatedDeltaNet has {kh} key heads and {vh} value heads, archbench's one head count: {kh} heads, "
          f"head_v_dim {vh * vd // kh} (same q/k/v widths and state size; decay and beta gates per head, so {kh} "
          f"not {vh}) [HF layer {hf_gdn:,} params]", None)
    if moe and shared:
        _diff(notes, "the shared expert's sigmoid gate (shared_expert_gate) is not built", sum(is_moe) * D)
    _diff(notes, "zero-centred RMSNorm weights (1 + w) are not modelled: same parameters")
    _diff(notes, "the release also ships an MTP layer (mtp.* tensors) config.json does not declare; transformers "
          "does not load it either, so it is neither built nor counted")
    _topk_note(f, notes)
    layers = [LayerSpec(mixer=mixers[t], ffn="moe" if m else "swiglu") for t, m in zip(types, is_moe)]
    return layers, {"moe": moe, "gdn": DeltaNetConfig(n_heads=kh, head_k_dim=kd, head_v_dim=vh * vd // kh,
                                                      conv_size=conv)}


_FAMILIES = {"llama": _dense, "mistral": _dense, "mixtral": _mixtral, "qwen3_moe": _qwen3_moe,
             "deepseek_v3": _deepseek_v3, "qwen3_next": _qwen3_next}


def load_hf_config(path: str | Path) -> DecoderConfig:
    """The DecoderConfig of a local Hugging Face config.json (or a directory holding one)."""
    f = _read(Path(path))
    f.req("model_type", str)
    if f.type not in _FAMILIES:
        f.fail(f"model_type {f.type!r} is not supported; supported: {', '.join(SUPPORTED)}")
    act = f.get("hidden_act", "silu", str)
    if act != "silu":
        f.fail(f"hidden_act {act!r} is not supported: archbench's gated FFN is SwiGLU (silu)")
    notes = [f"from Hugging Face {f.path.name} (model_type {f.type})"]
    heads = f.req("num_attention_heads")
    kv = f.req("num_key_value_heads") if f.type in _KV_HEADS_REQUIRED else f.get("num_key_value_heads", heads)
    theta, rotary = _rope(f, notes)
    bias = f.get("attention_bias", False, bool)
    if bias or f.get("mlp_bias", False, bool):
        _diff(notes, "attention_bias/mlp_bias: archbench has one bias flag for attention and FFN", None)
    dim, head_dim = f.req("hidden_size"), f.get("head_dim", None)
    kw = dict(vocab_size=f.req("vocab_size"), dim=dim, n_layers=f.req("num_hidden_layers"),
              n_heads=heads, ffn_dim=f.req("intermediate_size"), n_kv_heads=None if kv == heads else kv,
              head_dim=None if head_dim == dim / heads else head_dim,    # transformers 5 writes the default out
              norm_eps=f.get("rms_norm_eps", _EPS.get(f.type, 1e-6), float),
              rope_theta=theta, rope_fraction=rotary, max_seq_len=f.get("max_position_embeddings", 4096),
              tie_embeddings=f.get("tie_word_embeddings", False, bool), bias=bias)
    layers, extra = _FAMILIES[f.type](f, kw, notes)
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
        elif m := _HF_LAYER.search(text):
            out[text[:m.start()]] = _gdn_gap(cfg, int(m[1].replace(",", "")))
        else:
            out[text] = None
    return out


def _gdn_gap(cfg: DecoderConfig, hf_layer: int) -> int:
    """HF GatedDeltaNet parameters minus archbench's, over every gdn layer."""
    return sum(hf_layer - deltanet.params_formula(cfg, s) for s in cfg.layers if s.mixer == "gdn")
