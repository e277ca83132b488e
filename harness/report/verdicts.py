"""Verdicts, documents and run metadata as data for the report templates.

A verdict view is a plain dict made from a stored `harness.store.verdicts.VerdictRecord`: the claim's fields, the
status and its CSS class (holds / refuted / inconclusive / assumption / untestable), the evidence, and links to the
rows behind it (`suite_<suite>.html#row-<index>`, the index being the row's position in `current_frame(run_dir)`,
the frame that was judged). Nothing here judges a claim: the verdicts come from the run's verdicts.jsonl.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Collection, Iterable, Mapping, Sequence

import pandas as pd

from harness.report.claim_figure import claim_points, claims_chart
from harness.report.consistency import consistency
from harness.report.findings import short_evidence
from harness.report.tables import Link, Table, row_anchor
from harness.store.units import format_stated, format_value
from harness.store.verdicts import Status, VerdictRecord

CSS = {Status.HOLDS: "holds", Status.REFUTED: "refuted", Status.INCONCLUSIVE: "inconclusive",
       Status.ASSUMPTION: "assumption", Status.UNTESTABLE: "untestable", Status.NOT_RUN: "notrun"}
PEAK_METRICS = ("flops_per_s", "bandwidth_bytes_per_s")


def _stated(v: VerdictRecord) -> str:
    if v.stated is None:
        return "—"
    return format_stated(v.stated, v.unit) + (f" (± {100 * v.tolerance:.3g}%)" if v.tolerance else "")


def details_table(details: Sequence[Mapping[str, Any]]) -> Table | None:
    if not details:
        return None
    columns = list(dict.fromkeys(k for d in details for k in d))
    rows = [[format_value(d.get(c)) if not isinstance(d.get(c), str) else d[c] for c in columns] for d in details]
    num = {i for i, c in enumerate(columns) if all(isinstance(d.get(c), (int, float)) for d in details)}
    return Table(columns=columns, rows=rows, num=num)


def verdict_views(verdicts: Iterable[VerdictRecord], frame: pd.DataFrame, *, suite_href: Callable[[str], str],
                  doc_slug: Callable[[str], str], pages: Collection[str]) -> list[dict[str, Any]]:
    """One dict per verdict, in document order (stable within a document). `pages`: suites that have a page;
    `suites` are the names of the suites behind a verdict, `suite_links` links to those with a page."""
    views = []
    for v in verdicts:
        rows, suites = [], list(v.suites)
        for idx in v.rows:
            if idx in frame.index:
                r = frame.loc[idx]
                rows.append(Link(f"#{idx} {r.suite}/{r.case}/{r.metric}", f"{suite_href(r.suite)}#{row_anchor(idx)}"))
                suites.append(r.suite)
            else:
                rows.append(f"#{idx} (not in this run's table)")
        anchor = f"claim-{doc_slug(v.claim)}"
        views.append({
            "id": v.claim, "doc": v.doc, "quote": v.quote, "kind": v.kind, "quantity": v.quantity,
            "stated": _stated(v), "stated_value": v.stated, "tolerance_value": v.tolerance, "unit": v.unit,
            "status": v.status.value, "css": CSS[v.status],
            "value": format_value(v.value, v.unit), "evidence": v.evidence, "short": short_evidence(v),
            "formula": v.formula,
            "assumption": v.assumption, "details": details_table(v.details), "rows": rows,
            "suites": list(dict.fromkeys(suites)),
            "suite_links": [Link(n, suite_href(n)) if n in pages else n for n in dict.fromkeys(suites)],
            "anchor": anchor, "href": f"doc_{doc_slug(v.doc)}.html#{anchor}", "reason": v.reason,
            "reading": v.reading, "readings": v.readings, "scope": v.scope, "record": v})
    return sorted(views, key=lambda view: view["doc"])


def doc_pages(doc_ids: Sequence[str], views: list[dict], titles: Mapping[str, str], suites: Sequence[Any],
              slug: Callable[[str], str]) -> list[dict[str, Any]]:
    return [{"id": d, "title": titles.get(d, ""), "verdicts": [v for v in views if v["doc"] == d],
             "suites": [Link(s.name, f"suite_{slug(s.name)}.html") for s in suites if d in s.docs],
             "consistency": consistency([v for v in views if v["doc"] == d]),
             **claims_figure([v for v in views if v["doc"] == d])}
            for d in doc_ids]


def claims_figure(views: list[dict]) -> dict[str, Any]:
    """{figure: the measured ÷ stated chart (SVG, "" without points), unplotted: "claim (why)" texts}."""
    points, skipped = claim_points((v["record"] for v in views), CSS)
    return {"figure": claims_chart(points), "plotted": len(points),
            "unplotted": [f"{claim} ({why})" for claim, why in skipped]}


def run_header(run_id: str, info: Mapping[str, Any]) -> dict[str, Any]:
    """The facts the index shows under the title: what ran, on what, with which software."""
    git = info.get("git") or {}
    gpu = info.get("gpu") or {}
    versions = info.get("versions") or {}
    cpu = info.get("cpu") or {}
    gpus = ", ".join(d.get("name", "?") for d in gpu.get("devices", [])) if gpu.get("available") else \
        f"none ({gpu.get('reason') or 'not recorded'})"
    dirty = git.get("dirty")
    facts = [("commit", git.get("commit", "not recorded")), ("date (UTC)", info.get("time_utc", "—")),
             ("profile", info.get("profile", "—")), ("host", info.get("hostname", "—")),
             ("CPU", f"{cpu.get('model', '—')} · {cpu.get('logical_cores', '?')} cores"),
             ("torch threads", f"{cpu.get('torch_threads', '—')} "
                               f"(interop {cpu.get('torch_interop_threads', '—')})"),
             ("GPU", gpus), ("torch", f"{versions.get('torch', '—')} (CUDA {info.get('torch_cuda') or 'none'})"),
             ("triton", versions.get("triton", "—")), ("python", versions.get("python", "—")),
             ("platform", info.get("platform", "—")),
             ("suites / archs", f"{_names(info.get('suites'))} / {_names(info.get('archs'))}")]
    return {"run_id": run_id, "short": git.get("short", "nogit"),
            "dirty": "unknown" if dirty is None else ("dirty" if dirty else "clean"),
            "facts": facts, "missing": info.get("missing", "")}


def _names(value: Any) -> str:
    if value is None:
        return "—"
    return value if isinstance(value, str) else ", ".join(map(str, value))


def environment_context(info: Mapping[str, Any], frame: pd.DataFrame,
                        suite_href: Callable[[str], str]) -> dict[str, Any]:
    """run.json pretty-printed, and the machine's measured peaks (ok rows of measure "peak") if the run has them."""
    ok = frame[(frame.status == "ok") & frame.metric.isin(PEAK_METRICS) & (frame.measure == "peak")]
    rows = [[Link(f"{r.suite}/{r.case} {r.metric}", f"{suite_href(r.suite)}#{row_anchor(idx)}"),
             format_value(r.value, r.unit), r.method] for idx, r in ok.iterrows()]
    return {"json": json.dumps(info, indent=2, sort_keys=True, default=str),
            "peaks": Table(columns=["peak", "value", "method"], rows=rows, num={1}) if rows else None}
