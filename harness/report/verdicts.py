"""Verdicts, documents and run metadata as data for the report templates.

A verdict view is a plain dict: the claim's fields, the status and its CSS class (holds / refuted / inconclusive /
assumption / untestable), the evidence, and links to the rows behind it (`suite_<suite>.html#row-<index>`, the
index being the row's position in `load_frame(run_dir)`, the frame the checks read).
"""
from __future__ import annotations

import json
from typing import Any, Callable, Collection, Iterable, Mapping, Sequence

import pandas as pd

from harness.claims.model import Status
from harness.errors import ArchbenchError
from harness.store.metrics import metric
from harness.report.tables import Link, Table, format_value, is_missing, row_anchor

CSS = {Status.HOLDS: "holds", Status.REFUTED: "refuted", Status.INCONCLUSIVE: "inconclusive",
       Status.ASSUMPTION: "assumption", Status.UNTESTABLE: "untestable"}
PEAK_METRICS = ("flops_per_s", "bandwidth_bytes_per_s")


def claim_unit(claim: Any) -> str:
    """The unit of what a claim measures: its `args.where.metric` in the metric table, else `args.unit`."""
    where = claim.args.get("where") if isinstance(claim.args, Mapping) else None
    name = where.get("metric") if isinstance(where, Mapping) else None
    if isinstance(name, str):
        try:
            return metric(name).unit
        except ArchbenchError:
            pass
    return str(claim.args.get("unit", "")) if isinstance(claim.args, Mapping) else ""


def _stated(claim: Any, unit: str) -> str:
    stated = claim.stated
    if stated is None:
        return "—"
    if isinstance(stated, (list, tuple)) and len(stated) == 2:
        text = f"{format_value(stated[0], unit)} – {format_value(stated[1], unit)}"
    else:
        text = format_value(stated, unit)
    return text + (f" (± {100 * claim.tolerance:.3g}%)" if claim.tolerance else "")


def details_table(details: Sequence[Mapping[str, Any]]) -> Table | None:
    if not details:
        return None
    columns = list(dict.fromkeys(k for d in details for k in d))
    rows = [[format_value(d.get(c)) if not isinstance(d.get(c), str) else d[c] for c in columns] for d in details]
    num = {i for i, c in enumerate(columns) if all(isinstance(d.get(c), (int, float)) for d in details)}
    return Table(columns=columns, rows=rows, num=num)


def verdict_views(verdicts: Iterable[Any], frame: pd.DataFrame, *, suite_href: Callable[[str], str],
                  doc_slug: Callable[[str], str], pages: Collection[str]) -> list[dict[str, Any]]:
    """One dict per verdict, in document order (stable within a document). `pages`: suites that have a page;
    `suites` are the names of the suites behind a verdict, `suite_links` links to those with a page."""
    views = []
    for v in verdicts:
        claim, status = v.claim, Status(v.status)
        rows, suites = [], list(claim.suites)
        for idx in v.rows:
            if idx in frame.index:
                r = frame.loc[idx]
                rows.append(Link(f"#{idx} {r.suite}/{r.case}/{r.metric}", f"{suite_href(r.suite)}#{row_anchor(idx)}"))
                suites.append(r.suite)
            else:
                rows.append(f"#{idx} (not in this run's table)")
        anchor, unit = f"claim-{doc_slug(claim.id)}", claim_unit(claim)
        value = "—" if is_missing(v.value) else format_value(v.value, unit)
        views.append({
            "id": claim.id, "doc": str(claim.doc), "quote": claim.quote, "kind": claim.kind,
            "quantity": claim.quantity, "stated": _stated(claim, unit), "status": status.value, "css": CSS[status],
            "value": value, "evidence": v.evidence or claim.reason,
            "formula": v.formula, "assumption": v.assumption, "plot": v.plot or "",
            "details": details_table(v.details), "rows": rows, "suites": list(dict.fromkeys(suites)),
            "suite_links": [Link(n, suite_href(n)) if n in pages else n for n in dict.fromkeys(suites)],
            "anchor": anchor, "href": f"doc_{doc_slug(str(claim.doc))}.html#{anchor}", "reason": claim.reason})
    return sorted(views, key=lambda view: view["doc"])


def doc_pages(doc_ids: Sequence[str], views: list[dict], titles: Mapping[str, str], suites: Sequence[Any],
              slug: Callable[[str], str]) -> list[dict[str, Any]]:
    return [{"id": d, "title": titles.get(d, ""), "verdicts": [v for v in views if v["doc"] == d],
             "suites": [Link(s.name, f"suite_{slug(s.name)}.html") for s in suites if d in s.docs]}
            for d in doc_ids]


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
    """run.json pretty-printed, and the machine's measured peaks (from run.json or roofline rows) if present."""
    rows = []
    for key in ("peaks", "roofline"):
        peaks = info.get(key)
        if isinstance(peaks, Mapping):
            rows += [[f"run.json {key}.{k}", format_value(v, _peak_unit(k)), ""] for k, v in peaks.items()]
    ok = frame[(frame.status == "ok") & frame.metric.isin(PEAK_METRICS)]
    ok = ok[(ok.suite == "roofline") | (ok.measure == "peak")]
    for idx, r in ok.iterrows():
        rows.append([Link(f"{r.suite}/{r.case} {r.metric}", f"{suite_href(r.suite)}#{row_anchor(idx)}"),
                     format_value(r.value, r.unit), r.method])
    return {"json": json.dumps(info, indent=2, sort_keys=True, default=str),
            "peaks": Table(columns=["peak", "value", "method"], rows=rows, num={1}) if rows else None}


def _peak_unit(key: str) -> str:
    return "FLOP/s" if "flops" in key else ("bytes/s" if "bytes_per_s" in key else "")
