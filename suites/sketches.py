"""The documents' other code sketches, re-implemented (archs/snippets) and run against what their text says
they do: 000/001's RMSNorm formula and 001's SwiGLU formula against the published definitions, RoPE as a
rotation, 001's "Modern Transformer Block" wiring, and 002's gradient checkpointing, learning-rate schedule,
gradient clipping, gradient accumulation and Xavier initialisation. Each is a small deterministic
computation (seeded) on the CPU, the same at every profile; nothing is timed."""
from __future__ import annotations

import torch

from archs.snippets import checkpointing, formulas, initialization, modern_block, training_loop
from harness.suite import Context, Suite, Unit
from harness.report.headline import Headline


def _row(case: str, measure: str, metric: str, value: float, unit: str, method: str, dtype: str = "float32",
         **more):
    """One row; every sketch runs on the CPU whatever the run's device, in the dtype given here."""
    return dict(case=case, measure=measure, metric=metric, value=float(value), unit=unit, stat="exact",
                method=method, device="cpu", dtype=dtype, **more)


def formula_rows(ctx: Context):
    yield _row("doc_rmsnorm", "formula_vs_published", "rel_error", formulas.rmsnorm_error(seed=ctx.seed), "ratio",
               "weight·x/sqrt(mean(x²)+eps) vs torch F.rms_norm, d=768, eps=1e-6", dtype="float64",
               shape={"D": 768})
    yield _row("doc_swiglu", "formula_vs_published", "rel_error", formulas.swiglu_error(seed=ctx.seed), "ratio",
               "001's (xW_gate+b)⊗Swish(xW_up+b) then Linear_down vs the LLaMA-style SwiGLU MLP with its gate and "
               "up weights swapped, zero biases", dtype="float64", shape={"D": 96, "hidden": 256})
    yield _row("rope_rotation", "norm_preserved", "rel_error", formulas.rope_norm_change(seed=ctx.seed), "ratio",
               "max over positions 0..2047 of | |RoPE(x, m)| - |x| | / |x|, head dim 64",
               shape={"K": 64, "T": 2048})


def block_rows(ctx: Context):
    x = torch.randn(1, 8, 768, generator=torch.Generator().manual_seed(ctx.seed))
    for case, with_rope in (("doc_block", False), ("block_with_rope", True)):
        torch.manual_seed(ctx.seed)
        block = modern_block.SketchBlock(with_rope=with_rope)
        calls = modern_block.components_called(block, x)
        yield _row(case, "components_called", "count", sum(1 for n in calls.values() if n), "count",
                   "named components (attention, rope, norm, ffn) that one forward pass runs, by forward hooks",
                   shape={"D": 768, "H": 12, "K": 3}, extra={"calls": calls})
        yield _row(case, "prefix_order", "rel_error", modern_block.prefix_order_change(block, seed=ctx.seed),
                   "ratio", "relative change of the last token's output when the 15 tokens before it are reversed",
                   shape={"D": 768, "H": 12, "K": 3, "T": 16})


def checkpoint_rows(ctx: Context):
    plain, ckpt, grad_error = checkpointing.compare(dim=64, n_heads=4, T=128, seed=ctx.seed)
    shape = {"B": 2, "T": 128, "D": 64}
    for case, m in (("no_checkpoint", plain), ("checkpoint", ckpt)):
        yield _row(case, "gradient_checkpointing", "activation_bytes", m.saved_bytes, "bytes",
                   "bytes autograd saves for backward in one pre-norm layer (saved-tensor hooks, parameters excluded)",
                   shape=shape)
        yield _row(case, "gradient_checkpointing", "count", m.forward_calls, "count",
                   "runs of the layer body in one forward + backward", shape=shape)
    yield _row("checkpoint_vs_plain", "gradient_checkpointing", "rel_error", grad_error, "ratio",
               "relative difference of input and parameter gradients, same weights and input", shape=shape)


def training_loop_rows(ctx: Context):
    checks = training_loop.lr_checks(warmup_steps=100, total_steps=1000)
    shape = {"warmup": 100, "steps": 1000}
    extra = {"lr_at_start": checks["lr_at_start"], "lr_at_end": checks["lr_at_end"],
             "note": "total_steps is passed in: the sketch uses it without defining it"}
    for case in ("peak_error", "boundary_excess"):
        yield _row(case, "lr_schedule", "rel_error", checks[case], "ratio",
                   "warmup + cosine schedule over 1000 steps: |max lr - max_lr|/max_lr; excess of the step across "
                   "the warmup boundary over one warmup step", dtype="float64", shape=shape, extra=extra)
    yield _row("clip_to_1", "gradient_clipping", "rel_error", abs(training_loop.clipped_norm(seed=ctx.seed) - 1.0),
               "ratio", "| global grad norm after clip_grad_norm_(max_norm=1) - 1 |, gradients at norm 37",
               shape={"max_norm": 1})
    yield _row("accumulated_vs_full_batch", "gradient_accumulation", "rel_error",
               training_loop.accumulated_grads(seed=ctx.seed), "ratio",
               "the sketch's accumulated gradient (loss/4 per micro-batch) vs one backward on the 4 micro-batches, "
               "mean cross-entropy", dtype="float64", shape={"accumulation": 4, "micro_batch": 8})
    yield _row("tail_not_stepped", "gradient_accumulation", "count", training_loop.tail_not_stepped(10, 4), "count",
               "micro-batches the loop accumulates but never applies, 10 batches with accumulation_steps 4",
               shape={"batches": 10, "accumulation": 4})


def init_rows(ctx: Context):
    for init in initialization.INITS:
        yield _row(init, "signal_scale", "signal_scale", initialization.signal_scale(init, seed=ctx.seed), "ratio",
                   "RMS(out)/RMS(in) through 24 square bias-free Linear layers (width 512), no nonlinearity",
                   shape={"L": 24, "D": 512})


HEADLINE = Headline(
    title="How far each formula sketch is from the published reference (relative error, float64 where noted)",
    kind="bars", metric="rel_error", x="case", series="measure", log_y=True, line=1e-6,
    reference="tolerance 1e-6")

SUITE = Suite(
    headline=HEADLINE,
    name="sketches",
    question="Do the documents' other code sketches (formulas, the integration block, training-loop code) do "
             "what their text says?",
    plan=lambda ctx: [Unit("formulas", formula_rows), Unit("integration_block", block_rows),
                      Unit("checkpointing", checkpoint_rows), Unit("training_loop", training_loop_rows),
                      Unit("initialization", init_rows)],
    docs=("000", "001", "002"), description=__doc__,
)
