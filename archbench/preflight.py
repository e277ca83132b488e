"""What `archbench run` and `archbench report` check before measuring or writing anything: one line, exit 2.

A run that would fail late (an unwritable `--out` after an hour of measuring, `--device cuda` on a CPU-only
machine failing every unit, a corpus too short for the loss curves) fails here instead, and leaves nothing behind:
these checks create no folder and no file.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
from pathlib import Path

import torch

from harness.errors import ArchbenchError
from harness.store.results import ROWS, RUN_ID
from harness.train.data import check_corpus_length, load_corpus

SEED_RANGE = range(0, 2**32)                       # numpy's SeedSequence and every torch generator take these


def seed(text: str) -> int:
    """argparse type of --seed."""
    try:
        value = int(text)
    except ValueError:
        value = -1                                 # (not None: `None in range` would scan all 2**32 values)
    if value not in SEED_RANGE:
        raise argparse.ArgumentTypeError(f"expected an integer from 0 to {SEED_RANGE.stop - 1}, got {text!r}")
    return value


def device(requested: str | None) -> str:
    """The device to run on: --device as given (cuda only where torch sees a GPU), else cuda when there is one."""
    if requested == "cuda" and not torch.cuda.is_available():
        build = f"built for CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        raise ArchbenchError(f"--device cuda: torch sees no CUDA device (torch {torch.__version__}, {build})")
    return requested or ("cuda" if torch.cuda.is_available() else "cpu")


def corpus_digest(source: str | None, block_size: int, required: bool) -> str | None:
    """sha256 of the corpus text, checked for existence, links, text and length. When the loss curves are not
    run (`required` False), a default corpus that cannot be loaded is no error: its digest is None."""
    try:
        text = load_corpus(source)
    except ArchbenchError:
        if required or source is not None:
            raise
        return None
    if required:
        check_corpus_length(text, source, block_size)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def writable_folder(path: Path, flag: str) -> None:
    """`path` is, or can become, a folder this process may write into; nothing is created to find out."""
    existing = next(p for p in (path, *path.absolute().parents) if p.exists() or p.is_symlink())
    if not existing.is_dir():
        what = "a dangling link" if existing.is_symlink() and not existing.exists() else "a file"
        where = "" if existing == path else f" (its parent {existing} is {what})"
        raise ArchbenchError(f"{flag} {path}: not a folder{where or f' ({what})'}")
    try:
        tempfile.TemporaryFile(dir=existing).close()
    except OSError as err:
        raise ArchbenchError(f"{flag} {path}: cannot write in {existing}: {err.strerror or err}") from None


def output_folders(results: Path | None, out: Path | None) -> None:
    """--results and --out: writable folders, the results root not a run folder, the report not in the root."""
    if results is not None:
        writable_folder(results, "--results")
        if RUN_ID.match(results.resolve().name) and (results / ROWS).exists():
            raise ArchbenchError(f"--results {results} is a run folder; pass the folder that holds the runs "
                                 f"({results.parent})")
    if out is not None:
        writable_folder(out, "--out")
        if results is not None and out.resolve() == results.resolve():
            raise ArchbenchError(f"--out {out} is the results folder: the report would overwrite the runs; "
                                 "pass another folder")


def run_folder(run_dir: Path) -> Path:
    """A run folder given on the command line: a folder holding rows.jsonl (one line naming what it is not)."""
    if not run_dir.exists():
        raise ArchbenchError(f"{run_dir}: not a run directory (no such folder)")
    if not run_dir.is_dir() or not (run_dir / ROWS).is_file():
        raise ArchbenchError(f"{run_dir}: not a run directory (no {ROWS})")
    if not os.access(run_dir / ROWS, os.R_OK):
        raise ArchbenchError(f"{run_dir / ROWS}: cannot be read (permission denied)")
    return run_dir


__all__ = ["seed", "device", "corpus_digest", "writable_folder", "output_folders", "run_folder", "SEED_RANGE"]
