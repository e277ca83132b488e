"""archs.hf: published Hugging Face config.json files load into DecoderConfigs whose counts match the real models.

Reference counts (all parameters in the checkpoint's tensors, each once):
- Llama-2-7B / 70B, Mixtral-8x7B: PUBLISHED_PARAMS; Mistral-7B-v0.1: 7,241,732,096 (safetensors / GGUF total).
- Qwen3-30B-A3B: 30,532,122,624 total (GGUF general.parameter_count), 3,353,032,704 active (the card's
  "30.5B, 3.3B activated"), q/k RMSNorms included.
- DeepSeek-V3: 671,026,419,200 for the 61 layers (the paper's "671B"; router bias included), plus the MTP layer
  as stored on the Hub, 684,489,845,504 (the Hub's "685B"); 37B activated. The one difference that holds
  parameters: the MTP layer's stored copies of the embedding and output head.
- Qwen3-Next-80B-A3B: 79,674,391,296 for the model config.json describes (the official safetensors count of
  Qwen3-Coder-Next, the same architecture), 3,874,929,408 active; the card says 80B, 3B active. Gated attention,
  q/k norms, GatedDeltaNet value heads and the shared-expert gate are built, so the count is exact.
Per component, and FLOPs and cache bytes against transformers itself: test_hf_exact.py.
"""
from __future__ import annotations

import functools
import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from archs import analytic, get_config
from archs.hf import SUPPORTED, known_differences, load_hf_config
from archs.presets.reference import PUBLISHED_PARAMS
from harness.measure.counting import count_params
from harness.errors import ArchbenchError, ConfigError

FIXTURES = Path(__file__).parent / "fixtures" / "hf"
ALL = sorted(p.stem for p in FIXTURES.glob("*.json"))
SLOW = {"deepseek-v3", "qwen3-next-80b-a3b"}      # tens of thousands of expert modules, even on meta

MISTRAL_7B = 7_241_732_096
QWEN3_30B_A3B, QWEN3_30B_A3B_ACTIVE = 30_532_122_624, 3_353_032_704
DEEPSEEK_V3_MAIN, DEEPSEEK_V3_HUB = 671_026_419_200, 684_489_845_504
QWEN3_NEXT, QWEN3_NEXT_ACTIVE = 79_674_391_296, 3_874_929_408


def load(name: str):
    return load_hf_config(FIXTURES / f"{name}.json")


@functools.lru_cache(maxsize=None)
def meta_count(name: str):
    with torch.device("meta"):
        return count_params(load(name).build())


def gap(cfg) -> int:
    values = known_differences(cfg).values()
    assert None not in values
    return sum(values)


def write(tmp_path: Path, raw, name: str = "config.json") -> Path:
    path = tmp_path / name
    path.write_text(raw if isinstance(raw, str) else json.dumps(raw))
    return path


# ---------------------------------------------------------------- counts against published ones
@pytest.mark.parametrize("name", sorted(PUBLISHED_PARAMS))
def test_reference_configs_give_the_published_count_and_the_preset(name):
    cfg = load(name)
    assert analytic.params(cfg).total == PUBLISHED_PARAMS[name]
    assert meta_count(name).total == PUBLISHED_PARAMS[name]
    preset = get_config(name)
    if preset.moe:                                   # the preset keeps archbench's default balance-loss weight
        preset = replace(preset, moe=replace(preset.moe, aux_loss_coef=cfg.moe.aux_loss_coef))
    assert cfg == preset
    assert known_differences(cfg) == {}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in ALL])
def test_every_fixture_builds_on_meta_and_counts_like_the_formulas(name):
    assert meta_count(name).total == analytic.params(load(name)).total


def test_mistral_7b_is_every_layer_windowed_and_matches_its_published_count():
    cfg = load("mistral-7b-v0.1")
    assert [s.window for s in cfg.layers] == [4096] * 32 and cfg.kv_heads == 8
    assert analytic.params(cfg).total == meta_count("mistral-7b-v0.1").total == MISTRAL_7B


def test_qwen3_30b_a3b_matches_the_checkpoint_with_its_q_k_norms():
    cfg = load("qwen3-30b-a3b")
    assert cfg.pattern == (cfg.pattern[0],) and cfg.pattern[0].ffn == "moe" and cfg.attn_head_dim == 128
    assert (cfg.moe.n_experts, cfg.moe.top_k, cfg.moe.expert_dim) == (128, 8, 768) and cfg.attn.qk_norm
    ours = analytic.params(cfg)
    assert gap(cfg) == 0
    assert ours.total == QWEN3_30B_A3B
    assert ours.active == QWEN3_30B_A3B_ACTIVE
    # the card's rounded figures: 30.5B total within 0.2 %, 3.3B active within 2 % (it is 3.35B)
    assert abs(ours.total / 30.5e9 - 1) < 0.002 and abs(ours.active / 3.3e9 - 1) < 0.02


def test_deepseek_v3_is_three_dense_layers_then_moe_with_mla_and_one_mtp_module():
    cfg = load("deepseek-v3")
    assert len(cfg.pattern) == 61
    assert [s.ffn for s in cfg.layers] == ["swiglu"] * 3 + ["moe"] * 58
    assert all(s.mixer == "mla" for s in cfg.layers) and cfg.ffn_dim == 18432
    assert (cfg.moe.n_experts, cfg.moe.top_k, cfg.moe.expert_dim, cfg.moe.n_shared, cfg.moe.router) == \
        (256, 8, 2048, 1, "sigmoid")
    assert (cfg.mla.q_lora_rank, cfg.mla.kv_lora_rank, cfg.mla.qk_nope_dim, cfg.mla.qk_rope_dim,
            cfg.mla.v_head_dim) == (1536, 512, 128, 64, 128)
    assert cfg.mtp.depth == 1 and cfg.mtp.with_block


def test_deepseek_v3_matches_671b_and_the_hub_checkpoint_once_differences_are_added_back():
    cfg = load("deepseek-v3")
    ours = analytic.params(cfg)
    mtp = ours.by_kind["mtp"]
    assert cfg.moe.router_bias                       # e_score_correction_bias: 256 per MoE layer, MTP's too
    assert ours.total - mtp == DEEPSEEK_V3_MAIN
    assert ours.total + gap(cfg) == DEEPSEEK_V3_HUB
    # 37B activated (paper): the trunk's active count, MTP excluded, within 2 % (it is 37.55B)
    trunk = analytic.params(replace(cfg, mtp=None))
    assert trunk.total == ours.total - mtp
    assert abs(trunk.active / 37e9 - 1) < 0.02
    # the MTP block's routed experts count at top_k / E like the trunk's (not all 256 as active)
    assert ours.active - trunk.active < 0.1 * mtp


def test_qwen3_next_is_three_gdn_layers_to_one_attention_layer():
    cfg = load("qwen3-next-80b-a3b")
    assert [s.mixer for s in cfg.pattern] == ["gdn", "gdn", "gdn", "attention"]
    assert all(s.ffn == "moe" for s in cfg.layers) and len(cfg.layers) == 48
    assert (cfg.moe.n_experts, cfg.moe.top_k, cfg.moe.n_shared, cfg.moe.shared_dim) == (512, 10, 1, 512)
    assert (cfg.gdn.n_heads, cfg.gdn.n_v_heads, cfg.gdn.head_k_dim, cfg.gdn.head_v_dim, cfg.gdn.conv_size) == \
        (16, 32, 128, 128, 4)
    assert cfg.attn.qk_norm and cfg.attn.output_gate and cfg.moe.shared_gate
    assert (cfg.attn_head_dim, cfg.kv_heads, cfg.rope_fraction, cfg.rope_theta) == (256, 2, 0.25, 1e7)


def test_qwen3_next_layer_types_list_gives_the_same_config(tmp_path):
    raw = json.loads((FIXTURES / "qwen3-next-80b-a3b.json").read_text())
    raw["layer_types"] = (["linear_attention"] * 3 + ["full_attention"]) * 12
    del raw["full_attention_interval"]
    assert load_hf_config(write(tmp_path, raw)) == load("qwen3-next-80b-a3b")


def test_qwen3_next_matches_the_checkpoint_with_its_gates_norms_and_value_heads():
    cfg = load("qwen3-next-80b-a3b")
    assert gap(cfg) == 0                             # what remains recorded holds no parameters
    ours = analytic.params(cfg)
    assert ours.total == QWEN3_NEXT
    assert ours.active == QWEN3_NEXT_ACTIVE
    by = ours.by_kind                                # the attention output gate: q_proj twice as wide
    plain = analytic.params(replace(cfg, attn=replace(cfg.attn, output_gate=False))).by_kind
    assert by["attention"] - plain["attention"] == 12 * 16 * 256 * 2048


# ---------------------------------------------------------------- inputs
def test_a_directory_holding_config_json_loads(tmp_path):
    write(tmp_path, (FIXTURES / "llama-2-7b.json").read_text())
    assert load_hf_config(tmp_path) == load("llama-2-7b")


def test_unknown_model_type_names_the_file_and_the_supported_ones(tmp_path):
    path = write(tmp_path, {"model_type": "xyz"})
    with pytest.raises(ArchbenchError, match="model_type 'xyz' is not supported; supported: llama") as err:
        load_hf_config(path)
    assert str(path) in str(err.value) and all(t in str(err.value) for t in SUPPORTED)


@pytest.mark.parametrize("name, field", [("llama-2-7b", "hidden_size"), ("mixtral-8x7b", "num_local_experts"),
                                         ("deepseek-v3", "kv_lora_rank"), ("qwen3-next-80b-a3b",
                                                                           "linear_num_value_heads")])
def test_a_missing_field_is_named_with_the_file(tmp_path, name, field):
    raw = json.loads((FIXTURES / f"{name}.json").read_text())
    del raw[field]
    path = write(tmp_path, raw)
    with pytest.raises(ArchbenchError, match=f"required field '{field}'.* is missing") as err:
        load_hf_config(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("text, message", [("{\"model_type\": \"llama\",", "invalid JSON at line 1"),
                                           ("[1, 2]", "expected a JSON object")])
def test_invalid_json_is_one_line_naming_the_file(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ArchbenchError, match=message) as err:
        load_hf_config(path)
    assert str(err.value).startswith(str(path)) and "\n" not in str(err.value)


def test_a_missing_file_and_a_wrongly_typed_field_are_named(tmp_path):
    with pytest.raises(ArchbenchError, match="no such file"):
        load_hf_config(tmp_path / "absent.json")
    raw = dict(json.loads((FIXTURES / "llama-2-7b.json").read_text()), hidden_size="4096")
    with pytest.raises(ArchbenchError, match="field 'hidden_size' must be an integer"):
        load_hf_config(write(tmp_path, raw))


def test_a_config_breaking_a_constraint_is_a_config_error_naming_the_file(tmp_path):
    raw = dict(json.loads((FIXTURES / "llama-2-70b.json").read_text()), num_key_value_heads=7)
    path = write(tmp_path, raw)
    with pytest.raises(ConfigError, match="n_kv_heads=7 does not divide n_heads=64") as err:
        load_hf_config(path)
    assert str(path) in str(err.value)


def test_a_non_silu_activation_is_refused(tmp_path):
    raw = dict(json.loads((FIXTURES / "llama-2-7b.json").read_text()), hidden_act="gelu")
    with pytest.raises(ArchbenchError, match="hidden_act 'gelu' is not supported"):
        load_hf_config(write(tmp_path, raw))


# ---------------------------------------------------------------- spellings, missing fields, impossible values
SPELLINGS = FIXTURES / "spellings"       # `<fixture>--<how it is spelled>.json`: the same model, written otherwise


def same_model(a, b) -> bool:
    """Equal configs apart from the first note, which names the file."""
    return replace(a, assumptions=a.assumptions[1:]) == replace(b, assumptions=b.assumptions[1:])


def edited(tmp_path: Path, name: str, **changes) -> Path:
    """The fixture `name` with fields set (a value of DELETE removes the field)."""
    raw = json.loads((FIXTURES / f"{name}.json").read_text())
    for key, value in changes.items():
        raw.pop(key, None) if value is DELETE else raw.__setitem__(key, value)
    return write(tmp_path, raw)


DELETE = object()


@pytest.mark.parametrize("path", sorted(SPELLINGS.glob("*.json")), ids=lambda p: p.stem)
def test_every_spelling_transformers_accepts_gives_the_same_model(path):
    assert same_model(load_hf_config(path), load(path.stem.split("--")[0]))


def test_deepseek_v3_spelled_with_num_local_experts_keeps_its_experts_and_its_count():
    aliased = load_hf_config(SPELLINGS / "deepseek-v3--num_local_experts.json")
    assert aliased.moe.n_experts == 256 and aliased.mtp.depth == 1
    assert analytic.params(aliased) == analytic.params(load("deepseek-v3"))


def test_qwen3_moe_saved_by_transformers_5_loads_like_the_published_file():
    raw = json.loads((SPELLINGS / "qwen3-30b-a3b--transformers5.json").read_text())
    assert "num_local_experts" in raw and "rope_parameters" in raw and "num_experts" not in raw
    cfg = load_hf_config(SPELLINGS / "qwen3-30b-a3b--transformers5.json")
    assert cfg.moe.n_experts == 128 and cfg.rope_theta == 1e6


def test_two_spellings_that_disagree_are_an_error(tmp_path):
    path = edited(tmp_path, "deepseek-v3", num_local_experts=64)
    with pytest.raises(ArchbenchError, match="'n_routed_experts' = 256 and field 'num_local_experts' = 64"):
        load_hf_config(path)
    path = edited(tmp_path, "qwen3-30b-a3b", rope_parameters={"rope_type": "default", "rope_theta": 10000.0})
    with pytest.raises(ArchbenchError, match="'rope_theta' = 1000000.0 and field 'rope_parameters.rope_theta'"):
        load_hf_config(path)


@pytest.mark.parametrize("name, field", [
    ("deepseek-v3", "n_routed_experts"), ("deepseek-v3", "first_k_dense_replace"), ("deepseek-v3", "n_shared_experts"),
    ("deepseek-v3", "num_nextn_predict_layers"), ("deepseek-v3", "q_lora_rank"),
    ("mistral-7b-v0.1", "num_key_value_heads"), ("qwen3-30b-a3b", "num_key_value_heads"),
    ("qwen3-next-80b-a3b", "head_dim"), ("qwen3-next-80b-a3b", "shared_expert_intermediate_size"),
])
def test_a_missing_field_whose_default_would_change_the_model_is_required(tmp_path, name, field):
    with pytest.raises(ArchbenchError, match=f"required field '{field}'.* is missing"):
        load_hf_config(edited(tmp_path, name, **{field: DELETE}))


def test_null_q_lora_rank_means_no_query_compression(tmp_path):
    assert load_hf_config(edited(tmp_path, "deepseek-v3", q_lora_rank=None)).mla.q_lora_rank is None


@pytest.mark.parametrize("name, changes, message", [
    ("llama-2-7b", {"num_attention_heads": 0}, "'num_attention_heads' must be an integer >= 1, got 0"),
    ("llama-2-7b", {"num_hidden_layers": -2}, "'num_hidden_layers' must be an integer >= 1, got -2"),
    ("llama-2-7b", {"rms_norm_eps": float("nan")}, "'rms_norm_eps' must be a finite number > 0, got nan"),
    ("llama-2-7b", {"rms_norm_eps": 0}, "'rms_norm_eps' must be a finite number > 0, got 0.0"),
    ("llama-2-7b", {"rope_theta": -10000.0}, "'rope_theta' must be a finite number > 0"),
    ("llama-2-7b", {"rope_parameters": {"rope_theta": 0}}, "'rope_parameters.rope_theta' must be a finite number > 0"),
    ("llama-2-7b", {"rope_theta": float("inf")}, "'rope_theta' must be a finite number > 0, got inf"),
    ("deepseek-v3", {"moe_layer_freq": 0}, "'moe_layer_freq' must be an integer >= 1, got 0"),
    ("qwen3-30b-a3b", {"decoder_sparse_step": 0}, "'decoder_sparse_step' must be an integer >= 1, got 0"),
    ("qwen3-next-80b-a3b", {"full_attention_interval": 0}, "'full_attention_interval' must be an integer >= 1"),
    ("qwen3-30b-a3b", {"mlp_only_layers": [1, "2"]}, "'mlp_only_layers' must list integers >= 0"),
    ("mixtral-8x7b", {"num_key_value_heads": 0}, "'num_key_value_heads' must be an integer >= 1, got 0"),
    ("qwen3-next-80b-a3b", {"partial_rotary_factor": 0}, "'partial_rotary_factor' must be a finite number > 0"),
    ("deepseek-v3", {"n_routed_experts": -1}, "'n_routed_experts' must be an integer >= 0, got -1"),
])
def test_impossible_values_are_one_line_errors_naming_the_field(tmp_path, name, changes, message):
    with pytest.raises(ArchbenchError) as err:
        load_hf_config(edited(tmp_path, name, **changes))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_the_alias_table_covers_every_attribute_map_of_the_installed_transformers():
    transformers = pytest.importorskip("transformers", reason="transformers is an optional extra: pip install '.[hf]'")
    from archs.hf import ALIASES
    for model_type in SUPPORTED:
        config_class = transformers.CONFIG_MAPPING[model_type]
        for alias, canonical in getattr(config_class, "attribute_map", {}).items():
            groups = [{name, *others} for name, others in ALIASES.get(model_type, {}).items()]
            assert any({alias, canonical} <= group for group in groups), (model_type, alias, canonical)


@pytest.mark.parametrize("name", ALL)
def test_a_config_saved_by_the_installed_transformers_loads_as_the_same_model(tmp_path, name):
    transformers = pytest.importorskip("transformers", reason="transformers is an optional extra: pip install '.[hf]'")
    raw = json.loads((FIXTURES / f"{name}.json").read_text())
    saved = transformers.CONFIG_MAPPING[raw.pop("model_type")](**raw).to_json_string(use_diff=False)
    assert same_model(load_hf_config(write(tmp_path, saved)), load(name))


@pytest.mark.parametrize("name, changes, message", [
    ("gpt2", {"activation_function": "swish"}, "activation_function 'swish' is not supported for gpt2"),
    ("gemma-2-9b", {"hidden_activation": "relu"}, "hidden_activation 'relu' is not supported"),
    ("gemma-2-9b", {"layer_types": ["full_attention"] * 3}, "layer_types must list 42 of full_attention"),
    ("qwen3-8b", {"layer_types": ["sliding_attention"] * 36, "sliding_window": None},
     "names sliding_attention layers but field 'sliding_window' is missing"),
    ("gpt-neox-20b", {"intermediate_size": DELETE}, "required field 'intermediate_size'"),
])
def test_the_newer_types_name_a_bad_field(tmp_path, name, changes, message):
    with pytest.raises(ArchbenchError) as err:
        load_hf_config(edited(tmp_path, name, **changes))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_gemma2_slides_on_even_layers_with_norms_after_each_output_and_geglu():
    cfg = load("gemma-2-9b")
    assert [s.window for s in cfg.pattern] == [4096, None] and cfg.post_norms and cfg.tie_embeddings
    assert {s.ffn for s in cfg.layers} == {"geglu"}


def test_gpt_types_are_layernorm_plain_gelu_mlps_with_biases():
    gpt2, neox = load("gpt2"), load("gpt-neox-20b")
    assert (gpt2.norm, gpt2.position, gpt2.bias, gpt2.tie_embeddings, gpt2.ffn_dim) == ("layer", "learned", True,
                                                                                       True, 4 * 768)
    assert (neox.norm, neox.position, neox.bias, neox.parallel_residual, neox.rope_fraction) == \
        ("layer", "rope", True, True, 0.25)
    assert {s.ffn for s in gpt2.layers + neox.layers} == {"gelu"}
