"""Progress: one bar for the whole run (units done of the total) on a terminal only, the per-unit log lines always,
and ARCHBENCH_NO_PROGRESS switching every bar off."""
from __future__ import annotations

import io

import pytest

from harness.progress import NO_PROGRESS, progress_bar, progress_wanted
from harness.runner import run_suites
from harness.store.results import ResultStore
from harness.suite import Context, Suite, Unit


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def unit(ctx):
    yield dict(case="a", measure="m", metric="latency_fwd_s", value=1.0, unit="s")


SUITES = [Suite(name="one", question="?", plan=lambda ctx: [Unit("u1", unit), Unit("u2", unit)]),
          Suite(name="two", question="?", plan=lambda ctx: [Unit("u3", unit)])]


def run_on(stderr, monkeypatch, tmp_path) -> str:
    monkeypatch.setattr("sys.stderr", stderr)
    store = ResultStore.create(tmp_path)
    run_suites(SUITES, Context(run_id=store.run_id), store)
    return stderr.getvalue()


def test_a_terminal_gets_one_bar_over_every_suites_units_and_the_log_lines(monkeypatch, tmp_path):
    monkeypatch.delenv(NO_PROGRESS, raising=False)
    text = run_on(Terminal(), monkeypatch, tmp_path)
    assert "archbench run" in text and "3/3" in text                 # one bar: 3 units of 2 suites
    assert "[one 2/2] u2" in text and "[two] done in" in text        # the log lines are kept


def test_a_log_file_gets_the_lines_without_a_bar(monkeypatch, tmp_path):
    monkeypatch.delenv(NO_PROGRESS, raising=False)
    text = run_on(io.StringIO(), monkeypatch, tmp_path)
    assert "[one 1/2] u1" in text and "archbench run" not in text


def test_no_progress_switches_bars_off_even_on_a_terminal(monkeypatch, tmp_path):
    monkeypatch.setenv(NO_PROGRESS, "1")
    text = run_on(Terminal(), monkeypatch, tmp_path)
    assert "[two 1/1] u3" in text and "archbench run" not in text


@pytest.mark.parametrize("env, asked, shown", [("", True, True), ("", False, False), ("1", True, False),
                                               ("0", True, True)])
def test_an_explicit_request_is_followed_unless_no_progress_is_set(monkeypatch, env, asked, shown):
    monkeypatch.setenv(NO_PROGRESS, env)
    assert progress_wanted(asked) is shown
    assert progress_bar(5, "train", asked=asked, nested=True).disable is not shown
