"""Held-out evaluation: mean and per-position next-token cross-entropy, at any context length.

Methodology
-----------
* Eval windows are `dataset.batch(i, batch_size, seed=EVAL_SEED, split=..., block_size=...)` for
  i = 0..batches-1: a fixed seed shared by every run, so all architectures and training seeds are
  scored on the very same windows (paired comparisons; no eval-sampling noise between runs).
* The loss is computed here from `model(idx).logits` in fp32 (`cross_entropy`, nats/token), not from the
  model's own `loss()`, so auxiliary/MTP terms never leak into it and every model is scored alike.
* `block_size` may exceed the training context (2x, 4x) for the length-extrapolation check; then
  `position_losses` shows where the loss degrades (positions past the training length). Models with a
  learned position table of fixed size will fail there; that failure is the caller's to record.
* The model is put in eval mode under `torch.no_grad()` and its previous mode restored afterwards.
"""
from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F

__all__ = ["EVAL_SEED", "evaluate", "position_losses", "autocast"]

EVAL_SEED = 0x5EED


def autocast(device: torch.device, bf16: bool):
    """bf16 autocast on CUDA when asked; a no-op context elsewhere (CPU stays fp32, bit-reproducible)."""
    if bf16 and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _device(model: torch.nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


@torch.no_grad()
def position_losses(model: torch.nn.Module, dataset, split: str = "val", batches: int = 8,
                    block_size: int | None = None, batch_size: int = 8, device: torch.device | None = None,
                    bf16: bool = True, seed: int = EVAL_SEED) -> torch.Tensor:
    """Mean cross-entropy (nats) at each position 0..T-1 over `batches` fixed batches: float64 tensor [T]."""
    device = device or _device(model)
    was_training = model.training
    model.eval()
    total = None
    try:
        for i in range(batches):
            x, y = dataset.batch(i, batch_size, seed=seed, split=split, block_size=block_size)
            x, y = x.to(device), y.to(device)
            with autocast(device, bf16):
                out = model(x)
            logits = getattr(out, "logits", out).float()
            ce = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1), reduction="none")
            per_pos = ce.view_as(y).double().sum(0).cpu()
            total = per_pos if total is None else total + per_pos
    finally:
        model.train(was_training)
    return total / (batches * batch_size)


def evaluate(model: torch.nn.Module, dataset, split: str = "val", batches: int = 8, block_size: int | None = None,
             batch_size: int = 8, device: torch.device | None = None, bf16: bool = True,
             seed: int = EVAL_SEED) -> float:
    """Mean next-token cross-entropy (nats) on `batches` fixed windows of `split` at context `block_size`."""
    return float(position_losses(model, dataset, split, batches, block_size, batch_size, device, bf16, seed).mean())
