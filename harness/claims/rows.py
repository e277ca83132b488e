"""What the claim checks share: picking rows out of the results frame, reading a row's interval, combining
per-row statuses, building verdicts, pairing rows into ratios, fitting exponents. Numbers in evidence are written
with `harness.store.units.format_value`, the formatter the report's tables use."""
from __future__ import annotations

import fnmatch
from typing import Any

import pandas as pd

from harness.claims.model import Claim, Status, Verdict
from harness.claims.noise import ratio_sides
from harness.claims.regime import within_regime
from harness.errors import ArchbenchError
from harness.measure.timing import fit_loglog
from harness.store.columns import column
from harness.store.units import is_missing, plain

# when a selection leaves the same number as several stats, the first present wins (counted beats formula)
STAT_PREFERENCE = ("exact", "analytic", "median", "mean", "min", "max", "count", "sum")


def value_matches(value: Any, want: Any) -> bool:
    """`want` a list: any item; a string with * ? [: a shell pattern; a number: numeric equality."""
    if isinstance(want, list):
        return any(value_matches(value, w) for w in want)
    if is_missing(value):
        return False
    if isinstance(want, str) and any(c in want for c in "*?["):
        return isinstance(value, str) and fnmatch.fnmatchcase(value, want)
    if isinstance(want, (int, float)) and not isinstance(want, bool):
        try:
            return float(value) == float(want)
        except (TypeError, ValueError):
            return False
    return value == want


def select(frame: pd.DataFrame, where: dict[str, Any]) -> pd.DataFrame:
    """Rows of `frame` (any status) matching every entry of `where` (keys as `harness.store.columns.column`
    reads them); a column the frame lacks matches nothing. Plain columns with plain wanted strings are matched
    first, vectorised, so the per-value matching of the other keys runs on the few rows left."""
    index = frame.index
    for key, want in sorted(where.items(), key=lambda item: not _plain(frame, *item)):
        if index.empty:
            break
        if _plain(frame, key, want):
            keep = frame[key].loc[index].isin(want if isinstance(want, list) else [want])
        else:
            keep = column(frame.loc[index], key).map(lambda v, w=want: value_matches(v, w)).astype(bool)
        index = index[keep.to_numpy()]
    return frame.loc[index]


def _plain(frame: pd.DataFrame, key: str, want: Any) -> bool:
    """A frame column wanted equal to a string (or any of a list of strings), no pattern: `isin` decides it."""
    wants = want if isinstance(want, list) else [want]
    return key in frame.columns and all(isinstance(w, str) and not any(c in w for c in "*?[") for w in wants)


def describe(where: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in where.items())


def needs_rows(claim: Claim, reason: str) -> Verdict:
    return Verdict(claim=claim, status=Status.UNTESTABLE, evidence=reason)


def ok_rows(claim: Claim, frame: pd.DataFrame | None, where: dict[str, Any],
            in_regime: bool = True) -> tuple[pd.DataFrame | None, Verdict | None]:
    """(the ok rows, None), or (None, an UNTESTABLE verdict naming the suite and metric that would answer). Rows
    outside the claim's `args.regime` are dropped (unless `in_regime` is False); when none is left, (None, the
    verdict saying so)."""
    suite = where.get("suite") or "/".join(claim.suites) or "(any suite)"
    wanted = f"suite {suite}, metric {where.get('metric', '(any)')}"
    if frame is None or frame.empty or "status" not in frame.columns:
        return None, needs_rows(claim, f"no results in this run; needs {wanted} ({describe(where)})")
    hits = select(frame, where)
    ok = hits[hits.status == "ok"]
    if ok.empty:
        if hits.empty:
            return None, needs_rows(claim, f"no rows with {describe(where)}: {wanted} was not run here or does not "
                                           f"emit them")
        first = hits.iloc[0]
        return None, needs_rows(claim, f"{len(hits)} matching row(s) of {wanted} are {first.status}: {first.reason}")
    if "stat" not in where and ok.stat.nunique() > 1:
        best = next(s for s in STAT_PREFERENCE + tuple(ok.stat.unique()) if s in set(ok.stat))
        ok = ok[ok.stat == best]
    return within_regime(claim, frame, ok) if in_regime else (ok, None)


def label(row: Any) -> str:
    """A row's name in evidence: its case (and arch) plus its shape, e.g. `mha / gqa B=4 T=8192`."""
    shape = [f"{k[6:]}={plain(v)}" for k, v in row.items() if str(k).startswith("shape.") and not is_missing(v)]
    names = [n for n in (getattr(row, "arch", ""), getattr(row, "case", "")) if isinstance(n, str) and n]
    return " ".join(["/".join(names)] + shape)


def interval(row: Any) -> tuple[float, float]:
    """The row's CI [q1, q3] when both are present, else the point value twice."""
    q1, q3 = getattr(row, "q1", None), getattr(row, "q3", None)
    if is_missing(q1) or is_missing(q3):
        return float(row.value), float(row.value)
    return float(min(q1, q3)), float(max(q1, q3))


def combine(statuses: list[Status]) -> Status:
    """All equal -> that status; only holds / holds-under-an-assumption -> the latter; else inconclusive."""
    kinds = set(statuses)
    if len(kinds) == 1:
        return statuses[0]
    if kinds == {Status.HOLDS, Status.ASSUMPTION}:
        return Status.ASSUMPTION
    return Status.INCONCLUSIVE


def within_tolerance(value: float, stated: float, slack: float) -> bool:
    return abs(value - stated) <= slack * (1 + 1e-12) + 1e-300


def row_assumptions(rows: pd.DataFrame) -> str:
    """Assumptions the rows rest on: extra.assumption(s) and config.assumptions, each once."""
    found: list[str] = []
    for column, keys in (("extra", ("assumption", "assumptions")), ("config", ("assumptions",))):
        if column not in rows.columns:
            continue
        for d in rows[column]:
            for key in keys:
                item = d.get(key) if isinstance(d, dict) else None
                found += [item] if isinstance(item, str) else list(item or [])
    return "; ".join(dict.fromkeys(a for a in found if a))


def row_ids(rows: pd.DataFrame) -> tuple[int, ...]:
    """Ids of the results rows behind `rows`: its index, or for derived rows (ratios, fits) their `rows` column."""
    if "rows" not in rows.columns:
        return tuple(int(i) for i in rows.index)
    return tuple(dict.fromkeys(int(i) for ids in rows["rows"] for i in ids))


def verdict(claim: Claim, status: Status, rows: pd.DataFrame, value: Any, evidence: str, *, assumption: str = "",
            details: list[dict] | None = None, unit: str | None = None) -> Verdict:
    """A verdict on `rows`: their methods as the formula, their ids, and their unit unless `unit` is given."""
    methods = "; ".join(dict.fromkeys(m for m in rows.get("method", pd.Series(dtype=str)) if m))
    if unit is None:
        unit = str(rows.unit.iloc[0]) if "unit" in rows.columns and len(rows) else ""
    spans = [interval(r) for _, r in rows.iterrows()] if "value" in rows.columns else []
    span = (min(a for a, _ in spans), max(b for _, b in spans)) if spans else None
    return Verdict(claim=claim, status=status, value=value, unit=unit, evidence=evidence, formula=methods,
                   assumption=assumption, rows=row_ids(rows), details=details or [], interval=span)


def ratio_rows(claim: Claim, frame: pd.DataFrame) -> tuple[pd.DataFrame | None, Verdict | None]:
    """Rows holding the ratio: `args.where` selects ratio rows (speedup, kv_reduction...), or `args.num` and
    `args.den` select two row sets paired on their shape columns, arch, dtype and device; the ratio's interval is
    then the worst/best case (num.q1/den.q3 .. num.q3/den.q1), e.g. num = base latency, den = new latency. The
    claim's regime is read on the num rows (the baseline: "where MHA's cache dominates its step")."""
    if "where" in claim.args:
        return ok_rows(claim, frame, claim.args["where"])
    num, missing = ok_rows(claim, frame, claim.args["num"])
    if missing:
        return None, missing
    den, missing = ok_rows(claim, frame, claim.args["den"], in_regime=False)
    if missing:
        return None, missing
    keys = [c for c in num.columns if c.startswith("shape.") and num[c].notna().any()] + ["arch", "dtype", "device"]
    pairs = num.reset_index().merge(den.reset_index(), on=keys, suffixes=("_n", "_d"))
    if pairs.empty:
        return None, needs_rows(claim, f"no shape of {claim.args['num']} also has {claim.args['den']}")
    out = []
    for _, p in pairs.iterrows():
        nq = (p.q1_n, p.q3_n) if not (is_missing(p.q1_n) or is_missing(p.q3_n)) else (p.value_n, p.value_n)
        dq = (p.q1_d, p.q3_d) if not (is_missing(p.q1_d) or is_missing(p.q3_d)) else (p.value_d, p.value_d)
        names = (p.case_n, p.case_d) if p.case_n != p.case_d else (p.measure_n, p.measure_d)
        out.append({"index": p.index_n, "case": " / ".join(names), "value": p.value_n / p.value_d,
                    "q1": nq[0] / dq[1], "q3": nq[1] / dq[0], "unit": "ratio", "n": min(p.n_n, p.n_d),
                    "method": f"{p.metric_n} ratio", "extra": ratio_sides(p.extra_n, p.extra_d, p.unit_n),
                    "config": {}, "rows": (p.index_n, p.index_d),
                    **{k: p[k] for k in keys}})
    return pd.DataFrame(out).set_index("index"), None


def fit_exponent(rows: pd.DataFrame, against: str) -> pd.DataFrame:
    """One exponent row per (case, arch) group: `harness.measure.timing.fit_loglog` of value against the column
    `against` over the group's rows (three points or more), its 95% t-interval in q1/q3. When every row of a group
    carries the same number (>= 2) of repeats (`extra.repeats`), the exponent is also fitted per repeat, in the
    result's `extra.repeats`: the run-to-run spread of the exponent."""
    out = []
    for (case, arch), group in rows.groupby(["case", "arch"], sort=False):
        xs = group[against].astype(float)
        try:
            fit = fit_loglog(xs, group.value.astype(float))
            per_repeat = [fit_loglog(xs, ys).slope for ys in _repeat_series(group)]
        except ArchbenchError as err:
            raise ArchbenchError(f"{case}: {err}") from None
        out.append({"index": group.index[0], "case": case, "arch": arch, "value": fit.slope, "q1": fit.ci_low,
                    "q3": fit.ci_high, "unit": "exponent", "n": fit.n,
                    "extra": {"repeats": per_repeat} if per_repeat else {}, "config": {},
                    "method": f"log-log least squares of {group.metric.iloc[0]} vs {against} over "
                              f"{sorted(group[against].tolist())}", "rows": tuple(int(i) for i in group.index)})
    return pd.DataFrame(out).set_index("index")


def _repeat_series(group: pd.DataFrame) -> list[list[float]]:
    """The group's values repeat by repeat (repeat i of every row), or [] unless every row has k >= 2 repeats."""
    extras = [e if isinstance(e, dict) else {} for e in group.get("extra", pd.Series([{}] * len(group)))]
    repeats = [list(e.get("repeats") or []) for e in extras]
    k = len(repeats[0]) if repeats else 0
    if k < 2 or any(len(r) != k for r in repeats):
        return []
    return [[float(r[i]) for r in repeats] for i in range(k)]
