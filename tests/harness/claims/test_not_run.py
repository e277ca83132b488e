"""A claim whose suites were not in the run reads "not run in this run" with the command that would measure it,
distinct from "untestable here"; and every verdict record states its interval and whether the stated value is a
bound."""
import harness.claims.load  # noqa: F401 (registers the checks, as loading claims does)
from harness.claims.model import Claim, Status, judge_run
from harness.store.results import ResultStore
from harness.store.verdicts import read_verdicts

RUN_ID = "0001_nogit_20250101-000000"


def _run(tmp_path, suites):
    store = ResultStore(tmp_path, RUN_ID)
    store.record_run_info({"profile": "quick", "suites": suites})
    store.append(store.row(suite="norms", case="c", measure="m", metric="speedup", unit="ratio", stat="median",
                           value=1.2, q1=1.1, q3=1.3))
    return store.run_dir


def _claim(cid, suites, check="matches", **kw):
    return Claim(id=cid, doc="000", quote="q", kind="numeric", quantity="x", stated=2.0, tolerance=0.1, check=check,
                 args={"where": {"suite": suites[0], "metric": "speedup"}}, suites=suites, **kw)


def test_a_claim_of_a_suite_outside_the_run_is_not_run_with_the_command(tmp_path):
    run_dir = _run(tmp_path, ["norms"])
    claims = [_claim("t-off", ("attention",)), _claim("t-on", ("norms",)),
              Claim(id="t-never", doc="000", quote="q", kind="untestable", quantity="x", reason="needs a GPU farm",
                    suites=("attention",))]
    off, on, never = judge_run(run_dir, claims)
    assert off.status is Status.NOT_RUN and "archbench run --suites attention --profile quick" in off.evidence
    assert on.status is Status.REFUTED                        # its suite ran: judged as usual
    assert never.status is Status.UNTESTABLE                  # untestable by nature stays untestable
    assert read_verdicts(run_dir)[0].status is Status.NOT_RUN


def test_a_suite_that_ran_without_the_rows_stays_untestable(tmp_path):
    run_dir = _run(tmp_path, ["norms", "attention"])
    (verdict,) = judge_run(run_dir, [_claim("t-off", ("attention",))])
    assert verdict.status is Status.UNTESTABLE


def test_records_carry_the_interval_and_the_bound(tmp_path):
    run_dir = _run(tmp_path, ["norms"])
    speed = Claim(id="t-speed", doc="000", quote="q", kind="comparative", quantity="x", stated=1.1,
                  check="speedup", args={"where": {"suite": "norms", "metric": "speedup"}}, suites=("norms",))
    matched, sped = judge_run(run_dir, [_claim("t-on", ("norms",)), speed])
    assert matched.interval == [1.1, 1.3] and matched.bound == ""
    assert sped.bound == "at least" and sped.interval == [1.1, 1.3]
