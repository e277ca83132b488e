"""Document 002's training-loop sketches: warmup + cosine learning rate, gradient clipping, gradient accumulation.

- `doc_lr`: linear warmup from 0 to max_lr over warmup_steps, then half a cosine down to 0 at total_steps. The
  sketch reads `total_steps` without taking it as an argument (a name it never defines); here it is one.
  `lr_checks` measures what the schedule is for: its peak is max_lr, and the step across the warmup boundary is
  no larger than a warmup step (no jump). Note the schedule gives lr = 0 at step 0, so the first update is lost.
- `clipped_norm`: the global gradient norm after `clip_grad_norm_(max_norm)` on gradients far above it.
- `accumulated_grads`: the sketch's loop (loss / accumulation_steps, backward per micro-batch, step every
  accumulation_steps) against one backward on the concatenated batch; equal for equal-size micro-batches and a
  mean-reduced loss. The loop never steps on a tail of fewer than accumulation_steps micro-batches
  (`tail_not_stepped`).
"""
from __future__ import annotations

import math

import torch
from torch import nn


def doc_lr(step: int, warmup_steps: int, max_lr: float, total_steps: int) -> float:
    if step < warmup_steps:
        return max_lr * step / warmup_steps
    return max_lr * 0.5 * (1 + math.cos(math.pi * (step - warmup_steps) / (total_steps - warmup_steps)))


def lr_checks(warmup_steps: int = 100, total_steps: int = 1000, max_lr: float = 3e-4) -> dict[str, float]:
    """peak_error: |max lr - max_lr| / max_lr; boundary_excess: how far the step from warmup_steps-1 to
    warmup_steps exceeds one warmup step, relative to it; lr_at_start and lr_at_end (both 0 by design)."""
    lrs = [doc_lr(s, warmup_steps, max_lr, total_steps) for s in range(total_steps + 1)]
    warmup_step = max_lr / warmup_steps
    boundary = abs(lrs[warmup_steps] - lrs[warmup_steps - 1])
    return {"peak_error": abs(max(lrs) - max_lr) / max_lr,
            "boundary_excess": max(0.0, boundary - warmup_step) / warmup_step,
            "lr_at_start": lrs[0], "lr_at_end": lrs[-1]}


def clipped_norm(max_norm: float = 1.0, scale: float = 37.0, seed: int = 0) -> float:
    """Global gradient norm after clipping gradients whose norm is about `scale` × max_norm."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(32, 64), nn.GELU(), nn.Linear(64, 8))
    for p in model.parameters():
        p.grad = torch.randn_like(p)
    total = torch.cat([p.grad.flatten() for p in model.parameters()]).norm()
    for p in model.parameters():
        p.grad.mul_(scale * max_norm / total)
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=max_norm)
    return float(torch.cat([p.grad.flatten() for p in model.parameters()]).norm())


def _model_and_batches(n_batches: int, micro_batch: int, seed: int):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(16, 32), nn.Tanh(), nn.Linear(32, 4)).double()
    batches = [(torch.randn(micro_batch, 16, dtype=torch.float64), torch.randint(0, 4, (micro_batch,)))
               for _ in range(n_batches)]
    return model, batches


def accumulated_grads(accumulation_steps: int = 4, micro_batch: int = 8, seed: int = 0) -> float:
    """Relative difference between the sketch's accumulated gradient over `accumulation_steps` micro-batches
    and the gradient of the mean loss over all of them at once."""
    model, batches = _model_and_batches(accumulation_steps, micro_batch, seed)
    loss_fn = nn.CrossEntropyLoss()
    for x, y in batches:                                        # the sketch's loop, up to its first step
        (loss_fn(model(x), y) / accumulation_steps).backward()
    accumulated = torch.cat([p.grad.flatten() for p in model.parameters()])
    model.zero_grad()
    x = torch.cat([b[0] for b in batches])
    y = torch.cat([b[1] for b in batches])
    loss_fn(model(x), y).backward()
    full = torch.cat([p.grad.flatten() for p in model.parameters()])
    return float((accumulated - full).norm() / full.norm())


def tail_not_stepped(n_batches: int, accumulation_steps: int) -> int:
    """Micro-batches whose gradients the sketch's loop accumulates but never applies (the last partial group)."""
    return n_batches % accumulation_steps
