"""Throughput of the tiny presets on this machine: prefill, decode and training tokens/s, with the achieved
fraction of this machine's measured matmul peak, and prefill time against sequence length (log-log slope).

Method. Prefill: B=4 at each of the profile's lengths, every shape warmed up before any is timed, then
harness.measure.timing.timed (4 rounds; each round's median is a repeat, the run-to-run spread).
Decode: B=1, `decode_steps` tokens one by one after an untimed prefill of `context` tokens, from a fresh cache in
each of `decode_repeats` repeats (harness.measure.timing.time_steps). Training: AdamW steps at B=8 (timed,
likewise). Every timed row keeps its repeats in extra.repeats.
The sizes per profile are SIZES.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from archs import analytic, get_config
from harness.measure.fields import machine_peaks, rate_fields, roofline_fields, timing_fields
from harness.measure.timing import fit_loglog, time_steps, timed
from harness.report.headline import Headline
from harness.suite import Context, PerProfile, Suite, Unit
from suites.per_arch import ArchUnits, arch_plan, provenance


@dataclass(frozen=True)
class Sizes:
    prefill_T: tuple[int, ...]          # prefill lengths (at least 3: the scaling fit)
    prefill_min_run_time: float         # seconds per prefill timing
    context: int                        # cache length before the timed decode steps
    decode_steps: int                   # decode steps per repeat
    decode_repeats: int
    train_T: int                        # tokens per sequence of a training step
    train_min_run_time: float


SIZES = PerProfile(
    smoke=Sizes(prefill_T=(8, 16, 32), prefill_min_run_time=0.002, context=8, decode_steps=2, decode_repeats=2,
                train_T=8, train_min_run_time=0.002),
    quick=Sizes(prefill_T=(64, 128, 256), prefill_min_run_time=0.2, context=128, decode_steps=8, decode_repeats=10,
                train_T=128, train_min_run_time=0.2),
    standard=Sizes(prefill_T=(128, 256, 512, 1024), prefill_min_run_time=0.3, context=1024, decode_steps=16,
                   decode_repeats=20, train_T=256, train_min_run_time=0.5),
    full=Sizes(prefill_T=(256, 1024, 4096), prefill_min_run_time=0.3, context=1024, decode_steps=16,
               decode_repeats=20, train_T=256, train_min_run_time=0.5))


def built(name: str, ctx: Context, train: bool = False):
    """(config, model on the run's device, Row.config) of a tiny preset, seeded."""
    cfg = get_config(name)
    torch.manual_seed(ctx.seed)
    return cfg, cfg.build().train(train).to(ctx.device), provenance(cfg)


def prefill_rows(name: str, ctx: Context):
    cfg, model, config = built(name, ctx)
    peaks, sizes = machine_peaks(ctx.device, ctx.threads), SIZES[ctx.profile]
    B, lengths = 4, list(sizes.prefill_T)
    inputs = {T: torch.randint(0, cfg.vocab_size, (B, T), device=ctx.device) for T in lengths}
    with torch.no_grad():
        for idx in inputs.values():             # warm up every shape before timing any (fla's rule)
            model(idx)
    medians = []
    for T, idx in inputs.items():
        with torch.no_grad():
            t = timed(lambda: model(idx), ctx, sizes.prefill_min_run_time)
        medians.append(t.median)
        shape = {"B": B, "T": T}
        base = dict(case=name, arch=name, config=config, measure="prefill", shape=shape)
        yield base | rate_fields(t, B * T, "tokens_per_s", "tokens/s", extra={"phase": "prefill"})
        flops = B * T * analytic.flops_per_token(cfg, T, causal=False)
        yield base | roofline_fields(flops / t.median, peaks.flops_per_s, "FLOP", measure="prefill_mfu",
                                     shape=shape)
    fit = fit_loglog(lengths, medians)
    yield dict(case=name, arch=name, config=config, measure="prefill_scaling", metric="scaling_exponent",
               value=fit.slope, unit="exponent", stat="exact", q1=fit.ci_low, q3=fit.ci_high, n=fit.n,
               method=f"log-log least squares of median prefill time vs T over {lengths}, 95% t CI",
               extra={"r2": fit.r2})


def decode_rows(name: str, ctx: Context):
    """Per-token decode time: a fresh prefilled cache per repeat (untimed), then `decode_steps` timed decode calls."""
    cfg, model, config = built(name, ctx)
    sizes = SIZES[ctx.profile]
    B, context = 1, sizes.context
    idx = torch.randint(0, cfg.vocab_size, (B, context + sizes.decode_steps), device=ctx.device)

    def prefilled():
        cache = model.new_cache()
        model(idx[:, :context], cache)
        return cache

    with torch.no_grad():
        t = time_steps(prefilled, lambda cache, i: model(idx[:, context + i:context + i + 1], cache),
                       sizes.decode_steps, repeats=sizes.decode_repeats, device=ctx.device, threads=ctx.threads)
    base = dict(case=name, arch=name, config=config, measure="decode", shape={"B": B, "T": context})
    yield base | timing_fields(t, "latency_decode_s", extra={"phase": "decode"})
    yield base | rate_fields(t, B, "tokens_per_s", "tokens/s", extra={"phase": "decode"})


def train_rows(name: str, ctx: Context):
    cfg, model, config = built(name, ctx, train=True)
    peaks, sizes = machine_peaks(ctx.device, ctx.threads), SIZES[ctx.profile]
    B, T = 8, sizes.train_T
    idx = torch.randint(0, cfg.vocab_size, (B, T + 1), device=ctx.device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step():
        opt.zero_grad(set_to_none=True)
        model.loss(idx[:, :T], idx[:, 1:])["loss"].backward()
        opt.step()

    t = timed(step, ctx, sizes.train_min_run_time)
    base = dict(case=name, arch=name, config=config, measure="train_step", shape={"B": B, "T": T})
    yield base | rate_fields(t, B * T, "tokens_per_s", "tokens/s", extra={"phase": "train"})
    flops = B * T * analytic.flops_per_token(cfg, T, causal=True, training=True)
    yield base | roofline_fields(flops / t.median, peaks.flops_per_s, "FLOP", measure="train_mfu",
                                 shape={"B": B, "T": T})


def plan(ctx: Context) -> list[Unit]:
    return arch_plan(ctx, *(ArchUnits(prefix, rows, tiny_only=True) for prefix, rows in
                            (("prefill", prefill_rows), ("decode", decode_rows), ("train", train_rows))))


HEADLINE = Headline(
    title="Model FLOP utilisation of each runnable preset on this machine: achieved FLOP/s of prefill and of a "
          "training step as a fraction of the measured matmul peak (tokens/s in the tables below)",
    kind="bars", metric="roofline_fraction", x="case", series="measure", over=("shape.T",), line=1.0,
    reference="measured matmul peak", y_label="fraction of the matmul peak (MFU)")

SUITE = Suite(headline=HEADLINE, name="throughput", plan=plan, sizes=SIZES, docs=("000", "001", "002", "003", "004"),
              description=__doc__,
              question="How fast does each architecture prefill, decode and train on this machine, and what "
                       "fraction of the machine's matmul peak does it reach?")
