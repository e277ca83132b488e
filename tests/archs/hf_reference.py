"""Build the transformers model of a config.json and read what it holds and does, the reference tests/archs/
test_hf_exact.py compares archbench's formulas with: parameters (and persistent buffers: the checkpoint's
tensors) by archbench's component kinds, forward FLOPs by component under torch's FlopCounterMode, and the bytes
of the cache transformers keeps after a prompt. Also the tiny twin of each config.json the FLOPs and cache are
measured on, and transformers' weights under archbench's names (`archbench_state`). Imported only where
transformers is installed."""
from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import torch
import transformers
from torch.utils.flop_counter import FlopCounterMode

import harness.measure.counting  # noqa: F401  registers the CPU SDPA FLOP formula
from archs.components import FFNS, MIXERS

# config.json fields of a tiny twin (set only where the file has the field or its type reads it)
TINY = {"vocab_size": 128, "hidden_size": 64, "n_embd": 64, "num_attention_heads": 4, "n_head": 4,
        "num_key_value_heads": 2, "head_dim": 16, "intermediate_size": 96, "moe_intermediate_size": 32,
        "shared_expert_intermediate_size": 48, "num_experts_per_tok": 2, "num_local_experts": 4,
        "num_experts": 4, "n_routed_experts": 4, "n_group": 1, "topk_group": 1, "linear_num_key_heads": 2,
        "linear_num_value_heads": 4, "linear_key_head_dim": 16, "linear_value_head_dim": 16,
        "kv_lora_rank": 32, "q_lora_rank": 48, "qk_nope_head_dim": 16, "qk_rope_head_dim": 8, "v_head_dim": 16,
        "sliding_window": 16, "max_position_embeddings": 64, "n_positions": 64, "first_k_dense_replace": 1}
LAYERS = {"qwen3_next": 4, "gemma2": 2, "deepseek_v3": 2}      # one whole pattern (or dense + MoE) each
DROP = ("rope_scaling", "layer_types", "max_window_layers", "quantization_config", "_name_or_path")
TOKENS = ("bos_token_id", "eos_token_id", "pad_token_id")        # outside the tiny vocabulary: none
MHA = ("gpt2", "gpt_neox")


def tiny_config(raw: dict) -> dict:
    """The tiny twin of a config.json: same model type and options, small sizes."""
    out = {k: v for k, v in raw.items() if k not in DROP}
    mt = raw["model_type"]
    for key, value in TINY.items():
        if key in raw or (key == "num_key_value_heads" and mt not in MHA):
            out[key] = value
    if mt in MHA:
        out.pop("num_key_value_heads", None)
    if mt == "deepseek_v3":                      # MLA: transformers reads num_key_value_heads as the head count
        out["num_key_value_heads"] = out["num_attention_heads"]
    out.update(dict.fromkeys(TOKENS))
    layers = LAYERS.get(mt, 2)
    out["n_layer" if mt == "gpt2" else "num_hidden_layers"] = layers
    return out


def build(raw: dict, device: str = "cpu", dtype=torch.float32):
    raw = dict(raw)
    cfg = transformers.CONFIG_MAPPING[raw.pop("model_type")](**raw)
    cfg._attn_implementation = "eager" if cfg.model_type == "gemma2" else "sdpa"
    with torch.device(device):
        # eager experts: one matmul per expert on its tokens, which FlopCounterMode counts (grouped_mm it does not)
        model = transformers.AutoModelForCausalLM.from_config(cfg, dtype=dtype, experts_implementation="eager")
    return model.eval()


def read(path: Path) -> dict:
    return json.loads(path.read_text())


# ---------------------------------------------------------------- archbench's kind of every tensor and module
_LAYER = re.compile(r"\.(?:layers|h)\.(\d+)\.")
_MIXER = re.compile(r"\.(self_attn|attn|attention|linear_attn)(\.|$)")
_FFN = re.compile(r"\.(mlp|block_sparse_moe)(\.|$)")
_ROUTER = re.compile(r"\.(gate|router)(\.|$)")
_SHARED = re.compile(r"\.shared_expert(s|_gate)?(\.|$)")


def _spec(cfg, name: str):
    m = _LAYER.search(name)
    return cfg.layers[int(m[1])] if m else None


def param_kind(cfg, name: str) -> str:
    """The kind archbench's counter files the tensor `name` of the transformers model under."""
    spec = _spec(cfg, name)
    if spec is not None and _MIXER.search(name):
        return MIXERS[spec.mixer].param_kind
    if spec is not None and (m := _FFN.search(name)):
        rest = name[m.end(1):]
        if spec.ffn != "moe":
            return FFNS[spec.ffn].param_kind
        return "moe_shared" if _SHARED.search(rest) else "moe_router" if _ROUTER.match(rest) else "moe_experts"
    if re.search(r"(embed_tokens|wte|embed_in)\.", name):
        return "embedding"
    if re.search(r"wpe\.", name):
        return "positions"
    if re.search(r"(lm_head|embed_out)\.", name):
        return "output"
    return "norm"


def params_by_kind(model, cfg) -> dict[str, int]:
    """Parameters and persistent buffers (what a checkpoint stores; DeepSeek-V3's router bias is a buffer in
    transformers), each tensor once, by archbench kind."""
    tensors = dict(model.named_parameters())
    for module_name, module in model.named_modules():
        for name, buf in module.named_buffers(prefix=module_name, recurse=False):
            if name.rsplit(".", 1)[-1] not in module._non_persistent_buffers_set:
                tensors[name] = buf
    out: Counter = Counter()
    for name, t in tensors.items():
        out[param_kind(cfg, name)] += t.numel()
    return dict(out)


def forward_flops(model, cfg, T: int, batch: int = 1) -> dict[str, int]:
    """FLOPs of one forward of `batch` sequences of T tokens, by archbench component kind (`logits`: the head)."""
    ids = torch.randint(0, cfg.vocab_size, (batch, T))
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(ids, use_cache=False)
    out: Counter = Counter()
    for module, counts in counter.get_flop_counts().items():
        total = sum(counts.values())
        spec = _spec(cfg, module + ".")
        if spec is not None and re.search(r"\.(self_attn|attn|attention|linear_attn)$", module):
            out[MIXERS[spec.mixer].kind] += total
        elif spec is not None and re.search(r"\.(mlp|block_sparse_moe)$", module):
            out[FFNS[spec.ffn].kind] += total
        elif re.search(r"\.(lm_head|embed_out)$", module):
            out["logits"] += total
    out["total"] = sum(counter.get_flop_counts()["Global"].values())
    return dict(out)


def _tensors(obj, depth: int = 0):
    if isinstance(obj, torch.Tensor):
        yield obj
    elif depth < 4 and isinstance(obj, (list, tuple)):
        for x in obj:
            yield from _tensors(x, depth + 1)
    elif depth < 4 and isinstance(obj, dict):
        for x in obj.values():
            yield from _tensors(x, depth + 1)
    elif depth < 4 and hasattr(obj, "__dict__") and not isinstance(obj, torch.nn.Module):
        for x in vars(obj).values():
            yield from _tensors(x, depth + 1)


def cache_bytes(model, cfg, T: int, batch: int = 1) -> dict[str, int]:
    """Bytes of the floating-point tensors of the cache transformers keeps after a prompt of T tokens (not the
    layers' position counters), by archbench mixer kind: transformers' cache holds one entry per layer."""
    ids = torch.randint(0, cfg.vocab_size, (batch, T))
    with torch.no_grad():
        cache = model(ids, use_cache=True).past_key_values
    assert len(cache.layers) == cfg.n_layers
    out: Counter = Counter()
    for spec, layer in zip(cfg.layers, cache.layers):
        tensors = {id(t): t for t in _tensors(layer) if t.is_floating_point()}
        out[MIXERS[spec.mixer].kind] += sum(t.numel() * t.element_size() for t in tensors.values())
    return dict(out)


# ---------------------------------------------------------------- transformers' weights in archbench's model
_RENAME = [(r"^model\.embed_tokens\.", "embed."), (r"^model\.norm\.", "norm."), (r"^lm_head\.", "head."),
           (r"^model\.layers\.(\d+)\.input_layernorm\.", r"layers.\1.mixer_norm."),
           (r"^model\.layers\.(\d+)\.post_attention_layernorm\.", r"layers.\1.ffn_norm."),
           (r"\.self_attn\.([qkvo])_proj\.", r".mixer.w\1."), (r"\.self_attn\.([qk])_norm\.", r".mixer.\1_norm."),
           (r"\.mlp\.gate\.weight$", ".ffn.router.gate.weight"),
           (r"\.mlp\.(gate|up|down)_proj\.", r".ffn.\1."),
           (r"\.mlp\.shared_expert\.(gate|up|down)_proj\.", r".ffn.shared.\1."),
           (r"\.mlp\.shared_expert_gate\.", ".ffn.shared_gate."),
           (r"\.linear_attn\.(conv1d|norm|out_proj)\.", lambda m: ".mixer." + {"conv1d": "conv", "norm": "o_norm",
                                                                              "out_proj": "o_proj"}[m[1]] + "."),
           (r"\.linear_attn\.(A_log|dt_bias)$", r".mixer.\1")]
# Qwen3-Next's RMSNorms scale by (1 + w) (its gated norm inside GatedDeltaNet by w): archbench's weight is 1 + w
_ZERO_CENTRED = re.compile(r"(layernorm|^model\.norm|self_attn\.[qk]_norm)\.weight$")


def archbench_state(model, cfg) -> dict[str, torch.Tensor]:
    """transformers' weights of a LLaMA-layout model (llama, mistral, phi3, qwen2, qwen3, qwen3_moe, mixtral) under
    the names of archbench's Decoder: fused projections split (phi3's qkv_proj and gate_up_proj, the experts'
    gate_up_proj, gate first), every expert its own MLP; and Qwen3-Next's (its GatedDeltaNet projections, grouped
    per key head in transformers, regrouped as archbench's q, k, v, z and a, b blocks; zero-centred norms)."""
    H, Hkv, K = cfg.n_heads, cfg.kv_heads, cfg.attn_head_dim
    out = {}
    for name, t in model.state_dict().items():
        if name.endswith("rotary_emb.inv_freq"):
            continue
        if cfg.gdn.n_v_heads and _ZERO_CENTRED.search(name):
            t = t + 1
        for pattern, repl in _RENAME:
            name = re.sub(pattern, repl, name)
        name = name.removeprefix("model.")
        if name.endswith(".self_attn.qkv_proj.weight"):
            base = name.replace(".self_attn.qkv_proj.weight", ".mixer.w")
            out |= dict(zip([base + "q.weight", base + "k.weight", base + "v.weight"],
                            t.split([H * K, Hkv * K, Hkv * K])))
        elif name.endswith(".mlp.gate_up_proj.weight"):
            base = name.replace(".mlp.gate_up_proj.weight", ".ffn.")
            out |= dict(zip([base + "gate.weight", base + "up.weight"], t.chunk(2)))
        elif m := re.search(r"\.linear_attn\.in_proj_(qkvz|ba)\.weight$", name):
            out[name[:m.start()] + (".mixer.in_proj.weight" if m[1] == "qkvz" else ".mixer.ab_proj.weight")] = \
                _regroup_gdn(t, cfg, m[1])
        elif m := re.search(r"\.mlp\.experts\.(gate_up|down)_proj$", name):
            base = name[:m.start()] + ".ffn.experts."
            for e, w in enumerate(t):
                if m[1] == "down":
                    out[f"{base}{e}.down.weight"] = w
                else:
                    out |= dict(zip([f"{base}{e}.gate.weight", f"{base}{e}.up.weight"], w.chunk(2)))
        else:
            out[name] = t
    return out


def _regroup_gdn(w: torch.Tensor, cfg, which: str) -> torch.Tensor:
    """transformers' in_proj_qkvz rows, per key head [q, k, v (r heads), z (r heads)], as archbench's [q | k | v | z]
    over all heads; in_proj_ba rows, per key head [b (r heads), a (r heads)], as [a | b]."""
    Hk, Hv, K = cfg.gdn.n_heads, cfg.gdn.n_v_heads, cfg.gdn.head_k_dim
    r, V, D = Hv // Hk, cfg.gdn.head_v_dim, w.shape[-1]
    if which == "ba":
        b, a = w.view(Hk, 2 * r, D).split([r, r], dim=1)
        return torch.cat([a.reshape(-1, D), b.reshape(-1, D)])
    parts = w.view(Hk, 2 * K + 2 * r * V, D).split([K, K, r * V, r * V], dim=1)
    return torch.cat([p.reshape(-1, D) for p in parts])
