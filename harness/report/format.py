"""How the report writes numbers: bytes in decimal kB/MB/GB/TB (the documents' units), counts as 7.0B, seconds as ms/µs, SI prefixes for rates and
FLOPs, and the matching axis unit for a plot (`axis_scale`)."""
from __future__ import annotations

import math
import numbers
from typing import Any, Iterable

import pandas as pd

_SI = [(1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]
_COUNT = [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")]


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def format_value(value: Any, unit: str = "") -> str:
    """A number the way a reader wants it: bytes in kB/MB/GB/TB (decimal, as the documents write them), counts as 7.0B, seconds as ms/µs, SI otherwise."""
    if is_missing(value):
        return "—"
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        return str(value)
    v = float(value)
    if unit == "bytes":
        for power, name in ((4, "TB"), (3, "GB"), (2, "MB"), (1, "kB")):
            if abs(v) >= 1000 ** power:
                return f"{v / 1000 ** power:.3g} {name}"
        return f"{v:.0f} B"
    if unit == "s":
        for scale, name in ((1, "s"), (1e-3, "ms"), (1e-6, "µs")):
            if abs(v) >= scale:
                return f"{v / scale:.3g} {name}"
        return f"{v * 1e9:.3g} ns" if v else "0 s"
    if (unit in ("params", "tokens") and abs(v) >= 1e4) or (not unit and abs(v) >= 1e6):
        for scale, name in _COUNT:
            if abs(v) >= scale:
                return f"{v / scale:.4g}{name}"
    if unit in ("FLOP", "FLOP/s", "bytes/s", "tokens/s"):
        base = {"bytes/s": "B/s"}.get(unit, unit)
        for scale, prefix in _SI:
            if abs(v) >= scale:
                return f"{v / scale:.3g} {prefix}{base}"
        return f"{v:.3g} {base}"
    if v == int(v) and abs(v) < 1e6:
        return f"{int(v):,}"
    return f"{v:.4g}"


def axis_scale(unit: str, values: Iterable[float]) -> tuple[float, str]:
    """(divisor, label) that puts the largest |value| in [1, 1000) for a plot axis: bytes -> GB, s -> ms, ..."""
    peak = max((abs(float(v)) for v in values if not is_missing(v)), default=0.0)
    if unit == "bytes":
        steps = [(1000 ** p, name) for p, name in ((4, "TB"), (3, "GB"), (2, "MB"), (1, "kB"))]
    elif unit == "s":
        steps = [(1, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns")]
    elif unit in ("FLOP", "FLOP/s", "bytes/s", "tokens/s", "params", "tokens"):
        base = {"bytes/s": "B/s"}.get(unit, unit)
        steps = [(scale, f"{prefix}{base}" if unit not in ("params", "tokens") else f"{prefix} {base}")
                 for scale, prefix in _SI]
    else:
        return 1.0, unit
    return next(((scale, name) for scale, name in steps if peak >= scale), (1.0, unit))


def plain(value: Any) -> Any:
    """Shape values as written: 128 rather than 128.0 (columns holding NaN become float in the frame)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value
