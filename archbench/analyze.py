"""`archbench analyze TARGET`: parameters, weight bytes, forward FLOPs and decode state of a preset or a Hugging Face
config.json, and, for a config.json, every recorded difference between what archbench builds and the real model.

`analyze(cfg, target, dtype=..., batch=..., contexts=...)` returns one dict of plain data (`--json` prints it as it
is); `render(result)` writes the text from that dict, with the report's units (`harness.store.units`). For a
config.json the dict also holds the counts "as transformers builds it" and "as the checkpoint stores it" where they
differ from archbench's (DeepSeek-V3: transformers builds no MTP module; its checkpoint stores the MTP layer's own
copies of the embedding and the output head), and each context's FLOPs and cache bytes as transformers has them.
"""
from __future__ import annotations

from archs import analytic
from archs.config import DecoderConfig
from archs.hf import model_type, transformers_config
from archs.hf_differences import Difference, cache_differences, flops_differences, param_differences
from harness.errors import ArchbenchError
from harness.store.units import format_value

DTYPES = {"float32": 4, "bfloat16": 2, "float16": 2, "float8": 1, "int8": 1}     # bytes per weight and cache value


def _diff_dict(d: Difference) -> dict:
    return {"quantity": d.quantity, "reference": d.reference, "component": d.component, "text": d.text,
            "size": d.size}


def _reference_total(ours: int, diffs: list[Difference], reference: str) -> int | None:
    """archbench's number plus the sizes of the differences against `reference`; None when none changes it."""
    sizes = [d.size for d in diffs if d.reference == reference]
    if not any(sizes) or None in sizes:
        return None
    return ours + sum(sizes)


def _context(cfg, T: int, batch: int, width: int) -> dict:
    """One context length: forward FLOPs per token (causal, Megatron convention), the decode state after T tokens
    by component, and where transformers differs, its forward FLOPs of one sequence as torch's FlopCounterMode
    counts them and the bytes of its cache."""
    state = analytic.cache_bytes(cfg, batch, T, width)
    flops, cache = flops_differences(cfg, T), cache_differences(cfg, batch, T, width)
    counted = sum(analytic.flops_forward(cfg, T, causal=False).values())
    return {"T": T, "flops_fwd_per_token": analytic.flops_per_token(cfg, T),
            "decode_state_bytes": sum(state.values()), "decode_state_by_kind": state,
            "transformers_counted_flops_fwd": _reference_total(counted, flops, "transformers"),
            "transformers_cache_bytes": _reference_total(sum(state.values()), cache, "transformers"),
            "differences": [_diff_dict(d) for d in flops + cache]}


def analyze(cfg, target: str, *, dtype: str = "bfloat16", batch: int = 1, contexts=(2048,)) -> dict:
    """Everything analyze prints, as plain data."""
    if dtype not in DTYPES:
        raise ArchbenchError(f"--dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    width = DTYPES[dtype]
    p = analytic.params(cfg)
    hf = isinstance(cfg, DecoderConfig) and model_type(cfg) is not None
    diffs = param_differences(cfg) if hf else []
    built = transformers_config(cfg) if hf else cfg
    result = {"target": target, "model_type": model_type(cfg) if hf else None, "dtype": dtype, "batch": batch,
              "params": p.total, "active": p.active, "by_kind": p.by_kind, "weights_bytes": p.total * width,
              "params_as_transformers_builds": _reference_total(p.total, diffs, "transformers"),
              "params_as_checkpoint_stores": _reference_total(p.total, diffs, "checkpoint"),
              "differences": [_diff_dict(d) for d in diffs],
              "contexts": [_context(built, T, batch, width) for T in contexts]}
    if built is not cfg:
        result["transformers_builds"] = "DeepSeek-V3 without its MTP module: FLOPs and cache below are of that model"
    return result


def _size(d: dict) -> str:
    unit = {"params": "params", "flops": "FLOP", "cache_bytes": "bytes"}[d["quantity"]]
    if d["size"] is None:
        return "size unknown"
    return ("+" if d["size"] > 0 else "-") + format_value(abs(d["size"]), unit) + f" ({d['size']:+,})"


def render(r: dict) -> list[str]:
    """The text of one analysis, line by line."""
    head = f"{r['target']}" + (f" (model_type {r['model_type']})" if r["model_type"] else "")
    lines = [f"{head}: {format_value(r['params'], 'params')} parameters ({r['params']:,}), "
             f"{format_value(r['active'], 'params')} active per token ({r['active']:,}); weights "
             f"{format_value(r['weights_bytes'], 'bytes')} at {r['dtype']}"]
    for key, label in (("params_as_transformers_builds", "as transformers builds it"),
                       ("params_as_checkpoint_stores", "as the checkpoint stores it")):
        if r[key] is not None:
            lines.append(f"  {label}: {format_value(r[key], 'params')} parameters ({r[key]:,})")
    lines += [f"  {kind:<12} {format_value(n, 'params'):>8} {n:>18,}"
              for kind, n in sorted(r["by_kind"].items(), key=lambda kv: -kv[1])]
    if r.get("transformers_builds"):
        lines.append(f"  transformers builds {r['transformers_builds']}")
    for c in r["contexts"]:
        lines.append(f"  T={c['T']:<7} forward {format_value(c['flops_fwd_per_token'], 'FLOP')}/token   decode "
                     f"state {format_value(c['decode_state_bytes'], 'bytes')} ({r['dtype']}, batch {r['batch']})")
        if c["transformers_cache_bytes"] is not None:
            lines.append(f"            transformers' cache {format_value(c['transformers_cache_bytes'], 'bytes')}")
        if c["transformers_counted_flops_fwd"] is not None:
            lines.append(f"            transformers' forward of {c['T']} tokens, as FlopCounterMode counts it: "
                         f"{format_value(c['transformers_counted_flops_fwd'], 'FLOP')}")
    every = r["differences"] + [d | {"T": c["T"]} for c in r["contexts"] for d in c["differences"]]
    if r["model_type"]:
        lines.append(f"differences from the real model: {len(every)}" + ("" if every else " (exact)"))
    for d in every:
        at = f", T={d['T']}" if "T" in d else ""
        tag = "behaviour" if d["size"] == 0 else f"{d['quantity']} vs {d['reference']}, {d['component']}{at}"
        lines.append(f"  [{tag}] {d['text']}" + ("" if d["size"] == 0 else f": {_size(d)}"))
    return lines
