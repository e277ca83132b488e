"""Tests for the HTML report: a synthetic run (rows written with ResultStore, hand-made verdict records in its
verdicts.jsonl, fake suites) rendered once; files, verdict tables, links and anchors, escaping, determinism, and a
headless-Chromium pass that opens every page, checks for console errors and external resources, and screenshots
the summary."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from jinja2 import StrictUndefined, UndefinedError

from harness.report import plots
from harness.report.headline import Headline
from harness.report.render import Page, Section, Table, environment, render_run
from harness.report.tables import pivot
from harness.store.results import ResultStore, load_frame
from harness.store.verdicts import Status, VerdictRecord, write_verdicts
from harness.suite import Suite

RUN_ID = "0001_abcdef0_20250101-000000"
XSS = '<script>alert("x")</script> makes it 10× faster'
RUN_INFO = {"time_utc": "2025-01-01T00:00:00+00:00", "hostname": "testbox", "platform": "Linux-test",
            "versions": {"python": "3.11.7", "torch": "2.13.0+cpu", "triton": "3.4.0"},
            "cpu": {"model": "Test CPU", "logical_cores": 2, "torch_threads": 2, "torch_interop_threads": 2},
            "git": {"commit": "abcdef0123456789", "short": "abcdef0", "dirty": True},
            "gpu": {"available": False, "reason": "NVML Shared Library Not Found"}, "cuda_available": False,
            "torch_cuda": None, "profile": "quick", "suites": ["norms", "train", "broken", "never_ran"],
            "archs": "all"}


def _rows(store: ResultStore):
    timing = dict(stat="median", n=21, method="torch.utils.benchmark.Timer.blocked_autorange(min_run_time=0.2)",
                  device="cpu", dtype="float32", threads=2)
    for case, base in (("rmsnorm", 1.0e-4), ("layernorm", 1.3e-4)):
        for T in (64, 128, 256, 512):
            v = base * T / 64
            yield store.row(suite="norms", case=case, measure="latency_fwd", metric="latency_fwd_s", value=v,
                            unit="s", q1=0.97 * v, q3=1.04 * v, spread=0.07, shape={"B": 4, "T": T, "D": 256}, **timing)
        yield store.row(suite="norms", case=case, measure="params", metric="params_total",
                        value=256 if case == "rmsnorm" else 512, unit="params", method="module tree", device="cpu")
    yield store.row(suite="norms", case="rmsnorm", measure="latency_fwd", metric="latency_fwd_s", value=None,
                    unit="s", status="untestable", reason="needs a CUDA device", device="cuda")
    for stage in (1, 2):
        arch = f"hybrid-mvp{stage}-tiny"
        for seed in (0, 1):
            for step in range(10, 110, 10):
                loss = 6.0 / (1 + 0.02 * step * stage) + 0.03 * seed
                yield store.row(suite="train", case=arch, arch=arch, measure="loss_curve", metric="val_loss",
                                value=loss, unit="nats", shape={"step": step, "seed": seed}, method="trainer",
                                device="cpu", dtype="float32", threads=2,
                                extra={"tokens": step * 1024, "flops": step * 1024 * 3e6, "wall_s": step * 0.05})
        for phase, rate in (("prefill", 9000.0), ("train", 2500.0)):
            yield store.row(suite="train", case=arch, arch=arch, measure=phase, metric="tokens_per_s",
                            value=rate / stage, unit="tokens/s", stat="median", n=9, spread=0.03,
                            q1=0.98 * rate / stage, q3=1.02 * rate / stage, shape={"B": 4, "T": 128}, method="timer",
                            device="cpu", dtype="float32", threads=2, extra={"phase": phase})
    yield store.row(suite="train", case="hybrid-mvp1", arch="hybrid-mvp1", measure="train_memory",
                    metric="train_memory_bytes", value=4.2e10, unit="bytes", stat="analytic", device="formula",
                    dtype="bf16", shape={"B": 1, "T": 4096, "part": "weights"},
                    extra={"part": "weights", "checkpointing": False})
    yield store.row(suite="train", case="matmul", measure="peak", metric="flops_per_s", value=5.0e10,
                    unit="FLOP/s", method="torch.mm 1024", device="cpu", dtype="float32", threads=2)
    yield store.row(suite="roofline", case="copy", measure="peak", metric="bandwidth_bytes_per_s", value=8.0e9,
                    unit="bytes/s", method="copy_ of 64 MiB", device="cpu", threads=2)
    yield store.row(suite="broken", case="(plan)", measure="plan", metric="error", value=None, unit="",
                    status="failed", reason="ImportError: no module named 'flash_attn'",
                    extra={"traceback": "Traceback (most recent call last):\n  ImportError"})


def _verdict(claim, doc, quote, status, **kw):
    return VerdictRecord(claim=claim, doc=doc, quote=quote, status=status, kind=kw.pop("kind", "numeric"),
                         quantity=kw.pop("quantity", "q"), **kw)


def _verdicts(frame: pd.DataFrame) -> list[VerdictRecord]:
    rms = tuple(frame.index[(frame.case == "rmsnorm") & (frame.metric == "latency_fwd_s") & (frame.status == "ok")])
    loss = tuple(frame.index[frame.metric == "val_loss"][:3])
    details = [{"T": 64, "rmsnorm [s]": 1e-4, "layernorm [s]": 1.3e-4, "speedup": 1.3}]
    return [
        _verdict("001-rmsnorm-speed", "001", "RMSNorm is 10-15% faster than LayerNorm", Status.HOLDS,
                 kind="comparative", stated=[1.10, 1.15], suites=("norms",), value=1.3, unit="ratio",
                 evidence="layernorm/rmsnorm median latency 1.30× (n=21, IQR 7%) at every T", rows=rms,
                 formula="median(layernorm) / median(rmsnorm)", details=details),
        _verdict("000-xss", "000", XSS, Status.REFUTED, stated=10, tolerance=0.1, value=1.02,
                 evidence="1.02× <b>not</b> 10×", rows=loss),
        _verdict("000-params", "000", "~235B parameters", Status.ASSUMPTION, stated=235e9, tolerance=0.05,
                 suites=("train", "suite_without_a_page"), value=240.4e9, unit="params",
                 evidence="240.4B under the preset's expert count", assumption="64 experts of width 6144"),
        _verdict("002-quality", "002", "matches GPT-4 quality", Status.UNTESTABLE, kind="untestable",
                 reason="needs a trained 405B model", evidence="needs a trained 405B model"),
        _verdict("004-relu2", "004", "ReLU² is 1-2% better", Status.INCONCLUSIVE, kind="learning", value=0.004,
                 evidence="difference within seed noise", rows=(999,)),
        _verdict("001-block-calls", "001", "the block combines all four components", Status.REFUTED, kind="code",
                 stated=4, tolerance=0.0, value=3.0, quantity="components the block calls"),
        _verdict("003-flash", "003", "FlashAttention makes it 3× faster", Status.NOT_RUN, kind="comparative",
                 stated=3.0, suites=("attention",),
                 evidence="suite attention was not in this run; `archbench run --suites attention --profile quick` "
                          "measures it"),
    ]


HEADLINE = Headline(title="Forward latency against T", kind="lines", metric="latency_fwd_s", x="shape.T", log_x=True,
                    log_y=True, slopes=True, crossover=("rmsnorm", "layernorm"))
SUITES = [Suite(name="norms", question="Is RMSNorm faster than LayerNorm?", plan=lambda ctx: [], docs=("001",),
                claims=("001-rmsnorm-speed",), description="Forward latency at LLM widths.", headline=HEADLINE),
          Suite(name="train", question="How do the MVP stages train at tiny scale?", plan=lambda ctx: [],
                docs=("000",)),
          Suite(name="broken", question="Does a failing plan show up?", plan=lambda ctx: [], docs=("003",))]
EXTRA = Page(name="notes", title="Notes & <caveats>", group="More", intro="An extra page.",
             sections=[Section("A table", "text", Table(["a", "b"], [["1", "2"]], {1}))])


def make_run(root: Path) -> Path:
    store = ResultStore(root, RUN_ID)
    store.record_run_info(RUN_INFO)
    for row in _rows(store):
        store.append(row)
    return store.run_dir


def render(run_dir: Path, out_root: Path, **kw) -> Path:
    """Renders the run's verdicts.jsonl, as the CLI does."""
    from suites.pages.mvp_pages import mvp_pages          # the real MVP pages: end to end, as the CLI renders them
    write_verdicts(run_dir, _verdicts(load_frame(run_dir)))
    return render_run(run_dir, out_root, suites=SUITES, extra_pages=[EXTRA, mvp_pages],
                      docs={"000": "Hybrid", "001": "Modern components"}, **kw)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("report")
    return render(make_run(root / "results"), root / "out")


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.links, self.tables = set(), [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for name in ("href", "src"):
            if attrs.get(name) and tag in ("a", "img", "link", "script", "iframe", "source"):
                self.links.append(attrs[name])


def parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def test_report_writes_every_page(report):
    out = report.parent
    names = {p.name for p in out.iterdir()}
    expected = {"index.html", "environment.html", "notes.html", "doc_000.html", "doc_001.html", "doc_002.html",
                "doc_003.html", "doc_004.html", "suite_norms.html", "suite_train.html", "suite_broken.html",
                "suite_roofline.html", "suite_never_ran.html", "norms.csv", "train.csv", "rows.jsonl", "run.json",
                "verdicts.jsonl",
                "mvp_1.html", "mvp_2.html", "mvp_3.html", "mvp_4.html", "mvp_compare.html"}
    assert expected <= names, expected - names


def test_every_document_page_has_a_verdict_table_with_its_claims(report):
    for doc, ids in {"000": ["000-xss", "000-params"], "001": ["001-rmsnorm-speed"], "002": ["002-quality"],
                     "004": ["004-relu2"]}.items():
        html = (report.parent / f"doc_{doc}.html").read_text()
        assert "<th>verdict</th>" in html
        for claim_id in ids:
            assert f'id="claim-{claim_id}"' in html and f'href="doc_{doc}.html#claim-{claim_id}"' in html


def test_links_resolve_to_existing_files_and_anchors(report):
    out = report.parent
    pages = {p.name: parse(p) for p in out.glob("*.html")}
    checked = 0
    for name, page in pages.items():
        for link in page.links:
            assert not re.match(r"^[a-z]+://", link), f"{name}: external link {link}"
            target, _, anchor = link.partition("#")
            target = target or name
            assert (out / target).is_file(), f"{name}: link to missing file {link}"
            if anchor:
                assert anchor in pages[target].ids, f"{name}: link to missing anchor {link}"
            checked += 1
    assert checked > 100                             # the pages really are cross-linked


def test_verdict_rows_link_to_their_rows_on_the_suite_page(report):
    doc = (report.parent / "doc_001.html").read_text()
    frame = load_frame(report.parent / "rows.jsonl")
    first = frame.index[(frame.case == "rmsnorm") & (frame.metric == "latency_fwd_s") & (frame.status == "ok")][0]
    assert f'href="suite_norms.html#row-{first}"' in doc
    assert "#999 (not in this run&#39;s table)" in (report.parent / "doc_004.html").read_text()


def test_quotes_and_evidence_are_escaped(report):
    for path in report.parent.glob("*.html"):
        assert "<script" not in path.read_text(), path.name
    doc = (report.parent / "doc_000.html").read_text()
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in doc and "1.02× &lt;b&gt;not&lt;/b&gt; 10×" in doc
    assert "Notes &amp; &lt;caveats&gt;" in (report.parent / "notes.html").read_text()


def test_templates_fail_loudly_on_a_missing_field():
    env = environment()
    assert env.undefined is StrictUndefined and env.autoescape
    with pytest.raises(UndefinedError):
        env.from_string("{{ missing_field }}").render()


def test_index_shows_run_header_summary_and_failed_suites(report):
    html = report.read_text()
    for text in ("0001_abcdef0_20250101-000000", "abcdef0123456789", "dirty", "Test CPU", "2.13.0+cpu", "3.4.0",
                 "quick", "NVML Shared Library Not Found", "ImportError: no module named &#39;flash_attn&#39;",
                 "no rows recorded", 'class="badge holds"', 'class="badge refuted"', 'class="badge assumption"',
                 'class="badge untestable"', 'class="badge inconclusive"', '<svg class="plot"'):
        assert text in html, text


def test_suite_page_has_method_plots_pivot_and_csv(report):
    out = report.parent
    html = (out / "suite_norms.html").read_text()
    assert "Timer.blocked_autorange(min_run_time=0.2)</div>" in html
    assert "cpu · float32 · 2 threads · median of n=21 · IQR 7.0% median, 7.0% max · 8 rows" in html
    assert html.count('<svg class="plot"') == 3             # the headline, latency vs T (log-log), params by case
    assert html.index('id="headline"') < html.index('id="method"') < html.index('id="pivot"')
    assert "Forward latency against T" in html and "crossover of rmsnorm and layernorm" not in html  # parallel fits
    assert "needs a CUDA device" in html and 'href="norms.csv"' in html
    csv = pd.read_csv(out / "norms.csv")
    assert len(csv) == 11 and set(csv.case) == {"rmsnorm", "layernorm"}
    train = (out / "suite_train.html").read_text()           # loss rows with steps: one wide curves figure
    assert 'id="headline"' not in train                      # a suite without a headline: none, nothing broken
    assert '<figure id="plot-val_loss" class="wide"><figcaption>val_loss [nats]</figcaption><svg' in train


def test_document_pages_open_with_measured_over_stated(report):
    doc = (report.parent / "doc_000.html").read_text()
    assert doc.index('id="figure"') < doc.index('id="verdicts"') and '<figure class="headline claims"><svg' in doc
    assert "2 claims with a number on both sides" in doc
    quiet = (report.parent / "doc_002.html").read_text()
    assert "No claim of this document has a stated and a measured number" in quiet and "002-quality (no stated" in quiet


def test_summary_opens_with_the_largest_gaps_and_refuted_code(report):
    html = report.read_text()
    findings = html[html.index('id="findings"'):html.index('id="verdicts"')]
    assert findings.index("000-xss") < findings.index("001-block-calls")   # the largest gap, then the code snippet
    assert "8.82× off" in findings and findings.count("001-block-calls</a>") == 1
    assert "code snippet: components the block calls: 3 vs stated 4" in findings
    assert "001-rmsnorm-speed" not in findings                              # holds: not a finding


def test_not_run_is_its_own_state_with_the_command(report):
    html = report.read_text()
    assert 'class="card notrun"' in html and "not run in this run" in html
    doc = (report.parent / "doc_003.html").read_text()
    assert 'class="badge notrun"' in doc and "archbench run --suites attention --profile quick" in doc
    never = (report.parent / "suite_never_ran.html").read_text()              # selected, no rows at all
    assert "Not run in this run: <code>archbench run --suites never_ran --profile quick</code>" in never


def test_pivot_hides_no_row(tmp_path):
    """Rows that differ only in dtype or measure get lines of their own instead of overwriting one cell."""
    store = ResultStore(tmp_path, RUN_ID)
    for dtype, measure, value in (("fp32", "weights", 4.0), ("bf16", "weights", 2.0), ("bf16", "other", 3.0),
                                  ("bf16", "other", 3.0)):
        store.append(store.row(suite="m", case="a", measure=measure, metric="model_bytes", value=value, unit="bytes",
                               dtype=dtype, extra={"i": value}))
    frame = load_frame(store.run_dir, keep_superseded=True)
    table = pivot(frame)
    assert table.columns == ["case", "measure", "dtype", "model_bytes [bytes]"]
    assert sorted(r[-1].href for r in table.rows) == ["#row-0", "#row-1", "#row-2", "#row-3"]


def test_mvp_pages_show_stages_and_the_tiny_measurements(report):
    out = report.parent
    stage = (out / "mvp_1.html").read_text()
    for text in ("1 superblock", "Parameters", "FLOPs per token", "Decode state", "Training memory", "128k",
                 "hybrid-mvp1-tiny"):
        assert text in stage, text
    assert "run row (suite memory)" in stage                  # the memory row replaces the formula, linked
    compare = (out / "mvp_compare.html").read_text()
    assert compare.count('<svg class="plot"') >= 4 and "MVP-4" in compare


def test_environment_page_shows_run_json_and_peaks(report):
    html = (report.parent / "environment.html").read_text()
    assert "NVML Shared Library Not Found" in html and "8 GB/s" in html and "50 GFLOP/s" in html


def test_latest_points_at_the_newest_report(report):
    root = report.parent.parent
    assert (root / "latest" / "index.html").resolve() == report.resolve()
    assert f"{RUN_ID}/index.html" in (root / "latest.html").read_text()


def test_rendering_twice_gives_identical_files(report, tmp_path):
    again = render(report.parent.parent.parent / "results" / RUN_ID, tmp_path / "out").parent
    for path in report.parent.glob("*.html"):
        assert (again / path.name).read_text() == path.read_text(), path.name


def test_plots_are_deterministic_self_contained_svg():
    frame = pd.DataFrame({"label": ["a", "a", "a", "b", "b", "b"], "T": [64, 128, 256] * 2,
                          "value": [1.0, 2.0, 4.0, 1.5, 3.0, 7.0], "q1": None, "q3": None})
    first, again = plots.line_chart(frame, x="T"), plots.line_chart(frame, x="T")
    other = plots.bar_chart(frame.head(3))
    assert first == again and first.startswith('<svg class="plot"') and "<?xml" not in first
    assert "<dc:date>" not in first and not re.search(r'href="(?!#)|url\((?!#)', first)   # nothing to fetch
    ids = lambda svg: set(re.findall(r'id="([^"]+)"', svg))  # noqa: E731
    assert ids(first) and not ids(first) & ids(other)          # two plots on one page never share an id
    with pytest.raises(ValueError, match="none of the x columns"):
        plots.loss_curves(pd.DataFrame({"label": ["a"], "value": [1.0]}))


def test_a_run_renders_with_no_inputs_at_all(tmp_path):
    """A run without a verdicts file and no suites passed in: every suite page, no verdicts."""
    index = render_run(make_run(tmp_path / "results"), tmp_path / "out")
    assert "No claims were judged in this run." in index.read_text()
    assert (index.parent / "suite_norms.html").is_file() and (index.parent / "suite_never_ran.html").is_file()


def test_verdicts_given_ready_made_are_rendered_as_they_are(tmp_path):
    run_dir = make_run(tmp_path / "results")
    verdict = _verdict("001-x", "001", "a claim", Status.HOLDS, evidence="judged elsewhere", value=2.5e9,
                       unit="bytes", stated=2.5e9, tolerance=0.01)
    index = render_run(run_dir, tmp_path / "out", verdicts=[verdict])
    doc = (index.parent / "doc_001.html").read_text()
    assert "judged elsewhere" in index.read_text() and "<b>2.5 GB</b>" in doc and "2.5 GB (± 1%)" in doc
    assert json.loads((index.parent / "run.json").read_text())["hostname"] == "testbox"


def test_the_renderer_does_not_judge():
    """Rendering reads verdicts; judging is a pipeline stage before it (harness.claims.model.judge_run)."""
    source = (REPO / "harness" / "report").glob("*.py")
    assert not [p.name for p in source if "harness.claims" in p.read_text()]


# ---------------------------------------------------------------- headless Chromium
REPO = Path(__file__).resolve().parents[3]
ARTIFACTS = REPO / "test-artifacts"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CONSOLE = re.compile(r'INFO:CONSOLE[^"]*"(.*)", source:')
# The report has no JS; the tests inject this probe into copies of its pages: failed loads of any element
# (capture-phase error events), images that did not decode, any fetched resource that is not a data: URI, and a
# page wider than its window (horizontal overflow; a table scrolling inside its own box is fine).
PROBE = """<script>
var PAGE = location.pathname.split("/").pop();
window.addEventListener("error", function (e) { var t = e.target || {};
  if (t !== window) console.error("PROBE-FAIL " + PAGE + " resource " + (t.src || t.href || t.tagName)); }, true);
window.addEventListener("load", function () {
  Array.prototype.forEach.call(document.images, function (i) {
    if (!i.complete || i.naturalWidth === 0) console.error("PROBE-FAIL " + PAGE + " img " + i.src.slice(0, 80)); });
  performance.getEntriesByType("resource").forEach(function (r) {
    if (r.name.indexOf("data:") !== 0) console.error("PROBE-FAIL " + PAGE + " fetched " + r.name); });
  var root = document.documentElement;
  if (root.scrollWidth > root.clientWidth + 1)
    console.error("PROBE-FAIL " + PAGE + " overflow " + root.scrollWidth + " > " + root.clientWidth);
  console.log("PROBE-OK " + PAGE + " images=" + document.images.length +
              " svgs=" + document.querySelectorAll("svg").length);
});
</script>"""


def _find_browser() -> str | None:
    return next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)


@pytest.fixture(scope="session")
def chromium() -> str:
    """A headless Chromium, or the browser tests are skipped saying why. Tests install nothing: `.ci/run` installs
    Chromium (as root, with apt-get) on a machine that lacks it."""
    found = _find_browser()
    if not found:
        pytest.skip(f"no headless browser ({', '.join(BROWSERS)}) on PATH; install one, e.g. apt-get install -y "
                    "chromium (.ci/run does this when it runs as root)")
    return found


def _browse(binary: str, profile: Path, url: str, *args: str) -> subprocess.CompletedProcess:
    command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
               "--enable-logging=stderr", "--v=0", *args, url]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def _console(stderr: str) -> list[str]:
    return CONSOLE.findall(stderr)


def _probed(page: Path, folder: Path) -> Path:
    """A copy of `page` in `folder` with the probe as the first element of <head>."""
    html = page.read_text(encoding="utf-8")
    copy = folder / page.name
    copy.write_text(html.replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
    return copy


def _frames(pages: list[Path], folder: Path) -> Path:
    """One page holding every probed page in an iframe: a single browser launch checks them all."""
    frames = "".join(f'<iframe src="{_probed(p, folder).name}" width="1400" height="800"></iframe>' for p in pages)
    top = folder / "_all_pages.html"
    top.write_text(f"<!doctype html><html><head><title>all</title></head><body>{frames}</body></html>")
    return top


def test_probe_catches_a_broken_image_and_an_overflowing_page(chromium, tmp_path):
    """Control for the check below: a missing image and a page wider than its window are reported by the probe."""
    page = tmp_path / "src" / "broken.html"
    page.parent.mkdir()
    page.write_text('<!doctype html><html><head><title>x</title></head><body><img src="missing.png" alt="x">'
                    '<div style="width: 3000px">wide</div>')
    done = _browse(chromium, tmp_path / "profile", _frames([page], tmp_path).as_uri(), "--dump-dom")
    messages = " ".join(_console(done.stderr))
    assert "PROBE-FAIL broken.html img" in messages and "PROBE-FAIL broken.html overflow" in messages, \
        done.stderr[-2000:]
    assert "PROBE-OK broken.html images=1 svgs=0" in messages


def test_every_page_loads_in_chromium_without_errors(chromium, report, tmp_path):
    site = tmp_path / "site"
    shutil.copytree(report.parent, site)
    pages = sorted(report.parent.glob("*.html"))
    done = _browse(chromium, tmp_path / "profile", _frames(pages, site).as_uri(), "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    messages = _console(done.stderr)
    ok = {m.split()[1]: m for m in messages if m.startswith("PROBE-OK")}
    assert sorted(ok) == sorted(p.name for p in pages), f"pages that did not finish loading: {messages}"
    assert len(messages) == len(pages), [m for m in messages if not m.startswith("PROBE-OK")]
    for name in ("index.html", "suite_norms.html", "mvp_compare.html"):
        assert not ok[name].endswith("svgs=0"), f"{name}: no plot rendered"
    for page in pages:                                # nothing external, even where a browser would not fetch it
        assert not re.search(r'<(?:img|iframe|link|source|script)\b[^>]*\b(?:src|href)=', page.read_text()), page
        assert not re.search(r"url\((?!['\"]?#)|@import", page.read_text()), page
    assert len(pages) == 18


SHOTS = {"report.png": "index.html", "report_doc.png": "doc_000.html", "report_suite.png": "suite_norms.html",
         "report_mvp.png": "mvp_compare.html", "report_mvp_stage.png": "mvp_1.html",
         "report_environment.png": "environment.html", "report_page.png": "notes.html"}


def test_screenshot_of_each_page_type(chromium, report, tmp_path):
    """test-artifacts/: the summary, a document page (its measured ÷ stated figure), a suite page (its headline),
    the MVP pages, the environment and an extra page."""
    ARTIFACTS.mkdir(exist_ok=True)
    shots = SHOTS
    for i, (shot, page) in enumerate(shots.items()):
        (ARTIFACTS / shot).unlink(missing_ok=True)
        done = _browse(chromium, tmp_path / f"profile{i}", (report.parent / page).as_uri(),
                       f"--screenshot={ARTIFACTS / shot}", "--window-size=1400,1000", "--hide-scrollbars")
        assert done.returncode == 0 and (ARTIFACTS / shot).is_file(), done.stderr[-2000:]
    import matplotlib.image
    pixels = matplotlib.image.imread(ARTIFACTS / "report.png")
    assert pixels.shape[:2] == (1000, 1400) and pixels[..., :3].std() > 0.05     # not a blank page
