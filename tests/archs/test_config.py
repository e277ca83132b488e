"""Bad configurations fail at construction with a message naming the field; configs round-trip through dicts."""
import json

import pytest

from archs import ARCHS
from archs.config import DecoderConfig, DeltaNetConfig, LayerSpec, MLAConfig, MoEConfig
from harness.errors import ConfigError

BASE = dict(vocab_size=256, dim=64, n_layers=2, n_heads=4, ffn_dim=128)


@pytest.mark.parametrize("overrides, message", [
    (dict(dim=65), "n_heads=4 does not divide dim=65"),
    (dict(n_kv_heads=3), "n_kv_heads=3 does not divide n_heads=4"),
    (dict(n_layers=0), "DecoderConfig.n_layers must be a positive integer"),
    (dict(ffn_dim=-8), "DecoderConfig.ffn_dim must be a positive integer"),
    (dict(norm="batch"), "DecoderConfig.norm='batch' is not one of rms, layer"),
    (dict(n_layers=3, pattern=(LayerSpec(), LayerSpec(mixer="gdn"))), "not a multiple of len(pattern)=2"),
    (dict(pattern=(LayerSpec(ffn="moe"),)), "DecoderConfig.moe is required"),
    (dict(pattern=(LayerSpec(mixer="mla"),)), "DecoderConfig.mla is required"),
    (dict(pattern=(LayerSpec(mixer="gdn"),), gdn=DeltaNetConfig(n_heads=3)), "DeltaNetConfig.n_heads=3"),
    (dict(rope_fraction=0.0), "rope_fraction must be in (0, 1]"),
])
def test_decoder_config_names_the_broken_field(overrides, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        DecoderConfig(**(BASE | overrides))


def test_top_k_above_expert_count_names_the_field():
    with pytest.raises(ConfigError, match="top_k=3 exceeds n_experts=2"):
        MoEConfig(n_experts=2, top_k=3, expert_dim=16)


@pytest.mark.parametrize("cls, kwargs, field", [
    (MoEConfig, dict(n_experts=0, top_k=1, expert_dim=8), "n_experts"),
    (MLAConfig, dict(kv_lora_rank=-1), "kv_lora_rank"),
    (LayerSpec, dict(window=0), "window"),
    (LayerSpec, dict(mixer="rnn"), "mixer"),
])
def test_sub_configs_reject_non_positive_or_unknown_values(cls, kwargs, field):
    with pytest.raises(ConfigError, match=f"{cls.__name__}.{field}"):
        cls(**kwargs)


@pytest.mark.parametrize("name", ARCHS.names())
def test_every_preset_rebuilds_from_its_dict_after_a_json_round_trip(name):
    cfg = ARCHS.get(name)()
    data = json.loads(json.dumps(cfg.to_dict()))
    rebuilt = type(cfg).from_dict(data)
    assert rebuilt == cfg and rebuilt.assumptions == cfg.assumptions
    assert rebuilt.to_dict() == cfg.to_dict()


def test_a_dict_with_an_unknown_field_names_it():
    data = DecoderConfig(**BASE).to_dict() | {"widht": 3}
    with pytest.raises(ConfigError, match="DecoderConfig: unknown config field 'widht'"):
        DecoderConfig.from_dict(data)
    data = DecoderConfig(**BASE).to_dict()
    data["pattern"] = [{"mixer": "rnn"}]
    with pytest.raises(ConfigError, match="LayerSpec.mixer='rnn'"):
        DecoderConfig.from_dict(data)
