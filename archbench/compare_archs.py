"""`archbench compare-archs A B ...`: the architectures-side-by-side page for any presets or config.json files,
written into its own folder from the formulas in seconds (rows.jsonl, run.json, index.html, environment.html).

For each architecture it writes the rows the page reads (`harness.report.archs_page`), from the formulas only.

Parameters and FLOPs per token come from `archs.analytic` (the params_flops suite's "analytic" rows: same metrics,
measures and stat); decode state and training memory are the kv_cache and memory suites' own analytic rows
(`cache_rows`, `memory_rows`), so the page reads the same rows here as in a run. `--measure` runs the suites whose
units measure the runnable (tiny) presets among them: `MEASURED_SUITES`.
"""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable

from archs import ARCHS, analytic
from harness.errors import ArchbenchError
from harness.report.archs_page import write_comparison
from harness.report.render import environment
from harness.runner import run_suites
from harness.store.machine import run_metadata
from harness.store.results import DONE, ROWS, RUN_INFO, ResultStore, load_frame, read_run_info
from harness.suite import Context
from suites import SUITES
from suites.kv_cache import cache_rows
from suites.memory import memory_rows
from suites.per_arch import is_tiny, provenance

FLOPS_T = 2048                                   # context of the FLOPs-per-token column
MEASURED_SUITES = ("throughput", "memory")       # what --measure runs, for the tiny presets only
EMBEDDING_KINDS = ("embedding", "output", "positions")
COMMAND = "compare-archs"


def column_label(target: str) -> str:
    """The column of a preset name (the name) or a config.json (its folder's name when the file is called
    config.json, else the file's stem)."""
    if target.endswith(".json") or os.path.isdir(target):
        path = Path(target)
        return (path.name if path.is_dir() else path.parent.name if path.name == "config.json" else path.stem) or target
    return target


def param_rows(label: str, cfg) -> Iterable[dict[str, Any]]:
    p = analytic.params(cfg)
    base = dict(case=label, arch=label, measure="params_formula", unit="params", stat="analytic", device="formula",
                method="sum of component formulas (archs.analytic)", config=provenance(cfg))
    non_embedding = p.total - sum(p.by_kind.get(kind, 0) for kind in EMBEDDING_KINDS)
    for metric, value in (("params_total", p.total), ("params_active", p.active),
                          ("params_non_embedding", non_embedding)):
        yield base | dict(metric=metric, value=value)
    for kind, n in sorted(p.by_kind.items()):
        yield base | dict(metric=f"params_{kind}", value=n, extra={"kind": kind})


def flop_rows(label: str, cfg, T: int = FLOPS_T) -> Iterable[dict[str, Any]]:
    base = dict(case=label, arch=label, measure="flops_analytic_causal", unit="FLOP", stat="analytic",
                device="formula", shape={"T": T}, config=provenance(cfg))
    yield base | dict(metric="flops_fwd_per_token", value=analytic.flops_per_token(cfg, T),
                      method="Megatron: 2/MAC, matmuls only, causal T² halved")
    yield base | dict(metric="flops_train_per_token", value=analytic.flops_per_token(cfg, T, training=True),
                      method="3 × forward incl. MTP heads (Megatron)")


SOURCES = (("params_flops", param_rows), ("params_flops", flop_rows), ("kv_cache", cache_rows),
           ("memory", memory_rows))


def analytic_rows(label: str, cfg) -> Iterable[tuple[str, dict[str, Any]]]:
    """(suite, row fields) of every analytic row of one architecture, labelled `label`."""
    for suite, rows in SOURCES:
        for fields in rows(label, cfg):
            yield suite, fields


def measurable(labels: Iterable[str]) -> list[str]:
    """The presets among `labels` that run here (scale "tiny"); config files and full-size presets do not."""
    return [label for label in labels if label in ARCHS and is_tiny(label)]


def check_distinct(labels: list[str]) -> None:
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise ArchbenchError(f"compare-archs: {', '.join(repeated)} named twice (one column per architecture)")


def comparison_store(out: Path) -> ResultStore:
    """The folder's store, emptied of a previous comparison's rows; a folder holding anything else's rows is
    refused (one line), so a results run is never overwritten."""
    if (out / ROWS).exists():
        try:
            previous = read_run_info(out).get("command")
        except ArchbenchError:
            previous = None
        if previous != COMMAND:
            raise ArchbenchError(f"--out {out} holds rows.jsonl not written by {COMMAND}; pass another folder")
        for name in (ROWS, DONE, RUN_INFO):
            (out / name).unlink(missing_ok=True)
    return ResultStore(out.parent, out.name)


def compare_archs(targets: list[tuple[str, Any]], out: Path, *, measure: bool, ctx: Context) -> tuple[Path, str]:
    """Write every target's analytic rows into `out` (a run-like folder: rows.jsonl, run.json), with `measure`
    run MEASURED_SUITES for the runnable ones, and render the page; returns (index.html, what was measured)."""
    labels = [label for label, _ in targets]
    check_distinct(labels)
    store = comparison_store(out)
    info = store.record_run_info(run_metadata() | {"command": COMMAND, "archs": labels, "profile": ctx.profile})
    for label, cfg in targets:
        for suite, fields in analytic_rows(label, cfg):
            store.append(store.row(suite=suite, **fields))
    runnable = measurable(labels)
    if measure and runnable:
        ctx = replace(ctx, run_id=store.run_id, archs=frozenset(runnable), run_dir=store.run_dir)
        run_suites([SUITES.get(name) for name in MEASURED_SUITES], ctx, store)
    note = (f"measured {', '.join(runnable)} ({', '.join(MEASURED_SUITES)} suites, {ctx.profile} profile)"
            if measure and runnable else
            f"--measure would run the {', '.join(MEASURED_SUITES)} suites for {', '.join(runnable)}" if runnable else
            "no runnable (tiny) preset among them: analytic columns only")
    page = write_comparison(environment(), out, load_frame(out), info,
                            intro=f"{COMMAND} {' '.join(labels)}: formulas for every column; {note}.")
    return page, note
