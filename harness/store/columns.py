"""One column of a results frame (`harness.store.results.load_frame`) by name: the one lookup that the claims' row
selection and the report's tables and plots share."""
from __future__ import annotations

import math

import pandas as pd

SHAPE = "shape."
DICTS = ("extra", "config")


def column(frame: pd.DataFrame, key: str) -> pd.Series:
    """`key` as a column of the frame (`case`, `shape.T`), `extra.<k>` / `config.<k>` read from those dicts, or a
    bare name found as `shape.<name>`, else in `extra`, else in `config` (the first that has a value). A name found
    nowhere gives a column of NaN, which no wanted value matches."""
    if key in frame.columns:
        return frame[key]
    head, _, sub = key.partition(".")
    if head in DICTS and sub:
        return _from_dict(frame, head, sub)
    if SHAPE + key in frame.columns:
        return frame[SHAPE + key]
    for source in DICTS:
        got = _from_dict(frame, source, key)
        if got.notna().any():
            return got
    return pd.Series([math.nan] * len(frame), index=frame.index, dtype=float)


def _from_dict(frame: pd.DataFrame, source: str, key: str) -> pd.Series:
    if source not in frame.columns:
        return pd.Series([math.nan] * len(frame), index=frame.index, dtype=float)
    return frame[source].map(lambda d: d.get(key) if isinstance(d, dict) else None)
