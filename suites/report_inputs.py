"""What the report needs from the layers above the harness: suite definitions, claims, document titles and the
hybrid MVP pages. `harness.report.render_run` imports neither `suites` nor `archs`; the CLI passes this in:

    render_run(run_dir, out_root, **build_report_inputs())
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

DOC_TITLES = {
    "000": "Hybrid superblocks: Gated DeltaNet + GQA + MoE + MTP, ~235B, MVP roadmap",
    "001": "Modern neural network components (2023–2025)",
    "002": "Nexus Core model architecture",
    "003": "Experimental parallel stacks",
    "004": "MLA + MoE + FlexAttention + ReLU² (DeepSeek-inspired)",
}


def load_all_claims(directory: Path | None = None) -> list[Any]:
    """Every claim under suites/claims/ (none while that folder has no TOML files yet)."""
    from harness import claims as claims_mod

    directory = Path(directory) if directory else claims_mod.CLAIMS_DIR
    if not any(directory.glob("*.toml")):
        return []
    return claims_mod.load_claims(directory)


def build_report_inputs(claims_dir: Path | None = None) -> dict[str, Any]:
    """Keyword arguments for `render_run`: suites, claims, docs and extra_pages (the MVP stage pages)."""
    from suites import SUITES
    from suites.mvp_pages import mvp_pages

    return {"suites": [SUITES.get(name) for name in SUITES.names()], "claims": load_all_claims(claims_dir),
            "docs": dict(DOC_TITLES), "extra_pages": [mvp_pages]}
