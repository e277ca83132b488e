"""Memory: measured peaks of a forward, a training step and decoding on the tiny presets; analytic weights and
training memory (weights, gradients, Adam, activations with and without checkpointing) for every preset.

Sizes: the analytic training memory is at B=1, T=4096 in every profile; the measured peaks at B=4 and the
profile's T (SIZES), decoding 8 tokens after a prefill of T/2.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from archs import analytic, get_config
from harness.store.machine import nvml_process_memory
from harness.measure.memory import peak_memory
from harness.suite import Context, PerProfile, Suite, Unit
from harness.report.headline import Headline
from suites.per_arch import ArchUnits, analysed_presets, arch_plan, provenance

TRAIN_SHAPE = {"B": 1, "T": 4096}


@dataclass(frozen=True)
class Sizes:
    T: int                              # tokens per sequence of the measured forward and training step


SIZES = PerProfile(smoke=Sizes(T=16), quick=Sizes(T=128), standard=Sizes(T=512), full=Sizes(T=512))


def analytic_rows(name: str, ctx: Context):
    yield from memory_rows(name, get_config(name))


def memory_rows(name: str, cfg):
    """The analytic rows of one config labelled `name` (also `archbench compare-archs`' memory columns)."""
    total, config = analytic.params(cfg).total, provenance(cfg)
    for precision, width in analytic.PRECISIONS.items():
        yield dict(case=name, arch=name, config=config, measure="weights", metric="model_bytes", value=total * width,
                   unit="bytes", stat="analytic", device="formula", dtype=precision,
                   method=f"parameters × {width} bytes", extra={"precision": precision})
    for precision in ("fp32", "bf16"):
        for ckpt in (False, True):
            parts = analytic.training_memory(cfg, TRAIN_SHAPE["B"], TRAIN_SHAPE["T"], precision, ckpt)
            for part, value in parts.items():
                yield dict(case=name, arch=name, config=config, measure=f"train_memory{'_ckpt' if ckpt else ''}",
                           metric="train_memory_bytes", value=value, unit="bytes", stat="analytic",
                           device="formula", dtype=precision, shape=TRAIN_SHAPE | {"part": part},
                           method="archs.analytic.training_memory (Korthikanti et al. 2022 activations)",
                           extra={"part": part, "checkpointing": ckpt})


def measured_rows(name: str, ctx: Context):
    cfg = get_config(name)
    torch.manual_seed(ctx.seed)
    model = cfg.build().to(ctx.device)
    B, T = 4, SIZES[ctx.profile].T
    idx = torch.randint(0, cfg.vocab_size, (B, T + 1), device=ctx.device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def forward():
        with torch.no_grad():
            model(idx[:, :T])

    def train_step():
        opt.zero_grad(set_to_none=True)
        model.loss(idx[:, :T], idx[:, 1:])["loss"].backward()
        opt.step()

    def decode():
        cache = model.new_cache()
        with torch.no_grad():
            model(idx[:, : T // 2], cache)
            for t in range(T // 2, T // 2 + 8):
                model(idx[:, t:t + 1], cache)

    train_step()                               # optimizer state exists before measuring, as in a real run
    for phase, fn in (("forward", forward), ("train_step", train_step), ("decode", decode)):
        peak = peak_memory(fn, ctx.device)
        nvml = nvml_process_memory() if ctx.device.startswith("cuda") else {}   # the driver's view of the process
        yield dict(case=name, arch=name, config=provenance(cfg), measure=f"peak_{phase}", metric="peak_bytes",
                   value=peak.bytes, unit="bytes", stat="exact", shape={"B": B, "T": T}, method=peak.method,
                   extra={"phase": phase, "reserved_bytes": peak.reserved_bytes, "nvml_process": nvml})


def plan(ctx: Context) -> list[Unit]:
    return arch_plan(ctx, ArchUnits("analytic", analytic_rows), ArchUnits("measured", measured_rows, tiny_only=True))


HEADLINE = Headline(
    title="Training memory at B=1, T=4096 in bf16: weights, gradients, optimizer, activations, "
          "without and with activation checkpointing",
    kind="stacked", metric="train_memory_bytes", x="arch", series="shape.part", panels="extra.checkpointing",
    where={"dtype": "bf16", "arch": analysed_presets()}, y_label="bytes")

SUITE = Suite(name="memory", plan=plan, sizes=SIZES, docs=("000", "002"), description=__doc__,
              headline=HEADLINE,
              question="How much memory do weights, training and decoding take, measured on the tiny presets "
                       "and from formulas at full size?")
