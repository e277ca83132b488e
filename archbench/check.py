"""`archbench check PATH [PATH...]`: judge the claims of document folders and write their report.

Runs the suites the documents' claims name (`suites = [...]` in a claim) at `--profile`, in a fresh run under
`--results`, judges only those documents' claims and renders the report of those documents into `--out`. With
`--analytic` nothing is timed or trained: no suite runs (ANALYTIC_SUITES, suites of formula rows only, is empty:
every formula is a claim's expression over the generic quantities), so every claim answered by those quantities
or by arithmetic is judged in seconds; a claim that needs a measurement says which suite would answer it. Prints one line per document with its verdict counts.
"""
from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Any

import torch

from archbench import preflight
from archbench.documents import load_documents
from harness.claims.load import Document
from harness.claims.model import judge_run
from harness.errors import ArchbenchError
from harness.report.render import render_run
from harness.runner import run_suites
from harness.store.lock import results_lock
from harness.store.machine import run_metadata
from harness.store.results import ResultStore
from harness.store.verdicts import VerdictRecord
from harness.suite import Context
from suites import SUITES

ANALYTIC_SUITES: tuple[str, ...] = ()   # suites of formula rows only; none: every formula is a claim's expression


def suites_needed(documents: list[Document], analytic: bool) -> list[str]:
    """The registered suites the documents' claims name, in the registry's order (`analytic`: formula suites only).
    An unknown suite name is an error naming the claim."""
    named: dict[str, str] = {}
    for document in documents:
        for claim in document.claims:
            for suite in claim.suites:
                if suite not in SUITES:
                    raise ArchbenchError(f"{document.folder}: claim {claim.id!r} names suite {suite!r}, which does "
                                         f"not exist (known: {', '.join(SUITES.names())})")
                named.setdefault(suite, claim.id)
    return [s for s in SUITES.names() if s in named and (not analytic or s in ANALYTIC_SUITES)]


def check(folders: list[Path], *, analytic: bool, profile: str, results: Path, out: Path,
          device: str | None = None) -> tuple[Path, list[VerdictRecord], Path]:
    """Judge the documents in `folders`; returns the run folder, the verdicts and the report's index.html."""
    documents = load_documents(folders)          # every bad file is one line before anything runs
    names = suites_needed(documents, analytic)
    preflight.output_folders(results, out)
    claims = [c for d in documents for c in d.claims]
    with results_lock(results):
        store = ResultStore.create(results)
        ctx = Context(run_id=store.run_id, profile=profile, device=preflight.device(device),
                      threads=torch.get_num_threads(), run_dir=store.run_dir)
        store.record_run_info(run_metadata() | {"profile": profile, "device": ctx.device, "suites": names,
                                                "check": [str(d.folder) for d in documents], "analytic": analytic})
        print(f"archbench check {store.run_id}: {len(documents)} document(s), {len(claims)} claims, suites "
              f"{', '.join(names) or 'none'}{' (analytic)' if analytic else ''}", file=sys.stderr, flush=True)
        run_suites([SUITES.get(n) for n in names], ctx, store)
        verdicts = judge_run(store.run_dir, claims)
    index = render_run(store.run_dir, out, verdicts=verdicts, suites=[SUITES.get(n) for n in names],
                       docs={d.id: d.title for d in documents})
    return store.run_dir, verdicts, index


def summary_lines(verdicts: list[VerdictRecord]) -> list[str]:
    """One line per document: its claims counted by verdict status."""
    by_doc: dict[str, Counter] = {}
    for v in verdicts:
        by_doc.setdefault(v.doc, Counter())[str(getattr(v.status, "value", v.status))] += 1
    return [f"{doc}: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
            for doc, counts in by_doc.items()]


def cmd_check(args: Any) -> int:
    _, verdicts, index = check([Path(p) for p in args.paths], analytic=args.analytic, profile=args.profile,
                               results=Path(args.results), out=Path(args.out), device=args.device)
    for line in summary_lines(verdicts):
        print(line)
    print(f"report: {index}")
    return 0
