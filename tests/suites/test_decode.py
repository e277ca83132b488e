"""The decode suite at the smoke profile: the bytes it says a step moves are the analytic cache bytes plus the new
tokens plus the weights, every (variant, batch) gets a slope with its interval, and a wrong absorbed MLA path gets
failed rows instead of timings. No timing is asserted."""
from __future__ import annotations

import pytest

from archs.components import attention as attn_mod
from archs.components import deltanet as gdn_mod
from archs.components import mla as mla_mod
from archs.components.mla import MLA
from harness.suite import Context
from suites import decode

FORMULAS = {"mha": attn_mod, "gqa": attn_mod, "mqa": attn_mod, "mla": mla_mod, "gdn": gdn_mod}


def unit_rows(variant: str) -> list[dict]:
    ctx = Context(run_id="test", profile="smoke")
    unit, = [u for u in decode.plan(ctx) if u.key == f"decode/{variant}"]
    return list(unit.run(ctx))


@pytest.mark.parametrize("variant", ["gqa", "mla", "gdn"])
def test_bytes_per_token_are_cache_formula_plus_new_tokens_plus_weights(variant):
    s, rows = decode.SIZES["smoke"], unit_rows(variant)
    cfg = decode.config(variant, s)
    spec, layer = cfg.pattern[0], decode.build(variant, s, Context(run_id="test", profile="smoke"))
    weights = 4 * sum(p.numel() for p in layer.parameters())                 # fp32
    moved = [r for r in rows if r["metric"] == "decode_bytes_per_token"]
    assert len(moved) >= len(s.batches) * len(s.contexts)
    for r in moved:
        B, S = r["shape"]["B"], r["shape"]["T"]
        cache = FORMULAS[variant].cache_bytes_formula(cfg, spec, B, S, 4)
        written = cache if variant == "gdn" else FORMULAS[variant].cache_bytes_formula(cfg, spec, B, 1, 4)
        assert r["extra"]["cache_read"] == cache and r["extra"]["cache_written"] == written
        assert r["value"] == (cache + written + weights) / B
        assert r["extra"]["capacity_bytes"] >= cache


def test_every_variant_and_batch_gets_a_slope_with_its_interval():
    rows = unit_rows("mla")
    slopes = {(r["case"], r["shape"]["B"]): r for r in rows if r["metric"] == "scaling_exponent"}
    assert set(slopes) == {(case, B) for case in ("mla-naive", "mla-absorbed") for B in decode.SIZES["smoke"].batches}
    assert all(r["q1"] <= r["value"] <= r["q3"] for r in slopes.values())


def test_a_wrong_absorbed_mla_gets_failed_rows(monkeypatch):
    real = MLA._absorbed
    monkeypatch.setattr(MLA, "_absorbed", lambda self, *args: 2 * real(self, *args))
    rows = unit_rows("mla")
    absorbed = [r for r in rows if r["case"] == "mla-absorbed" and r["metric"] == "latency_decode_s"]
    naive = [r for r in rows if r["case"] == "mla-naive" and r["metric"] == "latency_decode_s"]
    assert absorbed and all(r["status"] == "failed" and "rel err" in r["reason"] for r in absorbed)
    assert naive and all(r.get("status", "ok") == "ok" for r in naive)
