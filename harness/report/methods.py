"""A suite page's Method section: one entry per way of measuring, its varying parameters as a small table.

Rows record their method as text ("1.576e+06 bytes / Timer.blocked_autorange(min_run_time=0.025), 100
calls/block ..."), so methods that differ only in a number (a byte count per shape) would each print as a line of
their own. `method_entries` groups the ok rows by the method with its numbers taken out (plus device, dtype and
stat); the numbers every row of an entry shares are written back into its text, the ones that vary become {name}
(named by the `name=` before the number or the word after it) and columns of the entry's table, one line per
distinct setting with the cases and shapes measured with it.
"""
from __future__ import annotations

import re
from typing import Any

import pandas as pd

from harness.report.tables import Table, shape_columns, shape_label

NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w.])", re.IGNORECASE)
MAX_SETTINGS = 12                                   # lines of an entry's table; the rest are counted in its note
MAX_CASES = 4                                       # case/shape names listed per line


def _slots(method: str) -> tuple[str, list[str], list[str]]:
    """(template with {} per number, the numbers, a name per number)."""
    names, numbers, parts, last = [], [], [], 0
    for m in NUMBER.finditer(method):
        parts.append(method[last:m.start()].replace("{", "{{").replace("}", "}}"))
        parts.append("{}")
        numbers.append(m.group())
        before = re.search(r"(\w+)=\s*$", method[:m.start()])
        after = re.match(r"\s*([A-Za-z][\w/-]*)", method[m.end():])
        names.append(before.group(1) if before else after.group(1) if after else f"#{len(numbers)}")
        last = m.end()
    parts.append(method[last:].replace("{", "{{").replace("}", "}}"))
    return "".join(parts), numbers, names


def _facts(part: pd.DataFrame, device: str, dtype: str, stat: str) -> str:
    threads = sorted({int(t) for t in part.threads.dropna()})
    n = part.n.astype(int)
    bits = [b for b in (device, dtype) if b]
    if threads:
        bits.append(f"{'/'.join(map(str, threads))} thread{'s' if threads != [1] else ''}")
    bits.append(f"{stat} of n={n.min()}" if n.min() == n.max() else f"{stat} of n={n.min()}–{n.max()}")
    spread = part.spread.dropna()
    if len(spread):
        bits.append(f"IQR {100 * spread.median():.1f}% median, {100 * spread.max():.1f}% max")
    return " · ".join(bits) + f" · {len(part)} row{'s' if len(part) != 1 else ''}"


def method_entries(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """[{text, facts, table}] for the ok rows of one suite: one entry per method template, device, dtype, stat."""
    ok = frame[frame.status == "ok"].fillna({"method": "", "device": "", "dtype": ""})
    if ok.empty:
        return []
    slots = ok.method.map(_slots)
    ok = ok.assign(_template=slots.map(lambda s: s[0]), _numbers=slots.map(lambda s: tuple(s[1])),
                   _names=slots.map(lambda s: tuple(s[2])))
    shapes = shape_columns(ok)
    entries = []
    for (template, names, device, dtype, stat), part in ok.groupby(["_template", "_names", "device", "dtype", "stat"],
                                                                   sort=False):
        numbers = list(zip(*part._numbers)) if names else []
        varying = [i for i, column in enumerate(numbers) if len(set(column)) > 1]
        shown = [f"{{{names[i]}}}" if i in varying else column[0] for i, column in enumerate(numbers)]
        text = template.format(*shown) if names else template
        entries.append({"text": text or "(no method recorded)", "facts": _facts(part, device, dtype, stat),
                        "table": _settings(part, [(i, names[i]) for i in varying], shapes) if varying else None})
    return entries


def _settings(part: pd.DataFrame, varying: list[tuple[int, str]], shapes: list[str]) -> Table:
    """One line per distinct setting of the varying numbers: the numbers, how many rows, which cases/shapes."""
    key = part._numbers.map(lambda ns: tuple(ns[i] for i, _ in varying))
    lines = []
    for setting, rows in part.groupby(key, sort=False):
        where = list(dict.fromkeys(f"{r.case} {shape_label(r, shapes)}".strip() for _, r in rows.iterrows()))
        more = f" … (+{len(where) - MAX_CASES})" if len(where) > MAX_CASES else ""
        lines.append([*(f"{float(x):.4g}" for x in setting), str(len(rows)), ", ".join(where[:MAX_CASES]) + more])
    note = f"first {MAX_SETTINGS} of {len(lines)} settings" if len(lines) > MAX_SETTINGS else ""
    return Table(columns=[name for _, name in varying] + ["rows", "cases and shapes"], rows=lines[:MAX_SETTINGS],
                 num=set(range(len(varying) + 1)), note=note)
