"""The HTML report of one run: `render_run` writes `<out_root>/<run_id>/` and points `<out_root>/latest` at it.

Pages: `index.html` (run header, verdict summary and table, suites, failures), `doc_<id>.html` per document
(claim -> verdict -> evidence -> rows), `suite_<name>.html` per suite (question, plots, pivot, method, failures,
raw rows + `<name>.csv`), `environment.html` (run.json, measured peaks), and any extra `Page`s the caller builds
(the hybrid MVP stages: `suites/pages/mvp_pages.py`, passed in by `archbench/report_inputs.py`). Self-contained: inline
CSS, inline SVG plots, no JS.

Layering: this module renders and never judges. The verdicts are data the pipeline wrote beside the rows
(`verdicts.jsonl`, `harness.store.verdicts`); it reads them, or takes them ready-made. It imports neither `archs`
nor `suites` nor the claims code; the CLI (the composition root) passes the suites, document titles and extra pages
in. Templates: `reports/templates/*.html.j2`, rendered by jinja2 with autoescape and StrictUndefined, so a quote
holding `<script>` is shown, not run, and a missing field raises. `Section.plot` and plots from
`harness.report.plots` are trusted SVG and inlined as they are.
"""
from __future__ import annotations

import html
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from harness.errors import ArchbenchError
from harness.report import plots
from harness.report.archs_page import ARCHS_PAGE, arch_columns, write_archs_page
from harness.report.suite_page import suite_context
from harness.report.tables import Link, Table, row_anchor, suite_summary, to_csv
from harness.report.findings import findings
from harness.report.verdicts import CSS, doc_pages, environment_context, run_header, verdict_views
from harness.store.results import RUN_INFO, ROWS, current_frame
from harness.store.units import format_value
from harness.store.verdicts import VERDICTS, VerdictRecord, read_verdicts

TEMPLATES = ("reports", "templates")              # package data of `reports`: found in a wheel install too
_SLUG = re.compile(r"[^A-Za-z0-9_.-]+")

__all__ = ["render_run", "Page", "Section", "Table", "Link", "format_value", "slug"]


@dataclass
class Section:
    """A block of an extra page: heading, text, an optional table and an optional inline-SVG plot."""
    title: str
    text: str = ""
    table: Table | None = None
    plot: str | None = None
    anchor: str = ""
    wide: bool = False                             # a plot-only section takes half the page unless wide


@dataclass
class Page:
    """An extra page (`<name>.html`), listed in the navigation under `group`."""
    name: str
    title: str
    group: str = "More"
    intro: str = ""
    sections: list[Section] = field(default_factory=list)


PageSource = Page | Callable[[pd.DataFrame], Iterable[Page]]


def slug(text: str) -> str:
    return _SLUG.sub("_", str(text)).strip("_") or "_"


def environment() -> Environment:
    env = Environment(loader=PackageLoader(*TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["fmt"] = format_value
    env.filters["svg"] = lambda s: Markup(s)      # trusted: made by harness.report.plots / claim checks
    env.filters["slug"] = slug
    env.tests["link"] = lambda cell: isinstance(cell, Link)
    return env


def render_run(run_dir: Path, out_root: Path, *, suites: Sequence[Any] = (),
               verdicts: Sequence[VerdictRecord] | None = None, docs: Mapping[str, str] | None = None,
               extra_pages: Sequence[PageSource] = ()) -> Path:
    """Render the report of `run_dir` into `out_root/<run_id>/`; returns the path of its index.html.

    suites: `harness.suite.Suite` objects (question, description, docs, claims) for the suite pages.
    verdicts: the run's verdicts; by default read from its verdicts.jsonl (none when the run has no such file).
    docs: document id -> title. extra_pages: `Page`s, or callables `frame -> [Page]` (e.g. the MVP stage pages).
    """
    run_dir, out_root = Path(run_dir), Path(out_root)
    frame = current_frame(run_dir)
    info = _run_info(run_dir)
    if verdicts is None:
        verdicts = read_verdicts(run_dir) if (run_dir / VERDICTS).is_file() else []
    suite_by_name = {s.name: s for s in suites}
    expected = list(dict.fromkeys([*suite_by_name, *(info.get("suites") or [])]))
    summary = suite_summary(frame, expected)
    suite_href = lambda name: f"suite_{slug(name)}.html"  # noqa: E731
    views = verdict_views(verdicts, frame, suite_href=suite_href, doc_slug=slug, pages={s["name"] for s in summary})
    doc_titles = dict(docs or {})
    doc_ids = sorted({*doc_titles, *(v["doc"] for v in views), *(d for s in suites for d in s.docs)})
    pages = [p for src in extra_pages for p in ([src] if isinstance(src, Page) else src(frame))]
    for page in pages:
        if slug(page.name) != page.name or page.name in ("index", "environment", "archs") or \
                page.name.startswith(("doc_", "suite_")):
            raise ArchbenchError(f"report page name {page.name!r} is not a safe file name or is taken")

    nav = {"docs": [Link(d, f"doc_{slug(d)}.html") for d in doc_ids],
           "suites": [Link(s["name"], f"suite_{slug(s['name'])}.html") for s in summary],
           "groups": ([("Compare", [Link("Architectures", ARCHS_PAGE)])] if arch_columns(frame) else []) +
           _groups(pages)}
    env = environment()
    out = out_root / run_dir.name
    out.mkdir(parents=True, exist_ok=True)
    common = {"run_id": run_dir.name, "nav": nav, "header": run_header(run_dir.name, info),
              "profile": info.get("profile") or "quick"}

    def write(name: str, template: str, **context: Any) -> None:
        html = env.get_template(template).render(**common, page=name, **context)
        (out / name).write_text(html, encoding="utf-8")

    counts = {d: _count(v for v in views if v["doc"] == d) for d in doc_ids}
    by_claim = {v["id"]: v for v in views}
    archs_page = write_archs_page(env, out, frame, common,
                                  link=lambda suite, index: f"suite_{slug(suite)}.html#{row_anchor(index)}")
    write("index.html", "index.html.j2", views=views, counts=counts, titles=doc_titles, suites=summary,
          findings=findings(views, CSS),
          archs_page=archs_page.name if archs_page else "",
          summary_svg=plots.verdict_summary(counts) if views else "", totals=_count(views))
    for doc in doc_pages(doc_ids, views, doc_titles, suites, slug):
        write(f"doc_{slug(doc['id'])}.html", "doc.html.j2", doc=doc, counts=counts[doc["id"]])
    for s in summary:
        name = s["name"]
        part = frame[frame.suite == name]
        (out / f"{slug(name)}.csv").write_text(to_csv(part), encoding="utf-8")
        suite = suite_by_name.get(name)
        related_docs = [Link(d, f"doc_{slug(d)}.html") for d in getattr(suite, "docs", ())]
        related = [v for v in views if name in v["suites"] or v["id"] in getattr(suite, "claims", ())]
        ctx = suite_context(name, frame, suite, related, related_docs, csv=f"{slug(name)}.csv", verdicts=by_claim)
        write(f"suite_{slug(name)}.html", "suite.html.j2", suite=ctx, state=s)
    for page in pages:
        write(f"{page.name}.html", "page.html.j2", extra=page)
    write("environment.html", "environment.html.j2", env=environment_context(info, frame, suite_href))
    for name in (RUN_INFO, ROWS, VERDICTS):
        if (run_dir / name).is_file():
            shutil.copyfile(run_dir / name, out / name)
    _point_latest(out_root, run_dir.name)
    return out / "index.html"


def _run_info(run_dir: Path) -> dict[str, Any]:
    path = run_dir / RUN_INFO
    if not path.is_file():
        return {"missing": f"{path} not found"}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise ArchbenchError(f"{path}: {err}") from None


def _count(views: Iterable[dict]) -> dict[str, int]:
    counts = dict.fromkeys(plots.STATUS_COLORS, 0)
    for v in views:
        counts[v["css"]] += 1
    return counts


def _groups(pages: list[Page]) -> list[tuple[str, list[Link]]]:
    groups: dict[str, list[Link]] = {}
    for page in pages:
        groups.setdefault(page.group, []).append(Link(page.title, f"{page.name}.html"))
    return list(groups.items())


def _point_latest(out_root: Path, run_id: str) -> None:
    """`latest` -> the run's folder (a symlink where the file system allows) and `latest.html`, a redirect."""
    link = out_root / "latest"
    try:
        if link.is_symlink() or link.is_file():
            link.unlink()
        if not link.exists():
            os.symlink(run_id, link, target_is_directory=True)
    except OSError:
        pass                                       # no symlinks here (e.g. Windows without rights): redirect only
    target = html.escape(f"{run_id}/index.html")
    (out_root / "latest.html").write_text(
        f'<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0; url={target}">'
        f'<title>latest archbench report</title><a href="{target}">{html.escape(run_id)}</a>\n', encoding="utf-8")
