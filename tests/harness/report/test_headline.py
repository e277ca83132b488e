"""The pieces that make the report answer at a glance, on small synthetic frames: a headline's row selection
(points of different cases never joined), its figure and reference, the generic plots' series split, the grouped
method entries, and the measured ÷ stated points of a document page."""
from __future__ import annotations

import pandas as pd
import pytest

from harness.errors import ArchbenchError
from harness.report.claim_figure import claim_points
from harness.report.headline import Headline, select
from harness.report.headline_figures import headline_figure
from harness.report.methods import method_entries
from harness.report.plots import split_series
from harness.report.verdicts import CSS
from harness.store.results import ResultStore, load_frame
from harness.store.verdicts import Status, VerdictRecord

RUN_ID = "0001_nogit_20250101-000000"


def _frame(tmp_path, rows):
    store = ResultStore(tmp_path, RUN_ID)
    for fields in rows:
        base = dict(suite="norms", case="rmsnorm", measure="forward", metric="latency_s", unit="s", stat="median",
                    device="cpu", dtype="float32", threads=2, n=5)
        store.append(store.row(**{**base, **fields}))
    return load_frame(store.run_dir)


@pytest.fixture
def norms(tmp_path):
    """Two cases, two measures (forward, forward_backward) and two widths at three T: a plot that joined any of
    them would zig-zag."""
    rows = []
    for case, base in (("rmsnorm", 1.0), ("layernorm", 1.2)):
        for measure, factor in (("forward", 1.0), ("forward_backward", 3.0)):
            for D in (512, 2048):
                for T in (64, 128, 256):
                    v = base * factor * D * T * 1e-9
                    rows.append(dict(case=case, measure=measure, value=v, q1=0.95 * v, q3=1.05 * v,
                                     shape={"D": D, "T": T}, method=f"{D * T * 4} bytes / Timer(min_run_time=0.2)"))
    return _frame(tmp_path, rows)


def test_select_splits_every_case_that_would_share_a_point(norms):
    data = select(Headline(title="t", kind="lines", metric="latency_s", x="shape.T"), norms)
    assert data.label.nunique() == 8                         # 2 cases x 2 measures x 2 widths
    assert not data.duplicated(["label", "x"]).any()         # one point per x in every line
    assert "rmsnorm (forward_backward D=2048)" in set(data.label)


def test_select_keeps_a_column_that_only_follows_x_out_of_the_label(norms):
    one = norms[(norms.measure == "forward") & (norms["shape.D"] == 512)]
    data = select(Headline(title="t", kind="lines", metric="latency_s", x="shape.T"), one)
    assert set(data.label) == {"rmsnorm", "layernorm"}


def test_where_takes_values_lists_and_patterns(norms):
    h = Headline(title="t", kind="bars", metric="latency_*", x="case", where={"measure": "forward*",
                                                                                "shape.D": [512]})
    assert set(select(h, norms).index) == set(norms.index[norms["shape.D"] == 512])


def test_headline_validation_names_the_problem():
    with pytest.raises(ArchbenchError, match="kind 'pie'"):
        Headline(title="t", kind="pie", metric="m", x="case")
    with pytest.raises(ArchbenchError, match="slopes=True"):
        Headline(title="t", kind="lines", metric="m", x="shape.T", crossover=("a", "b"))
    with pytest.raises(ArchbenchError, match="needs a metric and an x"):
        Headline(title="t", kind="bars")


def test_headline_figure_marks_the_crossover_of_the_fits(tmp_path):
    rows = [dict(case="quadratic", value=1e-6 * T ** 2, shape={"T": T}) for T in (64, 128, 256)]
    rows += [dict(case="linear", value=1e-3 * T, shape={"T": T}) for T in (64, 128, 256)]
    h = Headline(title="time vs T", kind="lines", metric="latency_s", x="shape.T", log_x=True, log_y=True,
                 slopes=True, crossover=("linear", "quadratic"))
    fig = headline_figure(h, _frame(tmp_path, rows))
    assert "crossover of linear and quadratic at x ≈ 1000 (extrapolated" in fig["caption"]   # 1e-3 T = 1e-6 T²
    assert fig["svg"].startswith('<svg class="plot"') and "slope 2.00" not in fig["caption"]


def test_headline_reference_comes_from_its_claim_only_in_the_same_unit(tmp_path, norms):
    h = Headline(title="t", kind="bars", metric="latency_s", x="case", where={"shape.T": 64, "shape.D": 512,
                                                                               "measure": "forward"}, claim="c-1")
    view = {"status": "holds", "value": "1", "stated": "1–2", "stated_value": [1.0, 2.0], "tolerance_value": None,
            "href": "doc_000.html#claim-c-1"}
    assert "claim c-1: holds" in headline_figure(h, norms, {"c-1": {**view, "unit": "s"}})["caption"]
    from harness.report.headline import reference_band
    assert reference_band(h, {**view, "unit": "s"}, "s")[0] == (1.0, 2.0)
    assert reference_band(h, {**view, "unit": "ratio"}, "s") == (None, None, "")


def test_a_suite_without_rows_for_its_headline_has_none(norms):
    h = Headline(title="t", kind="bars", metric="params", x="case")
    assert headline_figure(h, norms) is None and headline_figure(None, norms) is None


def test_generic_line_plots_split_series_where_an_x_repeats():
    frame = pd.DataFrame({"label": ["a"] * 4, "shape.T": [64, 128, 64, 128], "measure": ["f", "f", "fb", "fb"],
                          "value": [1.0, 2.0, 3.0, 6.0]})
    labels = split_series(frame, "shape.T", "label")
    assert list(labels) == ["a (measure=f)", "a (measure=f)", "a (measure=fb)", "a (measure=fb)"]
    assert list(split_series(frame.iloc[:2], "shape.T", "label")) == ["a", "a"]


def test_methods_differing_in_a_number_are_one_entry_with_a_table(norms):
    entries = method_entries(norms)
    assert len(entries) == 1
    (entry,) = entries
    assert entry["text"] == "{bytes} bytes / Timer(min_run_time=0.2)"          # the shared number stays
    assert entry["table"].columns == ["bytes", "rows", "cases and shapes"]
    assert len(entry["table"].rows) == 5                      # 6 shapes, but D512·T256 = D2048·T64
    assert "median of n=5" in entry["facts"] and "24 rows" in entry["facts"]


def _record(cid, status, value, stated, **kw):
    return VerdictRecord(claim=cid, doc="000", status=status, value=value, stated=stated, **kw)


def test_claim_points_divide_by_the_stated_value_and_say_why_not():
    records = [_record("tol", Status.HOLDS, 104.0, 100, tolerance=0.05, interval=[100.0, 110.0]),
               _record("range", Status.REFUTED, 2.0, [4, 16]),
               _record("least", Status.HOLDS, 3.0, 2.0, bound="at least"),
               _record("zero", Status.HOLDS, 1e-17, [0, 1e-6]),
               _record("words", Status.UNTESTABLE, None, None)]
    points, skipped = claim_points(records, CSS)
    tol, rng, least = points
    assert (tol.ratio, tol.low, tol.high, tol.band) == (1.04, 1.0, 1.1, (0.95, 1.05))
    assert rng.ratio == pytest.approx(0.25) and rng.band == pytest.approx((0.5, 2.0))   # around sqrt(4·16) = 8
    assert least.band[0] == 1.0 and least.band[1] > 1e3 and least.css == "holds"
    assert skipped == [("zero", "stated range starts at 0 (no ratio)"), ("words", "no stated number")]


def test_columns_declared_over_are_summarised_not_split(norms):
    h = Headline(title="t", kind="bars", metric="latency_s", x="case", series="measure", over=("shape.D", "shape.T"))
    data = select(h, norms)
    assert set(data.label) == {"forward", "forward_backward"}              # no D=/T= series
    assert headline_figure(h, norms)["svg"].count("<svg") == 1
