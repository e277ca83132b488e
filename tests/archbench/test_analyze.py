"""archbench analyze: the dict analyze computes (counts, FLOPs, cache at a dtype, batch and contexts, and every
recorded difference from the real model with its size) and the text and JSON the command prints from it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from archbench.analyze import analyze, render
from archbench.cli import main
from archs import analytic, get_config
from archs.hf import load_hf_config, transformers_config
from harness.errors import ArchbenchError

HF = Path(__file__).resolve().parents[1] / "archs" / "fixtures" / "hf"
DEEPSEEK, QWEN3_NEXT, LLAMA = (str(HF / f"{name}.json") for name in ("deepseek-v3", "qwen3-next-80b-a3b",
                                                                        "llama-2-7b"))


def test_deepseek_v3_gives_the_count_as_transformers_builds_it_and_as_the_checkpoint_stores_it():
    cfg = load_hf_config(DEEPSEEK)
    r = analyze(cfg, DEEPSEEK, contexts=(4096,))
    assert r["params"] == analytic.params(cfg).total
    assert r["params_as_transformers_builds"] == analytic.params(transformers_config(cfg)).total == 671_026_419_200
    assert r["params_as_checkpoint_stores"] == 684_489_845_504          # the Hub's "685B"
    mtp, = [d for d in r["differences"] if d["reference"] == "transformers"]
    assert mtp["size"] == -analytic.params(cfg).by_kind["mtp"] and "MTP" in mtp["text"]
    # FLOPs and cache are those of the model transformers builds: no MTP module
    assert r["contexts"][0]["decode_state_bytes"] == sum(analytic.cache_bytes(cfg, 1, 4096, 2).values())
    text = "\n".join(render(r))
    assert "as transformers builds it: 671B parameters (671,026,419,200)" in text
    assert "-11.61B (-11,610,068,224)" in text


def test_dtype_batch_and_contexts_reach_every_number():
    cfg = load_hf_config(QWEN3_NEXT)
    r = analyze(cfg, QWEN3_NEXT, dtype="float32", batch=3, contexts=(128, 1024))
    assert r["weights_bytes"] == 4 * r["params"]
    assert [c["T"] for c in r["contexts"]] == [128, 1024]
    for c in r["contexts"]:
        assert c["decode_state_by_kind"] == analytic.cache_bytes(cfg, 3, c["T"], 4)
        conv, = [d for d in c["differences"] if d["quantity"] == "cache_bytes"]
        assert c["transformers_cache_bytes"] == c["decode_state_bytes"] + conv["size"]
        assert conv["size"] == 36 * 3 * (2 * 16 * 128 + 32 * 128) * 4     # one more conv column per GDN layer


def test_an_exact_model_says_so_and_a_preset_has_no_differences():
    llama = analyze(load_hf_config(LLAMA), LLAMA)
    assert llama["params_as_transformers_builds"] is None and not llama["differences"]
    assert "differences from the real model: 0 (exact)" in render(llama)
    preset = analyze(get_config("nexus-1.5b"), "nexus-1.5b")
    assert preset["model_type"] is None and not any("differences" in line for line in render(preset))


def test_the_command_prints_json_with_the_options(capsys):
    args = ["analyze", DEEPSEEK, "--json", "--dtype", "float32", "--batch", "2", "--context", "256", "512"]
    assert main(args) == 0
    r = json.loads(capsys.readouterr().out)
    assert (r["dtype"], r["batch"], [c["T"] for c in r["contexts"]]) == ("float32", 2, [256, 512])
    assert r["params_as_transformers_builds"] == 671_026_419_200


def test_the_text_uses_the_reports_units(capsys):
    assert main(["analyze", LLAMA, "--context", "4096"]) == 0
    out = capsys.readouterr().out
    assert "6.738B parameters (6,738,415,616)" in out and "13.48 GB at bfloat16" in out
    assert "decode state 2.147 GB (bfloat16, batch 1)" in out             # 2·32·4096·4096·2 bytes


@pytest.mark.parametrize("args, message", [
    (["--dtype", "fp9"], "--dtype 'fp9' is not one of float32"),
    (["--batch", "0"], "expected a positive integer"),
])
def test_bad_options_are_one_line_and_exit_2(capsys, args, message):
    assert main(["analyze", LLAMA, *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_an_unknown_dtype_is_refused_by_the_function_too():
    with pytest.raises(ArchbenchError, match="int4"):
        analyze(get_config("nexus-1.5b"), "nexus-1.5b", dtype="int4")
