"""The generic claim checks: small functions from (claim, results frame) to a Verdict, registered in CHECKS.

Rows are picked with `args.where`, a table of column -> wanted value: schema columns (`suite`, `case`, `arch`,
`metric`, `stat`...), `shape.<X>`, and `extra.<key>` / `config.<key>` (looked up in those dicts). A string with
`*`, `?` or `[` is a shell pattern; a list means any of its items. Only rows with status "ok" are judged; when
none match, the verdict is UNTESTABLE and names the suite and metric that would answer the claim.

Rules shared by the checks (the numbers behind each verdict are in its evidence):
* tolerance is relative to the stated value (`args.abs_tol` is absolute, for a stated 0).
* a row's interval is [q1, q3] when the suite gave them, else the point value: a 95% CI on speedup and
  exponent rows; for a ratio of two timed rows (`num` / `den`) the worst to best case of their quartiles.
  Interval rules: HOLDS if the whole interval satisfies the claim, REFUTED if none of it does, INCONCLUSIVE if
  it straddles the threshold.
* several matching rows (shapes) are judged one by one and combined: all agree -> that status; holds and
  holds-under-an-assumption -> the latter; anything else -> INCONCLUSIVE, with a per-row table.
* a bound is one-sided: with `args.relation` "<=" (">=") the computed value is an upper (lower) bound, and a
  stated number beyond it is refuted whatever the tolerance (a roofline, a memory capacity).
* `args.rests_on` names a premise of the claim's method (a roofline estimate, an analytic model, how a word is
  read): a claim that holds then reads "holds under an assumption". What a document leaves open is not chosen
  per claim: claims are judged under their document's readings (harness/claims/readings.py), and other ways to
  read one line are shown beside the verdict, never turned into it (`args.beside`, harness/claims/scope.py).
* `args.regime` (harness/claims/regime.py): rows outside the sizes, device or scale a claim is about are not
  judged against it.
* a speed verdict (a ratio of timings) needs stable repeats as well as an interval clear of the threshold
  (harness/claims/noise.py): otherwise it is inconclusive, and its evidence gives the run-to-run spread.
"""
from __future__ import annotations

import pandas as pd

from harness.claims.expr import evaluate_expression
from harness.claims.model import Claim, Status, Verdict, register_check
from harness.claims.noise import is_timed, repeats_summary, stability_note
from harness.claims.rows import (combine, fit_exponent, interval, label, ok_rows, ratio_rows, row_assumptions,
                                 verdict, within_tolerance)
from harness.store.units import format_stated, format_value

H, R, I, A = Status.HOLDS, Status.REFUTED, Status.INCONCLUSIVE, Status.ASSUMPTION


def _held(claim: Claim, status: Status) -> Status:
    """HOLDS becomes "holds under an assumption" when the claim names what its value rests on."""
    return A if status is H and claim.args.get("rests_on") else status


def _compare(claim: Claim, value: float) -> Status:
    """Against `claim.stated`: a range [lo, hi] holds when lo <= value <= hi. A number, with `relation` "=="
    (default): |value - stated| within tolerance; "<=": stated <= value (the value is an upper bound the stated
    number must respect); ">=": stated >= value. A bound takes no tolerance: it is one-sided."""
    if isinstance(claim.stated, list):
        lo, hi = (float(x) for x in claim.stated)
        return H if lo <= value <= hi else R
    stated, relation = float(claim.stated), claim.args.get("relation", "==")
    tol = claim.args.get("abs_tol")
    slack = float(tol) if tol is not None else (claim.tolerance or 0.0) * abs(stated)
    if relation == "<=":
        return H if stated <= value or within_tolerance(value, stated, 0.0) else R
    if relation == ">=":
        return H if stated >= value or within_tolerance(value, stated, 0.0) else R
    return H if within_tolerance(value, stated, slack) else R


def _relation_note(claim: Claim) -> str:
    relation = claim.args.get("relation", "==")
    if relation == "<=":
        return " (the computed value is a bound the stated value must not exceed)"
    return " (the stated value must be at least the computed one)" if relation == ">=" else ""


# ---------------------------------------------------------------- a number vs the stated number
def _match_rows(claim: Claim, rows: pd.DataFrame) -> tuple[Status, list[dict]]:
    details = [{"row": int(i), "row name": label(r), "value": r.value, "unit": r.unit}
               for i, r in rows.iterrows()]
    return combine([_compare(claim, float(r.value)) for _, r in rows.iterrows()]), details


@register_check("matches", needs_args=("where",), needs_stated=True, needs_tolerance=True)
def matches(claim: Claim, frame: pd.DataFrame) -> Verdict:
    rows, missing = ok_rows(claim, frame, claim.args["where"])
    if missing:
        return missing
    status, details = _match_rows(claim, rows)
    unit = rows.unit.iloc[0]
    shown = ", ".join(format_value(v, unit) for v in rows.value)
    evidence = f"{claim.quantity}: {shown} vs stated {format_stated(claim.stated, unit)}" + _relation_note(claim)
    assumption = row_assumptions(rows)
    return verdict(claim, _held(claim, status), rows, float(rows.value.iloc[0]), evidence,
                   assumption="; ".join(filter(None, [claim.args.get("rests_on", ""), assumption])),
                   details=details if len(details) > 1 else [])


# ---------------------------------------------------------------- intervals vs a range or a threshold
def _range_status(lo_ci: float, hi_ci: float, lo: float, hi: float) -> Status:
    if lo <= lo_ci and hi_ci <= hi:
        return H
    if hi_ci < lo or lo_ci > hi:
        return R
    return I


@register_check("within_range", needs_args=("where",), needs_stated=True)
def within_range(claim: Claim, frame: pd.DataFrame) -> Verdict:
    """stated = [lo, hi]: HOLDS if every row's interval lies inside, REFUTED if outside, else INCONCLUSIVE."""
    rows, missing = ok_rows(claim, frame, claim.args["where"])
    if missing:
        return missing
    lo, hi = (float(x) for x in claim.stated)
    statuses, details = [], []
    for i, r in rows.iterrows():
        a, b = interval(r)
        statuses.append(_range_status(a, b, lo, hi))
        details.append({"row": int(i), "row name": label(r), "value": r.value, "low": a, "high": b,
                        "verdict": statuses[-1].value})
    status = _held(claim, combine(statuses))
    unit = rows.unit.iloc[0]
    evidence = f"{claim.quantity}: {_intervals(rows)} vs stated range {format_stated(claim.stated, unit)}"
    return verdict(claim, status, rows, float(rows.value.iloc[0]), evidence,
                   assumption=claim.args.get("rests_on", ""), details=details if len(details) > 1 else [])


def _intervals(rows: pd.DataFrame) -> str:
    parts = []
    for _, r in rows.iterrows():
        a, b = interval(r)
        ci = "" if (a, b) == (r.value, r.value) else \
            f" (CI {format_value(a, r.unit)}–{format_value(b, r.unit)}, n={int(r.n)})"
        parts.append(f"{format_value(r.value, r.unit)}{ci}" + (f" [{label(r)}]" if len(rows) > 1 else ""))
    return "; ".join(parts)


def speedup(claim: Claim, frame: pd.DataFrame) -> Verdict:
    """stated = threshold t: HOLDS if the CI's lower end >= t, REFUTED if its upper end < t, else INCONCLUSIVE.
    stated = [lo, hi] ("10–15% faster" = [1.10, 1.15]): REFUTED if the CI lies wholly below lo (slower than
    claimed) or wholly above hi (the stated size is wrong; a separate direction claim with threshold 1.0 says
    whether it is faster at all); HOLDS if the CI overlaps [lo, hi] and its lower end is at least `neutral`
    (default 1.0: the new one is faster at all); otherwise (a CI too wide to tell) INCONCLUSIVE."""
    rows, missing = ratio_rows(claim, frame)
    if missing:
        return missing
    statuses, details, timed = [], [], []
    for i, r in rows.iterrows():
        a, b = interval(r)
        if isinstance(claim.stated, list):
            lo, hi = (float(x) for x in claim.stated)
            s = R if b < lo or a > hi else H if a >= float(claim.args.get("neutral", 1.0)) else I
        else:
            t = float(claim.stated)
            s = H if a >= t else R if b < t else I
        row = {"row": int(i), "row name": label(r), "ratio": r.value, "ci_low": a, "ci_high": b}
        if is_timed(r):                      # a speed verdict also needs stable repeats
            stable, note = stability_note(r)
            s = s if stable or s is I else I
            timed.append(r)
            row["run-to-run"] = note
        statuses.append(s)
        details.append({**row, "verdict": s.value})
    evidence = f"{claim.quantity}: {_intervals(rows)} vs stated {format_stated(claim.stated, 'ratio')}"
    if timed:
        evidence += f"; {repeats_summary(timed)}"
    return verdict(claim, _held(claim, combine(statuses)), rows, float(rows.value.iloc[0]), evidence,
                   assumption=claim.args.get("rests_on", ""), details=details if len(details) > 1 else [])


for _name in ("speedup", "ratio_at_least"):
    register_check(_name, needs_one_of=("where", "num"), needs_stated=True)(speedup)


@register_check("scales", needs_args=("where",), needs_one_of=("expected", "below", "above"))
def scales(claim: Claim, frame: pd.DataFrame) -> Verdict:
    """Exponent rows (log-log slope, CI in q1/q3). `expected` e ± `tolerance_abs` (default 0.2): HOLDS if the CI
    lies inside [e - tol, e + tol], REFUTED if outside, else INCONCLUSIVE. `below` b: HOLDS if CI < b, REFUTED
    if CI >= b. `above` likewise. With `fit` = a shape column (e.g. "shape.T"), the rows are values against that
    column and the exponent is fitted here (fit_exponent) instead of read from exponent rows; when those rows carry
    repeats, the exponent fitted per repeat must agree with the verdict, else it is INCONCLUSIVE (the run-to-run
    rule of speed verdicts, for exponents)."""
    rows, missing = ok_rows(claim, frame, claim.args["where"])
    if missing:
        return missing
    if "fit" in claim.args:
        rows = fit_exponent(rows, claim.args["fit"])
    args, statuses, notes = claim.args, [], []
    for _, r in rows.iterrows():
        status = _exponent_status(args, *interval(r))
        repeats = [float(x) for x in (r.extra if isinstance(r.extra, dict) else {}).get("repeats", [])]
        if repeats:                          # a timed exponent also needs every repeat's fit to agree
            disagree = status is not I and any(_exponent_status(args, x, x) is not status for x in repeats)
            status = I if disagree else status
            notes.append(f"{label(r)}: per-repeat exponents {min(repeats):.2f}–{max(repeats):.2f} over "
                         f"{len(repeats)} repeats" + (", which disagree with the interval's verdict" if disagree
                                                      else ""))
        statuses.append(status)
    target = (f"{args['expected']} ± {args.get('tolerance_abs', 0.2)}" if "expected" in args
              else f"< {args['below']}" if "below" in args else f"> {args['above']}")
    evidence = f"{claim.quantity}: {_intervals(rows)}; claim read as exponent {target}"
    if notes:
        evidence += f"; {'; '.join(notes)} (an exponent verdict needs its interval and every repeat's fit to agree)"
    return verdict(claim, _held(claim, combine(statuses)), rows, float(rows.value.iloc[0]), evidence,
                   assumption=claim.args.get("rests_on", ""))


def _exponent_status(args: dict, a: float, b: float) -> Status:
    """An exponent interval [a, b] against `expected` ± tolerance_abs, `below` or `above` (see `scales`)."""
    if "expected" in args:
        e, tol = float(args["expected"]), float(args.get("tolerance_abs", 0.2))
        return _range_status(a, b, e - tol, e + tol)
    if "below" in args:
        return H if b < args["below"] else R if a >= args["below"] else I
    return H if a > args["above"] else R if b <= args["above"] else I


# ---------------------------------------------------------------- internal consistency: no rows needed
@register_check("arithmetic", needs_args=("expr",), needs_stated=True, needs_tolerance=True)
def arithmetic(claim: Claim, frame: pd.DataFrame) -> Verdict:
    """Recompute `args.expr` from `args.values` (numbers the document states) as written and compare with `stated`
    (relation as in `matches`; `args.unit` formats the evidence). Other readings of the line (a dtype factor, GB vs
    GiB) are `args.beside` items: shown as explanations of a gap, never the verdict."""
    values, unit = dict(claim.args.get("values", {})), claim.args.get("unit", "")
    result = evaluate_expression(claim.args["expr"], values)
    evidence = (f"{claim.args['expr']} = {format_value(result, unit)} vs stated {format_stated(claim.stated, unit)}"
                + _relation_note(claim))
    status = _compare(claim, result)
    return Verdict(claim=claim, status=_held(claim, status), value=result, unit=unit, evidence=evidence,
                   formula=f"{claim.args['expr']} with {values}" if values else claim.args["expr"],
                   assumption=claim.args.get("rests_on", ""))


@register_check("untestable")
def untestable(claim: Claim, frame: pd.DataFrame) -> Verdict:
    return Verdict(claim=claim, status=Status.UNTESTABLE, evidence=claim.reason)

