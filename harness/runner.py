"""Runs suites into a results store: failures recorded with their reason, finished units skipped on a rerun of
the same run, and progress: one bar for the whole run (units done of all the suites' units, with an ETA;
`harness.progress`, shown on a terminal only) and one log line per unit, kept for the log."""
from __future__ import annotations

import time
import traceback
from typing import Any, Iterable, TextIO

from harness.errors import one_line
from harness.progress import log_line, progress_bar
from harness.store.machine import nvml_snapshot
from harness.store.results import ResultStore, Row
from harness.suite import Context, Suite, Unit


def complete_row(suite: Suite, ctx: Context, fields: dict[str, Any]) -> Row:
    """Fill in what every row of a run shares; a unit's own fields win. GPU rows also carry an NVML snapshot
    (power, SM and memory clocks, temperature) taken as the row is written, to spot throttling."""
    base = {"run_id": ctx.run_id, "suite": suite.name, "device": ctx.device, "dtype": ctx.dtype,
            "threads": ctx.threads}
    row = {**base, **fields}
    if str(row["device"]).startswith("cuda"):
        row["extra"] = {**row.get("extra", {}), "nvml": nvml_snapshot()}
    return Row(**row)


PLAN_FAILED = {"ok": 0, "failed": 1, "skipped": 0}      # the counts of a suite whose plan raised


def plan_suite(suite: Suite, ctx: Context, store: ResultStore, log: TextIO | None = None) -> list[Unit] | None:
    """The suite's units; None when the plan cannot even be made (recorded as one failed row, and logged)."""
    try:
        return suite.plan(ctx)
    except Exception as err:
        store.append(complete_row(suite, ctx, dict(case="(plan)", measure="plan", metric="error", value=None,
                                                   unit="", status="failed", reason=one_line(err))))
        log_line(f"[{suite.name}] plan failed: {one_line(err)}", log)
        return None


def run_suite(suite: Suite, ctx: Context, store: ResultStore, *, redo: bool = False,
              log: TextIO | None = None, units: list[Unit] | None = None, bar: Any = None) -> dict[str, int]:
    """Runs every unit of the suite's plan (or the `units` already planned); returns counts of ok / failed /
    skipped units. Log lines go to `log` (default: the current sys.stderr); `bar` (a tqdm bar) advances by one
    per unit, finished or skipped."""
    counts = {"ok": 0, "failed": 0, "skipped": 0}
    units = units if units is not None else plan_suite(suite, ctx, store, log)
    if units is None:
        return dict(PLAN_FAILED)
    for i, unit in enumerate(units, 1):
        if bar is not None:
            bar.set_postfix_str(f"{suite.name} {unit.key}")
        outcome = _run_unit(suite, unit, ctx, store, redo=redo, log=log,
                            prefix=f"[{suite.name} {i}/{len(units)}] {unit.key}")
        counts[outcome] += 1
        if bar is not None:
            bar.update(1)
    return counts


def _run_unit(suite: Suite, unit: Unit, ctx: Context, store: ResultStore, *, redo: bool, log: TextIO | None,
              prefix: str) -> str:
    """Run one unit into the store: "ok", "failed" (its failure recorded as a row) or "skipped" (done before)."""
    if not redo and store.is_done(suite.name, unit.key):
        return "skipped"
    start = time.perf_counter()
    ctx.emit = lambda fields: store.append(complete_row(suite, ctx, fields))
    try:
        for fields in unit.run(ctx):
            store.append(complete_row(suite, ctx, fields))
    except Exception as err:                     # recorded with its reason; the other units go on
        store.append(complete_row(suite, ctx, dict(case=unit.key, measure="unit", metric="error", value=None,
                                                   unit="", status="failed", reason=one_line(err),
                                                   extra={"traceback": traceback.format_exc(limit=4)})))
        log_line(f"{prefix}  FAILED: {one_line(err)}", log)
        return "failed"
    store.mark_done(suite.name, unit.key)
    log_line(f"{prefix}  {time.perf_counter() - start:.1f}s", log)
    return "ok"


def run_suites(suites: Iterable[Suite], ctx: Context, store: ResultStore, *, redo: bool = False,
               log: TextIO | None = None) -> dict[str, dict[str, int]]:
    """Plans every suite first, so the run's bar knows its total, then runs them in order."""
    planned = [(suite, plan_suite(suite, ctx, store, log)) for suite in suites]
    summary = {}
    with progress_bar(sum(len(units or ()) for _, units in planned), "archbench run") as bar:
        for suite, units in planned:
            start = time.perf_counter()
            summary[suite.name] = counts = dict(PLAN_FAILED) if units is None else \
                run_suite(suite, ctx, store, redo=redo, log=log, units=units, bar=bar)
            log_line(f"[{suite.name}] done in {time.perf_counter() - start:.1f}s: {counts['ok']} ok, "
                     f"{counts['failed']} failed, {counts['skipped']} already done", log)
    return summary
