"""The distributed suite: expert parallelism equals the unsharded MoE on 2 gloo processes (through the launcher),
FSDP2 matches the unsharded step, the launcher turns a failing or hanging rank into a quick one-line error, and
the analytic extrapolation shards expert memory as 1/W while the experts' total stays constant."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

from archs import get_config
from archs.components.moe import MoE
from archs.parallel import ExpertParallelMoE, expert_range
from harness.errors import ArchbenchError, ConfigError
from harness.measure.launch import launch
from harness.runner import complete_row
from harness.suite import Context
from suites import distributed as suite

TOL = 1e-5                                  # fp32


def _ctx(tmp_path: Path) -> Context:
    return Context(run_id="0001_nogit_20250101-000000", profile="quick", run_dir=tmp_path)


@pytest.fixture(scope="module")
def two_rank_rows(tmp_path_factory):
    """One 2-process gloo job (EP + FSDP2) through the suite's unit, i.e. through harness.measure.launch."""
    tmp = tmp_path_factory.mktemp("dist")
    rows = list(suite.measured_rows(2, ["ep", "fsdp"], _ctx(tmp)))
    for fields in rows:                     # every record is a valid Row
        complete_row(suite.SUITE, _ctx(tmp), fields)
    return {(r["measure"], r["extra"].get("part") or r["extra"].get("collective", "")): r for r in rows}


def test_expert_parallel_on_two_ranks_equals_single_process(two_rank_rows):
    for what in ("output", "expert_grads", "replicated_grads"):
        row = two_rank_rows[(f"ep_{what}_vs_single", "")]
        assert row["shape"]["W"] == 2 and row["value"] < TOL, row
    a2a = two_rank_rows[("ep_a2a", "")]
    assert 0 < a2a["value"] < a2a["extra"]["including_self_bytes"]      # rows really crossed ranks
    params = two_rank_rows[("ep_memory", "params")]
    extra = params["extra"]
    assert params["value"] == extra["local_expert_params_bytes"] + extra["replicated_params_bytes"]
    assert 2 * extra["local_expert_params_bytes"] == extra["unsharded_layer_params_bytes"] - \
        extra["replicated_params_bytes"]                                 # half the experts on each rank


def test_fsdp_step_on_two_ranks_equals_single_process(two_rank_rows):
    for what in ("loss_before_step", "loss_after_step", "params_after_step"):
        assert two_rank_rows[(f"fsdp_{what}_vs_single", "")]["value"] < TOL
    params = two_rank_rows[("fsdp_memory", "params")]
    assert params["value"] == pytest.approx(params["extra"]["unsharded_params_bytes"] / 2, rel=0.01)
    assert two_rank_rows[("fsdp_memory", "optimizer")]["value"] >= 2 * params["value"]    # Adam m, v
    assert two_rank_rows[("fsdp_comm", "_reduce_scatter_base_")]["value"] > 0
    assert two_rank_rows[("fsdp_step", "")]["stat"] == "median"


def _worker_processes(marker: str) -> list[int]:
    found = []
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            if marker in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
                found.append(int(pid))
        except OSError:
            continue
    return found


def test_a_rank_that_raises_fails_the_launch_with_its_reason_not_at_the_timeout(tmp_path):
    """The failing rank's reason ends the launch; had it waited for the (long) timeout, the error would say
    "timed out" instead. No wall-clock bound: startup takes from seconds to a minute on a loaded machine."""
    with pytest.raises(ArchbenchError, match=r"rank 1 failed: RuntimeError: injected failure on rank 1"):
        launch(suite.WORKER, 2, ["--modes", "raise"], timeout_s=600, out=tmp_path / "raise.jsonl")


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="process check reads /proc")
def test_a_rank_that_hangs_is_killed_at_the_timeout(tmp_path):
    out = tmp_path / "hang.jsonl"
    start = time.perf_counter()
    with pytest.raises(ArchbenchError, match=r"timed out after 20s"):
        launch(suite.WORKER, 2, ["--modes", "hang"], timeout_s=20, out=out)
    assert time.perf_counter() - start < 20 + 60          # killed at the timeout, not left to finish (load margin)
    time.sleep(0.2)
    assert _worker_processes(str(out)) == []                            # torchrun and both ranks are gone


def test_launch_rejects_a_bad_world_size():
    with pytest.raises(ArchbenchError, match="world_size"):
        launch(suite.WORKER, 0, [], timeout_s=5)


# ---------------------------------------------------------------- in-process (a 1-rank gloo group)
@pytest.fixture
def one_rank_group():
    store = dist.HashStore()
    dist.init_process_group("gloo", store=store, rank=0, world_size=1)
    yield
    dist.destroy_process_group()


def test_expert_parallel_layer_on_one_rank_matches_moe_forward_and_backward(one_rank_group):
    cfg = get_config("mla-moe-tiny")
    torch.manual_seed(0)
    moe = MoE(cfg)
    ep = ExpertParallelMoE(moe)
    x = torch.randn(2, 16, cfg.dim)
    ep(x).square().sum().backward()
    moe(x).square().sum().backward()
    full = dict(moe.named_parameters())                                 # W=1: rank 0 owns experts 0..E-1
    for name, p in ep.named_parameters():
        torch.testing.assert_close(p.grad, full[name].grad, rtol=TOL, atol=1e-7, msg=name)
    assert ep.stats.remote == 0 and ep.stats.total > 0                  # one rank: nothing leaves it


def test_expert_range_needs_experts_divisible_by_world():
    assert [expert_range(8, r, 4) for r in range(4)] == [(0, 2), (2, 4), (4, 6), (6, 8)]
    with pytest.raises(ConfigError, match="n_experts=8 is not divisible by world size 3"):
        expert_range(8, 0, 3)


# ---------------------------------------------------------------- analytic extrapolation
def test_expert_memory_per_rank_falls_as_one_over_w_and_its_total_stays_constant():
    cfg = get_config("hybrid-235b")                                      # E = 64
    experts = suite.expert_split(cfg)["experts"]
    for W in (1, 2, 4, 8, 16, 32, 64):
        ep = suite.per_rank_params(cfg, W)["expert_parallel"]
        assert ep["experts"] == experts / W                              # 1/W per rank
        assert ep["experts"] * W == experts                              # total across ranks constant
    beyond = suite.per_rank_params(cfg, 512)["expert_parallel"]
    assert beyond["experts"] == experts / 64 and beyond["expert_replicas"] == 8   # W > E: EP saturates


def test_expert_parallel_leaves_dense_parts_replicated_and_fsdp_shards_everything():
    for name in ("mla-moe", "nexus-405b", "mixtral-8x7b"):
        cfg = get_config(name)
        split = suite.expert_split(cfg)
        held = suite.per_rank_params(cfg, 8)
        assert held["expert_parallel"]["params"] >= split["dense"]
        assert held["fsdp"]["params"] == split["total"] / 8
        assert held["replicated"]["params"] == split["total"]
    assert suite.per_rank_params(get_config("nexus-405b"), 64)["expert_parallel"]["experts"] == 0   # dense model


def test_communication_formulas():
    cfg = get_config("mixtral-8x7b")
    total = suite.expert_split(cfg)["total"]
    assert suite.comm_per_step(cfg, 1, 4096) == {"fsdp": 0, "ep_all_to_all": 0, "ep_grad_all_reduce": 0}
    comm = suite.comm_per_step(cfg, 8, 4096)
    assert comm["fsdp"] == pytest.approx(3 * total * 2 * 7 / 8)
    assert comm["ep_all_to_all"] == pytest.approx(32 * 4 * 4096 * 2 * 4096 * 2 * 7 / 8)   # L·4·N·k·D·2B·(W-1)/W


def test_analytic_rows_are_valid_rows(tmp_path):
    ctx = _ctx(tmp_path)
    rows = list(suite.analytic_rows(ctx))
    assert {r["arch"] for r in rows} == set(suite.FULL_PRESETS)
    for fields in rows:
        complete_row(suite.SUITE, ctx, fields)
    keys = [u.key for u in suite.plan(ctx)]
    assert keys == ["measured/W1", "measured/W2", "analytic/extrapolation"]
