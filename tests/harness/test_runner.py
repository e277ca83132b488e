"""The runner: failures are recorded with their reason and the run goes on; finished units are not redone."""
from __future__ import annotations

from harness.store.results import ResultStore, load_frame
from harness.runner import run_suite
from harness.suite import Context, Suite, Unit, grid


def _suite(calls: list[str]) -> Suite:
    def good(ctx):
        calls.append("good")
        yield dict(case="a", measure="m", metric="latency_fwd_s", value=1.0, unit="s")

    def bad(ctx):
        calls.append("bad")
        yield dict(case="b", measure="m", metric="latency_fwd_s", value=2.0, unit="s")
        raise RuntimeError("kernel exploded\nsecond line")

    return Suite(name="demo", question="?", plan=lambda ctx: [Unit("good", good), Unit("bad", bad)])


def test_a_failing_unit_is_recorded_with_its_reason_and_the_others_run(tmp_path):
    store = ResultStore.create(tmp_path)
    counts = run_suite(_suite([]), Context(run_id=store.run_id), store)
    frame = load_frame(store.run_dir)
    assert counts == {"ok": 1, "failed": 1, "skipped": 0}
    failed = frame[frame.status == "failed"]
    assert list(failed.reason) == ["RuntimeError: kernel exploded"]
    assert set(frame[frame.status == "ok"].case) == {"a", "b"}   # rows made before the failure are kept


def test_rerun_skips_finished_units_and_retries_failed_ones(tmp_path):
    calls: list[str] = []
    store = ResultStore.create(tmp_path)
    run_suite(_suite(calls), Context(run_id=store.run_id), store)
    reopened = ResultStore(tmp_path, store.run_id)
    counts = run_suite(_suite(calls), Context(run_id=store.run_id), reopened)
    assert calls == ["good", "bad", "bad"]
    assert counts["skipped"] == 1


def test_redo_reruns_finished_units(tmp_path):
    calls: list[str] = []
    store = ResultStore.create(tmp_path)
    run_suite(_suite(calls), Context(run_id=store.run_id), store)
    run_suite(_suite(calls), Context(run_id=store.run_id), store, redo=True)
    assert calls.count("good") == 2


def test_a_plan_that_raises_is_one_failed_row(tmp_path):
    def plan(ctx):
        raise ValueError("no such shape")
    store = ResultStore.create(tmp_path)
    run_suite(Suite(name="broken", question="?", plan=plan), Context(run_id=store.run_id), store)
    frame = load_frame(store.run_dir)
    assert list(frame.status) == ["failed"] and "no such shape" in frame.reason[0]


def test_grid():
    assert grid(T=[1, 2], D=[3]) == [{"T": 1, "D": 3}, {"T": 2, "D": 3}]


def test_a_failure_row_is_dropped_once_the_unit_finishes(tmp_path):
    from harness.store.results import current_frame
    flaky = {"fail": True}

    def unit(ctx):
        if flaky.pop("fail", False):
            raise RuntimeError("transient")
        yield dict(case="a", measure="m", metric="latency_fwd_s", value=1.0, unit="s")

    suite = Suite(name="flaky", question="?", plan=lambda ctx: [Unit("u", unit)])
    store = ResultStore.create(tmp_path)
    run_suite(suite, Context(run_id=store.run_id), store)
    assert "failed" in set(current_frame(store.run_dir).status)
    run_suite(suite, Context(run_id=store.run_id), store)
    assert set(current_frame(store.run_dir).status) == {"ok"}


def test_rows_a_unit_emits_while_running_survive_its_failure(tmp_path):
    def long_unit(ctx):
        for step in range(3):                       # e.g. a training curve, written as it is made
            ctx.emit(dict(case="curve", measure="m", metric="train_loss", value=1.0 / (step + 1), unit="nats",
                          shape={"step": step}))
        raise RuntimeError("interrupted")
        yield                                        # a generator like every unit

    store = ResultStore.create(tmp_path)
    run_suite(Suite(name="train", question="?", plan=lambda ctx: [Unit("u", long_unit)]),
              Context(run_id=store.run_id), store)
    frame = load_frame(store.run_dir)
    assert sorted(frame[frame.metric == "train_loss"]["shape.step"]) == [0, 1, 2]
    assert "RuntimeError: interrupted" in set(frame.reason)
