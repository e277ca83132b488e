"""Report pages for document 000's MVP roadmap: `mvp_<stage>.html` for MVP-1..4 (1, 3, 6, 12 superblocks) and
`mvp_compare.html`. Full-size numbers come from `suites.pages.mvp_figures`; the tiny-scale part of each page shows every
row the run measured for `hybrid-mvp<stage>-tiny` (throughput `tokens_per_s` with `extra.phase`, anything else) and
for the loss curves' 64-wide twin `hybrid-mvp<stage>~w64` (`train_loss`/`val_loss` with a step in shape or extra),
each linked to its suite page.
"""
from __future__ import annotations

import pandas as pd

from archs.presets.hybrid import MVP_STAGES
from harness.report import plots
from harness.report.render import Page, Section, Table, format_value
from harness.report.suite_page import loss_frame
from harness.report.tables import last_steps, shape_columns, shape_label
from suites.loss_curves import shrunk_label
from suites.memory import TRAIN_SHAPE
from suites.pages.mvp_figures import CONTEXTS, MEMORY_PRECISION, Stage, memory_table, row_link, stage_figures

GROUP = "MVP stages"
TABLE_LIMIT = 80
GB = 1e9                                      # decimal, as the documents and the tables write bytes


def mvp_pages(frame: pd.DataFrame) -> list[Page]:
    """One page per MVP stage, then the comparison page."""
    stages = [stage_figures(stage, frame) for stage in MVP_STAGES]
    return [stage_page(s, frame) for s in stages] + [compare_page(stages, frame)]


def _ctx(T: int) -> str:
    return f"{T // 1024}k"


def stage_page(s: Stage, frame: pd.DataFrame) -> Page:
    page = Page(name=f"mvp_{s.stage}", title=f"{s.label}: {s.superblocks} superblock{'s' * (s.superblocks > 1)}",
                group=GROUP, intro=f"Document 000's roadmap stage {s.stage}: the hybrid superblock ([Gated DeltaNet + "
                f"MoE], [GQA + MoE + MTP head]) repeated {s.superblocks}×, preset {s.arch} ({2 * s.superblocks} "
                f"decoder layers at d=8192); analysed from formulas, never built.")
    if s.error:
        page.sections.append(Section("Full-size figures unavailable", f"archs.analytic failed: {s.error}"))
    else:
        page.sections += [
            Section("Parameters", "archs.analytic.params: every tensor once; active = all but the routed experts, "
                    "plus routed × top_k / E.", Table(["part", "parameters"], [[k, format_value(v, "params")]
                                                                              for k, v in s.params.items()], {1})),
            Section("FLOPs per token", "Forward: matmuls, 2 FLOPs per multiply-add, causal attention at half the T² "
                    "products; training = 3 × forward including the MTP heads.",
                    Table(["context", "forward", "training"], [[_ctx(T), format_value(f, "FLOP"),
                                                                 format_value(t, "FLOP")]
                                                                for T, (f, t) in s.flops.items()], {1, 2})),
            Section("Decode state (batch 1, bf16)", "KV cache of the attention layers grows with the context; "
                    "the Gated DeltaNet state is fixed.", _cache_table(s)),
            Section(f"Training memory ({MEMORY_PRECISION}, B={TRAIN_SHAPE['B']}, T={TRAIN_SHAPE['T']})",
                    "Unsharded, one training step: bf16 weights and gradients, fp32 Adam m, v and master weights, "
                    "activations after Korthikanti et al. 2022 (34·T·B·D bytes per layer, no T² term, plus "
                    "logits).",
                    memory_table(s), anchor="memory")]
    page.sections += tiny_sections(frame, [s.stage], f"{s.arch}-tiny")
    if s.assumptions:
        page.sections.append(Section("Assumptions", "Where document 000 is silent, the preset assumes:",
                                     Table(["assumption"], [[a] for a in s.assumptions])))
    return page


def _cache_table(s: Stage) -> Table:
    kinds = sorted({k for parts in s.cache.values() for k in parts})
    rows = [[_ctx(T), *(format_value(parts.get(k, 0), "bytes") for k in kinds),
             format_value(sum(parts.values()), "bytes")] for T, parts in s.cache.items()]
    return Table(["context", *kinds, "total"], rows, set(range(1, len(kinds) + 2)))


def stage_archs(stages: list[int]) -> list[str]:
    """Arch labels of the stages' tiny-scale rows: the registered tiny preset and the loss curves' 64-wide twin."""
    return [arch for st in stages for arch in (f"hybrid-mvp{st}-tiny", shrunk_label(f"hybrid-mvp{st}"))]


def tiny_sections(frame: pd.DataFrame, stages: list[int], title: str) -> list[Section]:
    part = frame[frame.arch.isin(stage_archs(stages))]
    if part.empty:
        return [Section(f"Measured at tiny scale ({title})", "No rows for the tiny stage preset(s) in this run "
                        "(suites throughput / memory / loss curves with these archs did not run).")]
    out = []
    rate = part[(part.metric == "tokens_per_s") & (part.status == "ok")]
    if len(rate) and len(stages) > 1:
        out.append(Section("Tiny-scale throughput", "tokens/s at the largest measured T of each phase; the rows are "
                           "in the table below.", plot=_throughput_plot(rate, stages)))
    loss = loss_plot(frame, stages)
    if loss:
        out.append(Section("Tiny-scale loss curves", "Mean over seeds, band = ± 1 std where several seeds ran.",
                           plot=loss, wide=True))
    out.append(Section(f"Rows measured at tiny scale ({title})", "", rows_table(frame, part), anchor="tiny-rows"))
    return out


def _throughput_plot(rate: pd.DataFrame, stages: list[int]) -> str:
    rate = rate.assign(phase=rate.extra.map(lambda e: (e or {}).get("phase", "?")),
                       T=pd.to_numeric(rate.get("shape.T"), errors="coerce"))
    phases = sorted(rate.phase.unique())
    series = {}
    for phase in phases:
        values = []
        for st in stages:
            rows = rate[(rate.arch == f"hybrid-mvp{st}-tiny") & (rate.phase == phase)].sort_values("T")
            values.append(float(rows.value.iloc[-1]) if len(rows) else None)
        series[phase] = values
    return plots.grouped_bars([f"MVP-{st}" for st in stages], series, ylabel="tokens/s")


def rows_table(frame: pd.DataFrame, part: pd.DataFrame) -> Table:
    """The stage's rows, linked; loss curves reduced to their last step (every step is on the suite page)."""
    short = last_steps(part)
    note = "loss curves: last step of each seed only" if len(short) < len(part) else ""
    part = short
    shapes = shape_columns(part)
    rows = [[r.arch, r.suite, r.measure, r.metric, shape_label(r, shapes), (r.extra or {}).get("phase", ""),
             row_link(frame, idx, format_value(r.value, r.unit)) if r.status == "ok" else f"{r.status}: {r.reason}"]
            for idx, r in part.head(TABLE_LIMIT).iterrows()]
    if len(part) > TABLE_LIMIT:
        note = "; ".join(filter(None, [note, f"first {TABLE_LIMIT} of {len(part)} rows"]))
    return Table(["arch", "suite", "measure", "metric", "shape", "phase", "value"], rows, {6}, note=note)


def loss_plot(frame: pd.DataFrame, stages: list[int]) -> str | None:
    """Validation (else training) loss of the tiny stages against step/tokens/FLOPs/wall, seed bands."""
    parts = []
    for st in stages:
        rows = frame[frame.arch.isin(stage_archs([st])) & (frame.status == "ok")
                     & frame.metric.isin(["val_loss", "train_loss"])]
        if len(rows):
            metric = "val_loss" if (rows.metric == "val_loss").any() else "train_loss"
            parts.append(loss_frame(rows[rows.metric == metric]).assign(label=f"MVP-{st} {metric}"))
    data = pd.concat(parts) if parts else None
    if data is None or not (data.step.notna().any() or data.tokens.notna().any()):
        return None
    return plots.loss_curves(data)


def compare_page(stages: list[Stage], frame: pd.DataFrame) -> Page:
    page = Page(name="mvp_compare", title="MVP stages compared", group=GROUP,
                intro="Document 000's four roadmap stages side by side: size, compute, decode state and training "
                      "memory at full size (formulas), and what the tiny-scale twins measured in this run.")
    good = [s for s in stages if not s.error]
    for s in stages:
        if s.error:
            page.sections.append(Section(f"{s.label} unavailable", s.error))
    if good:
        T8, T32, T128 = 8192, 32768, 131072
        rows = [[s.label, str(s.superblocks), str(2 * s.superblocks), format_value(s.params["total"], "params"),
                 format_value(s.params["active per token"], "params"), format_value(s.flops[T8][0], "FLOP"),
                 format_value(sum(s.cache[T32].values()), "bytes"), format_value(sum(s.cache[T128].values()), "bytes"),
                 format_value(s.memory_total(True), "bytes")] for s in good]
        page.sections.append(Section("Overview", f"Training memory: {MEMORY_PRECISION}, full checkpointing, "
                                     f"B={TRAIN_SHAPE['B']}, T={TRAIN_SHAPE['T']}; decode state at batch 1, bf16.",
                                     Table(["stage", "superblocks", "layers", "parameters", "active", "fwd FLOP/token "
                                            "@8k", "decode state @32k", "@128k", "training memory (ckpt)"], rows,
                                           set(range(1, 9)))))
        labels = [s.label for s in good]
        page.sections += [
            Section("Parameters", plot=plots.grouped_bars(labels, {
                "total": [s.params["total"] / 1e9 for s in good],
                "active per token": [s.params["active per token"] / 1e9 for s in good]}, ylabel="billions")),
            Section("Decode state vs context", plot=plots.line_chart(pd.DataFrame(
                [{"label": s.label, "T": T, "value": sum(s.cache[T].values()) / GB} for s in good for T in CONTEXTS]),
                x="T", xlabel="context T (tokens)", ylabel="GB (batch 1, bf16)", q1=None, q3=None)),
            Section("Training memory by part", "No checkpointing; the activations part shrinks with checkpointing "
                    "(see each stage's page).", plot=plots.grouped_bars(labels, {
                        part: [s.memory[False][part][0] / GB for s in good] for part in good[0].memory[False]},
                        ylabel="GB", log=True))]
    page.sections += tiny_sections(frame, list(MVP_STAGES), "hybrid-mvp*-tiny")
    return page
