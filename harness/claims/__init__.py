"""Judging: claims and verdicts (`model`, incl. `judge_run`, the pipeline step that writes a run's verdicts.jsonl),
the safe expression evaluator (`expr`), row selection (`rows`), the registered checks (`checks`, `learning`) and the
TOML loader (`load`). Depends on the store, and on measurement's log-log fit (`harness.measure.timing.fit_loglog`)."""
