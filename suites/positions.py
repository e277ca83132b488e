"""Position encodings: RoPE vs fixed sinusoidal vs learned absolute (document 001: RoPE has "better
extrapolation" and "no additional parameters"): their parameters, the cost of applying them, and what happens
when a model trained at context L is evaluated at 2L and 4L.

Method.
* params_total: counted from the position module at D=768 (RoPE and sinusoidal hold none; learned holds
  max_seq_len·D), with archs.components.position_params in extra.
* shift (document 001: RoPE is "relative position encoding naturally"): rel_error of the attention scores q·k
  when every position moves by the same offset, against offset 0 (rope-shift: RoPE on q, k [1, 12, 128, 64];
  sinusoidal-shift: the table added to x [1, 128, 768], scores x·x). Exactly 0 for a relative encoding; RoPE's
  error is fp32 rounding of its angles, which grows with the absolute position (extra has the offset).
* apply: time (time_fn, no_grad) to apply positions to one layer's input at document 001's shape (B=1, 12 heads
  of 64): RoPE rotates q and k, [1, 12, T, 64] each (what a layer pays); sinusoidal and learned add a [T, 768] table
  to x [1, T, 768] (sinusoidal rebuilds its table on every call, as the module does), at the profile's T (SIZES).
* extrapolation: the position A/B decoders of the loss_curves suite (byte-level Shakespeare, dim 64, 2 layers,
  ~130k params, same seed and batches, trained at context L = 64; one training serves both suites), evaluated on
  fixed validation windows of L, 2L and 4L tokens (harness.train.evaluation.position_losses). val_loss is the mean over all positions; extra has the
  mean over the first L positions and over positions past L, which is where extrapolation shows. A learned table
  of L rows cannot address position L: those rows are untestable with that reason, which is the finding.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from archs.components import position_params
from archs.components.rope import LearnedPositions, RotaryEmbedding, SinusoidalPositions
from archs.config import DecoderConfig
from harness.errors import one_line
from harness.measure.fields import timing_fields
from harness.measure.gates import rel_err
from harness.measure.timing import timed
from harness.suite import Context, PerProfile, Suite, Unit
from harness.report.headline import Headline
from harness.train.evaluation import position_losses
from suites import loss_curves

DIM, HEADS, MAX_SEQ = 768, 12, 4096
KINDS = ("rope", "sinusoidal", "learned")


@dataclass(frozen=True)
class Sizes:
    T: tuple[int, ...]                  # lengths the positions are applied at (timed)
    min_run_time: float                 # seconds per timing


SIZES = PerProfile(smoke=Sizes(T=(16,), min_run_time=0.002), quick=Sizes(T=(512, 2048), min_run_time=0.1),
                   standard=Sizes(T=(512, 2048, 8192), min_run_time=0.3),
                   full=Sizes(T=(512, 2048, 8192, 32768), min_run_time=0.5))


def module(kind: str, max_seq: int = MAX_SEQ):
    if kind == "rope":
        return RotaryEmbedding(DIM // HEADS)
    return SinusoidalPositions(DIM) if kind == "sinusoidal" else LearnedPositions(DIM, max_seq)


def params_rows(ctx: Context):
    for kind in KINDS:
        cfg = DecoderConfig(vocab_size=256, dim=DIM, n_layers=1, n_heads=HEADS, ffn_dim=4 * DIM, position=kind,
                            max_seq_len=MAX_SEQ)
        yield dict(case=kind, measure="params", metric="params_total", unit="params", stat="exact",
                   value=sum(p.numel() for p in module(kind).parameters()), shape={"D": DIM, "max_seq_len": MAX_SEQ},
                   method="sum of parameter numel of the position module", extra={"formula": position_params(cfg)})


def shift_rows(ctx: Context):
    g, T, K = torch.Generator().manual_seed(ctx.seed), 128, DIM // HEADS
    q, k = (torch.randn(1, HEADS, T, K, generator=g).to(ctx.device) for _ in range(2))
    x = torch.randn(1, T, DIM, generator=g).to(ctx.device)
    rope, sin = RotaryEmbedding(K).to(ctx.device), SinusoidalPositions(DIM)
    scores = {"rope-shift": lambda off: rope(q, off) @ rope(k, off).transpose(-1, -2),
              "sinusoidal-shift": lambda off: (y := sin(x, off)) @ y.transpose(-1, -2)}
    for case, fn in scores.items():
        for offset in (1, 64, 1024):
            yield dict(case=case, measure="shift", metric="rel_error", value=rel_err(fn(offset), fn(0)), unit="ratio",
                       shape={"T": T, "offset": offset}, extra={"offset": offset},
                       method="relative RMSE of the score matrix with all positions shifted by offset vs unshifted")


def apply_rows(T: int, ctx: Context):
    torch.manual_seed(ctx.seed)
    dev, dtype = ctx.device, ctx.torch_dtype
    q, k = (torch.randn(1, HEADS, T, DIM // HEADS, device=dev, dtype=dtype) for _ in range(2))
    x = torch.randn(1, T, DIM, device=dev, dtype=dtype)
    for kind in KINDS:
        m = module(kind, max(T, MAX_SEQ)).to(dev, dtype)
        fn = (lambda: (m(q), m(k))) if kind == "rope" else (lambda: m(x))
        with torch.no_grad():
            t = timed(fn, ctx, SIZES[ctx.profile].min_run_time)
        yield dict(case=kind, measure="apply", shape={"B": 1, "T": T, "D": DIM, "H": HEADS}) | timing_fields(
            t, "latency_fwd_s", extra={"applied_to": "q and k [1, H, T, K]" if kind == "rope" else "x [1, T, D]"})


def extrapolation_rows(kind: str, ctx: Context):
    """Loss at L, 2L and 4L, split into the first L positions and the rest, of the position A/B models the
    loss_curves suite trains (shared: within one run each model is trained once)."""
    cfg = loss_curves.AB_GROUPS["positions"][kind]
    tc = loss_curves.train_config(ctx, ctx.seed)
    data = loss_curves.context_dataset(ctx, tc.block_size)
    cfg = replace(cfg, vocab_size=data.vocab_size)
    model, summary, _ = loss_curves.trained(cfg, tc, data)
    L = tc.block_size
    base = dict(case=kind, measure="extrapolation", metric="val_loss", unit="nats", stat="exact",
                method=f"loss_curves' {kind} model: {tc.steps} steps at T={L}, batch {tc.batch_size}; mean CE "
                       f"over {tc.eval_batches}x8 fixed validation windows", n=tc.eval_batches * 8)
    for factor in (1, 2, 4):
        T, row = L * factor, base | dict(shape={"T": L * factor, "train_T": L})
        try:
            per_pos = position_losses(model, data, "val", tc.eval_batches, block_size=T, batch_size=8)
        except (ValueError, IndexError, RuntimeError) as err:
            reason = f"learned positions cannot evaluate past max_seq_len={cfg.max_seq_len}: {one_line(err)}"
            yield row | dict(value=None, status="untestable", reason=reason if kind == "learned" else one_line(err))
            continue
        past = float(per_pos[L:].mean()) if T > L else None
        yield row | dict(value=float(per_pos.mean()),
                         extra={"loss_first_L": float(per_pos[:L].mean()), "loss_past_L": past,
                                "final_train_loss": summary.final_train_loss, "diverged": summary.diverged})


def plan(ctx: Context) -> list[Unit]:
    units = [Unit("params", params_rows), Unit("shift", shift_rows)]
    units += [Unit(f"apply/T{T}", lambda c, T=T: apply_rows(T, c)) for T in SIZES[ctx.profile].T]
    return units + [Unit(f"extrapolation/{k}", lambda c, k=k: extrapolation_rows(k, c)) for k in KINDS]


HEADLINE = Headline(
    title="Validation loss at the training context L and past it, by position encoding",
    kind="lines", metric="val_loss", x="shape.T", where={"measure": "extrapolation"}, log_x=True,
    y_label="validation loss [nats]", claim="001-rope-relative")

SUITE = Suite(name="positions", plan=plan, sizes=SIZES, docs=("001",), description=__doc__,
              headline=HEADLINE,
              question="What do RoPE, sinusoidal and learned positions cost in parameters and time, and which "
                       "still works when a model trained at context L reads 2L and 4L tokens?")
