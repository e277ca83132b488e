"""Malformed input of every kind ends as one line on stderr and exit status 2, before anything is measured, and
leaves nothing behind: flags, HF configs, results files, run metadata, claims files, corpora, output paths.

Each case makes its files in a fresh folder (also the working directory, so the default results/ and
reports/out/ would land there), calls `archbench.cli.main` in-process, and checks the folder is as it was.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest
import torch

from archbench.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "archs" / "fixtures" / "hf"
RUN = "0001_nogit_20250101-000000"
ROW = {"run_id": RUN, "suite": "s", "case": "c", "measure": "m", "metric": "latency_fwd_s", "value": 1.0, "unit": "s",
       "status": "ok"}


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]                       # "{tmp}" stands for the case's folder
    message: str                                # a piece of the one line on stderr
    make: Callable[[Path], None] = lambda tmp: None
    claims: dict[str, bytes] = field(default_factory=dict)   # a claims folder in place of suites/claims


# ---------------------------------------------------------------- builders
def write(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())


def files(**named: str | bytes) -> Callable[[Path], None]:
    """Files under the case folder; `__` in a name is a `/`."""
    return lambda tmp: [write(tmp / name.replace("__", "/"), content) for name, content in named.items()]


def link(name: str, target: str) -> Callable[[Path], None]:
    return lambda tmp: (tmp / name).symlink_to(tmp / target)


def run(rows: str | None = None, info: str | None = "{}", done: str | None = None, name: str = RUN,
        root: str = "results") -> Callable[[Path], None]:
    """A run folder `root/name` with rows.jsonl (one good row by default), run.json and done.jsonl."""
    def make(tmp: Path) -> None:
        folder = tmp / root / name
        write(folder / "rows.jsonl", json.dumps(ROW | {"run_id": name}) + "\n" if rows is None else rows)
        for file, text in (("run.json", info), ("done.jsonl", done)):
            if text is not None:
                write(folder / file, text)
    return make


def both(*makers: Callable[[Path], None]) -> Callable[[Path], None]:
    return lambda tmp: [m(tmp) for m in makers]


def hf(name: str, **changes) -> Callable[[Path], None]:
    """tmp/config.json: the fixture `name` with fields changed (None deletes one)."""
    raw = json.loads((FIXTURES / f"{name}.json").read_text())
    for key, value in changes.items():
        raw.pop(key) if value is None else raw.__setitem__(key, value)
    return files(**{"config.json": json.dumps(raw)})


def bench(content: str) -> Callable[[Path], None]:
    return files(**{"bench.json": content})


RUN_FLAGS = ("run", "--suites", "roofline", "--results", "{tmp}/results", "--out", "{tmp}/out")
LOSS_RUN = ("run", "--suites", "loss_curves", "--results", "{tmp}/results", "--no-report")
NO_CUDA = not torch.cuda.is_available()

CASES = [
    # ---------------------------------------------------------------- command-line flags
    Case("unknown-flag", ("run", "--bogus"), "unrecognized arguments: --bogus"),
    Case("no-command", (), "the following arguments are required: command"),
    Case("unknown-profile", ("run", "--profile", "huge"), "invalid choice: 'huge'"),
    Case("unknown-suite", ("run", "--suites", "norm"), "unknown suite 'norm'"),
    Case("suites-only-commas", ("run", "--suites", ","), "no suite named in ','"),
    Case("suites-blank-items", ("run", "--suites", " , "), "no suite named in ' , '"),
    Case("archs-only-commas", ("run", "--archs", ",,"), "no architecture named in ',,'"),
    Case("unknown-arch", ("run", "--archs", "nexus-13"), "did you mean nexus-13b"),
    Case("seed-negative", ("run", "--seed", "-1"), "--seed: expected an integer from 0 to 4294967295, got '-1'"),
    Case("seed-too-large", ("run", "--seed", str(2**32)), "expected an integer from 0 to 4294967295"),
    Case("seed-not-a-number", ("run", "--seed", "abc"), "got 'abc'"),
    Case("threads-zero", ("run", "--threads", "0"), "expected a positive integer, got '0'"),
    Case("dtype-unknown", ("run", "--dtype", "float8"), "invalid choice: 'float8'"),
    Case("tokenizer-too-small", ("run", "--tokenizer", "bpe:12"), "expected 'byte' or 'bpe:<256..65536>'"),
    Case("tokenizer-unknown", ("run", "--tokenizer", "wordpiece"), "got 'wordpiece'"),
    Case("context-negative", ("analyze", "nexus-13b", "--context", "-5"), "expected a positive integer"),
    # ---------------------------------------------------------------- corpora
    Case("corpus-missing", (*LOSS_RUN, "--corpus", "/no/such/text"), "corpus '/no/such/text' is neither"),
    Case("corpus-empty-file", (*LOSS_RUN, "--corpus", "{tmp}/empty.txt"), "is empty", files(**{"empty.txt": ""})),
    Case("corpus-binary", (*LOSS_RUN, "--corpus", "{tmp}/blob.txt"), "is not text (a NUL byte at offset 3)",
         files(**{"blob.txt": b"abc\0def" * 200})),
    Case("corpus-not-utf8", (*LOSS_RUN, "--corpus", "{tmp}/latin.txt"), "is not UTF-8 text (invalid byte at offset 8)",
         files(**{"latin.txt": b"caf\xc3\xa9 na\xefve " * 200})),
    Case("corpus-folder-without-txt", (*LOSS_RUN, "--corpus", "{tmp}/texts"), "holds no .txt files",
         files(**{"texts__notes.md": "x"})),
    Case("corpus-dangling-link", (*LOSS_RUN, "--corpus", "{tmp}/texts"), "is a dangling link",
         both(files(**{"texts__a.txt": "to be or not to be " * 100}), link("texts/b.txt", "gone.txt"))),
    Case("corpus-too-short", (*LOSS_RUN, "--corpus", "{tmp}/short.txt"), "holds 101 bytes, too few for block size 64",
         files(**{"short.txt": "x" * 100})),
    # ---------------------------------------------------------------- output paths
    Case("results-is-a-file", ("run", "--results", "{tmp}/taken"), "--results {tmp}/taken: not a folder (a file)",
         files(taken="x")),
    Case("results-under-a-file", ("run", "--results", "{tmp}/taken/sub"), "(its parent {tmp}/taken is a file)",
         files(taken="x")),
    Case("results-dangling-link", ("run", "--results", "{tmp}/gone"), "not a folder (a dangling link)",
         link("gone", "nowhere")),
    Case("results-is-a-run-folder", ("run", "--results", f"{{tmp}}/results/{RUN}"), "is a run folder", run()),
    Case("out-is-a-file", (*RUN_FLAGS[:-1], "{tmp}/taken"), "--out {tmp}/taken: not a folder", files(taken="x")),
    Case("out-is-the-results-folder", (*RUN_FLAGS[:-1], "{tmp}/results"), "is the results folder"),
    Case("out-unwritable", (*RUN_FLAGS[:-1], "/sys/archbench-out"), "cannot write in /sys"),
    Case("report-out-is-a-file", ("report", f"{{tmp}}/results/{RUN}", "--out", "{tmp}/taken"), "not a folder",
         both(run(), files(taken="x"))),
    Case("report-out-is-the-results-folder", ("report", f"{{tmp}}/results/{RUN}", "--out", "{tmp}/results"),
         "is the results folder", run()),
    # ---------------------------------------------------------------- results files
    Case("report-no-such-run", ("report", "/no/such/run"), "not a run directory (no such folder)"),
    Case("report-a-file", ("report", "{tmp}/taken"), "not a run directory (no rows.jsonl)", files(taken="x")),
    Case("report-no-runs", ("report",), "no runs under results"),
    Case("rows-corrupt-line", ("report", f"{{tmp}}/results/{RUN}", "--out", "{tmp}/out"), "rows.jsonl line 2",
         run(rows=json.dumps(ROW) + "\nnot json\n")),
    Case("rows-wrong-type", ("report", f"{{tmp}}/results/{RUN}", "--out", "{tmp}/out"),
         "row column 'value' must be a finite number", run(rows=json.dumps(ROW | {"value": "fast"}) + "\n")),
    Case("rows-not-an-object", ("report", f"{{tmp}}/results/{RUN}", "--out", "{tmp}/out"),
         "a row must be a JSON object", run(rows="[1, 2]\n")),
    Case("done-corrupt", ("report", f"{{tmp}}/results/{RUN}", "--out", "{tmp}/out"), "done.jsonl line 1: corrupt line",
         run(done="{oops\n")),
    Case("compare-nothing-in-common", ("compare", f"{{tmp}}/results/{RUN}", "{tmp}/results/0002_nogit_20250101-000001"),
         "have no metric in common (1 rows only in the first, 1 only in the second)",
         both(run(), run(name="0002_nogit_20250101-000001", rows=json.dumps(ROW | {"suite": "t"}) + "\n"))),
    Case("compare-not-a-run", ("compare", "/no/such/a", "/no/such/b"), "no results file"),
    # ---------------------------------------------------------------- run metadata (run.json)
    Case("run-json-a-list", ("report", f"{{tmp}}/results/{RUN}", "--out", "{tmp}/out"),
         "run.json: expected a JSON object, got list", run(info="[1]")),
    Case("run-json-git-a-string", ("report", f"{{tmp}}/results/{RUN}", "--out", "{tmp}/out"),
         "run.json: field 'git' must be an object", run(info='{"git": "abc"}')),
    Case("run-json-devices-not-objects", ("report", f"{{tmp}}/results/{RUN}", "--out", "{tmp}/out"),
         "'gpu.devices' must be a list of objects", run(info='{"gpu": {"devices": ["H100"]}}')),
    Case("run-json-corrupt-on-resume", RUN_FLAGS, "(the latest run; --fresh starts a new one)", run(info="{")),
    # ---------------------------------------------------------------- claims files
    Case("claims-not-utf8", RUN_FLAGS, "001_x.toml: UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff",
         claims={"001_x.toml": b"\xff\xfe[[claim]]\n"}),
    Case("claims-readings-not-utf8", RUN_FLAGS, "001_readings.toml: UnicodeDecodeError",
         claims={"001_readings.toml": b"[reading]\nname = \"caf\xe9\"\n"}),
    Case("claims-bad-toml", RUN_FLAGS, "001_x.toml: ", claims={"001_x.toml": b"[[claim]\nid = 1\n"}),
    Case("claims-unknown-key", RUN_FLAGS, "unknown key(s) colour",
         claims={"001_x.toml": b'[[claim]]\nid = "001-x"\ncolour = "red"\n'}),
    # ---------------------------------------------------------------- Hugging Face config.json
    Case("hf-zero-heads", ("analyze", "{tmp}/config.json"), "'num_attention_heads' must be an integer >= 1, got 0",
         hf("llama-2-7b", num_attention_heads=0)),
    Case("hf-negative-layers", ("analyze", "{tmp}/config.json"), "'num_hidden_layers' must be an integer >= 1",
         hf("llama-2-7b", num_hidden_layers=-1)),
    Case("hf-nan-eps", ("analyze", "{tmp}/config.json"), "'rms_norm_eps' must be a finite number > 0, got nan",
         hf("llama-2-7b", rms_norm_eps=float("nan"))),
    Case("hf-zero-rope-base", ("analyze", "{tmp}/config.json"), "'rope_theta' must be a finite number > 0",
         hf("mistral-7b-v0.1", rope_theta=0)),
    Case("hf-zero-moe-frequency", ("analyze", "{tmp}/config.json"), "'moe_layer_freq' must be an integer >= 1",
         hf("deepseek-v3", moe_layer_freq=0)),
    Case("hf-expert-count-missing", ("analyze", "{tmp}/config.json"),
         "required field 'n_routed_experts' (or 'num_local_experts') is missing",
         hf("deepseek-v3", n_routed_experts=None)),
    Case("hf-spellings-disagree", ("analyze", "{tmp}/config.json"), "spell the same setting and disagree",
         hf("mixtral-8x7b", num_experts=4)),
    Case("hf-invalid-json", ("analyze", "{tmp}/config.json"), "invalid JSON at line 1",
         files(**{"config.json": '{"model_type": "llama",'})),
    Case("hf-not-utf8", ("analyze", "{tmp}/config.json"), "cannot be read", files(**{"config.json": b"\xff{}"})),
    Case("hf-folder-without-config", ("analyze", "{tmp}/model"), "config.json: no such file",
         files(**{"model__weights.bin": b"0"})),
    # ---------------------------------------------------------------- import-benchmark
    Case("bench-not-json", ("import-benchmark", "{tmp}/bench.json", "--results", "{tmp}/results"),
         "not a pytest-benchmark JSON file", bench("nope")),
    Case("bench-wrong-types", ("import-benchmark", "{tmp}/bench.json", "--results", "{tmp}/results"),
         "not a pytest-benchmark JSON file (AttributeError", bench('{"benchmarks": [1]}')),
    Case("bench-nothing-timed", ("import-benchmark", "{tmp}/bench.json", "--results", "{tmp}/results"),
         "no timed benchmark in", bench('{"benchmarks": [{"name": "t", "stats": {}}]}')),
]
if NO_CUDA:
    CASES.append(Case("cuda-without-gpu", ("run", "--device", "cuda"), "--device cuda: torch sees no CUDA device"))


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every path under `folder`, with size and modification time for files (a folder's own times change when a
    lock file comes and goes)."""
    return {str(p.relative_to(folder)): (0, 0) if p.is_dir() else (p.lstat().st_size, p.lstat().st_mtime_ns)
            for p in folder.rglob("*")}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_malformed_input_is_one_line_exit_2_and_leaves_nothing_behind(case, tmp_path, capsys, monkeypatch):
    case.make(tmp_path)
    if case.claims:
        (tmp_path / "claims").mkdir()
        for name, content in case.claims.items():
            (tmp_path / "claims" / name).write_bytes(content)
        monkeypatch.setattr("archbench.report_inputs.DOCUMENTS_DIR", tmp_path / "claims")
    monkeypatch.chdir(tmp_path)                  # default results/ and reports/out/ would appear here
    before = snapshot(tmp_path)
    argv = [arg.replace("{tmp}", str(tmp_path)) for arg in case.argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("archbench: ") and "Traceback" not in err, err
    assert case.message.replace("{tmp}", str(tmp_path)) in lines[0]
    assert snapshot(tmp_path) == before


def test_the_table_covers_at_least_forty_kinds_of_malformed_input():
    assert len({c.id for c in CASES}) == len(CASES) >= 40


# ---------------------------------------------------------------- the outermost handlers
def failing_with(monkeypatch, err: BaseException) -> None:
    def raise_it(args):
        raise err
    monkeypatch.setattr("archbench.cli.cmd_list", raise_it)


@pytest.mark.parametrize("err, line", [
    (PermissionError(13, "Permission denied", "/data/results/run.json"), "/data/results/run.json: Permission denied"),
    (OSError(28, "No space left on device", "rows.jsonl"), "rows.jsonl: No space left on device"),
    (OSError(30, "Read-only file system", "/ro/results"), "/ro/results: Read-only file system"),
])
def test_an_os_error_is_one_line_naming_the_path(monkeypatch, capsys, err, line):
    failing_with(monkeypatch, err)
    assert main(["list"]) == 2
    assert capsys.readouterr().err == f"archbench: {line}\n"


def test_a_bug_is_one_line_exit_1_and_archbench_debug_shows_the_traceback(monkeypatch, capsys):
    failing_with(monkeypatch, KeyError("oops"))
    assert main(["list"]) == 1
    assert capsys.readouterr().err == \
        "archbench: internal error: KeyError: 'oops' (ARCHBENCH_DEBUG=1 shows the traceback)\n"
    monkeypatch.setenv("ARCHBENCH_DEBUG", "1")
    with pytest.raises(KeyError):
        main(["list"])


def test_a_broken_preset_is_named_by_list(monkeypatch, capsys):
    import archs
    name, real = archs.ARCHS.names()[0], archs.get_config

    def get_config(preset):
        if preset == name:
            raise ValueError("bad dims")
        return real(preset)
    monkeypatch.setattr(archs, "get_config", get_config)
    assert main(["list"]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"archbench: preset(s) that do not build: {name} (ValueError: bad dims)\n"
    assert archs.ARCHS.names()[1] in captured.out and f"\n{name} " not in captured.out


def test_list_into_a_closed_pipe_stops_quietly():
    """`archbench list | head -1` once head has gone: no traceback, no "Exception ignored", status 141."""
    read_end, write_end = os.pipe()
    lister = subprocess.Popen([sys.executable, "-m", "archbench", "list"], stdout=write_end, stderr=subprocess.PIPE)
    os.close(write_end)
    os.close(read_end)                           # the reader is gone before the first line is written
    assert lister.wait(timeout=120) == 141
    assert lister.stderr.read() == b""
