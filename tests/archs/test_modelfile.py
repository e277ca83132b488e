"""Model files: every preset written as a model file loads back equal; base + overrides, shrink, "none" and
HF config.json bases; every bad file is one line naming the file, the field and what is allowed."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from archs import ARCHS, get_config
from archs.modelfile import dump_model, load_model
from archs.presets.shrink import shrink
from harness.errors import ArchbenchError

HF_FIXTURES = Path(__file__).parent / "fixtures" / "hf"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ARCHS.names())
def test_every_preset_round_trips_through_a_model_file(name, tmp_path):
    cfg = get_config(name)
    back = load_model(write(tmp_path, "model.toml", dump_model(cfg, title=ARCHS.meta(name)["title"])))
    assert back == cfg
    assert back.to_dict() == cfg.to_dict()            # assumptions too (they do not take part in ==)


def test_base_preset_with_overrides_and_a_sub_table_merged_field_by_field(tmp_path):
    path = write(tmp_path, "m.toml", 'base = "mixtral-8x7b"\nn_kv_heads = 4\n[moe]\ntop_k = 1\n')
    want = get_config("mixtral-8x7b")
    assert load_model(path) == replace(want, n_kv_heads=4, moe=replace(want.moe, top_k=1))


def test_none_clears_an_optional_field_and_a_pattern_replaces_the_base_pattern(tmp_path):
    path = write(tmp_path, "dense.toml", 'base = "mixtral-8x7b"\nn_kv_heads = "none"\nmoe = "none"\n'
                                         '[[pattern]]\nffn = "swiglu"\nwindow = 4096\n')
    cfg = load_model(path)
    assert cfg.moe is None and cfg.n_kv_heads is None
    assert [(s.ffn, s.window) for s in cfg.pattern] == [("swiglu", 4096)]


def test_base_file_chain_and_shrink_give_the_tiny_twin(tmp_path):
    write(tmp_path, "full.toml", dump_model(get_config("hybrid-235b")))
    tiny = write(tmp_path, "tiny.toml", 'base = "full.toml"\nshrink = { n_layers = 4 }\n')
    assert load_model(tiny) == shrink(get_config("hybrid-235b"), n_layers=4)


def test_hf_config_json_as_a_model_and_as_a_base(tmp_path):
    source = next(HF_FIXTURES.glob("*mixtral*.json"), None) or next(HF_FIXTURES.glob("*.json"))
    cfg = load_model(source)
    write(tmp_path, "config.json", source.read_text())
    assert load_model(write(tmp_path, "over.toml", 'base = "config.json"\nn_layers = 2\n')) == \
        replace(cfg, n_layers=2)


@pytest.mark.parametrize("text, words", [
    ("dim = 8\n", ["missing", "vocab_size"]),
    ('base = "llama-2-7b"\nwidth = 8\n', ["'width'", "allowed:", "n_kv_heads"]),
    ('base = "llama-2-7b"\ndim = "wide"\n', ["'dim'", "an integer"]),
    ('base = "llama-2-7b"\n[[pattern]]\nmixer = "lstm"\n', ["pattern[0]", "'lstm'", "attention", "gdn"]),
    ('base = "llama-2-7b"\n[moe]\nn_experts = 8\n', ["moe", "top_k"]),
    ('base = "llama-2-7b"\narchitecture = "rnn"\n', ["'architecture'", "decoder", "parallel_stacks"]),
    ('base = "no-such-preset"\n', ["no-such-preset"]),
    ('base = "missing.toml"\n', ["'base'", "missing.toml"]),
    ('base = "self.toml"\n', ["loops"]),
    ('base = "llama-2-7b"\nshrink = { width = 2 }\n', ["shrink.width", "n_layers"]),
    ('base = "llama-2-7b"\ndim = "none"\n', ["'dim'", "required"]),
    ("dim = = 3\n", []),
])
def test_a_bad_model_file_is_one_line_naming_the_file_and_field(text, words, tmp_path):
    path = write(tmp_path, "self.toml", text)
    with pytest.raises(ArchbenchError) as err:
        load_model(path)
    message = str(err.value)
    assert "\n" not in message and message.startswith(str(path))
    for word in words:
        assert word in message


def hf_fixtures() -> list[Path]:
    return sorted(HF_FIXTURES.glob("*.json"))


@pytest.mark.parametrize("path", hf_fixtures(), ids=lambda p: p.stem)
def test_every_readable_hf_config_round_trips_through_a_model_file(path, tmp_path):
    """MLA with MTP modules (DeepSeek-V3), Gated DeltaNet and attention layers (Qwen3-Next), shared experts..."""
    try:
        cfg = load_model(path)
    except ArchbenchError:
        pytest.skip(f"{path.name} is not a model_type archs.hf reads")
    assert load_model(write(tmp_path, "m.toml", dump_model(cfg))) == cfg
