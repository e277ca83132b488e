"""The distributed suite's worker, one process per rank under torchrun (started by harness.measure.launch.launch).

    python -m torch.distributed.run --standalone --nproc-per-node=W -m suites.workers.distributed_worker \\
        --modes ep,fsdp --out rows.jsonl

Backend nccl with one CUDA device per local rank when there are that many devices, else gloo on CPU. Every
rank holds the same fixed global batch (seeded) and trains on its slice of W·B sequences (data parallel over
the batch, weak scaling: B per rank is fixed). Rank 0 appends result rows (Row fields plus "kind": "row") to
--out, one write per row.

ep    A tiny preset's MoE layer (default mla-moe-tiny: 8 ReLU² experts, top-2, one shared expert, D=128),
      sharded with archs.parallel.ExpertParallelMoE. Check step: the loss Σ out·G / numel (G a fixed random
      cotangent) is back-propagated; rank 0 gathers every rank's outputs and expert gradients and compares them
      with the unsharded MoE run on the whole batch on rank 0 from the same seed (relative RMSE and max |Δ|).
      Then AdamW steps (replicated router/shared gradients all-reduced): one counted step (CommCounter),
      `--steps` timed steps (barrier, then wall time of forward+backward+sync+optimizer; per step the slowest
      rank), the row all-to-all bytes per step, and per-rank bytes of params / grads / AdamW state.
fsdp  A tiny preset decoder (default llama-2-tiny) under FSDP2 (torch.distributed.fsdp.fully_shard on every
      block, then the root): one AdamW step, compared on rank 0 with the same step of the unsharded model on
      the whole batch (loss before and after the step, parameters after); collective bytes of that step;
      `--steps` timed steps; per-rank bytes of the local shards (DTensor.to_local) of params, grads, AdamW state.
raise / hang   test modes: rank --fail-rank (default the last) raises / sleeps forever; the others wait in a
      barrier, so the launcher's failure and timeout paths can be exercised.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
import traceback

import torch
import torch.distributed as dist

from archs import get_config
from archs.components.moe import MoE
from archs.parallel import (CommCounter, ExpertParallelMoE, gather0, per_rank, rel_and_max_error, tensor_bytes,
                            timed_steps)
from harness.errors import one_line


class Records:
    def __init__(self, path: str, rank: int):
        self.path, self.rank = path, rank

    def write(self, **fields) -> None:
        line = json.dumps({"rank": self.rank, **fields}) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())                        # one write per line: appends do not interleave
        finally:
            os.close(fd)

    def row(self, base: dict, **fields) -> None:
        """Rank 0 only: `base` fields overridden by `fields`."""
        if self.rank == 0:
            self.write(kind="row", **{**base, **fields})


def memory_rows(rec, base: dict, model, opt, dev, extra_of=None):
    """Rows of per-rank bytes (max over ranks) of params, grads and optimizer state, local shards only."""
    params = list(model.parameters())
    parts = {"params": sum(tensor_bytes(p) for p in params),
             "grads": sum(tensor_bytes(p.grad) for p in params),
             "optimizer": sum(tensor_bytes(v) for s in opt.state.values() for v in s.values()
                              if isinstance(v, torch.Tensor))}
    ranks = per_rank(list(parts.values()), dev)
    for i, part in enumerate(parts):
        rec.row(base, measure=f"{base['measure']}_memory", metric="memory_per_rank_bytes",
                shape={**base.get("shape", {}), "part": part},
                value=max(r[i] for r in ranks), unit="bytes", stat="exact",
                method="Σ numel·element_size of this rank's tensors (DTensor: to_local shard); max over ranks",
                extra={"part": part, "per_rank": [r[i] for r in ranks], **(extra_of(part) if extra_of else {})})


def time_row(rec, base: dict, times: list[float], what: str):
    """Raw per-step samples; the suite summarises them (harness.measure.timing.summarize: median, IQR)."""
    rec.row(base, measure=f"{base['measure']}_step", metric="latency_fwdbwd_s", samples=times, unit="s",
            stat="median", method=f"{what}: barrier, wall time per step, slowest rank",
            extra={"phase": "train_step"})


def comm_rows(rec, base: dict, counter, extra: dict, what: str):
    for op, value in sorted(counter.by_op.items()):
        rec.row(base, measure=f"{base['measure']}_comm", metric="comm_bytes", value=value, unit="bytes",
                stat="exact", method=f"archs.parallel.CommCounter over one {what} (algorithm volume, this rank)",
                extra={"collective": op, "calls": counter.calls[op], **extra})


def flat_grads(params) -> torch.Tensor:
    return torch.cat([p.grad.reshape(-1) for p in params])


def base_fields(measure: str, case: str, arch: str, shape: dict, dev) -> dict:
    return dict(case=case, arch=arch, measure=measure, shape={"W": dist.get_world_size(), **shape},
                device=dev.type, dtype="float32", threads=torch.get_num_threads())


def run_ep(args, rec, dev):
    W, rank = dist.get_world_size(), dist.get_rank()
    cfg = get_config(args.moe_arch)
    torch.manual_seed(args.seed)
    moe = MoE(cfg).to(dev)                                     # the full layer: identical on every rank
    ep = ExpertParallelMoE(moe)
    B, T, D, E, k = args.batch, args.seq, cfg.dim, cfg.moe.n_experts, cfg.moe.top_k
    gen = torch.Generator().manual_seed(args.seed + 1)
    X, G = (torch.randn(W * B, T, D, generator=gen).to(dev) for _ in range(2))    # global batch, cotangent
    x = X[rank * B:(rank + 1) * B].clone().requires_grad_()  # an activation: dispatch has a backward too
    g = G[rank * B:(rank + 1) * B]
    base = base_fields("ep", "expert_parallel", args.moe_arch, {"B": B, "T": T, "D": D, "E": E}, dev)
    replicated = ep.replicated_parameters()

    def loss_fn(out, cot):
        return (out * cot).sum() / X.numel()

    def sync_replicated():                                     # data-parallel gradient sync, one bucket
        flat = torch.cat([p.grad.reshape(-1) for p in replicated])
        dist.all_reduce(flat)
        for p, part in zip(replicated, flat.split([p.numel() for p in replicated])):
            p.grad.copy_(part.view_as(p.grad))

    out = ep(x)
    loss_fn(out, g).backward()
    sync_replicated()
    outs = gather0(out.detach())
    expert_grads = gather0(flat_grads(ep.experts.parameters()))
    if rank == 0:
        ref = moe(X)
        loss_fn(ref, G).backward()
        ref_replicated = [*moe.router.parameters(), *(moe.shared.parameters() if moe.shared is not None else [])]
        checks = {"output": (torch.cat(outs), ref),
                  "expert_grads": (torch.cat(expert_grads), flat_grads(moe.experts.parameters())),
                  "replicated_grads": (flat_grads(replicated), flat_grads(ref_replicated))}
        for what, (got, want) in checks.items():
            rel, max_abs = rel_and_max_error(got, want)
            rec.row(base, measure=f"ep_{what}_vs_single", metric="rel_error", value=rel, unit="ratio",
                    method="||EP - unsharded MoE|| / ||unsharded||, same weights and global batch, fp32",
                    extra={"max_abs": max_abs, "numel": got.numel()})

    opt = torch.optim.AdamW(ep.parameters(), lr=args.lr)

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(ep(x), g).backward()
        sync_replicated()
        opt.step()

    with CommCounter() as counter:
        step()
    comm_rows(rec, base, counter, {"note": "alltoall_base_ includes the [E] count exchange"}, "training step")
    ep.stats.reset()
    times = timed_steps(step, args.steps, dev)
    a2a = torch.tensor([ep.stats.remote / args.steps, ep.stats.total / args.steps], dtype=torch.float64, device=dev)
    dist.all_reduce(a2a)
    uniform = 4 * (B * T * k) * D * 4 * (W - 1) / W
    rec.row(base, measure="ep_a2a", metric="comm_bytes", value=float(a2a[0]) / W, unit="bytes", stat="mean",
            n=args.steps,
            method="row all-to-all bytes to other ranks per step (dispatch + combine, forward + backward), "
                   "mean over ranks and timed steps (ExpertParallelMoE.stats)",
            extra={"including_self_bytes": float(a2a[1]) / W, "uniform_routing_bytes": uniform,
                   "formula": "uniform: 4 · (N·k) · D · 4 B · (W-1)/W"})
    time_row(rec, base, times, "EP MoE forward + backward + replicated all-reduce + AdamW")
    nbytes = lambda params: sum(p.numel() * p.element_size() for p in params)        # noqa: E731
    split = {"unsharded_layer_params_bytes": nbytes(moe.parameters()), "replicated_params_bytes": nbytes(replicated),
             "local_expert_params_bytes": nbytes(ep.experts.parameters())}
    memory_rows(rec, base, ep, opt, dev, lambda part: split)


def run_fsdp(args, rec, dev):
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    W, rank = dist.get_world_size(), dist.get_rank()
    cfg = get_config(args.fsdp_arch)
    torch.manual_seed(args.seed)
    model = cfg.build().to(dev)
    ref = copy.deepcopy(model) if rank == 0 else None
    full = sum(p.numel() * p.element_size() for p in model.parameters())
    mesh = init_device_mesh(dev.type, (W,))
    for layer in model.layers:
        fully_shard(layer, mesh=mesh)
    fully_shard(model, mesh=mesh)
    B, T = args.batch, args.seq
    gen = torch.Generator().manual_seed(args.seed + 2)
    idx = torch.randint(0, cfg.vocab_size, (W * B, T + 1), generator=gen).to(dev)
    local = idx[rank * B:(rank + 1) * B]
    base = base_fields("fsdp", "fsdp", args.fsdp_arch, {"B": B, "T": T, "D": cfg.dim}, dev)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = model.loss(local[:, :-1], local[:, 1:])["loss"]
        loss.backward()
        opt.step()
        return loss.detach()

    def global_loss(value):
        value = value.clone()
        dist.all_reduce(value)
        return value / W                                       # equal tokens per rank: mean of means

    with CommCounter() as counter:
        loss0 = step()
    loss0 = global_loss(loss0)
    with torch.no_grad():
        loss1 = global_loss(model.loss(local[:, :-1], local[:, 1:])["loss"])
    model.reshard()                                            # a no-grad forward leaves the root unsharded
    params = [p.full_tensor().reshape(-1) for p in model.parameters()]      # collective: every rank
    if rank == 0:
        ref_opt = torch.optim.AdamW(ref.parameters(), lr=args.lr)
        ref_loss0 = ref.loss(idx[:, :-1], idx[:, 1:])["loss"]
        ref_loss0.backward()
        ref_opt.step()
        with torch.no_grad():
            ref_loss1 = ref.loss(idx[:, :-1], idx[:, 1:])["loss"]
        checks = {"loss_before_step": (loss0, ref_loss0.detach()), "loss_after_step": (loss1, ref_loss1),
                  "params_after_step": (torch.cat(params), torch.cat([p.reshape(-1) for p in ref.parameters()]))}
        for what, (got, want) in checks.items():
            rel, max_abs = rel_and_max_error(got, want)
            rec.row(base, measure=f"fsdp_{what}_vs_single", metric="rel_error", value=rel, unit="ratio",
                    method="|FSDP2 - unsharded| / |unsharded| after one AdamW step on the same global batch, fp32",
                    extra={"max_abs": max_abs, "got": float(got.reshape(-1)[0]), "want": float(want.reshape(-1)[0])})
    comm_rows(rec, base, counter, {"analytic_3x": 3 * full * (W - 1) / W}, "training step (FSDP2, fp32)")
    time_row(rec, base, timed_steps(step, args.steps, dev), "FSDP2 forward + backward + AdamW")
    memory_rows(rec, base, model, opt, dev, lambda part: {"unsharded_params_bytes": full, "api": "FSDP2 fully_shard"})


def run_fault(args, rec, dev, mode: str):
    fail = args.fail_rank if args.fail_rank >= 0 else dist.get_world_size() - 1
    if dist.get_rank() == fail:
        if mode == "raise":
            raise RuntimeError(f"injected failure on rank {fail} (test mode 'raise')")
        while True:                                            # mode "hang": never reach the barrier
            time.sleep(0.5)
    dist.barrier()


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="suites.workers.distributed_worker")
    p.add_argument("--out", required=True)
    p.add_argument("--modes", default="ep,fsdp")
    p.add_argument("--moe-arch", default="mla-moe-tiny")
    p.add_argument("--fsdp-arch", default="llama-2-tiny")
    p.add_argument("--batch", type=int, default=4, help="sequences per rank")
    p.add_argument("--seq", type=int, default=64)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fail-rank", type=int, default=-1)
    args = p.parse_args(argv)
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    cuda = torch.cuda.is_available() and torch.cuda.device_count() >= local_world    # one GPU per rank, else gloo
    dev = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(dev)
    dist.init_process_group("nccl" if cuda else "gloo")
    rec = Records(args.out, dist.get_rank())
    try:
        seconds = {}
        for mode in args.modes.split(","):
            start = time.perf_counter()
            if mode in ("raise", "hang"):
                run_fault(args, rec, dev, mode)
            elif mode in ("ep", "fsdp"):
                (run_ep if mode == "ep" else run_fsdp)(args, rec, dev)
            else:
                raise ValueError(f"unknown mode {mode!r} (ep, fsdp, raise, hang)")
            seconds[mode] = round(time.perf_counter() - start, 3)
        rec.write(kind="done", seconds=seconds)
    except BaseException as err:                               # record, then leave without waiting on peers
        rec.write(kind="error", reason=one_line(err))
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
    dist.destroy_process_group()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)                           # skip interpreter teardown (~4 s with torch + gloo on 2 cores)


if __name__ == "__main__":
    main()
