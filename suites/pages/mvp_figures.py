"""Full-size figures of document 000's MVP stages (MVP-1..4 = 1, 3, 6, 12 superblocks at d=8192), from
`archs.analytic` only (no model is built):

* parameters: total and active per token (routed experts counted at top_k/E), by component kind;
* FLOPs per token: forward (causal) and training (3 × forward incl. the MTP heads) at 2k/8k/32k/128k context;
* decode state at batch 1, bf16: KV cache of the GQA layers + the fixed Gated DeltaNet state, at those contexts;
* training memory at B=1, T=4096 (suites.memory.TRAIN_SHAPE), bf16 mixed precision: bf16 weights and gradients,
  fp32 Adam m, v and master copy, activations with and without full checkpointing
  (`archs.analytic.training_memory`, Korthikanti et al. 2022). Where the run holds the memory suite's
  `train_memory_bytes` rows for the stage, those rows are shown (linked) instead of this module's numbers.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from archs import analytic, get_config
from archs.presets.hybrid import MVP_STAGES
from harness.errors import one_line
from harness.report.render import Link, Table, format_value, slug
from harness.report.tables import row_anchor
from suites.memory import TRAIN_SHAPE

CONTEXTS = (2048, 8192, 32768, 131072)
MEMORY_PRECISION = "bf16"


@dataclass
class Stage:
    stage: int
    superblocks: int
    params: dict[str, int] = field(default_factory=dict)           # total, active per token, <kind>...
    flops: dict[int, tuple[float, float]] = field(default_factory=dict)     # T -> (forward, training) per token
    cache: dict[int, dict[str, int]] = field(default_factory=dict)          # T -> {kind: bytes}
    memory: dict[bool, dict[str, tuple[float, Link | None]]] = field(default_factory=dict)  # ckpt -> part -> value
    assumptions: tuple[str, ...] = ()
    error: str = ""

    @property
    def arch(self) -> str:
        return f"hybrid-mvp{self.stage}"

    @property
    def label(self) -> str:
        return f"MVP-{self.stage}"

    def memory_total(self, ckpt: bool) -> float:
        return sum(value for value, _ in self.memory[ckpt].values())


def row_link(frame: pd.DataFrame, idx, text: str) -> Link:
    return Link(text, f"suite_{slug(frame.loc[idx, 'suite'])}.html#{row_anchor(idx)}")


def stage_figures(stage: int, frame: pd.DataFrame) -> Stage:
    out = Stage(stage, MVP_STAGES[stage])
    try:
        cfg = get_config(out.arch)
        p = analytic.params(cfg)
        out.params = {"total": p.total, "active per token": p.active, **p.by_kind}
        out.flops = {T: (analytic.flops_per_token(cfg, T), analytic.flops_per_token(cfg, T, training=True))
                     for T in CONTEXTS}
        out.cache = {T: analytic.cache_bytes(cfg, 1, T, 2) for T in CONTEXTS}
        out.assumptions = cfg.assumptions
        for ckpt in (False, True):
            parts = analytic.training_memory(cfg, TRAIN_SHAPE["B"], TRAIN_SHAPE["T"], MEMORY_PRECISION, ckpt)
            out.memory[ckpt] = {part: (float(v), None) for part, v in parts.items()} | _memory_rows(frame, out.arch,
                                                                                                   ckpt)
    except Exception as err:  # noqa: BLE001 - a broken formula is shown on the page, the report still renders
        out.error = one_line(err)
    return out


def _memory_rows(frame: pd.DataFrame, arch: str, ckpt: bool) -> dict[str, tuple[float, Link]]:
    """The memory suite's rows for this stage (same formula, measured in the run): they replace ours, linked."""
    rows = frame[(frame.metric == "train_memory_bytes") & (frame.arch == arch) & (frame.status == "ok")
                 & (frame.dtype == MEMORY_PRECISION)]
    out = {}
    for idx, r in rows.iterrows():
        extra = r.extra if isinstance(r.extra, dict) else {}
        if extra.get("checkpointing") == ckpt and extra.get("part"):
            out[extra["part"]] = (float(r.value), row_link(frame, idx, format_value(r.value, "bytes")))
    return out


def memory_table(s: Stage) -> Table:
    def cell(ckpt: bool, part: str):
        value, link = s.memory[ckpt].get(part, (None, None))
        return link or format_value(value, "bytes")

    parts = list(dict.fromkeys([*s.memory[False], *s.memory[True]]))
    rows = [[part, cell(False, part), cell(True, part),
             "run row (suite memory)" if s.memory[False].get(part, (0, None))[1] else "formula here"]
            for part in parts]
    rows.append(["total", format_value(s.memory_total(False), "bytes"), format_value(s.memory_total(True), "bytes"),
                 ""])
    return Table(columns=["part", "no checkpointing", "full checkpointing", "source"], rows=rows, num={1, 2})
