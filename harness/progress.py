"""Progress on the terminal: tqdm bars for the whole run (units done of the total, with an ETA) and inside a long
unit (a training loop's steps), and the per-unit log lines printed above a live bar instead of through it.

A bar is shown only when stderr is a terminal and ARCHBENCH_NO_PROGRESS is unset (or "0"); in a log file, a pipe
or CI only the log lines appear. ARCHBENCH_NO_PROGRESS=1 also wins over a caller that asks for a bar.
"""
from __future__ import annotations

import os
import sys
from typing import TextIO

from tqdm.auto import tqdm

NO_PROGRESS = "ARCHBENCH_NO_PROGRESS"


def progress_wanted(asked: bool | None = None) -> bool:
    """False under ARCHBENCH_NO_PROGRESS; else `asked`, or (None) whether stderr is a terminal."""
    if os.environ.get(NO_PROGRESS, "") not in ("", "0"):
        return False
    return sys.stderr.isatty() if asked is None else asked


def progress_bar(total: int, description: str, *, unit: str = "unit", initial: int = 0,
                 asked: bool | None = None, nested: bool = False) -> tqdm:
    """A bar on stderr (a no-op object when progress is not wanted). A nested bar (a unit's own) is removed when
    it closes, leaving the run's bar and the log lines."""
    return tqdm(total=total, initial=initial, desc=description, unit=unit, file=sys.stderr, dynamic_ncols=True,
                disable=not progress_wanted(asked), leave=not nested)


def log_line(text: str, file: TextIO | None = None) -> None:
    """One log line, written above any live bar (plain print when no bar is shown)."""
    tqdm.write(text, file=file or sys.stderr)
    (file or sys.stderr).flush()
