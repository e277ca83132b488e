"""Runs suites into a results store: progress per unit, failures recorded with their reason, finished units
skipped on a rerun of the same run."""
from __future__ import annotations

import sys
import time
import traceback
from typing import Any, Iterable, TextIO

from harness.errors import one_line
from harness.store.machine import nvml_snapshot
from harness.store.results import ResultStore, Row
from harness.suite import Context, Suite


def complete_row(suite: Suite, ctx: Context, fields: dict[str, Any]) -> Row:
    """Fill in what every row of a run shares; a unit's own fields win. GPU rows also carry an NVML snapshot
    (power, SM and memory clocks, temperature) taken as the row is written, to spot throttling."""
    base = {"run_id": ctx.run_id, "suite": suite.name, "device": ctx.device, "dtype": ctx.dtype,
            "threads": ctx.threads}
    row = {**base, **fields}
    if str(row["device"]).startswith("cuda"):
        row["extra"] = {**row.get("extra", {}), "nvml": nvml_snapshot()}
    return Row(**row)


def run_suite(suite: Suite, ctx: Context, store: ResultStore, *, redo: bool = False,
              log: TextIO | None = None) -> dict[str, int]:
    """Runs every unit of the suite's plan; returns counts of ok / failed / skipped units. Progress goes to
    `log` (default: the current sys.stderr)."""
    log = log or sys.stderr
    counts = {"ok": 0, "failed": 0, "skipped": 0}
    try:
        units = suite.plan(ctx)
    except Exception as err:                     # a plan that cannot even be made is one failed row
        store.append(complete_row(suite, ctx, dict(case="(plan)", measure="plan", metric="error", value=None,
                                                   unit="", status="failed", reason=one_line(err))))
        print(f"[{suite.name}] plan failed: {one_line(err)}", file=log, flush=True)
        counts["failed"] += 1
        return counts
    for i, unit in enumerate(units, 1):
        prefix = f"[{suite.name} {i}/{len(units)}] {unit.key}"
        if not redo and store.is_done(suite.name, unit.key):
            counts["skipped"] += 1
            continue
        start = time.perf_counter()
        ctx.emit = lambda fields: store.append(complete_row(suite, ctx, fields))
        try:
            for fields in unit.run(ctx):
                store.append(complete_row(suite, ctx, fields))
        except Exception as err:                 # recorded with its reason; the other units go on
            store.append(complete_row(suite, ctx, dict(case=unit.key, measure="unit", metric="error",
                                                       value=None, unit="", status="failed",
                                                       reason=one_line(err),
                                                       extra={"traceback": traceback.format_exc(limit=4)})))
            print(f"{prefix}  FAILED: {one_line(err)}", file=log, flush=True)
            counts["failed"] += 1
            continue
        store.mark_done(suite.name, unit.key)
        counts["ok"] += 1
        print(f"{prefix}  {time.perf_counter() - start:.1f}s", file=log, flush=True)
    return counts


def run_suites(suites: Iterable[Suite], ctx: Context, store: ResultStore, *, redo: bool = False,
               log: TextIO | None = None) -> dict[str, dict[str, int]]:
    log = log or sys.stderr
    summary = {}
    for suite in suites:
        start = time.perf_counter()
        summary[suite.name] = counts = run_suite(suite, ctx, store, redo=redo, log=log)
        print(f"[{suite.name}] done in {time.perf_counter() - start:.1f}s: {counts['ok']} ok, "
              f"{counts['failed']} failed, {counts['skipped']} already done", file=log, flush=True)
    return summary
