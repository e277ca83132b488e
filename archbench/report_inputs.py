"""What the pipeline needs from the layers above the harness: the claims to judge (`load_all_claims`, for
`harness.claims.model.judge_run`), and for the report the suite definitions, document titles and the hybrid MVP
pages. `harness.report.render.render_run` imports neither `suites` nor `archs`; the CLI passes this in:

    render_run(run_dir, out_root, verdicts=..., **build_report_inputs())
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.claims.load import load_claims
from suites import CLAIMS_DIR, SUITES
from suites.pages.mvp_pages import mvp_pages

DOC_TITLES = {
    "000": "Hybrid superblocks: Gated DeltaNet + GQA + MoE + MTP, ~235B, MVP roadmap",
    "001": "Modern neural network components (2023–2025)",
    "002": "Nexus Core model architecture",
    "003": "Experimental parallel stacks",
    "004": "MLA + MoE + FlexAttention + ReLU² (DeepSeek-inspired)",
}


def load_all_claims(directory: Path | None = None) -> list[Any]:
    """Every claim under suites/claims/ (none while that folder has no TOML files yet)."""
    directory = Path(directory) if directory else CLAIMS_DIR
    if not any(directory.glob("*.toml")):
        return []
    return load_claims(directory)


def build_report_inputs() -> dict[str, Any]:
    """Keyword arguments for `render_run`: suites, docs and extra_pages (the MVP stage pages)."""
    return {"suites": [SUITES.get(name) for name in SUITES.names()], "docs": dict(DOC_TITLES),
            "extra_pages": [mvp_pages]}
