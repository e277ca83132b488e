"""When a rerun continues the latest run: only when everything that changes its numbers is what run.json recorded.

`run_identity(...)` is that everything: the commit and a dirty tree's diff hash, profile, device, dtype, seed,
torch threads, the corpus (as given, and the sha256 of its text) and the tokenizer. It goes into run.json under
"identity". `resumable_run(root, identity)` is the latest run under `root` when its recorded identity equals this
one; otherwise None and why (a new run starts). A run recorded without an identity is never continued. A latest
run whose run.json is corrupt is a one-line error (`--fresh` starts a new run past it).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.errors import ArchbenchError
from harness.store.machine import git_state
from harness.store.results import RUN_INFO, ResultStore, latest_run, read_run_info


def run_identity(*, profile: str, device: str, dtype: str, seed: int, threads: int, corpus: str | None,
                 corpus_sha256: str | None, tokenizer: str) -> dict[str, Any]:
    git = git_state()
    return {"commit": git["commit"], "diff_sha256": git.get("diff_sha256"), "profile": profile, "device": device,
            "dtype": dtype, "seed": seed, "threads": threads, "corpus": corpus, "corpus_sha256": corpus_sha256,
            "tokenizer": tokenizer}


def resumable_run(root: Path, identity: dict[str, Any]) -> tuple[ResultStore | None, str]:
    """(the latest run's store, "") when it may be continued, else (None, why not)."""
    try:
        last = latest_run(root)
    except ArchbenchError:
        return None, "no earlier run"
    if not (last / RUN_INFO).exists():
        return None, f"{last.name} has no {RUN_INFO}"
    try:
        recorded = read_run_info(last).get("identity")
    except ArchbenchError as err:
        raise ArchbenchError(f"{err} (the latest run; --fresh starts a new one)") from None
    if recorded is None:
        return None, f"{last.name} records no identity"
    changed = [f"{key} {recorded.get(key)!r} -> {value!r}" for key, value in identity.items()
               if recorded.get(key) != value]
    if changed:
        return None, f"{last.name} was made with other settings ({'; '.join(changed)})"
    return ResultStore(root, last.name), ""


__all__ = ["run_identity", "resumable_run"]
