"""Claim checks over training runs with several seeds: `loss_below` and `better_than`.

Each row is one seed's number, the seed in `shape.seed` (or `extra.seed`; load_frame keeps one row per identity
and extra is not part of it, so seeds must differ in shape or case to survive); rows of one seed are averaged.
`args.step` keeps the rows at that `shape.step`; `args.last = "shape.step"` (or any column) keeps the rows at that
column's largest value, e.g. the last evaluation, or the longest context of an extrapolation claim. Fewer than two
seeds on a side gives INCONCLUSIVE: one run says nothing about seed noise (modded-nanogpt's rule: a claim is a
number, an n and a test).

* loss_below: one-sample t-test of the seeds' losses against the threshold (stated, or the mean of
  `args.reference` rows times `args.factor`): HOLDS if mean < threshold with p < 0.05 (one-sided), REFUTED if
  mean > threshold with p < 0.05, else INCONCLUSIVE.
* better_than: both sides are compared at the same `last` point (the largest value over both); with
  `missing_base_loses`, a base whose rows there are all untestable/failed (a learned position table that cannot
  read past its length) while the new side has numbers counts as a HOLDS, with the base's reason as evidence.
  Otherwise the 95% CI of the improvement (base - new for a lower-is-better metric), relative to the base mean:
  paired by seed when both sides ran the same seeds (the suites give every variant of a comparison the same
  initialisation seed and batch order, so a paired t-test on the per-seed differences removes the noise they
  share), else Welch's t-test (unequal variances) between `args.new` and `args.base` seeds:
  - default: HOLDS if the CI lies above 0, REFUTED if below 0, else INCONCLUSIVE;
  - stated = [lo, hi] ("1–2% better"): HOLDS if the CI lies above 0 and overlaps [lo, hi], REFUTED if the CI lies
    wholly below lo or wholly above hi, else INCONCLUSIVE;
  - mode "not_worse" with `margin` m ("similar or better", "minimal quality loss"): HOLDS if the CI's lower end
    > -m, REFUTED if its upper end < -m, else INCONCLUSIVE.
Every learning verdict states the smallest effect its seeds could have detected (harness/claims/noise.py), so an
inconclusive one says how large a difference the run could not have seen.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from harness.claims.model import Claim, Status, Verdict, register_check
from harness.claims.noise import detectable_note, detectable_one_sample, detectable_two_sample
from harness.claims.rows import ok_rows, select, verdict
from harness.store.columns import column
from harness.store.metrics import METRICS
from harness.store.units import format_value

H, R, I = Status.HOLDS, Status.REFUTED, Status.INCONCLUSIVE
ALPHA = 0.05


def seed_values(claim: Claim, frame: pd.DataFrame, where: dict) -> tuple[pd.DataFrame | None, pd.Series | None,
                                                                          Verdict | None]:
    """The selected rows and one value per seed (a Series indexed by seed), or an UNTESTABLE verdict."""
    if "step" in claim.args:
        where = {**where, "shape.step": claim.args["step"]}
    if claim.args.get("last") and where.get(claim.args["last"]) is None:
        where = {**where, **last_point(claim, frame, [where])}
    rows, missing = ok_rows(claim, frame, where)
    if missing:
        return None, None, missing
    seeds = column(rows, "seed")
    if seeds.notna().any():
        values = rows.value.astype(float).groupby(seeds.fillna(-1).to_numpy()).mean()
    else:
        values = pd.Series(rows.value.to_numpy(dtype=float), index=[f"row {i}" for i in rows.index])
    return rows, values, None


def last_point(claim: Claim, frame: pd.DataFrame | None, wheres: list[dict]) -> dict:
    """{column: its largest value among all rows (any status) of the selections}, for `args.last`; taking it over
    both sides of a comparison compares them at the same point, where one side may have no usable row."""
    key = claim.args["last"]
    if frame is None or frame.empty:
        return {}
    values = pd.to_numeric(column(pd.concat([select(frame, w) for w in wheres]), key), errors="coerce")
    if not values.notna().any():
        return {}
    point = values.max()
    return {key: int(point) if float(point).is_integer() else float(point)}


def _mean_sd(values: np.ndarray) -> str:
    if len(values) < 2:
        return f"{format_value(values.mean())} (n={len(values)})"
    return f"{format_value(values.mean())} ± {values.std(ddof=1):.2g} (n={len(values)})"


def _one_sample(values: np.ndarray, threshold: float) -> tuple[Status, str]:
    if len(values) < 2:
        return I, "one seed: no test possible"
    if values.std(ddof=1) == 0:
        return (H if values.mean() < threshold else R), "all seeds equal"
    below = stats.ttest_1samp(values, threshold, alternative="less").pvalue
    above = stats.ttest_1samp(values, threshold, alternative="greater").pvalue
    status = H if below < ALPHA else R if above < ALPHA else I
    return status, f"one-sample t-test p(less)={below:.2g}, p(greater)={above:.2g}"


@register_check("loss_below", needs_args=("where",), needs_one_of=("reference", "threshold"))
def loss_below(claim: Claim, frame: pd.DataFrame) -> Verdict:
    rows, seeds, missing = seed_values(claim, frame, claim.args["where"])
    if missing:
        return missing
    values = seeds.to_numpy()
    if "reference" in claim.args:
        ref_rows, ref_missing = ok_rows(claim, frame, claim.args["reference"])
        if ref_missing:
            return ref_missing
        threshold = float(ref_rows.value.mean()) * float(claim.args.get("factor", 1.0))
        factor = float(claim.args.get("factor", 1.0))
        what = f"reference {ref_rows.case.iloc[0]} loss" + (f" × {factor:g}" if factor != 1.0 else "")
        rows = pd.concat([rows, ref_rows])
    else:
        threshold, what = float(claim.args["threshold"]), "threshold"
    status, test = _one_sample(values, threshold)
    detectable = detectable_one_sample(values) if len(values) > 1 else float("inf")
    evidence = (f"{claim.quantity}: {_mean_sd(values)} vs {what} {format_value(threshold)}; {test}; "
                f"{detectable_note(detectable, threshold, f'{len(values)} seed(s)')}")
    return verdict(claim, status, rows, float(values.mean()), evidence, assumption=claim.args.get("rests_on", ""))


def improvement_ci(new: np.ndarray, base: np.ndarray, lower_is_better: bool) -> tuple[float, float, float, float]:
    """(relative improvement, its 95% CI low, high, Welch p) with improvement = base - new (lower is better)."""
    sign = 1.0 if lower_is_better else -1.0
    scale = abs(base.mean())
    diff = sign * (base.mean() - new.mean())
    if new.std(ddof=1) == 0 and base.std(ddof=1) == 0:
        return diff / scale, diff / scale, diff / scale, 0.0 if diff else 1.0
    res = stats.ttest_ind(base, new, equal_var=False)
    ci = res.confidence_interval(1 - ALPHA)
    lo, hi = sorted((sign * ci.low, sign * ci.high))
    return diff / scale, lo / scale, hi / scale, float(res.pvalue)


def paired_improvement_ci(new: np.ndarray, base: np.ndarray,
                          lower_is_better: bool) -> tuple[float, float, float, float]:
    """As `improvement_ci`, for seeds paired across the sides (same initialisation seed and batch order): a
    one-sample t-test of the per-seed improvements, which removes the noise the two sides share."""
    sign = 1.0 if lower_is_better else -1.0
    gains, scale = sign * (base - new), abs(base.mean())
    if gains.std(ddof=1) == 0:
        return gains.mean() / scale, gains.mean() / scale, gains.mean() / scale, 0.0 if gains.mean() else 1.0
    res = stats.ttest_1samp(gains, 0.0)
    ci = res.confidence_interval(1 - ALPHA)
    return gains.mean() / scale, ci.low / scale, ci.high / scale, float(res.pvalue)


def paired(new: pd.Series, base: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """Both sides' values on their common seeds, when every seed of either side is on both (and >= 2), else None."""
    common = [s for s in new.index if s in set(base.index)]
    if len(common) < 2 or len(common) != len(new) or len(common) != len(base) or isinstance(common[0], str):
        return None
    return new.loc[common].to_numpy(), base.loc[common].to_numpy()


@register_check("better_than", needs_args=("where", "new", "base"))
def better_than(claim: Claim, frame: pd.DataFrame) -> Verdict:
    args = claim.args
    sides = [{**args["where"], **args["new"]}, {**args["where"], **args["base"]}]
    if args.get("last"):
        sides = [{**w, **last_point(claim, frame, sides)} for w in sides]
    new_rows, new_seeds, missing = seed_values(claim, frame, sides[0])
    if missing:
        return missing
    new = new_seeds.to_numpy()
    base_rows, base_seeds, missing = seed_values(claim, frame, sides[1])
    if missing:
        lost = select(frame, sides[1])
        if args.get("missing_base_loses") and len(lost) and (lost.status != "ok").all():
            return verdict(claim, H, pd.concat([new_rows, lost]), float(new.mean()),
                           f"{claim.quantity}: new {_mean_sd(new)}; the base cannot be evaluated there "
                           f"({lost.reason.iloc[0]})", assumption=args.get("rests_on", ""))
        return missing
    base, pairs = base_seeds.to_numpy(), paired(new_seeds, base_seeds)
    rows = pd.concat([new_rows, base_rows])
    metric = args["where"].get("metric", "")
    lower = not args.get("higher_is_better", bool(METRICS[metric].higher_is_better) if metric in METRICS else False)
    head = f"{claim.quantity}: new {_mean_sd(new)} vs base {_mean_sd(base)}"
    seeds = f"{len(new)} and {len(base)} seeds"
    if len(new) < 2 or len(base) < 2:
        return verdict(claim, I, rows, float(new.mean()), f"{head}; needs at least two seeds per side; "
                                                          f"{detectable_note(float('inf'), 1.0, seeds)}")
    if pairs:
        rel, lo, hi, p = paired_improvement_ci(*pairs, lower)
        test, detectable = f"paired t-test over {len(pairs[0])} seeds p={p:.2g}", \
            detectable_one_sample(pairs[1] - pairs[0])
    else:
        rel, lo, hi, p = improvement_ci(new, base, lower)
        test, detectable = f"Welch p={p:.2g}", detectable_two_sample(new, base)
    if args.get("mode") == "not_worse":
        m = float(args.get("margin", 0.01))
        status, rule = (H if lo > -m else R if hi < -m else I), f"not worse by more than {m:.1%}"
    elif isinstance(claim.stated, list):
        a, b = (float(x) for x in claim.stated)
        status = R if hi < a or lo > b else H if lo > 0 else I
        rule = f"improvement within {a:.1%}–{b:.1%}"
    else:
        status, rule = (H if lo > 0 else R if hi < 0 else I), "improvement > 0"
    evidence = (f"{head}; relative improvement {rel:+.2%} (95% CI {lo:+.2%} to {hi:+.2%}, {test}); "
                f"claim read as {rule}; {detectable_note(detectable, base.mean(), seeds)}")
    return verdict(claim, status, rows, rel, evidence, assumption=args.get("rests_on", ""), unit="ratio")
