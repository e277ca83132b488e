"""Architectures side by side: one column per architecture, read from a results frame (a run's, or the rows
`archbench compare-archs` writes), rendered as `archs.html`.

The table's lines, each read from one suite's rows:
- parameters (params_flops): total, active per token, non-embedding (the module-tree count where the run has it,
  else the formula), and by component (`params_<kind>`);
- FLOPs per token (params_flops, analytic, causal): forward and training, at each context the rows have;
- decode state (kv_cache, analytic, batch 1, bf16) at each context (2k/8k/32k/128k);
- training memory (memory, analytic, one sequence of 4096 tokens): weights, gradients, optimizer and activations
  at bf16, the total at fp32 and bf16, and the bf16 total with activation checkpointing;
- measured on this machine (the runnable tiny presets only): prefill (at its longest T), decode and training
  tokens/s (throughput), peak memory of a training step and of decoding (memory);
- loss (loss_curves): final validation loss, mean over seeds, of each architecture shrunk to the matched parameter
  budget and trained to the matched FLOP budget, in the column of the preset it was shrunk from.
A line no architecture has is left out. Figures (`harness.report.archs_figures`): the share of parameters by
component, and decode state against context.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from harness.report import archs_figures
from harness.report.tables import Link, Table
from harness.report.verdicts import environment_context, run_header
from harness.store.columns import column
from harness.store.units import format_value, plain

ARCHS_PAGE = "archs.html"
ARCH_SUITES = ("params_flops", "kv_cache", "memory", "throughput")
PARAM_LINES = (("params_total", "total"), ("params_active", "active per token"),
               ("params_non_embedding", "non-embedding"))
STAT_ORDER = ("exact", "median", "analytic")          # a counted or measured number before a formula's
TRAIN_PARTS = ("weights", "gradients", "optimizer", "activations")
LOSS_GROUPS = (("loss_arch_params", "at matched parameters"), ("loss_arch_flops", "at matched FLOPs"))


@dataclass(frozen=True)
class Cell:
    value: float
    unit: str
    index: Any                                         # the frame index of the row behind it
    suite: str


Line = tuple[str, dict[str, Cell]]                     # (label, column -> cell)
RowLink = Callable[[str, Any], str | None]             # (suite, row index) -> href, or None for plain text


def arch_columns(frame: pd.DataFrame) -> list[str]:
    """The architectures of the frame, in the order their rows first appear (params_flops first)."""
    ok = frame[frame.status == "ok"]
    per_arch = ok[ok.suite.isin(ARCH_SUITES) & (ok.arch != "")]
    ordered = pd.concat([per_arch[per_arch.suite == "params_flops"], per_arch])
    loss = ok[ok.measure.isin([m for m, _ in LOSS_GROUPS])]
    return list(dict.fromkeys([*ordered.arch, *loss.case]))


def _cells(rows: pd.DataFrame, key: str = "arch") -> dict[str, Cell]:
    """One cell per architecture: its row with the best-ranked stat (STAT_ORDER), the first among equals."""
    rank = rows["stat"].map(lambda s: STAT_ORDER.index(s) if s in STAT_ORDER else len(STAT_ORDER))
    cells: dict[str, Cell] = {}
    for index, row in rows.assign(_rank=rank).sort_values("_rank", kind="stable").iterrows():
        cells.setdefault(row[key], Cell(row["value"], row["unit"], index, row["suite"]))
    return cells


def _summed(rows: pd.DataFrame, by: str = "arch") -> dict[str, Cell]:
    """The sum of the rows' values per architecture (the parts of one total), linked to the first row."""
    return {arch: Cell(part["value"].sum(), part["unit"].iloc[0], part.index[0], part["suite"].iloc[0])
            for arch, part in rows.groupby(by, sort=False)}


def _shape(rows: pd.DataFrame, key: str) -> list[Any]:
    return sorted({plain(v) for v in column(rows, key).dropna()})


def parameter_lines(ok: pd.DataFrame) -> list[Line]:
    lines = [(f"parameters, {label}", _cells(ok[ok.metric == metric])) for metric, label in PARAM_LINES]
    kinds = ok[ok.metric.str.startswith("params_") & column(ok, "extra.kind").notna()]
    for kind in dict.fromkeys(column(kinds, "extra.kind")):
        lines.append((f"component: {kind}", _cells(kinds[column(kinds, "extra.kind") == kind])))
    return lines


def flop_lines(ok: pd.DataFrame) -> list[Line]:
    rows = ok[ok.measure == "flops_analytic_causal"]
    return [(f"{what} FLOPs per token, T {T}", _cells(rows[(rows.metric == metric) & (rows["shape.T"] == T)]))
            for metric, what in (("flops_fwd_per_token", "forward"), ("flops_train_per_token", "training"))
            for T in _shape(rows, "shape.T")]


def decode_state_lines(ok: pd.DataFrame) -> list[Line]:
    rows = _decode_state(ok)
    return [(f"decode state at {archs_figures.context_label(T)} tokens", _cells(rows[rows["shape.T"] == T]))
            for T in _shape(rows, "shape.T")]


def _decode_state(ok: pd.DataFrame) -> pd.DataFrame:
    rows = ok[(ok.metric == "kv_bytes") & (ok.measure == "kv_analytic") & (ok.dtype == "bfloat16")]
    return rows[column(rows, "shape.B") == 1]


def training_memory_lines(ok: pd.DataFrame) -> list[Line]:
    rows = ok[ok.metric == "train_memory_bytes"]
    plain_bf16 = rows[(rows.measure == "train_memory") & (rows.dtype == "bf16")]
    shape = "".join(f" {k}{v[0]}" for k in ("B", "T") if len(v := _shape(rows, f"shape.{k}")) == 1)
    lines = [(f"training memory{shape}, {part} (bf16)", _cells(plain_bf16[column(plain_bf16, "extra.part") == part]))
             for part in TRAIN_PARTS]
    for measure, dtype, label in (("train_memory", "fp32", "total (fp32)"), ("train_memory", "bf16", "total (bf16)"),
                                  ("train_memory_ckpt", "bf16", "total with checkpointing (bf16)")):
        lines.append((f"training memory{shape}, {label}",
                      _summed(rows[(rows.measure == measure) & (rows.dtype == dtype)])))
    return lines


def measured_lines(ok: pd.DataFrame) -> list[Line]:
    """Tokens/s of the throughput suite (prefill at its longest T) and the memory suite's measured peaks."""
    lines = []
    for suite, metric, phases, what in (("throughput", "tokens_per_s", ("prefill", "decode", "train"), "tokens/s"),
                                        ("memory", "peak_bytes", ("train_step", "decode"), "peak memory")):
        rows = ok[(ok.metric == metric) & (ok.suite == suite)]
        for phase in phases:
            part = rows[column(rows, "extra.phase") == phase]
            if phase == "prefill" and len(part):
                part = part[column(part, "shape.T") == max(_shape(part, "shape.T"))]
            lines.append((f"measured {phase.replace('_', ' ')} {what}{_common_shape(part)}", _cells(part)))
    return lines


def _common_shape(rows: pd.DataFrame) -> str:
    """" (B4-T128)" when every row has that batch and length, else ""."""
    shapes = {"-".join(f"{k}{plain(r[f'shape.{k}'])}" for k in ("B", "T") if f"shape.{k}" in r and
                       pd.notna(r[f"shape.{k}"])) for _, r in rows.iterrows()}
    return f" ({shapes.pop()})" if len(shapes) == 1 else ""


def loss_lines(ok: pd.DataFrame) -> list[Line]:
    lines = []
    for measure, label in LOSS_GROUPS:
        rows = ok[(ok.measure == measure) & (ok.metric == "val_loss")]
        if rows.empty:
            continue
        last = rows[rows["shape.step"] == rows.groupby(["case", "shape.seed"])["shape.step"].transform("max")]
        means = last.groupby("case", sort=False)["value"].mean()
        cells = _cells(last, key="case")
        lines.append((f"final validation loss {label} (mean of {last.groupby('case').size().max()} seed(s))",
                      {case: Cell(means[case], "nats", cell.index, cell.suite) for case, cell in cells.items()}))
    return lines


@dataclass(frozen=True)
class Group:
    title: str
    lines: Callable[[pd.DataFrame], list[Line]]
    note: str = ""


GROUPS = (
    Group("Parameters", parameter_lines, "counted on the module tree where the run has it, else the formula"),
    Group("FLOPs per token", flop_lines, "formula: 2 FLOPs per multiply-add, matmuls only, causal attention halved; "
                                         "training = 3 × forward"),
    Group("Decode state (batch 1, bf16)", decode_state_lines, "formula, equal to the bytes the tiny presets' "
                                                              "caches hold (suite kv_cache)"),
    Group("Training memory (analytic, no sharding)", training_memory_lines,
          "weights and gradients at the training precision, Adam's fp32 moments (and master copy), activations "
          "after Korthikanti et al. 2022"),
    Group("Measured on this machine (the runnable presets)", measured_lines,
          "only the tiny presets run here; a full-size preset's runnable twin is its family's -tiny column"),
    Group("Loss on real text (each architecture shrunk to 64 wide)", loss_lines,
          "suite loss_curves, the same batches for every architecture: matched parameters = one non-embedding "
          "budget and the profile's steps; matched FLOPs = steps that spend the base model's training FLOPs"))


def archs_context(frame: pd.DataFrame, link: RowLink = lambda suite, index: None) -> dict[str, Any] | None:
    """What archs.html.j2 shows: the columns, one table per group of lines, the figures; None when the frame has
    no architecture rows."""
    ok = frame[(frame.status == "ok") & frame["value"].notna()]
    names = arch_columns(frame)
    if not names:
        return None

    def text(cell: Cell | None) -> Any:
        if cell is None:
            return "—"
        shown = format_value(cell.value, cell.unit)
        href = link(cell.suite, cell.index)
        return Link(shown, href) if href else shown

    groups = []
    for group in GROUPS:
        lines = [(label, cells) for label, cells in group.lines(ok) if cells]
        if lines:
            rows = [[label, *(text(cells.get(name)) for name in names)] for label, cells in lines]
            groups.append((group.title, Table(["", *names], rows, num=set(range(1, len(names) + 1)),
                                              note=group.note)))
    return {"columns": names, "groups": groups, "figures": figures(ok, names)}


def figures(ok: pd.DataFrame, names: list[str]) -> list[tuple[str, str]]:
    """(caption, svg) of the parameter shares by component and of decode state against context, each when the
    rows have it."""
    by_kind = {label.removeprefix("component: "): cells for label, cells in parameter_lines(ok)[len(PARAM_LINES):]}
    totals = _cells(ok[ok.metric == "params_total"])
    shares = {n: {kind: cells[n].value for kind, cells in by_kind.items() if n in cells} for n in names if n in totals}
    shares = {n: parts for n, parts in shares.items() if parts}
    rows = _decode_state(ok)
    states = {n: list(zip(rows.loc[rows.arch == n, "shape.T"].astype(float), rows.loc[rows.arch == n, "value"]))
              for n in names if (rows.arch == n).any()}
    out = []
    if shares:
        out.append(("Parameters by component, as shares of each architecture's total (total at the right)",
                    archs_figures.parameter_shares(shares, {n: totals[n].value for n in shares})))
    if states:
        out.append(("Decode state per sequence against context (batch 1, bf16, log-log)",
                    archs_figures.decode_state(states)))
    return out


def write_archs_page(env, out_dir: Path, frame: pd.DataFrame, common: dict[str, Any], *, name: str = ARCHS_PAGE,
                     link: RowLink = lambda suite, index: None, intro: str = "") -> Path | None:
    """Render the page as `name` into `out_dir` with the report's jinja environment and base context (run id,
    header, navigation); returns its path, or None (no page) when the frame has no architecture rows."""
    context = archs_context(frame, link)
    if context is None:
        return None
    path = Path(out_dir) / name
    path.write_text(env.get_template("archs.html.j2").render(**common, page=name, archs=context, intro=intro),
                    encoding="utf-8")
    return path


def write_comparison(env, out_dir: Path, frame: pd.DataFrame, info: dict[str, Any], intro: str) -> Path | None:
    """`archbench compare-archs`' own folder (beside its rows.jsonl and run.json): the page as index.html and the
    environment page its navigation links to."""
    out_dir = Path(out_dir)
    common = {"run_id": out_dir.name, "header": run_header(out_dir.name, info),
              "nav": {"docs": [], "suites": [], "groups": []}}
    (out_dir / "environment.html").write_text(env.get_template("environment.html.j2").render(
        **common, page="environment.html", env=environment_context(info, frame, lambda suite: "index.html")),
        encoding="utf-8")
    return write_archs_page(env, out_dir, frame, common, name="index.html", intro=intro)
