"""The component suites (norms, attention, mixers, ffn, positions): their plans build for every profile, a smoke-sized
run of every unit yields rows that validate as `Row`s, and a fast path that disagrees with its reference gets failed
rows instead of speed numbers (the correctness gate). Sizes are shrunk by replacing the suite's quick entry in its
SIZES table; no timing is asserted."""
from __future__ import annotations

import pytest
import torch

from archs.components import deltanet
from archs.components.mla import MLA
from harness.runner import complete_row
from harness.suite import PROFILES, Context
from suites import attention, ffn, mixers, norms, positions

SUITES = {"norms": norms, "attention": attention, "mixers": mixers, "ffn": ffn, "positions": positions}
FAST = 0.002
SMOKE = {
    "norms": dict(D=[64], T=[32], compile=False, min_run_time=FAST),
    "attention": dict(prefill_T=[16], contexts=[8, 16], kv_T=8, min_run_time=FAST),
    "mixers": dict(dim=32, heads=2, T=[32, 64, 128], contexts=[8, 16, 32], op_T=[40], min_run_time=FAST),
    "ffn": dict(tokens=[8], min_run_time=FAST),
    "positions": dict(T=[16], min_run_time=FAST),
}


def ctx(profile: str = "quick") -> Context:
    return Context(run_id="0001_nogit_20250101-000000", profile=profile, threads=1)


@pytest.fixture
def smoke(monkeypatch):
    from dataclasses import replace
    from suites import loss_curves
    for name, module in SUITES.items():
        monkeypatch.setitem(module.SIZES, "quick", SMOKE[name])
    short = loss_curves.train_config     # positions evaluates loss_curves' models: train them 2 steps
    monkeypatch.setattr(loss_curves, "train_config",
                        lambda c, seed, steps=None, key="": replace(short(c, seed, 2, key), eval_batches=1))
    norms.triton_gate.cache_clear()
    yield
    norms.triton_gate.cache_clear()


def run_units(module, keys=None) -> list:
    c = ctx()
    return [complete_row(module.SUITE, c, fields) for unit in module.SUITE.plan(c)
            if keys is None or unit.key in keys for fields in unit.run(c)]


@pytest.mark.parametrize("name", SUITES)
def test_plans_build_for_every_profile_with_unique_keys(name):
    for profile in PROFILES:
        units = SUITES[name].SUITE.plan(ctx(profile))
        keys = [u.key for u in units]
        assert keys and len(keys) == len(set(keys)), (profile, keys)
    assert SUITES[name].SUITE.name == name and SUITES[name].SUITE.description


@pytest.mark.parametrize("name", SUITES)
def test_smoke_run_yields_valid_rows(name, smoke):
    rows = run_units(SUITES[name])
    assert rows and not [r for r in rows if r.status == "failed"], [r.reason for r in rows if r.status == "failed"]
    metrics = {r.metric for r in rows if r.status == "ok"}
    expected = {"norms": {"latency_fwd_s", "latency_fwdbwd_s", "speedup", "bandwidth_bytes_per_s", "params_total"},
                "attention": {"kv_reduction", "kv_bytes_per_token", "latency_decode_s", "rel_error", "params_total"},
                "mixers": {"scaling_exponent", "peak_bytes", "latency_decode_s", "rel_error", "speedup"},
                "ffn": {"params_active", "flops_fwd", "latency_fwdbwd_s", "speedup"},
                "positions": {"params_total", "latency_fwd_s", "val_loss", "rel_error"}}[name]
    assert expected <= metrics
    assert all(r.reason for r in rows if r.status == "untestable")


def test_gqa_kv_reductions_match_document_001(smoke):
    rows = run_units(attention, {"static"})
    red = {r.case: r.value for r in rows if r.metric == "kv_reduction" and r.measure == "kv_vs_mha"}
    assert red["gqa-3kv"] == 4 and red["gqa-2kv"] == 6 and red["mqa"] == 12 and red["mha"] == 1
    measured = {r.case: r.value for r in rows if r.measure == "kv_measured" and r.status == "ok"}
    analytic = {r.case: r.value for r in rows if r.measure == "kv_analytic"}
    assert measured == analytic and len(measured) == len(attention.VARIANTS)


def test_learned_positions_past_the_table_are_untestable(smoke):
    rows = run_units(positions, {"extrapolation/learned"})
    assert [r.status for r in rows] == ["ok", "untestable", "untestable"]
    assert "max_seq_len=64" in rows[1].reason


def test_a_wrong_triton_rmsnorm_gets_failed_rows(smoke, monkeypatch):
    monkeypatch.setattr(norms, "_triton_outputs", lambda x, w, dy: (x + 1, dy * 3, w * 0))
    rows = run_units(norms, {"triton_check"})
    err = next(r for r in rows if r.metric == "rel_error")
    speed = [r for r in rows if r.metric.startswith("latency")]
    assert err.value > norms.TOL[torch.float32]
    assert speed and all(r.status == "failed" and r.value is None and "rel err" in r.reason for r in speed)


def test_a_wrong_absorbed_mla_gets_failed_rows(smoke, monkeypatch):
    monkeypatch.setattr(MLA, "_absorbed", lambda self, q_nope, q_rope, kv, mask:
                        torch.ones(*q_nope.shape[:3], self.v_dim))
    rows = run_units(attention, {"decode/mla"})
    absorbed = [r for r in rows if r.case == "mla-absorbed" and r.metric == "latency_decode_s"]
    naive = [r for r in rows if r.case == "mla-naive" and r.metric == "latency_decode_s"]
    assert absorbed and all(r.status == "failed" and "rel err" in r.reason for r in absorbed)
    assert naive and all(r.status == "ok" for r in naive)


def test_a_wrong_chunked_gdn_gets_failed_rows(smoke, monkeypatch):
    def garbage(q, k, v, g, beta, scale=None, initial_state=None, output_final_state=False, chunk_size=64):
        B, T, H, K = q.shape
        return torch.zeros_like(v), (torch.zeros(B, H, K, v.shape[-1]) if output_final_state else None)
    monkeypatch.setattr(deltanet, "chunk_gated_delta_rule", garbage)
    rows = run_units(mixers, {"gate", "forward", "decode/gdn", "op/T40"})
    gdn = [r for r in rows if r.case in ("gdn", "gdn_chunk") and r.metric.startswith("latency")]
    assert gdn and all(r.status == "failed" and "rel err" in r.reason for r in gdn)
    assert any(r.case == "sdpa" and r.status == "ok" for r in rows)
    assert next(r for r in rows if r.metric == "rel_error").value > mixers.TOL


def test_rope_scores_are_shift_invariant_and_sinusoidal_ones_are_not(smoke):
    rows = run_units(positions, {"shift"})
    rope = [r.value for r in rows if r.case == "rope-shift"]
    sinusoidal = [r.value for r in rows if r.case == "sinusoidal-shift"]
    assert rope and max(rope) < 1e-4 and min(sinusoidal) > 1e-3
