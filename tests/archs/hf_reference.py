"""Build the transformers model of a config.json and read what it holds and does, the reference tests/archs/
test_hf_exact.py compares archbench's formulas with: parameters (and persistent buffers: the checkpoint's
tensors) by archbench's component kinds, forward FLOPs by component under torch's FlopCounterMode, and the bytes
of the cache transformers keeps after a prompt. Also the tiny twin of each config.json the FLOPs and cache are
measured on. Imported only where transformers is installed."""
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


def cache_bytes(model, cfg, T: int, batch: int = 1) -> int:
    """Bytes of every tensor of the cache transformers keeps after a prompt of T tokens."""
    ids = torch.randint(0, cfg.vocab_size, (batch, T))
    with torch.no_grad():
        cache = model(ids, use_cache=True).past_key_values
    seen = {id(t): t for t in _tensors(cache) if t.is_floating_point()}   # not the layers' position counters
    return sum(t.numel() * t.element_size() for t in seen.values())
