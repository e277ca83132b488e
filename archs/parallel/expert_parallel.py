"""Expert parallelism (GShard / Switch style) for `archs.components.moe.MoE`, over a torch.distributed group.

Layout: with W ranks and E experts (E divisible by W), rank r owns experts [r·E/W, (r+1)·E/W). The router and
the shared experts are replicated; every rank keeps its own tokens (data parallel over the batch).

Forward, per rank, for its N local tokens (N·k token-slots):
  1. route locally (the replicated router), sort the slots by expert (stable, as MoE.forward does);
  2. exchange counts: all_to_all_single of the [E] per-expert slot counts, so each rank learns how many rows
     every other rank will send to each of its experts;
  3. dispatch: all_to_all_single of the slot rows x[token_of_slot] (already grouped by owning rank);
  4. run each local expert once on the rows it received (regrouped by expert across source ranks);
  5. combine: a second all_to_all_single with the split sizes swapped returns each row to its sender, which
     multiplies by its routing weight and index-adds into the token's output, then adds the shared experts.
Both row all-to-alls are autograd functions whose backward is the reverse all-to-all, so expert gradients
accumulate over every rank's tokens without an all-reduce. The replicated router / shared weights get only
local-token gradients: a training loop all-reduces them (data-parallel sync), as it would any replicated
weight. The same dropless routing and summation order as MoE.forward make the output equal to the
single-process layer's on the same tokens up to matmul rounding. `aux_loss` is the load-balance loss of the
local tokens (per-rank statistics, as in GShard), not of the global batch.

`stats` (A2AStats) counts the bytes of the row all-to-alls, forward and backward: `remote` excludes the chunk
a rank sends to itself (a local copy), `total` includes it; the count exchange is counted separately.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from archs.components.moe import MoE, load_balance_loss
from harness.errors import ConfigError


def expert_range(n_experts: int, rank: int, world: int) -> tuple[int, int]:
    """[first, last) experts owned by `rank`; E must be divisible by W."""
    if world < 1 or not 0 <= rank < world:
        raise ConfigError(f"expert parallelism: rank {rank} is not in a world of {world}")
    if n_experts % world:
        raise ConfigError(f"expert parallelism: n_experts={n_experts} is not divisible by world size {world}")
    per = n_experts // world
    return rank * per, (rank + 1) * per


@dataclass
class A2AStats:
    """Bytes this rank sent in row all-to-alls since the last reset (forward and backward)."""
    remote: int = 0             # to other ranks
    total: int = 0              # including the chunk kept locally
    counts: int = 0             # the per-expert count exchange (to other ranks)
    calls: int = 0

    def reset(self) -> None:
        self.remote = self.total = self.counts = self.calls = 0

    def record(self, splits: list[int], rows: torch.Tensor, rank: int) -> None:
        row_bytes = math.prod(rows.shape[1:]) * rows.element_size()
        self.total += sum(splits) * row_bytes
        self.remote += (sum(splits) - splits[rank]) * row_bytes
        self.calls += 1


class _AllToAll(torch.autograd.Function):
    """Rows [sum(send), ...] -> [sum(recv), ...]; backward sends the gradients back with the splits swapped."""

    @staticmethod
    def forward(ctx, rows, recv, send, group, stats):
        ctx.recv, ctx.send, ctx.group, ctx.stats = recv, send, group, stats
        out = rows.new_empty((sum(recv), *rows.shape[1:]))
        dist.all_to_all_single(out, rows.contiguous(), recv, send, group=group)
        stats.record(send, rows, dist.get_rank(group))
        return out

    @staticmethod
    def backward(ctx, grad):
        back = grad.new_empty((sum(ctx.send), *grad.shape[1:]))
        dist.all_to_all_single(back, grad.contiguous(), ctx.send, ctx.recv, group=ctx.group)
        ctx.stats.record(ctx.recv, grad, dist.get_rank(ctx.group))
        return back, None, None, None, None


class ExpertParallelMoE(nn.Module):
    """The experts of `moe` sharded over `group` (default: the world); copies what this rank keeps, so the
    full `moe` stays usable as the single-process reference. See the module docstring for the method."""

    def __init__(self, moe: MoE, group=None):
        super().__init__()
        self.group = group
        self.world, self.rank = dist.get_world_size(group), dist.get_rank(group)
        self.n_experts, self.top_k = moe.n_experts, moe.top_k
        self.first, last = expert_range(moe.n_experts, self.rank, self.world)
        self.n_local = last - self.first
        self.router = copy.deepcopy(moe.router)
        self.shared = copy.deepcopy(moe.shared)
        self.experts = nn.ModuleList(copy.deepcopy(moe.experts[e]) for e in range(self.first, last))
        self.stats = A2AStats()
        self.aux_loss = torch.zeros(())
        self.last_counts = torch.zeros(moe.n_experts, dtype=torch.long)

    def replicated_parameters(self) -> list[nn.Parameter]:
        """Router and shared-expert weights: identical on every rank, their gradients need an all-reduce."""
        shared = list(self.shared.parameters()) if self.shared is not None else []
        return list(self.router.parameters()) + shared

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape, W, El = x.shape, self.world, self.n_local
        x = x.reshape(-1, shape[-1])                                       # [N, D] this rank's tokens
        weights, experts, probs = self.router(x)
        self.aux_loss = load_balance_loss(probs, experts, self.n_experts)
        flat = experts.reshape(-1)
        order = flat.argsort(stable=True)                                  # slots grouped by expert = by rank
        token_of_slot = order // self.top_k
        slot_weight = weights.reshape(-1)[order].to(x.dtype)
        counts = torch.bincount(flat, minlength=self.n_experts)
        self.last_counts = counts.detach()

        recv_counts = torch.empty_like(counts)                             # [W·El]: (source rank, local expert)
        dist.all_to_all_single(recv_counts, counts, group=self.group)
        self.stats.counts += (W - 1) * El * counts.element_size()
        recv_counts = recv_counts.view(W, El)
        send = counts.view(W, El).sum(1).tolist()
        recv = recv_counts.sum(1).tolist()
        rows = _AllToAll.apply(x[token_of_slot], recv, send, self.group, self.stats)

        local_id = torch.arange(El, device=x.device).repeat(W).repeat_interleave(recv_counts.reshape(-1))
        regroup = local_id.argsort(stable=True)                            # received rows grouped by expert
        grouped = rows[regroup]
        outs, start = [], 0
        for j, n in enumerate(recv_counts.sum(0).tolist()):               # every expert runs, even on 0 rows,
            outs.append(self.experts[j](grouped[start:start + n]))        # so all ranks build the same graph
            start += n
        y = torch.cat(outs)[regroup.argsort()]                             # back to (source rank, expert) order
        back = _AllToAll.apply(y, send, recv, self.group, self.stats)      # [N·k, D] in this rank's slot order

        out = torch.zeros_like(x).index_add(0, token_of_slot, back * slot_weight[:, None])
        if self.shared is not None:
            out = out + self.shared(x)
        return out.reshape(shape)
