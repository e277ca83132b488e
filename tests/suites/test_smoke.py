"""Every registered suite, end to end at the smoke profile, through the real runner into a real results store:
its plan builds for every profile with unique unit keys, every unit finishes, no row failed, an untestable row
says why, and the rows carry every metric the suite's claims select (read from suites/documents/*/*.toml) plus the
ones its report and the other suites lean on. Architecture rows carry the config they measured. No number is
asserted here: the suites' own tests check values.

The suites that measure every registered architecture run on `SMOKE_ARCHS` (as `--archs` would select them):
each document's smallest full-size and tiny preset and the reference preset the distributed suite trains, so
every kind of model passes through them while the deep hybrid stages (the slowest to build, count and profile)
are left to `make bench`."""
from __future__ import annotations

import tomllib
from collections import defaultdict
from functools import lru_cache

import pytest

from archs import ARCHS
from harness.runner import run_suite
from harness.store.results import ResultStore, current_frame
from harness.suite import PROFILES, Context
from suites import DOCUMENTS_DIR, SUITES

SMOKE_ARCHS = frozenset({"hybrid-mvp1", "hybrid-mvp1-tiny", "modern-768", "modern-tiny", "nexus-1.5b", "nexus-tiny",
                         "parallel-stacks-current", "parallel-stacks-tiny", "mla-moe", "mla-moe-tiny", "llama-2-tiny"})
EVERY_ARCH = ("params_flops", "kv_cache", "memory", "throughput")
MEASURED = {            # what each suite is for, beyond what its claims select
    "roofline": {"flops_per_s", "bandwidth_bytes_per_s"},
    "params_flops": {"params_total", "params_active", "flops_fwd_per_token", "flops_rel_diff"},
    "kv_cache": {"kv_bytes", "kv_bytes_per_token"},
    "memory": {"model_bytes", "train_memory_bytes", "peak_bytes"},
    "throughput": {"tokens_per_s", "latency_decode_s", "scaling_exponent", "roofline_fraction"},
    "norms": {"latency_fwd_s", "latency_fwdbwd_s", "speedup", "bandwidth_bytes_per_s", "params_total"},
    "attention": {"kv_reduction", "kv_bytes_per_token", "latency_decode_s", "rel_error", "params_total"},
    "mixers": {"scaling_exponent", "peak_bytes", "latency_decode_s", "rel_error", "speedup"},
    "ffn": {"params_active", "flops_fwd", "latency_fwdbwd_s", "speedup"},
    "positions": {"params_total", "latency_fwd_s", "val_loss", "rel_error"},
    "loss_curves": {"train_loss", "val_loss", "loss_at_step", "reference_loss"},
    "distributed": {"memory_per_rank_bytes", "comm_bytes"},
}


def claimed_metrics() -> dict[str, set[str]]:
    """suite -> metrics the claims select from it (every table that names both a suite and a metric)."""
    found: dict[str, set[str]] = defaultdict(set)

    def walk(node, suite=None):
        if isinstance(node, dict):
            suite = node.get("suite", suite)
            if isinstance(node.get("metric"), str) and suite:
                found[suite].add(node["metric"])
            for value in node.values():
                walk(value, suite)
        elif isinstance(node, list):
            for value in node:
                walk(value, suite)

    for path in sorted(DOCUMENTS_DIR.glob("*/*.toml")):
        walk(tomllib.loads(path.read_text(encoding="utf-8")))
    return found


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """run(name) -> (counts, that suite's current rows): each suite run once into one store, on first use."""
    store = ResultStore.create(tmp_path_factory.mktemp("smoke"))

    @lru_cache(maxsize=None)
    def run(name: str):
        ctx = Context(run_id=store.run_id, profile="smoke", run_dir=store.run_dir,
                      archs=SMOKE_ARCHS if name in EVERY_ARCH else None)
        counts = run_suite(SUITES.get(name), ctx, store)
        frame = current_frame(store.run_dir)
        return counts, frame[frame.suite == name]
    return run


@pytest.mark.parametrize("name", SUITES.names())
def test_plan_builds_for_every_profile_with_unique_keys(name):
    for profile in PROFILES:
        keys = [u.key for u in SUITES.get(name).plan(Context(run_id="x", profile=profile))]
        assert keys and len(keys) == len(set(keys)), (profile, keys)


@pytest.mark.parametrize("name", SUITES.names())
def test_suite_runs_end_to_end_at_the_smoke_profile(name, smoke):
    counts, rows = smoke(name)
    failed = rows[rows.status == "failed"]
    assert counts["failed"] == 0 and failed.empty, list(failed.reason)
    assert counts["ok"] > 0 and (rows.status == "ok").any()
    untestable = rows[rows.status == "untestable"]
    assert (untestable.reason.str.len() > 0).all()
    produced = set(rows.metric)
    missing = (claimed_metrics().get(name, set()) | MEASURED.get(name, set())) - produced
    assert not missing, f"{name} wrote no {sorted(missing)} rows"
    assert set(rows[rows.status == "ok"].metric) & MEASURED.get(name, produced)    # something was measured


@pytest.mark.parametrize("name", ["params_flops", "memory", "kv_cache", "throughput", "loss_curves"])
def test_architecture_rows_carry_the_config_they_measured(name, smoke):
    _, rows = smoke(name)
    arch_rows = rows[rows.arch != ""]
    assert len(arch_rows)
    for arch, config in zip(arch_rows.arch, arch_rows.config):
        assert {"dim", "vocab_size", "assumptions"} <= set(config), (arch, sorted(config))
        if arch in ARCHS:                                   # a registered name means exactly that preset
            preset = {k: _jsonish(v) for k, v in ARCHS.get(arch)().to_dict().items() if k != "vocab_size"}
            assert {k: config[k] for k in preset} == preset, arch


def _jsonish(value):
    """A config value as it reads back from the store's JSON (tuples become lists)."""
    if isinstance(value, (tuple, list)):
        return [_jsonish(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonish(v) for k, v in value.items()}
    return value
