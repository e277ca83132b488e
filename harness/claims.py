"""Claims as data plus a check, and the verdicts the report shows.

A `Claim` is what a document says (id, doc, short quote, kind, the quantity, the stated value and tolerance).
Its `check` names a function in `CHECKS` that reads the results table (a pandas DataFrame from
`harness.results.load_frame`) and returns a `Verdict`: the status, the measured value, the evidence as text,
the formula and assumption it rests on, and the ids of the rows behind it. A check whose rows are missing
returns `untestable` (or `failed`-suite) with the reason, so every claim appears in the report.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Status(str, Enum):
    HOLDS = "holds"
    REFUTED = "refuted"
    INCONCLUSIVE = "inconclusive"
    ASSUMPTION = "holds under an assumption"
    UNTESTABLE = "untestable here"


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


@dataclass(frozen=True, kw_only=True)
class Verdict:
    claim: Claim
    status: Status
    value: Any = None                    # the measured / computed value (number or text)
    evidence: str = ""                   # one or two sentences: numbers with units, n, spread
    formula: str = ""                    # the formula or method behind the value
    assumption: str = ""                 # what it rests on (for ASSUMPTION: the named assumption)
    rows: tuple[int, ...] = ()           # row indices in the run's table
    plot: str | None = None              # optional inline SVG
    details: list[dict[str, Any]] = field(default_factory=list)   # small table for the claim page
