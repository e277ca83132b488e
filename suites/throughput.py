"""Throughput of the tiny presets on this machine: prefill, decode and training tokens/s, with the achieved
fraction of this machine's measured matmul peak, and prefill time against sequence length (log-log slope)."""
from __future__ import annotations

import time

import torch

from archs import ARCHS, analytic, get_config
from harness.measure.fields import machine_peaks, rate_fields, roofline_fields, timing_fields
from harness.suite import Context, Suite, Unit
from harness.measure.timing import fit_loglog, summarize, time_fn


def prefill_rows(name: str, ctx: Context):
    cfg = get_config(name)
    torch.manual_seed(ctx.seed)
    model = cfg.build().eval().to(ctx.device)
    peaks = machine_peaks(ctx.device, ctx.threads)
    B = 4
    lengths = ctx.pick([64, 128, 256], [128, 256, 512, 1024], [256, 1024, 4096])
    inputs = {T: torch.randint(0, cfg.vocab_size, (B, T), device=ctx.device) for T in lengths}
    with torch.no_grad():
        for idx in inputs.values():             # warm up every shape before timing any (fla's rule)
            model(idx)
    medians = []
    for T, idx in inputs.items():
        with torch.no_grad():
            t = time_fn(lambda: model(idx), device=ctx.device, threads=ctx.threads,
                        min_run_time=ctx.pick(0.2, 0.3))
        medians.append(t.median)
        shape = {"B": B, "T": T}
        base = dict(case=name, arch=name, measure="prefill", shape=shape, extra={"phase": "prefill"})
        yield base | rate_fields(t, B * T, "tokens_per_s", "tokens/s")
        flops = B * T * analytic.flops_per_token(cfg, T, causal=False)
        yield base | roofline_fields(flops / t.median, peaks.flops_per_s, "FLOP", measure="prefill_mfu",
                                     shape=shape)
    fit = fit_loglog(lengths, medians)
    yield dict(case=name, arch=name, measure="prefill_scaling", metric="scaling_exponent", value=fit.slope,
               unit="exponent", stat="exact", q1=fit.ci_low, q3=fit.ci_high, n=fit.n,
               method=f"log-log least squares of median prefill time vs T over {lengths}, 95% t CI",
               extra={"r2": fit.r2})


def decode_rows(name: str, ctx: Context):
    """Per-token decode time: a fresh prefilled cache per repeat (untimed), then `steps` timed decode calls."""
    cfg = get_config(name)
    torch.manual_seed(ctx.seed)
    model = cfg.build().eval().to(ctx.device)
    B, context, steps, repeats = 1, ctx.pick(128, 1024), ctx.pick(8, 16), ctx.pick(10, 20)
    idx = torch.randint(0, cfg.vocab_size, (B, context + steps), device=ctx.device)
    samples = []
    with torch.no_grad():
        for _ in range(repeats + 1):
            cache = model.new_cache()
            model(idx[:, :context], cache)
            start = time.perf_counter()
            for t in range(context, context + steps):
                model(idx[:, t:t + 1], cache)
            samples.append((time.perf_counter() - start) / steps)
    t = summarize(samples[1:], method=f"time.perf_counter over {steps} decode steps × {repeats} repeats "
                                      f"(first discarded as warm-up)", device=ctx.device, threads=ctx.threads)
    base = dict(case=name, arch=name, measure="decode", shape={"B": B, "T": context}, extra={"phase": "decode"})
    yield base | timing_fields(t, "latency_decode_s")
    yield base | rate_fields(t, B, "tokens_per_s", "tokens/s")


def train_rows(name: str, ctx: Context):
    cfg = get_config(name)
    torch.manual_seed(ctx.seed)
    model = cfg.build().train().to(ctx.device)
    peaks = machine_peaks(ctx.device, ctx.threads)
    B, T = 8, ctx.pick(128, 256)
    idx = torch.randint(0, cfg.vocab_size, (B, T + 1), device=ctx.device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step():
        opt.zero_grad(set_to_none=True)
        model.loss(idx[:, :T], idx[:, 1:])["loss"].backward()
        opt.step()

    t = time_fn(step, device=ctx.device, threads=ctx.threads, min_run_time=ctx.pick(0.2, 0.5), warmup=2)
    base = dict(case=name, arch=name, measure="train_step", shape={"B": B, "T": T}, extra={"phase": "train"})
    yield base | rate_fields(t, B * T, "tokens_per_s", "tokens/s")
    flops = B * T * analytic.flops_per_token(cfg, T, causal=True, training=True)
    yield base | roofline_fields(flops / t.median, peaks.flops_per_s, "FLOP", measure="train_mfu",
                                 shape={"B": B, "T": T})


def plan(ctx: Context) -> list[Unit]:
    units = []
    for name in ARCHS.names():
        if ctx.wants_arch(name) and ARCHS.meta(name)["scale"] == "tiny":
            units += [Unit(f"prefill/{name}", lambda c, n=name: prefill_rows(n, c)),
                      Unit(f"decode/{name}", lambda c, n=name: decode_rows(n, c)),
                      Unit(f"train/{name}", lambda c, n=name: train_rows(n, c))]
    return units


SUITE = Suite(name="throughput", plan=plan, docs=("000", "001", "002", "003", "004"), description=__doc__,
              question="How fast does each architecture prefill, decode and train on this machine, and what "
                       "fraction of the machine's matmul peak does it reach?")
