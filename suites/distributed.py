"""Distributed training: expert parallelism (doc 004) and sharded parameter updates (doc 000), measured on
W local processes (gloo on CPU) and extrapolated by formula to full presets on 8 / 64 / 512 ranks.

Measured (`measured/W<w>`; harness.measure.launch runs suites.workers.distributed_worker under torchrun, see its docstring):
  expert_parallel  mla-moe-tiny's MoE layer (8 experts, top-2, one shared expert, D=128) sharded by
                   archs.parallel.ExpertParallelMoE: equality with the unsharded layer (rel_error of outputs,
                   expert and replicated gradients), per-rank bytes of params / grads / AdamW state, row
                   all-to-all bytes per step, step time (median of the slowest rank per step).
  fsdp             llama-2-tiny under FSDP2 (fully_shard per block + root): loss and parameters after one AdamW
                   step vs the unsharded step (rel_error), per-rank local-shard bytes, collective bytes, step time.
  Weak scaling: B=4 sequences of T=64 per rank; fp32; one thread per rank (W ranks need W cores).
  The world sizes, steps per mode and launch timeout per profile are SIZES.

Analytic (`analytic/extrapolation`), per rank, for hybrid-235b, mla-moe, nexus-405b, mixtral-8x7b at W ranks:
  state bytes per parameter (bf16 mixed precision, as archs.analytic.training_memory): params 2, grads 2,
  optimizer 12 (fp32 master 4 + Adam m 4 + v 4); activations are not included.
  replicated       P_total per rank (pure data parallel: every expert on every rank).
  expert_parallel  P_dense + P_experts / ep per rank, ep = gcd(E, W) (the EP group; for W > E each expert is
                   replicated W/ep times), P_dense = everything but routed experts (attention, embeddings,
                   router, shared experts) replicated on every rank.
  fsdp             P_total / W per rank (ZeRO-3: parameters, gradients and optimizer state all sharded).
  Communication per rank per step, bf16 (2 bytes), ring / pairwise-exchange volumes:
  fsdp             3 · P_total · 2 · (W-1)/W (all-gather forward, all-gather backward, reduce-scatter grads).
  ep all-to-all    L_moe · 2 (dispatch + combine) · 2 (forward + backward) · N · top_k · D · 2 · (ep-1)/ep, with
                   N = 4096 tokens per rank per step (B=1, T=4096) and uniform routing.
  ep all-reduce    the replicated parts' gradients: 2 · P_dense · 2 · (W-1)/W, plus for W > E the experts'
                   gradients over their W/ep replicas: 2 · (P_experts/ep) · 2 · (R-1)/R, R = W/ep.
The "without proportional memory increase" claim is then an analytic statement: per-rank expert memory is
P_experts/ep (1/W while W <= E) and the experts' memory summed over an EP group stays P_experts.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from archs import analytic, get_config
from harness.measure.launch import LaunchError, launch
from harness.suite import Context, PerProfile, Suite, Unit
from harness.report.headline import Headline
from suites.per_arch import provenance
from harness.measure.timing import summarize

WORKER = "suites.workers.distributed_worker"
MOE_ARCH, FSDP_ARCH = "mla-moe-tiny", "llama-2-tiny"
FULL_PRESETS = ("hybrid-235b", "mla-moe", "nexus-405b", "mixtral-8x7b")
RANKS = (8, 64, 512)
TOKENS_PER_RANK = {"B": 1, "T": 4096}
STATE_BYTES = {"params": 2, "grads": 2, "optimizer": 12}       # bf16 weights + grads, fp32 master + Adam m, v
COMM_BYTES = 2                                                    # bf16 collectives


@dataclass(frozen=True)
class Sizes:
    worlds: tuple[int, ...]             # process counts of the measured units
    steps: int                          # training steps per measured mode
    timeout_s: int                      # per launch


SIZES = PerProfile(smoke=Sizes(worlds=(1,), steps=2, timeout_s=120), quick=Sizes(worlds=(1, 2), steps=5, timeout_s=120),
                   standard=Sizes(worlds=(1, 2, 4), steps=10, timeout_s=300),
                   full=Sizes(worlds=(1, 2, 4), steps=20, timeout_s=600))
COMM_FORMULAS = {
    "fsdp": "3 · P_total · 2 B · (W-1)/W (all-gather fwd + all-gather bwd + reduce-scatter grads)",
    "ep_all_to_all": "L_moe · 4 · N · top_k · D · 2 B · (ep-1)/ep (dispatch + combine, fwd + bwd; uniform)",
    "ep_grad_all_reduce": "2 · P_dense · 2 B · (W-1)/W + 2 · (P_experts/ep) · 2 B · (R-1)/R, R = W/ep",
}


# ---------------------------------------------------------------- analytic extrapolation
def expert_split(cfg) -> dict[str, int]:
    """Parameters: routed experts, everything else (dense), experts E, MoE layers."""
    p = analytic.params(cfg)
    experts = p.by_kind.get("moe_experts", 0)
    n_moe = sum(spec.ffn == "moe" for spec in cfg.layers) if cfg.moe else 0
    return {"experts": experts, "dense": p.total - experts, "total": p.total,
            "E": cfg.moe.n_experts if cfg.moe else 0, "moe_layers": n_moe}


def per_rank_params(cfg, world: int) -> dict[str, dict]:
    """Parameters held per rank under each scheme (see the module docstring)."""
    s = expert_split(cfg)
    ep = math.gcd(s["E"], world) if s["E"] else 1
    return {"replicated": {"params": s["total"]},
            "expert_parallel": {"params": s["dense"] + s["experts"] / ep, "experts": s["experts"] / ep,
                                "ep_degree": ep, "expert_replicas": world // ep},
            "fsdp": {"params": s["total"] / world}}


def comm_per_step(cfg, world: int, tokens: int) -> dict[str, float]:
    """Bytes each rank sends per training step (module docstring formulas)."""
    s = expert_split(cfg)
    ep = math.gcd(s["E"], world) if s["E"] else 1
    replicas = world // ep
    a2a = s["moe_layers"] * 4 * tokens * (cfg.moe.top_k if cfg.moe else 0) * cfg.dim * COMM_BYTES * (ep - 1) / ep
    allreduce = 2 * s["dense"] * COMM_BYTES * (world - 1) / world
    allreduce += 2 * (s["experts"] / ep) * COMM_BYTES * (replicas - 1) / replicas
    return {"fsdp": 3 * s["total"] * COMM_BYTES * (world - 1) / world, "ep_all_to_all": a2a,
            "ep_grad_all_reduce": allreduce}


def analytic_rows(ctx: Context):
    tokens = TOKENS_PER_RANK["B"] * TOKENS_PER_RANK["T"]
    for name in FULL_PRESETS:
        if not ctx.wants_arch(name):
            continue
        cfg = get_config(name)
        split, config = expert_split(cfg), provenance(cfg)
        for W in RANKS:
            shape = {"W": W, **TOKENS_PER_RANK}
            common = dict(arch=name, config=config, stat="analytic", device="formula", dtype="bf16", shape=shape)
            for case, held in per_rank_params(cfg, W).items():
                info = {k: v for k, v in held.items() if k != "params"} | {"params_per_rank": held["params"]}
                for part, width in [*STATE_BYTES.items(), ("total", sum(STATE_BYTES.values()))]:
                    yield common | dict(case=case, measure="analytic_memory", metric="memory_per_rank_bytes",
                                        shape=shape | {"part": part},
                                        value=held["params"] * width, unit="bytes",
                                        method=f"{case} parameters per rank × {width} bytes (bf16 mixed-precision "
                                               "AdamW state; activations excluded)",
                                        extra={"part": part, **info, "experts_total": split["experts"],
                                               "dense_total": split["dense"]})
                if case == "expert_parallel":
                    per_rank = held["experts"] * sum(STATE_BYTES.values())
                    yield common | dict(case=case, measure="expert_memory", metric="memory_per_rank_bytes",
                                        value=per_rank, unit="bytes", method="P_experts / gcd(E, W) × 16 bytes",
                                        extra={"part": "experts", **info})
                    yield common | dict(case=case, measure="expert_memory_all_ranks", metric="train_memory_bytes",
                                        value=per_rank * W, unit="bytes",
                                        method="per-rank expert state × W (constant while W divides E)",
                                        extra={"part": "experts", "scope": "all_ranks", **info})
            for what, value in comm_per_step(cfg, W, tokens).items():
                yield common | dict(case="fsdp" if what == "fsdp" else "expert_parallel", measure=f"comm_{what}",
                                    metric="comm_bytes", value=value, unit="bytes",
                                    method=COMM_FORMULAS[what],
                                    extra={"tokens_per_rank": tokens, "bytes_per_element": COMM_BYTES})


# ---------------------------------------------------------------- measured on W processes
def to_row(record: dict, ctx: Context) -> dict:
    """A worker record -> Row fields; raw step-time samples become median / IQR via harness.measure.timing, and
    a record of a preset carries that preset's config."""
    fields = {k: v for k, v in record.items() if k not in ("kind", "rank", "samples")}
    if fields.get("arch"):
        fields.setdefault("config", provenance(get_config(fields["arch"])))
    if "samples" in record:
        t = summarize(record["samples"], method=fields.get("method", ""), device=fields.get("device", "cpu"),
                      threads=fields.get("threads"))
        fields.update(value=t.median, q1=t.q1, q3=t.q3, n=t.n, spread=t.spread,
                      extra={**fields.get("extra", {}), "samples": list(t.samples)})
    return fields


def measured_rows(world: int, modes: list[str], ctx: Context):
    args = ["--modes", ",".join(modes), "--moe-arch", MOE_ARCH, "--fsdp-arch", FSDP_ARCH,
            "--steps", str(SIZES[ctx.profile].steps), "--seed", str(ctx.seed)]
    out = None
    if ctx.run_dir is not None:
        out = ctx.run_dir / "distributed" / f"W{world}.jsonl"
        out.unlink(missing_ok=True)                         # a redone unit starts from an empty file
    try:
        records, failure = launch(WORKER, world, args, timeout_s=SIZES[ctx.profile].timeout_s, out=out).records, None
    except LaunchError as err:                  # keep what the ranks wrote before failing, then fail the unit
        records, failure = err.result.records, err
    for record in records:
        if record.get("kind") == "row":
            yield to_row(record, ctx)
    if failure is not None:
        raise failure


def plan(ctx: Context) -> list[Unit]:
    modes = [m for m, arch in (("ep", MOE_ARCH), ("fsdp", FSDP_ARCH)) if ctx.wants_arch(arch)]
    units = [Unit(f"measured/W{w}", lambda c, w=w: measured_rows(w, modes, c))
             for w in SIZES[ctx.profile].worlds] if modes else []
    if any(ctx.wants_arch(n) for n in FULL_PRESETS):
        units.append(Unit("analytic/extrapolation", analytic_rows))
    return units


HEADLINE = Headline(
    title="Per-rank weights + gradients + Adam state against world size at full size (analytic): replicated, "
          "expert-parallel, FSDP",
    kind="lines", metric="memory_per_rank_bytes", x="shape.W", series="case", panels="arch",
    where={"shape.part": "total", "measure": "analytic_memory"}, log_x=True, log_y=True, slopes=True,
    y_label="per-rank bytes", claim="004-expert-parallel-memory")

SUITE = Suite(name="distributed", plan=plan, sizes=SIZES, claims=("004-expert-parallel-memory",), docs=("000", "004"),
              description=__doc__, headline=HEADLINE,
              question="Does expert parallelism shard expert memory as 1/W while matching the unsharded layer, "
                       "and what do per-rank memory and communication look like under EP vs FSDP?")
