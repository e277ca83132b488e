"""Tests for claims as data: loading and validation, each generic check at its boundaries on synthetic results,
evaluate's robustness, judging a run into its verdicts.jsonl, and the claims answered by expressions alone."""

import pytest

from harness.claims.expr import evaluate_expression
from harness.claims.load import load_claims
from harness.claims.model import CHECKS, KINDS, Check, Claim, Status, evaluate, judge_run
from archbench.report_inputs import load_all_claims
from harness.errors import ArchbenchError
from harness.store.results import ResultStore, load_frame
from harness.store.verdicts import read_verdicts

RUN_ID = "0001_nogit_20250101-000000"
H, R, I, A, U = (Status.HOLDS, Status.REFUTED, Status.INCONCLUSIVE, Status.ASSUMPTION, Status.UNTESTABLE)


def frame_of(tmp_path, *rows):
    """A results frame as load_frame gives it, from partial row dicts (suite 'synthetic' by default)."""
    store = ResultStore(tmp_path, RUN_ID)
    for fields in rows:
        base = dict(suite="synthetic", case="c", measure="m", metric="speedup", unit="ratio", stat="median")
        store.append(store.row(**{**base, **fields}))
    return load_frame(store.run_dir)


def claim(check, stated=None, tolerance=None, **args):
    return Claim(id="t-1", doc="000", quote="q", kind="numeric", quantity="the quantity", stated=stated,
                 tolerance=tolerance, check=check, args=args, suites=("synthetic",))


def judge(c, frame):
    return evaluate([c], frame)[0]


WHERE = {"suite": "synthetic", "metric": "speedup"}


# ---------------------------------------------------------------- the shipped claim files
@pytest.fixture(scope="module")
def shipped():
    return load_all_claims()


def test_shipped_claims_load_with_known_checks_and_kinds(shipped):
    assert all(c.check in CHECKS and c.kind in KINDS for c in shipped)


def test_shipped_claim_ids_are_unique(shipped):
    ids = [c.id for c in shipped]
    assert len(ids) == len(set(ids))


def test_every_document_has_claims_and_quotes(shipped):
    assert {c.doc for c in shipped} == {"000", "001", "002", "003", "004"}
    assert all(c.quote.strip() and len(c.quote.split()) <= 16 for c in shipped)


def test_claims_that_name_no_suite_are_judged_with_no_rows(shipped, tmp_path):
    """The documents' own figures are expressions over the generic quantities: judged over an empty run, none is
    left untestable (a model name or quantity typo would be)."""
    local = [c for c in shipped if not c.suites and c.check != "untestable"]
    lost = [(v.claim.id, v.evidence) for v in evaluate(local, frame_of(tmp_path)) if v.status is U]
    assert len(local) > 100 and lost == []


# ---------------------------------------------------------------- load_claims validation
def write(tmp_path, text, name="000_x.toml"):
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


GOOD = '''[[claim]]
id = "000-a"
doc = "000"
quote = "q"
kind = "consistency"
quantity = "x"
stated = 4
tolerance = 0.0
check = "arithmetic"
args.expr = "2 + 2"
'''


def test_valid_file_loads(tmp_path):
    assert [c.id for c in load_claims(write(tmp_path, GOOD))] == ["000-a"]


def test_duplicate_id_names_file_and_claim(tmp_path):
    write(tmp_path, GOOD, "000_b.toml")
    with pytest.raises(ArchbenchError, match=r"000_x.toml claim '000-a': duplicate id"):
        load_claims(write(tmp_path, GOOD))


def test_unknown_check_is_rejected(tmp_path):
    with pytest.raises(ArchbenchError, match=r"000_x.toml.*'000-a'.*unknown check 'guess'"):
        load_claims(write(tmp_path, GOOD.replace('"arithmetic"', '"guess"')))


def test_unknown_kind_is_rejected(tmp_path):
    with pytest.raises(ArchbenchError, match=r"'000-a'.*unknown kind 'vibes'"):
        load_claims(write(tmp_path, GOOD.replace('"consistency"', '"vibes"')))


def test_missing_key_is_rejected(tmp_path):
    with pytest.raises(ArchbenchError, match="missing key.*quantity"):
        load_claims(write(tmp_path, GOOD.replace('quantity = "x"\n', "")))


def test_bad_expression_is_rejected_at_load(tmp_path):
    with pytest.raises(ArchbenchError, match="'000-a'.*check 'arithmetic'"):
        load_claims(write(tmp_path, GOOD.replace('"2 + 2"', '"2 + nowhere"')))


def test_claim_in_the_wrong_document_file_is_rejected(tmp_path):
    with pytest.raises(ArchbenchError, match="does not match the file name"):
        load_claims(write(tmp_path, GOOD, "001_x.toml"))


# ---------------------------------------------------------------- matches
def test_matches_holds_within_tolerance(tmp_path):
    f = frame_of(tmp_path, dict(metric="params_total", unit="params", value=104.0))
    assert judge(claim("matches", 100, 0.05, where={"metric": "params_total"}), f).status is H


def test_matches_refuted_outside_tolerance(tmp_path):
    f = frame_of(tmp_path, dict(metric="params_total", unit="params", value=106.0))
    assert judge(claim("matches", 100, 0.05, where={"metric": "params_total"}), f).status is R


def test_matches_without_rows_is_untestable_naming_suite_and_metric(tmp_path):
    v = judge(claim("matches", 100, 0.05, where={"suite": "params_flops", "metric": "params_total"}),
              frame_of(tmp_path, dict(value=1.0)))
    assert v.status is U and "params_flops" in v.evidence and "params_total" in v.evidence


def test_matches_on_failed_rows_is_untestable_with_their_reason(tmp_path):
    f = frame_of(tmp_path, dict(metric="params_total", value=None, status="failed", reason="meta build broke"))
    v = judge(claim("matches", 100, 0.05, where={"metric": "params_total"}), f)
    assert v.status is U and "meta build broke" in v.evidence


def test_matches_rests_on_turns_holds_into_assumption(tmp_path):
    f = frame_of(tmp_path, dict(metric="params_total", unit="params", value=100.0))
    c = claim("matches", 100, 0.01, where={"metric": "params_total"}, rests_on="64 experts")
    assert judge(c, f).status is A


def test_matches_upper_bound_relation_refutes_a_stated_value_above_the_bound(tmp_path):
    f = frame_of(tmp_path, dict(metric="tokens_per_s", unit="tokens/s", value=90.0))
    c = claim("matches", 100, 0.05, where={"metric": "tokens_per_s"}, relation="<=")
    assert judge(c, f).status is R


def test_matches_prefers_exact_rows_over_analytic(tmp_path):
    f = frame_of(tmp_path, dict(metric="params_total", unit="params", stat="analytic", value=50.0),
                 dict(metric="params_total", unit="params", stat="exact", value=100.0, case="d"))
    assert judge(claim("matches", 100, 0.01, where={"metric": "params_total"}), f).status is H


# ---------------------------------------------------------------- intervals: within_range, speedup, scales
STABLE = {"repeats": [1.0, 1.01]}         # timed rows need stable repeats (test_judging_rules.py pins that rule)


@pytest.mark.parametrize("q1, q3, expected", [(1.2, 1.4, H), (2.1, 2.5, R), (1.8, 2.2, I)], ids=["in", "out", "edge"])
def test_within_range_judges_the_ci(tmp_path, q1, q3, expected):
    f = frame_of(tmp_path, dict(value=(q1 + q3) / 2, q1=q1, q3=q3))
    assert judge(claim("within_range", [1.0, 2.0], where=WHERE), f).status is expected


@pytest.mark.parametrize("q1, q3, expected", [(1.10, 1.3, H), (0.9, 1.099, R), (1.0, 1.2, I)],
                         ids=["lower-at-threshold", "upper-below", "straddles"])
def test_speedup_threshold_uses_ci_ends(tmp_path, q1, q3, expected):
    f = frame_of(tmp_path, dict(value=(q1 + q3) / 2, q1=q1, q3=q3, extra=STABLE))
    assert judge(claim("speedup", 1.10, where=WHERE), f).status is expected


@pytest.mark.parametrize("q1, q3, expected", [(1.12, 1.20, H), (1.01, 1.09, R), (1.16, 1.30, R), (0.95, 1.12, I)],
                         ids=["overlaps", "below", "above", "too-wide"])
def test_speedup_range_needs_overlap_and_a_faster_ci(tmp_path, q1, q3, expected):
    f = frame_of(tmp_path, dict(value=(q1 + q3) / 2, q1=q1, q3=q3, extra=STABLE))
    assert judge(claim("speedup", [1.10, 1.15], where=WHERE), f).status is expected


def test_speedup_without_ci_uses_the_point_value(tmp_path):
    assert judge(claim("speedup", 2.0, where=WHERE), frame_of(tmp_path, dict(value=2.5, extra=STABLE))).status is H


def test_ratio_of_two_selections_pairs_rows_by_shape(tmp_path):
    f = frame_of(tmp_path, *[dict(case=c, metric="latency_decode_s", unit="s", value=v, shape={"T": T}, extra=STABLE)
                             for c, T, v in (("mha", 64, 2.0), ("mha", 512, 8.0), ("gqa", 64, 1.0), ("gqa", 512, 2.0))])
    v = judge(claim("ratio_at_least", 2.0, num={"case": "mha"}, den={"case": "gqa"}), f)
    assert v.status is H and sorted(d["ratio"] for d in v.details) == [2.0, 4.0]


def test_ratio_pairs_rows_within_one_arch(tmp_path):
    cells = (("x", "big", 8.0), ("x", "small", 2.0), ("y", "big", 3.0), ("y", "small", 1.0))
    f = frame_of(tmp_path, *[dict(arch=a, case=c, metric="peak_bytes", unit="bytes", value=v) for a, c, v in cells])
    v = judge(claim("ratio_at_least", 2.0, num={"case": "big"}, den={"case": "small"}), f)
    assert sorted(d["ratio"] for d in v.details) == [3.0, 4.0]


def test_mixed_statuses_across_shapes_are_inconclusive(tmp_path):
    f = frame_of(tmp_path, dict(value=3.0, shape={"T": 64}), dict(value=0.5, shape={"T": 512}))
    assert judge(claim("ratio_at_least", 1.0, where=WHERE), f).status is I


@pytest.mark.parametrize("q1, q3, expected", [(0.9, 1.1, H), (1.7, 2.0, R), (1.1, 1.3, I)],
                         ids=["linear", "quadratic", "edge"])
def test_scales_compares_exponent_ci_with_expected(tmp_path, q1, q3, expected):
    f = frame_of(tmp_path, dict(metric="scaling_exponent", unit="exponent", value=(q1 + q3) / 2, q1=q1, q3=q3))
    c = claim("scales", where={"metric": "scaling_exponent"}, expected=1.0, tolerance_abs=0.2)
    assert judge(c, f).status is expected


@pytest.mark.parametrize("power, expected", [(1, H), (2, R)], ids=["linear", "quadratic"])
def test_scales_can_fit_the_exponent_from_value_rows(tmp_path, power, expected):
    f = frame_of(tmp_path, *[dict(case="scratch", metric="peak_bytes", unit="bytes", stat="analytic",
                                  value=float(T ** power), shape={"T": T}) for T in (1024, 4096, 16384)])
    c = claim("scales", where={"case": "scratch"}, fit="shape.T", expected=1.0, tolerance_abs=0.2)
    v = judge(c, f)
    assert v.status is expected and v.value == pytest.approx(power) and v.unit == "exponent"


def test_a_fit_over_two_points_is_untestable_not_exact(tmp_path):
    """One rule for log-log fits (harness.measure.timing.fit_loglog): two points give no interval, so no verdict."""
    f = frame_of(tmp_path, *[dict(case="scratch", metric="peak_bytes", unit="bytes", stat="analytic",
                                  value=float(T), shape={"T": T}) for T in (1024, 4096)])
    v = judge(claim("scales", where={"case": "scratch"}, fit="shape.T", expected=1.0), f)
    assert v.status is U and "scratch" in v.evidence and ">= 3" in v.evidence


# ---------------------------------------------------------------- learning checks over seeds
def losses(case, values, step=100):
    return [dict(case=case, metric="loss_at_step", unit="nats", stat="mean", value=v,
                 shape={"step": step, "seed": s}) for s, v in enumerate(values)]


def better(**args):
    return claim("better_than", where={"metric": "loss_at_step"}, new={"case": "new"}, base={"case": "base"},
                 last="shape.step", **args)


@pytest.mark.parametrize("new, expected", [([2.50, 2.51, 2.49], H), ([3.10, 3.11, 3.09], R),
                                            ([2.70, 3.10, 2.90], I)], ids=["better", "worse", "noise"])
def test_better_than_uses_welch_ci_of_the_improvement(tmp_path, new, expected):
    f = frame_of(tmp_path, *losses("new", new), *losses("base", [3.00, 3.01, 2.99]))
    assert judge(better(), f).status is expected


def test_better_than_needs_two_seeds_per_side(tmp_path):
    f = frame_of(tmp_path, *losses("new", [2.0]), *losses("base", [3.0, 3.1]))
    assert judge(better(), f).status is I


def extrapolation_frame(tmp_path):
    rows = [dict(case="rope", metric="val_loss", unit="nats", value=2.0 + s / 100, shape={"eval_T": T, "seed": s})
            for T in (128, 256) for s in range(2)]
    rows += [dict(case="learned", metric="val_loss", unit="nats", value=2.1, shape={"eval_T": 128, "seed": s})
             for s in range(2)]
    rows += [dict(case="learned", metric="val_loss", unit="nats", value=None, status="untestable",
                  reason="index out of range in self", shape={"eval_T": 256, "seed": s}) for s in range(2)]
    return frame_of(tmp_path, *rows)


def extrapolates(**args):
    return claim("better_than", where={"metric": "val_loss"}, new={"case": "rope"}, base={"case": "learned"},
                 last="shape.eval_T", **args)


def test_better_than_compares_both_sides_at_the_same_last_point(tmp_path):
    v = judge(extrapolates(), extrapolation_frame(tmp_path))
    assert v.status is U and "index out of range" in v.evidence


def test_a_base_that_cannot_be_evaluated_loses_when_asked(tmp_path):
    assert judge(extrapolates(missing_base_loses=True), extrapolation_frame(tmp_path)).status is H


def test_not_worse_holds_within_margin(tmp_path):
    f = frame_of(tmp_path, *losses("new", [3.02, 3.03, 3.01]), *losses("base", [3.00, 3.01, 2.99]))
    assert judge(better(mode="not_worse", margin=0.02), f).status is H


def test_stated_improvement_range_refutes_a_too_small_gain(tmp_path):
    f = frame_of(tmp_path, *losses("new", [2.999, 3.000, 3.001]), *losses("base", [3.000, 3.001, 2.999]))
    assert judge(claim("better_than", [0.01, 0.02], where={"metric": "loss_at_step"}, new={"case": "new"},
                       base={"case": "base"}), f).status is R


def test_loss_below_reference_with_seeds(tmp_path):
    f = frame_of(tmp_path, *losses("model", [2.0, 2.1, 1.9]),
                 dict(case="unigram", metric="reference_loss", unit="nats", stat="exact", value=3.0))
    c = claim("loss_below", where={"case": "model"}, step=100, reference={"case": "unigram"})
    assert judge(c, f).status is H


def test_loss_below_with_one_seed_is_inconclusive(tmp_path):
    f = frame_of(tmp_path, *losses("model", [2.0]))
    assert judge(claim("loss_below", where={"case": "model"}, threshold=3.0), f).status is I


# ---------------------------------------------------------------- arithmetic, untestable, robustness
def test_arithmetic_refutes_an_inconsistent_sum():
    assert judge(claim("arithmetic", 486, 0.01, expr="9.6 + 38.4"), None).status is R


def test_arithmetic_range_holds_inside():
    assert judge(claim("arithmetic", [1.0, 2.0], expr="16 / 13"), None).status is H


def test_untestable_claim_reports_its_reason():
    c = Claim(id="t", doc="000", quote="q", kind="untestable", quantity="x", reason="no GPT-4o here")
    assert judge(c, None).status is U and judge(c, None).evidence == "no GPT-4o here"


def test_evaluate_turns_a_crashing_check_into_untestable(monkeypatch):
    def boom(claim, frame):
        raise ZeroDivisionError("division by zero")
    monkeypatch.setitem(CHECKS, "matches", Check("matches", boom))
    v = judge(claim("matches", 1, 0.1, where={}), None)
    assert v.status is U and "ZeroDivisionError" in v.evidence


def test_evaluate_survives_an_unknown_check_name():
    assert judge(claim("no-such-check", 1, 0.1), None).status is U


# ---------------------------------------------------------------- units and numbers in verdicts
def test_a_verdict_carries_its_unit_and_evidence_prints_numbers_as_tables_do(tmp_path):
    f = frame_of(tmp_path, dict(metric="kv_bytes", unit="bytes", value=1.875e9))
    v = judge(claim("matches", 1.875e9, 0.01, where={"metric": "kv_bytes"}), f)
    assert v.unit == "bytes" and "1.875 GB vs stated 1.875 GB" in v.evidence


def test_an_untestable_verdict_takes_the_unit_of_the_metric_it_needs(tmp_path):
    v = judge(claim("matches", 4e9, 0.01, where={"metric": "kv_bytes"}), frame_of(tmp_path, dict(value=1.0)))
    assert v.status is U and v.unit == "bytes"


def test_better_than_reports_the_relative_improvement_as_a_ratio(tmp_path):
    f = frame_of(tmp_path, *losses("new", [2.50, 2.51, 2.49]), *losses("base", [3.00, 3.01, 2.99]))
    v = judge(better(), f)
    assert v.unit == "ratio" and v.value == pytest.approx(0.5 / 3.0, rel=1e-3)


# ---------------------------------------------------------------- judging a run: verdicts as data
def test_judge_run_writes_the_verdicts_beside_the_rows(tmp_path):
    frame_of(tmp_path, dict(metric="params_total", unit="params", value=104.0))
    run_dir = tmp_path / RUN_ID
    claims = [claim("matches", 100, 0.05, where={"metric": "params_total"}),
              Claim(id="t-2", doc="001", quote="q", kind="untestable", quantity="x", reason="no GPT-4o here")]
    records = judge_run(run_dir, claims)
    assert read_verdicts(run_dir) == records
    first, second = records
    assert (first.claim, first.status, first.value, first.unit, first.rows) == ("t-1", H, 104.0, "params", (0,))
    assert "104 vs stated 100" in first.evidence and first.quote == "q" and first.suites == ("synthetic",)
    assert (second.status, second.evidence, second.reason) == (U, "no GPT-4o here", "no GPT-4o here")


# ---------------------------------------------------------------- the quantities the claims' expressions use
def test_the_standard_models_embedding_line_from_the_quantities(shipped):
    """002's memory lines are claims' expressions now; loading the documents installed the quantities."""
    assert evaluate_expression("weight_bytes('nexus-13b', 'int8', 'embedding')", {}) == 50000 * 2048 * 1
    assert evaluate_expression("params('nexus-405b@kv32') - params('nexus-405b')", {}) == 96 * 2 * 8192 * 24 * 64

