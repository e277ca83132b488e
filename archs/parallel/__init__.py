"""Distributed building blocks: expert parallelism for the MoE layer, and the byte accounting the distributed
suite reports (per-rank tensor bytes, bytes each rank sends through torch.distributed collectives).

`CommCounter` is a TorchDispatchMode that sees every c10d collective torch.distributed issues on this thread
(FSDP2's all-gathers and reduce-scatters, all-to-alls, all-reduces, also inside backward) and converts each to
the bytes this rank sends under the bandwidth-optimal algorithm (ring / pairwise exchange) for group size W:

  all-reduce       2 · bytes · (W-1)/W            reduce-scatter   input bytes · (W-1)/W
  all-gather       output bytes · (W-1)/W         all-to-all       input bytes minus the chunk kept locally

These are algorithm volumes, not wire measurements: gloo on one host copies through shared memory/TCP
loopback and NCCL may pick a tree, but the volume a bandwidth-optimal collective must move is what scales.

Small helpers for workers running under an initialised process group: `gather0` (equal-shaped tensors to
rank 0), `per_rank` (all-gather a few ints), `timed_steps` (barrier, wall time per step, slowest rank),
`rel_and_max_error` (harness.measure.gates.rel_err and max |Δ|, in float64).
"""
from __future__ import annotations

import time
from collections import Counter

import torch
import torch.distributed as dist
from torch.utils._python_dispatch import TorchDispatchMode

from archs.parallel.expert_parallel import A2AStats, ExpertParallelMoE, expert_range
from harness.measure.gates import rel_err

__all__ = ["A2AStats", "CommCounter", "ExpertParallelMoE", "expert_range", "gather0", "per_rank", "rel_and_max_error",
           "tensor_bytes", "timed_steps"]


def tensor_bytes(t: torch.Tensor | None) -> int:
    """Bytes this rank stores for `t`: a DTensor counts its local shard (`to_local()`), None counts 0."""
    if t is None:
        return 0
    if hasattr(t, "to_local"):
        t = t.to_local()
    return t.numel() * t.element_size()


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def rel_and_max_error(got: torch.Tensor, ref: torch.Tensor) -> tuple[float, float]:
    """(rel_err(got, ref) = ||got - ref|| / ||ref||, max |got - ref|), in float64."""
    got, ref = got.detach(), ref.detach()
    return rel_err(got, ref), float((got.double() - ref.double()).abs().max())


def gather0(t: torch.Tensor) -> list[torch.Tensor] | None:
    """Every rank's equal-shaped `t`, in rank order, on rank 0 (None elsewhere)."""
    parts = [torch.empty_like(t) for _ in range(dist.get_world_size())] if dist.get_rank() == 0 else None
    dist.gather(t.contiguous(), parts, dst=0)
    return parts


def per_rank(values: list[int], dev) -> list[list[int]]:
    """all_gather of a few ints: one list per rank."""
    t = torch.tensor(values, dtype=torch.long, device=dev)
    parts = [torch.empty_like(t) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, t)
    return [p.tolist() for p in parts]


def timed_steps(step, n: int, dev) -> list[float]:
    """Per step, the slowest rank's wall time (barrier before each step)."""
    times = []
    for _ in range(n):
        dist.barrier()
        sync(dev)
        start = time.perf_counter()
        step()
        sync(dev)
        times.append(time.perf_counter() - start)
    t = torch.tensor(times, dtype=torch.float64, device=dev)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return t.tolist()


def _nbytes(x) -> int:
    if isinstance(x, torch.Tensor):
        return x.numel() * x.element_size()
    if isinstance(x, (list, tuple)):
        return sum(_nbytes(v) for v in x)
    return 0


class CommCounter(TorchDispatchMode):
    """`with CommCounter() as c: step()` -> c.bytes_sent (total), c.by_op {op: bytes}, c.calls {op: count}."""

    def __init__(self):
        super().__init__()
        self.by_op: Counter = Counter()
        self.calls: Counter = Counter()

    @property
    def bytes_sent(self) -> int:
        return int(sum(self.by_op.values()))

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if str(func).startswith("c10d."):                   # e.g. "c10d.alltoall_base_.default"
            op = str(func).split(".")[1]
            self.calls[op] += 1
            self.by_op[op] += self._sent(op, args)
        return func(*args, **(kwargs or {}))

    @staticmethod
    def _sent(op: str, args) -> int:
        boxed = next((a for a in args if isinstance(a, torch.ScriptObject)), None)   # the ProcessGroup
        pg = dist.ProcessGroup.unbox(boxed) if boxed is not None else None
        world = pg.size() if pg is not None else 1
        if world <= 1:
            return 0
        frac = (world - 1) / world
        if op == "allreduce_":
            return int(2 * _nbytes(args[0]) * frac)
        if op in ("_allgather_base_", "allgather_into_tensor_coalesced_"):
            return int(_nbytes(args[0]) * frac)
        if op in ("_reduce_scatter_base_", "reduce_scatter_tensor_coalesced_"):
            return int(_nbytes(args[1]) * frac)
        if op == "alltoall_base_":
            inp, in_splits = args[1], args[4]
            if not in_splits:
                return int(_nbytes(inp) * frac)
            row = _nbytes(inp) // max(1, inp.shape[0])
            return int(row * (sum(in_splits) - in_splits[pg.rank()]))
        if op == "allgather_":
            return int(_nbytes(args[1]) * (world - 1))
        return 0                                            # barrier, broadcast...: counted in calls only
