"""The component suites (norms, attention, mixers, ffn, positions) at the smoke profile: document 001's GQA
reductions come out exactly, learned positions past their table are untestable with the reason, and a fast path
that disagrees with its reference gets failed rows instead of speed numbers (the correctness gate). That every
suite runs end to end is tests/suites/test_smoke.py; no timing is asserted."""
from __future__ import annotations

import pytest
import torch

from archs.components import deltanet
from archs.components.mla import MLA
from harness.runner import complete_row
from harness.suite import Context
from suites import attention, mixers, norms, positions


@pytest.fixture
def smoke():
    norms.triton_gate.cache_clear()
    yield
    norms.triton_gate.cache_clear()


def run_units(module, keys=None) -> list:
    c = Context(run_id="0001_nogit_20250101-000000", profile="smoke", threads=1)
    return [complete_row(module.SUITE, c, fields) for unit in module.SUITE.plan(c)
            if keys is None or unit.key in keys for fields in unit.run(c)]


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


def test_a_wrong_triton_kernel_gets_failed_rows(smoke, monkeypatch):
    """Both fused kernels (RMSNorm and LayerNorm) are gated: a kernel whose outputs are wrong is never timed."""
    monkeypatch.setattr(norms, "_triton_outputs", lambda kernel, state, x, dy: (
        x + 1, dy * 3, *(torch.zeros_like(v) for v in state.values())))
    rows = run_units(norms, {"triton_check"})
    errors = [r for r in rows if r.metric == "rel_error"]
    speed = [r for r in rows if r.metric.startswith("latency")]
    assert {r.case for r in errors} == set(norms.FUSED)
    assert all(r.value > norms.TOL[torch.float32] for r in errors)
    assert len(speed) == 2 and all(r.status == "failed" and r.value is None and "rel err" in r.reason for r in speed)


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
