"""Memory: measured peaks of a forward, a training step and decoding on the tiny presets; analytic weights and
training memory (weights, gradients, Adam, activations with and without checkpointing) for every preset."""
from __future__ import annotations

import torch

from archs import ARCHS, analytic, get_config
from harness.store.machine import nvml_process_memory
from harness.measure.memory import peak_memory
from harness.suite import Context, Suite, Unit

TRAIN_SHAPE = {"B": 1, "T": 4096}


def analytic_rows(name: str, ctx: Context):
    cfg = get_config(name)
    total = analytic.params(cfg).total
    for precision, width in analytic.PRECISIONS.items():
        yield dict(case=name, arch=name, measure="weights", metric="model_bytes", value=total * width,
                   unit="bytes", stat="analytic", device="formula", dtype=precision,
                   method=f"parameters × {width} bytes", extra={"precision": precision})
    for precision in ("fp32", "bf16"):
        for ckpt in (False, True):
            parts = analytic.training_memory(cfg, TRAIN_SHAPE["B"], TRAIN_SHAPE["T"], precision, ckpt)
            for part, value in parts.items():
                yield dict(case=name, arch=name, measure=f"train_memory{'_ckpt' if ckpt else ''}",
                           metric="train_memory_bytes", value=value, unit="bytes", stat="analytic",
                           device="formula", dtype=precision, shape=TRAIN_SHAPE | {"part": part},
                           method="archs.analytic.training_memory (Korthikanti et al. 2022 activations)",
                           extra={"part": part, "checkpointing": ckpt})


def measured_rows(name: str, ctx: Context):
    cfg = get_config(name)
    torch.manual_seed(ctx.seed)
    model = cfg.build().to(ctx.device)
    B, T = 4, ctx.pick(128, 512)
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
        yield dict(case=name, arch=name, measure=f"peak_{phase}", metric="peak_bytes", value=peak.bytes,
                   unit="bytes", stat="exact", shape={"B": B, "T": T}, method=peak.method,
                   extra={"phase": phase, "reserved_bytes": peak.reserved_bytes, "nvml_process": nvml})


def plan(ctx: Context) -> list[Unit]:
    units = []
    for name in ARCHS.names():
        if not ctx.wants_arch(name):
            continue
        units.append(Unit(f"analytic/{name}", lambda c, n=name: analytic_rows(n, c)))
        if ARCHS.meta(name)["scale"] == "tiny":
            units.append(Unit(f"measured/{name}", lambda c, n=name: measured_rows(n, c)))
    return units


SUITE = Suite(name="memory", plan=plan, docs=("000", "002"), description=__doc__,
              question="How much memory do weights, training and decoding take, measured on the tiny presets "
                       "and from formulas at full size?")
