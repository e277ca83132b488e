"""Judging: claims and verdicts (`model`), the safe expression evaluator (`expr`), row selection (`rows`), the
registered checks (`checks`, `learning`) and the TOML loader (`load`). Depends on the store only."""
