"""Public models exact, per component: for every supported model type, archbench's formulas give what transformers
builds from the same config.json — parameters (total and per component) of the full model on the meta device,
forward FLOPs by component of a tiny twin under torch's FlopCounterMode, and the bytes of the cache transformers
keeps after a short prompt — exactly, or differing by the differences `archs.hf_differences` records (each
named, with its size; EXPECTED_DIFFERENCES below lists which ones each model type has). For the types archbench
computes as transformers does, the tiny twin given transformers' weights gives transformers' logits.

Skipped where transformers (the optional extra `hf`) is not installed.
"""
from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import pytest
import torch

pytest.importorskip("transformers", minversion="5.0", reason="transformers 5 is an optional extra: pip install '.[hf]'")

from archs import analytic  # noqa: E402
from archs.hf import SUPPORTED, load_hf_config, model_type, transformers_config  # noqa: E402
from archs.hf_differences import cache_differences, flops_differences, param_differences  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import hf_reference as ref  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures" / "hf"
MODELS = sorted(p.stem for p in FIXTURES.glob("*.json"))
SLOW = {"deepseek-v3"}                          # 58 layers of 256 experts: ~9 s even on the meta device
FLOP_TOKENS, CACHE_TOKENS = 12, 24              # the tiny twins' sliding window is 16: inside it, then past it

# (quantity, reference) -> how many differences each model type records; absent: none. A new difference, or one
# that goes away, fails here before it changes a report.
EXPECTED_DIFFERENCES = {
    "deepseek-v3": {("params", "checkpoint"): 4, ("params", "transformers"): 1},
    "qwen3-next-80b-a3b": {("params", "checkpoint"): 2, ("flops", "transformers"): 3,
                           ("cache_bytes", "transformers"): 1},
    "gemma-2-9b": {("params", "checkpoint"): 2},
    "gpt2": {("params", "checkpoint"): 1},
    "gpt-neox-20b": {("params", "checkpoint"): 1},
}


def load(name: str):
    return load_hf_config(FIXTURES / f"{name}.json")


def tiny(name: str, tmp_path: Path):
    """(raw tiny config.json, archbench's config of the model transformers builds from it)."""
    raw = ref.tiny_config(ref.read(FIXTURES / f"{name}.json"))
    path = tmp_path / "config.json"
    path.write_text(json.dumps(raw))
    return raw, transformers_config(load_hf_config(path))


def plus(ours: dict, diffs) -> dict:
    """archbench's numbers by component with each difference's size added to its component."""
    out = Counter(ours)
    for d in diffs:
        out[d.component] += d.size
    return {k: v for k, v in out.items() if v}


def test_every_supported_model_type_has_a_fixture():
    assert {model_type(load(name)) for name in MODELS} == set(SUPPORTED)


@pytest.mark.parametrize("name", MODELS)
def test_the_recorded_differences_are_the_expected_ones(name):
    cfg = load(name)
    diffs = param_differences(cfg) + flops_differences(cfg, FLOP_TOKENS) + cache_differences(cfg, 1, CACHE_TOKENS, 2)
    assert Counter((d.quantity, d.reference) for d in diffs) == Counter(EXPECTED_DIFFERENCES.get(name, {}))
    assert all(d.text and d.size is not None for d in diffs)


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in MODELS])
def test_parameters_per_component_equal_what_transformers_builds(name):
    cfg = load(name)
    built = transformers_config(cfg)
    model = ref.build(ref.read(FIXTURES / f"{name}.json"), device="meta")
    theirs = ref.params_by_kind(model, built)
    assert theirs == analytic.params(built).by_kind
    transformers_gap = sum(d.size for d in param_differences(cfg) if d.reference == "transformers")
    assert sum(theirs.values()) == analytic.params(cfg).total + transformers_gap


@pytest.mark.parametrize("name", MODELS)
def test_forward_flops_per_component_equal_transformers_counted(name, tmp_path):
    raw, cfg = tiny(name, tmp_path)
    torch.manual_seed(0)
    theirs = ref.forward_flops(ref.build(raw), cfg, FLOP_TOKENS)
    total = theirs.pop("total")
    expected = plus(analytic.flops_forward(cfg, FLOP_TOKENS, causal=False), flops_differences(cfg, FLOP_TOKENS))
    assert theirs == expected
    assert total == sum(expected.values())              # nothing counted outside the components


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
@pytest.mark.parametrize("name", MODELS)
def test_cache_bytes_after_a_prompt_equal_what_transformers_keeps(name, dtype, tmp_path):
    raw, cfg = tiny(name, tmp_path)
    torch.manual_seed(0)
    width = torch.empty((), dtype=dtype).element_size()
    theirs = ref.cache_bytes(ref.build(raw, dtype=dtype), cfg, CACHE_TOKENS)
    ours = analytic.cache_bytes(cfg, 1, CACHE_TOKENS, width)
    assert theirs == plus(ours, cache_differences(cfg, 1, CACHE_TOKENS, width))


def test_deepseek_v3_as_transformers_builds_it_has_no_mtp_module():
    cfg = load("deepseek-v3")
    built = transformers_config(cfg)
    assert cfg.mtp is not None and built.mtp is None
    gap, = [d.size for d in param_differences(cfg) if d.reference == "transformers"]
    assert gap == -analytic.params(cfg).by_kind["mtp"]
    assert not any("MTP module" in a for a in built.assumptions if a.startswith("differs"))


# the types whose forward archbench computes as transformers does, given its weights (Qwen3-Next's zero-centred
# norms as 1 + w). The others differ by behaviour their DIFF notes record (Gemma 2's soft-capping and embedding
# scale, GPT-2's and GPT-NeoX's tanh GELU, DeepSeek-V3's group-limited routing and routed scaling)
SAME_OUTPUTS = ["llama-2-7b", "mistral-7b-v0.1", "phi-3-mini-4k", "qwen2-7b", "qwen3-8b", "qwen3-30b-a3b",
                "mixtral-8x7b", "qwen3-next-80b-a3b"]


@pytest.mark.parametrize("name", SAME_OUTPUTS)
def test_with_transformers_weights_the_logits_are_transformers_logits(name, tmp_path):
    # 30 tokens: past the tiny twins' sliding window of 16, so the window's edge is compared too
    raw, cfg = tiny(name, tmp_path)
    torch.manual_seed(0)
    theirs = ref.build(raw)
    with torch.no_grad():                            # weights far from their init, so a swapped tensor shows
        for p in theirs.parameters():
            p.normal_(0, 0.2) if p.dim() > 1 else p.uniform_(0.5, 1.5)
    ours = cfg.build().eval()
    ours.load_state_dict(ref.archbench_state(theirs, cfg))           # strict: every tensor has its place
    ids = torch.randint(0, cfg.vocab_size, (2, 30))
    with torch.no_grad():
        torch.testing.assert_close(ours(ids).logits, theirs(ids).logits, rtol=1e-4, atol=1e-4)
