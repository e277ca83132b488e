"""What the pipeline needs from the layers above the harness: the claims to judge (`load_all_claims`, for
`harness.claims.model.judge_run`), and for the report the suite definitions, document titles and the hybrid MVP
pages. `harness.report.render.render_run` imports neither `suites` nor `archs`; the CLI passes this in:

    render_run(run_dir, out_root, verdicts=..., **build_report_inputs())

The documents are the folders under suites/documents/ (archbench.documents): their titles come from their
`document.toml`, their claims from their claims files.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from archbench.documents import document_folders, install_models, load_documents
from harness.claims.load import load_claims, read_document
from suites import DOCUMENTS_DIR, SUITES
from suites.pages.mvp_pages import mvp_pages


def doc_titles(directory: Path | None = None) -> dict[str, str]:
    """Document id -> title, from every document folder's document.toml."""
    return {d.id: d.title for d in map(read_document, document_folders(directory or DOCUMENTS_DIR))}


DOC_TITLES = doc_titles()


def load_all_claims(directory: Path | None = None) -> list[Any]:
    """Every claim of the document folders under `directory` (default suites/documents/); a folder of flat
    `<doc>_<topic>.toml` claim files is read too (judged with the presets as the quantities' models); none
    when it holds neither."""
    directory = Path(directory) if directory else DOCUMENTS_DIR
    folders = document_folders(directory)
    if folders:
        return [c for d in load_documents(folders) for c in d.claims]
    if not any(directory.glob("*.toml")):
        return []
    install_models()
    return load_claims(directory)


def build_report_inputs() -> dict[str, Any]:
    """Keyword arguments for `render_run`: suites, docs and extra_pages (the MVP stage pages)."""
    return {"suites": [SUITES.get(name) for name in SUITES.names()], "docs": dict(DOC_TITLES),
            "extra_pages": [mvp_pages]}
