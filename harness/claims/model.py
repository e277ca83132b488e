"""Claims as data plus a check, and the verdicts the report shows.

A `Claim` is what a document says (id, doc, short quote, kind, the quantity, the stated value and tolerance).
Claims live as `[[claim]]` tables in TOML files and are read with `harness.claims.load.load_claims`.
Its `check` names a generic check in `CHECKS` (harness/claims/checks.py, harness/claims/learning.py) that reads the
results table (a pandas DataFrame from `harness.store.results.load_frame`) and returns a `Verdict`: the status, the
measured value, the evidence as text, the formula and assumption it rests on, and the ids of the rows behind it.
A check whose rows are missing returns UNTESTABLE naming the suite and metric it needs, so every claim appears
in the report; `evaluate` turns a check that crashes into UNTESTABLE with the error, never an exception.
`judge_run` is the pipeline's judging step: it judges a run's current rows and writes its `verdicts.jsonl`
(`harness.store.verdicts`), which the report renders and `archbench compare` diffs.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import pandas as pd

from harness.claims.expr import evaluate_expression
from harness.errors import ArchbenchError, one_line
from harness.store.metrics import metric
from harness.store.results import RUN_INFO, current_frame, read_run_info
from harness.store.verdicts import Status, VerdictRecord, write_verdicts


KINDS = ("numeric", "consistency", "comparative", "scaling", "learning", "code", "untestable")


@dataclass(frozen=True, kw_only=True)
class Claim:
    id: str                              # "002-base-params"
    doc: str                             # "002"
    quote: str                           # a short quote of the claim
    kind: str                            # one of KINDS
    quantity: str                        # what is measured, in words
    stated: Any = None                   # the document's value (number, range [lo, hi], or text)
    tolerance: float | None = None       # relative tolerance on `stated`
    check: str = "untestable"            # key into CHECKS
    args: dict[str, Any] = field(default_factory=dict)   # the check's parameters
    suites: tuple[str, ...] = ()         # suites whose rows answer it
    reason: str = ""                     # for untestable claims: why
    # its document's readings and its args as written (harness.claims.readings.ClaimReadings), set by the loader
    readings: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, kw_only=True)
class Verdict:
    claim: Claim
    status: Status
    value: Any = None                    # the measured / computed value (number or text)
    unit: str = ""                       # the value's unit ("" until `judge` fills in the claim's unit)
    evidence: str = ""                   # one or two sentences: numbers with units, n, spread
    formula: str = ""                    # the formula or method behind the value
    assumption: str = ""                 # what it rests on (for ASSUMPTION: the named assumption)
    rows: tuple[int, ...] = ()           # row indices in the run's table
    details: list[dict[str, Any]] = field(default_factory=list)   # small table for the claim page
    reading: str = ""                    # the document's reading it was judged under (its primary)
    readings: list[dict[str, Any]] = field(default_factory=list)  # status and value under every reading, if it depends
    scope: str = ""                      # where its rows were measured (device, dtype, threads, sizes)
    interval: tuple[float, float] | None = None   # low and high of the measured value over the rows judged

    def record(self) -> VerdictRecord:
        """The verdict as the data the store writes: the claim's words beside the judgement."""
        c = self.claim
        return VerdictRecord(claim=c.id, doc=c.doc, status=self.status, value=self.value, unit=self.unit,
                             evidence=self.evidence or c.reason, formula=self.formula, assumption=self.assumption,
                             rows=self.rows, details=self.details, quote=c.quote, kind=c.kind, quantity=c.quantity,
                             stated=c.stated, tolerance=c.tolerance, suites=c.suites, reason=c.reason,
                             reading=self.reading, readings=self.readings, scope=self.scope,
                             interval=self.interval, bound=claim_bound(c))


BOUNDS = {"<=": "at least", ">=": "at most"}      # args.relation: stated <= value, stated >= value


def claim_bound(claim: Claim) -> str:
    """"at least" when the measured value must reach the stated one (a speed-up threshold, `relation = "<="`),
    "at most" for `relation = ">="`, "" for a point (± tolerance) or a range."""
    if isinstance(claim.stated, list):
        return ""
    if claim.check in ("speedup", "ratio_at_least"):
        return "at least"
    return BOUNDS.get(str(claim.args.get("relation", "==")), "")


def claim_unit(claim: Claim) -> str:
    """The unit of what a claim measures: its `args.where.metric` in the metric table, else `args.unit`."""
    where = claim.args.get("where")
    name = where.get("metric") if isinstance(where, Mapping) else None
    if isinstance(name, str):
        try:
            return metric(name).unit
        except ArchbenchError:
            pass
    return str(claim.args.get("unit", ""))


# ---------------------------------------------------------------- the check registry and evaluation
@dataclass(frozen=True)
class Check:
    """A generic check: `run(claim, frame) -> Verdict`, plus what it needs in the claim to run at all."""
    name: str
    run: Callable[[Claim, pd.DataFrame], Verdict]
    needs_args: tuple[str, ...] = ()           # each must be in claim.args
    needs_one_of: tuple[str, ...] = ()         # at least one must be in claim.args
    needs_stated: bool = False
    needs_tolerance: bool = False

    def validate(self, claim: Claim) -> str:
        missing = [a for a in self.needs_args if a not in claim.args]
        if missing:
            return f"missing args {', '.join(missing)}"
        if self.needs_one_of and not any(a in claim.args for a in self.needs_one_of):
            return f"needs one of args {', '.join(self.needs_one_of)}"
        if self.needs_stated and claim.stated is None:
            return "needs a stated value"
        if (self.needs_tolerance and claim.tolerance is None and "abs_tol" not in claim.args
                and not isinstance(claim.stated, list)):
            return "needs a tolerance (relative) or args.abs_tol"
        if claim.check == "untestable" and not claim.reason:
            return "an untestable claim needs a reason"
        return arg_problem(claim)


SELECTIONS = ("where", "num", "den", "reference", "new", "base")


def arg_problem(claim: Claim) -> str:
    """Shape errors in args every check shares: selections are tables, relations are known, arithmetic evaluates
    with the given values. (`args.beside` and `args.regime`: harness.claims.scope.beside_problem.)"""
    args = claim.args
    bad = [k for k in SELECTIONS if k in args and not isinstance(args[k], dict)]
    if bad:
        return f"args {', '.join(bad)} must be tables of column = value"
    if ("num" in args) != ("den" in args):
        return "args num and den go together"
    if claim.check == "within_range" and not (isinstance(claim.stated, list) and len(claim.stated) == 2):
        return "stated must be a range [low, high]"
    if args.get("relation", "==") not in ("==", "<=", ">="):
        return f"args.relation {args['relation']!r} is not one of ==, <=, >="
    if "expr" in args:
        try:
            evaluate_expression(args["expr"], args.get("values", {}))
        except (ArchbenchError, ArithmeticError, TypeError) as err:
            return one_line(err)
    return ""


CHECKS: dict[str, Check] = {}


def register_check(name: str, **needs: Any) -> Callable:
    """Decorator: `@register_check("matches", needs_args=("where",), needs_stated=True)`."""
    def deco(fn: Callable[[Claim, pd.DataFrame], Verdict]) -> Callable:
        if name in CHECKS:
            raise ArchbenchError(f"check {name!r} is registered twice")
        CHECKS[name] = Check(name, fn, **needs)
        return fn
    return deco


Review = Callable[[list[Claim], list[Verdict], pd.DataFrame], list[Verdict]]
REVIEWS: list[tuple[int, Review]] = []


def register_review(order: int) -> Callable[[Review], Review]:
    """Decorator for a pass over all verdicts after every claim is judged, run by `order`: judging under a
    document's readings (harness.claims.readings, 10), the scope of each verdict and what is shown beside it
    (harness.claims.scope, 20). `review(claims, verdicts, frame)` returns the verdicts, one per claim, in order."""
    def deco(fn: Review) -> Review:
        REVIEWS.append((order, fn))
        REVIEWS.sort(key=lambda item: item[0])
        return fn
    return deco


def evaluate(claims: Iterable[Claim], frame: pd.DataFrame) -> list[Verdict]:
    """One verdict per claim, in order, after the registered reviews. Never raises for one bad claim or check: a
    check that crashes gives UNTESTABLE ("untestable here": this harness could not judge it) with the error as the
    evidence, because nothing was measured against the claim; INCONCLUSIVE is kept for data that was read and was
    ambiguous."""
    claims = list(claims)
    verdicts = [judge(claim, frame) for claim in claims]
    for _, review in REVIEWS:
        verdicts = review(claims, verdicts, frame)
    return verdicts


def judge(claim: Claim, frame: pd.DataFrame) -> Verdict:
    """The claim's verdict; its unit is the check's, else the unit of the metric the claim reads."""
    check = CHECKS.get(claim.check)
    try:
        if check is None:
            raise ArchbenchError(f"unknown check {claim.check!r}")
        verdict = check.run(claim, frame)
        if not isinstance(verdict, Verdict):
            raise ArchbenchError(f"check {claim.check!r} returned {type(verdict).__name__}, not a Verdict")
    except Exception as err:                    # one broken claim or check must not sink the report
        verdict = Verdict(claim=claim, status=Status.UNTESTABLE, evidence=f"check failed: {one_line(err)}")
    return verdict if verdict.unit else replace(verdict, unit=claim_unit(claim))


def judge_run(run_dir: Path, claims: Iterable[Claim]) -> list[VerdictRecord]:
    """Judge `claims` over the run's current rows and write them to the run's verdicts.jsonl; returns the records.
    A claim left untestable only because none of its suites was in the run reads "not run in this run"."""
    info = read_run_info(run_dir) if (Path(run_dir) / RUN_INFO).is_file() else {}
    verdicts = [not_run(v, info) for v in evaluate(claims, current_frame(run_dir))]
    records = [v.record() for v in verdicts]
    write_verdicts(run_dir, records)
    return records


def not_run(verdict: Verdict, info: Mapping[str, Any]) -> Verdict:
    """NOT_RUN, with the command that would measure it, for an untestable verdict without rows whose claim has a
    check and suites, none of them among the run's suites (run.json `suites`); otherwise the verdict as it is."""
    c, ran = verdict.claim, info.get("suites")
    if (verdict.status is not Status.UNTESTABLE or verdict.rows or c.check == "untestable" or not c.suites
            or not isinstance(ran, list) or set(c.suites) & set(ran)):
        return verdict
    profile = info.get("profile") or "quick"
    command = f"archbench run --suites {','.join(c.suites)} --profile {profile}"
    return replace(verdict, status=Status.NOT_RUN,
                   evidence=f"suite {', '.join(c.suites)} was not in this run; `{command}` measures it")

