"""The training loop: AdamW, warm-up + cosine schedule, clipping, periodic eval, exact checkpoint/resume.

Methodology
-----------
* The trainer receives a built model (any nn.Module with `loss(idx, targets) -> {"loss","lm","aux","mtp"}`
  and `model(idx).logits`); it never imports architectures. Seed the model's init yourself
  (`seed_everything(seed)` before building it); `train` re-seeds torch with `cfg.seed` before its first step.
* AdamW, weight decay only on parameters with >= 2 dims (matrices, embeddings), none on norms/biases.
* LR (`lr_at`): linear warm-up to `lr` at step `warmup_steps - 1` (0-based), then cosine down to
  `lr * min_lr_frac`, reached exactly at the last step `steps - 1`.
* Clipping at `grad_clip` (global L2 norm); the recorded `grad_norm` is the norm before clipping.
* Batch k is `dataset.batch(k, batch_size, seed)`: a pure function of (seed, k), so resumes replay it.
* Records (dicts, passed to `on_record` and kept in the summary), one per optimizer step:
  {"split": "train", "step" (1-based count of finished steps), "tokens" (cumulative training tokens),
  "flops" (tokens * flops_per_token: pass *training* FLOPs per token, ~3x forward; None if not given),
  "wall_s" (cumulative training time, eval and checkpointing excluded), "train_loss" (the backpropagated
  total), "lm", "aux", "mtp", "lr", "grad_norm"}; and every `eval_every` steps and after the last step
  {"split": "val", "step", "tokens", "flops", "wall_s", "val_loss"} (see `evaluate`).
* A non-finite loss stops the run (`diverged=True`) after recording that step; no exception.
* Checkpoints (model, optimizer, step, torch CPU/CUDA RNG states, wall time, records, config) every
  `checkpoint_every` steps, at `stop_at` and at the end; written atomically (tmp file + os.replace).
  `resume=True` continues from an existing checkpoint; on CPU the final records equal an uninterrupted
  run's exactly (wall_s aside). A checkpoint whose trajectory-defining config differs is refused.
  Records after the checkpoint are emitted again by the resumed run: key stored rows by (run, step).
* bf16 autocast on CUDA when `bf16_autocast_on_gpu`; CPU runs stay fp32 (bit-exact reproducibility).
"""
from __future__ import annotations

import math
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from harness.errors import ArchbenchError, ConfigError
from harness.progress import progress_bar
from harness.train.evaluation import EVAL_SEED, autocast, evaluate, position_losses

__all__ = ["TrainConfig", "TrainSummary", "train", "evaluate", "position_losses", "lr_at", "seed_everything",
           "EVAL_SEED"]

# Fields that must match between a checkpoint and the run resuming from it (others, e.g. eval_every, may change).
TRAJECTORY_FIELDS = ("steps", "batch_size", "block_size", "lr", "min_lr_frac", "warmup_steps", "weight_decay",
                     "grad_clip", "betas", "seed")


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    steps: int = 200
    batch_size: int = 16
    block_size: int = 64
    lr: float = 3e-3
    min_lr_frac: float = 0.1
    warmup_steps: int = 20
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float | None = 1.0
    eval_every: int = 50                         # 0: evaluate only after the last step
    eval_batches: int = 8
    eval_batch_size: int | None = None           # None: batch_size
    seed: int = 0
    device: str = "cpu"                          # "cpu", "cuda", "cuda:1", or "auto"
    bf16_autocast_on_gpu: bool = True
    checkpoint_every: int = 0                    # 0: no periodic checkpoints
    checkpoint_path: str | None = None
    progress: bool | None = None                 # None: a tqdm bar when stderr is a TTY (harness.progress)

    def __post_init__(self):
        for name in ("steps", "batch_size", "block_size", "eval_batches"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) <= 0:
                raise ConfigError(f"TrainConfig.{name} must be a positive integer, got {getattr(self, name)!r}")
        for name in ("warmup_steps", "eval_every", "checkpoint_every"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                raise ConfigError(f"TrainConfig.{name} must be an integer >= 0, got {getattr(self, name)!r}")
        if not self.lr > 0:
            raise ConfigError(f"TrainConfig.lr must be > 0, got {self.lr}")
        if not 0 <= self.min_lr_frac <= 1:
            raise ConfigError(f"TrainConfig.min_lr_frac must be in [0, 1], got {self.min_lr_frac}")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ConfigError(f"TrainConfig.grad_clip must be > 0 or None, got {self.grad_clip}")
        if self.checkpoint_every and not self.checkpoint_path:
            raise ConfigError("TrainConfig.checkpoint_path is required when checkpoint_every > 0")

    def resolved_device(self) -> torch.device:
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)


@dataclass(frozen=True, kw_only=True)
class TrainSummary:
    steps: int                                   # optimizer steps finished
    tokens: int
    wall_s: float
    final_train_loss: float
    final_val_loss: float | None
    diverged: bool
    resumed_from: int                            # step of the checkpoint this run resumed from; 0 if fresh
    records: list[dict] = field(default_factory=list)


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA); call it before building a model."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Learning rate of 0-based optimizer step `step`: linear warm-up, then cosine to lr * min_lr_frac."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = min(1.0, (step - cfg.warmup_steps + 1) / max(1, cfg.steps - cfg.warmup_steps))
    low = cfg.lr * cfg.min_lr_frac
    return low + 0.5 * (cfg.lr - low) * (1.0 + math.cos(math.pi * progress))


def _optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.AdamW:
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas)


def _save(path: str, state: dict) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    torch.save(state, tmp)
    os.replace(tmp, path)


def _load(path: str, cfg: TrainConfig) -> dict:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - a corrupt file is a user-facing condition
        # torch's message runs to many lines (and suggests weights_only=False); the hint must survive one_line
        raise ArchbenchError(f"cannot read checkpoint {path} (corrupt or not a checkpoint: {type(err).__name__}); "
                             "delete it, or retrain without resuming (resume=False; archbench run --redo)") from None
    saved, now = state.get("config", {}), asdict(cfg)
    diff = [f"{k} {saved.get(k)!r} != {now[k]!r}" for k in TRAJECTORY_FIELDS if _norm(saved.get(k)) != _norm(now[k])]
    if diff:
        raise ArchbenchError(f"checkpoint {path} was written by a different run ({'; '.join(diff)}); "
                             "delete it or pass resume=False")
    return state


def _norm(v):
    return list(v) if isinstance(v, (tuple, list)) else v


def _scalar(v) -> float:
    return float(v.detach().float().item()) if torch.is_tensor(v) else float(v or 0.0)


def train(model: torch.nn.Module, dataset, cfg: TrainConfig, on_record: Callable[[dict], None] | None = None,
          flops_per_token: float | None = None, resume: bool = True, stop_at: int | None = None) -> TrainSummary:
    """Train `model` on `dataset` (a `TokenDataset`) for `cfg.steps` steps; `stop_at` halts after that many
    steps (checkpointed), as a deliberate interruption that a later call with the same cfg resumes."""
    device, emit = cfg.resolved_device(), on_record or (lambda r: None)
    model.to(device)
    opt = _optimizer(model, cfg)
    torch.manual_seed(cfg.seed)
    start, wall, records = 0, 0.0, []
    if resume and cfg.checkpoint_path and os.path.exists(cfg.checkpoint_path):
        state = _load(cfg.checkpoint_path, cfg)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["rng_cpu"])
        if device.type == "cuda" and state.get("rng_cuda") is not None:
            torch.cuda.set_rng_state(state["rng_cuda"], device)
        start, wall, records = state["step"], state["wall_s"], list(state["records"])
    resumed_from, end = start, min(cfg.steps, stop_at if stop_at is not None else cfg.steps)
    tokens_per_step, diverged = cfg.batch_size * cfg.block_size, False

    def checkpoint(step: int) -> None:
        if cfg.checkpoint_path:
            cuda = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
            _save(cfg.checkpoint_path, {"version": 1, "step": step, "wall_s": wall, "records": records,
                                        "model": model.state_dict(), "optimizer": opt.state_dict(),
                                        "rng_cpu": torch.get_rng_state(), "rng_cuda": cuda,
                                        "config": {k: _norm(v) for k, v in asdict(cfg).items()}})

    def base(step: int) -> dict:
        tokens = step * tokens_per_step
        return {"step": step, "tokens": tokens, "wall_s": wall,
                "flops": tokens * flops_per_token if flops_per_token is not None else None}

    def val(step: int) -> None:
        loss = evaluate(model, dataset, "val", cfg.eval_batches, batch_size=cfg.eval_batch_size or cfg.batch_size,
                        device=device, bf16=cfg.bf16_autocast_on_gpu)
        records.append({"split": "val", **base(step), "val_loss": loss})
        emit(dict(records[-1]))

    bar = progress_bar(cfg.steps, "train", unit="step", initial=start, asked=cfg.progress, nested=True)
    step = start
    try:
        for step in range(start + 1, end + 1):
            t0 = time.perf_counter()
            model.train()
            lr = lr_at(step - 1, cfg)
            for group in opt.param_groups:
                group["lr"] = lr
            x, y = dataset.batch(step - 1, cfg.batch_size, seed=cfg.seed)
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            with autocast(device, cfg.bf16_autocast_on_gpu):
                out = model.loss(x, y)
            out["loss"].backward()
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip or float("inf"))
            opt.step()
            opt.zero_grad(set_to_none=True)
            row = {k: _scalar(out.get(k, 0.0)) for k in ("loss", "lm", "aux", "mtp")}
            grad_norm = _scalar(norm)
            wall += time.perf_counter() - t0
            records.append({"split": "train", **base(step), "train_loss": row.pop("loss"), **row,
                            "lr": lr, "grad_norm": grad_norm})
            emit(dict(records[-1]))
            bar.update(1)
            bar.set_postfix(loss=f"{records[-1]['train_loss']:.3f}", refresh=False)
            if not math.isfinite(records[-1]["train_loss"]):
                diverged = True
                break
            if step == cfg.steps or (cfg.eval_every and step % cfg.eval_every == 0):
                val(step)
            if step == end or (cfg.checkpoint_every and step % cfg.checkpoint_every == 0):
                checkpoint(step)
    finally:
        bar.close()
    trains = [r for r in records if r["split"] == "train"]
    vals = [r for r in records if r["split"] == "val"]
    return TrainSummary(steps=trains[-1]["step"] if trains else 0, tokens=trains[-1]["tokens"] if trains else 0,
                        wall_s=wall, final_train_loss=trains[-1]["train_loss"] if trains else float("nan"),
                        final_val_loss=vals[-1]["val_loss"] if vals else None, diverged=diverged,
                        resumed_from=resumed_from, records=records)
