"""How a number of the results is written, everywhere: claim evidence, report tables, pages and plot axes.

`format_value(value, unit)` is the one number formatter: bytes in decimal kB/MB/GB/TB (the documents' units),
parameter and token counts as 7.0B / 128K, seconds as s/ms/µs/ns, FLOPs and rates with SI prefixes, anything else
with four significant digits. Exact quantities (bytes, counts, FLOPs, plain numbers) keep four significant digits,
so a document's "1.875 GB" reads back as written; timings and rates, measured with a few percent of noise, three.
`is_missing` is the one test for "no value" (None, NaN, pd.NA); `plain` writes a shape value as it was given
(128, not 128.0); `axis_scale` picks the matching unit for a plot axis.
"""
from __future__ import annotations

import numbers
from typing import Any, Iterable

import pandas as pd

_SI = [(1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]
_COUNT = [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")]
_BYTES = [(1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")]
_SECONDS = [(1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns")]
_MEASURED = ("s", "FLOP/s", "bytes/s", "tokens/s")          # noisy: three significant digits
_WITH_PREFIX = ("FLOP", "FLOP/s", "bytes/s", "tokens/s")


def is_missing(value: Any) -> bool:
    """None, NaN (any float type) or pd.NA; a list, dict or text is a value."""
    if not pd.api.types.is_scalar(value):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def plain(value: Any) -> Any:
    """Shape values as written: 128 rather than 128.0 (columns holding NaN become float in the frame)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def format_value(value: Any, unit: str = "") -> str:
    """A number the way a reader wants it (see the module docstring); "—" for a missing value, text as it is."""
    if is_missing(value):
        return "—"
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        return str(value)
    v, digits = float(value), 3 if unit in _MEASURED else 4
    if unit == "bytes":
        scale, name = next(((s, n) for s, n in _BYTES if abs(v) >= s), (1.0, "B"))
        return f"{v / scale:.{digits}g} {name}"
    if unit == "s":
        scale, name = next(((s, n) for s, n in _SECONDS if abs(v) >= s), (1e-9, "ns"))
        return f"{v / scale:.{digits}g} {name}" if v else "0 s"
    if (unit in ("params", "tokens") and abs(v) >= 1e4) or (not unit and abs(v) >= 1e6):
        scale, name = next((s, n) for s, n in _COUNT if abs(v) >= s)
        return f"{v / scale:.{digits}g}{name}"
    if unit in _WITH_PREFIX:
        base = {"bytes/s": "B/s"}.get(unit, unit)
        scale, prefix = next(((s, p) for s, p in _SI if abs(v) >= s), (1.0, ""))
        return f"{v / scale:.{digits}g} {prefix}{base}"
    if v == int(v) and abs(v) < 1e6:
        return f"{int(v):,}"
    return f"{v:.{digits}g}"


def format_stated(stated: Any, unit: str = "") -> str:
    """A document's stated value: a number, a range [low, high] ("low to high"), text, or "—" when none."""
    if isinstance(stated, (list, tuple)) and len(stated) == 2:
        return f"{format_value(stated[0], unit)} to {format_value(stated[1], unit)}"
    return format_value(stated, unit)


def axis_scale(unit: str, values: Iterable[float]) -> tuple[float, str]:
    """(divisor, label) that puts the largest |value| in [1, 1000) for a plot axis: bytes -> GB, s -> ms, ..."""
    peak = max((abs(float(v)) for v in values if not is_missing(v)), default=0.0)
    if unit == "bytes":
        steps = _BYTES
    elif unit == "s":
        steps = _SECONDS
    elif unit in (*_WITH_PREFIX, "params", "tokens"):
        base = {"bytes/s": "B/s"}.get(unit, unit)
        steps = [(scale, f"{prefix}{base}" if unit not in ("params", "tokens") else f"{prefix} {base}")
                 for scale, prefix in _SI]
    else:
        return 1.0, unit
    return next(((scale, name) for scale, name in steps if peak >= scale), (1.0, unit))
