"""The architectures-side-by-side page: one column per architecture of a run, each line read from its suite's rows
(the module-tree count before the formula, the mean final loss over seeds), figures, links to the rows, and the
page in the run's report (navigation and summary link) only when the run has architecture rows."""
from __future__ import annotations

from html.parser import HTMLParser

import pytest

from harness.report.archs_page import archs_context, write_archs_page, write_comparison
from harness.report.render import environment, render_run
from harness.report.tables import Link
from harness.store.results import ResultStore, load_frame
from tests.harness.report.test_report import ARTIFACTS, _browse, _console, chromium  # noqa: F401 (a fixture)

RUN_ID = "0001_abcdef0_20250101-000000"
ARCHS = ("big-a", "tiny-b")


def _rows(store: ResultStore, archs=ARCHS):
    for i, arch in enumerate(archs):
        common = dict(case=arch, arch=arch, device="formula")
        scale = 10 ** max(6 - 3 * i, 3)
        yield store.row(suite="params_flops", measure="params", metric="params_total", value=7 * scale,
                        unit="params", stat="exact", **common)
        yield store.row(suite="params_flops", measure="params_formula", metric="params_total", value=9 * scale,
                        unit="params", stat="analytic", **common)          # the count wins over the formula
        for kind, share in (("attention", 3), ("ffn", 4)):
            yield store.row(suite="params_flops", measure="params", metric=f"params_{kind}", value=share * scale,
                            unit="params", extra={"kind": kind}, **common)
        yield store.row(suite="params_flops", measure="flops_analytic_causal", metric="flops_fwd_per_token",
                        value=2e9 / (i + 1), unit="FLOP", stat="analytic", shape={"T": 2048}, **common)
        for T in (2048, 8192):
            yield store.row(suite="kv_cache", measure="kv_analytic", metric="kv_bytes", value=T * 1000.0 * (i + 1),
                            unit="bytes", stat="analytic", dtype="bfloat16", shape={"B": 1, "T": T}, **common)
        for part, value in (("weights", 1e9), ("activations", 3e9)):
            yield store.row(suite="memory", measure="train_memory", metric="train_memory_bytes", value=value,
                            unit="bytes", stat="analytic", dtype="bf16", extra={"part": part},
                            shape={"B": 1, "T": 4096, "part": part}, **common)
    yield store.row(suite="throughput", case="tiny-b", arch="tiny-b", measure="decode", metric="tokens_per_s",
                    value=88.0, unit="tokens/s", stat="median", shape={"B": 1, "T": 128}, extra={"phase": "decode"})
    yield store.row(suite="memory", case="tiny-b", arch="tiny-b", measure="peak_train_step", metric="peak_bytes",
                    value=3e6, unit="bytes", shape={"B": 4, "T": 128}, extra={"phase": "train_step"})
    for seed, final in ((0, 2.0), (1, 2.2)):
        for step, loss in ((50, 3.0), (100, final)):
            yield store.row(suite="loss_curves", case="big-a", arch="big-a~w64", measure="loss_arch_params",
                            metric="val_loss", value=loss, unit="nats", shape={"step": step, "seed": seed})


def make_run(root, archs=ARCHS):
    store = ResultStore(root, RUN_ID)
    store.record_run_info({"profile": "quick", "suites": ["params_flops", "kv_cache", "memory", "throughput"]})
    for row in _rows(store, archs):
        store.append(row)
    return store.run_dir


@pytest.fixture(scope="module")
def frame(tmp_path_factory):
    return load_frame(make_run(tmp_path_factory.mktemp("results")))


def line(context, label):
    """The cells of the line whose label starts with `label`, by architecture."""
    for _, table in context["groups"]:
        for row in table.rows:
            if row[0].startswith(label):
                return dict(zip(table.columns[1:], row[1:]))
    raise AssertionError(f"no line {label!r}")


def test_one_column_per_architecture_each_line_from_its_rows(frame):
    context = archs_context(frame)
    assert context["columns"] == list(ARCHS)
    assert line(context, "parameters, total") == {"big-a": "7M", "tiny-b": "7,000"}   # counted, not the formula
    assert line(context, "component: ffn") == {"big-a": "4M", "tiny-b": "4,000"}
    assert line(context, "decode state at 8k") == {"big-a": "8.192 MB", "tiny-b": "16.38 MB"}
    assert line(context, "training memory B1 T4096, total (bf16)") == {"big-a": "4 GB", "tiny-b": "4 GB"}
    assert line(context, "measured decode tokens/s (B1-T128)") == {"big-a": "—", "tiny-b": "88 tokens/s"}
    assert line(context, "measured train step peak memory (B4-T128)") == {"big-a": "—", "tiny-b": "3 MB"}
    assert line(context, "final validation loss at matched parameters") == {"big-a": "2.1", "tiny-b": "—"}


def test_cells_link_to_their_rows_and_figures_are_inline_svg(frame):
    context = archs_context(frame, link=lambda suite, index: f"suite_{suite}.html#row-{index}")
    total = line(context, "parameters, total")["big-a"]
    assert isinstance(total, Link) and total.href == f"suite_params_flops.html#row-{frame.index[0]}"
    captions = [caption for caption, _ in context["figures"]]
    assert len(captions) == 2 and captions[0].startswith("Parameters by component")
    assert all(svg.startswith("<svg") for _, svg in context["figures"])


def test_a_frame_without_architecture_rows_has_no_page(frame, tmp_path):
    other = frame[frame.suite == "loss_curves"].assign(measure="loss_ab")
    assert archs_context(other) is None
    assert write_archs_page(environment(), tmp_path, other, {}) is None


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.links += [value for name, value in attrs if name == "href"]


def test_the_report_of_a_run_links_the_page(tmp_path):
    index = render_run(make_run(tmp_path / "results"), tmp_path / "out")
    page = index.parent / "archs.html"
    assert page.is_file() and "big-a" in page.read_text(encoding="utf-8")
    for html in (index, page):
        parser = _Links()
        parser.feed(html.read_text(encoding="utf-8"))
        assert "archs.html" in parser.links                          # navigation (and the summary's link)
        missing = [link for link in parser.links if not link.startswith(("http", "#")) and
                   not (index.parent / link.split("#")[0]).exists()]
        assert missing == []


# the page's width and console in headless Chromium: many architecture columns scroll inside their tables
WIDTH_PROBE = """<script>window.addEventListener("load", function () { var d = document.documentElement;
  console.log("WIDTH " + d.scrollWidth + " " + d.clientWidth); });</script>"""


def test_many_columns_scroll_inside_the_tables_not_the_page(chromium, tmp_path):
    run_dir = make_run(tmp_path / "results", archs=tuple(f"architecture-{i:02d}" for i in range(16)))
    page = write_comparison(environment(), run_dir, load_frame(run_dir), {}, intro="")   # the page alone
    probed = page.with_name("probed.html")
    probed.write_text(page.read_text(encoding="utf-8").replace("<head>", "<head>" + WIDTH_PROBE, 1), encoding="utf-8")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report_archs.png"
    shot.unlink(missing_ok=True)
    done = _browse(chromium, tmp_path / "profile", probed.as_uri(), f"--screenshot={shot}", "--window-size=1400,1000",
                   "--hide-scrollbars")                              # one launch: the probe logs, the shot is taken
    messages = _console(done.stderr)
    widths = [m.split()[1:] for m in messages if m.startswith("WIDTH")]
    assert widths and int(widths[0][0]) <= int(widths[0][1]), (messages, done.stderr[-2000:])
    assert [m for m in messages if not m.startswith("WIDTH")] == []          # no console error
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
