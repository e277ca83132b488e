"""Import pytest-benchmark's saved JSON (`.benchmarks/<machine>/<n>_<commit>_<time>.json`, written by
`make bench-perf`) into the tidy results store, one row per benchmark, so regression timings sit beside the
suites' numbers and load with the same `load_frame`."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from harness.errors import ArchbenchError, one_line

SUITE = "pytest_benchmark"


def benchmark_rows(path: Path, run_id: str) -> Iterator[dict[str, Any]]:
    """Row fields for every benchmark in one pytest-benchmark JSON file (times in seconds)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        benches, machine = data["benchmarks"], data.get("machine_info", {})
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ArchbenchError(f"{path}: not a pytest-benchmark JSON file ({one_line(err)})") from None
    commit = data.get("commit_info", {})
    for bench in benches:
        stats = bench.get("stats", {})
        median, q1, q3 = stats.get("median"), stats.get("q1"), stats.get("q3")
        if median is None:                        # a benchmark run under --benchmark-disable has no stats
            continue
        yield dict(run_id=run_id, suite=SUITE, case=bench.get("name", "?"), measure=bench.get("group") or "perf",
                   metric="latency_fwd_s", value=median, unit="s", stat="median", q1=q1, q3=q3,
                   spread=(q3 - q1) / median if median and q1 is not None and q3 is not None else None,
                   n=int(stats.get("rounds", 1)), method=f"pytest-benchmark {data.get('version', '')}, "
                   f"{stats.get('rounds')} rounds × {stats.get('iterations', 1)} iterations",
                   device="cpu", threads=None,
                   extra={"file": str(path), "commit": commit.get("id", ""), "dirty": commit.get("dirty"),
                          "cpu": machine.get("cpu", {}).get("brand_raw", ""), "extra_info": bench.get("extra_info", {}),
                          "fullname": bench.get("fullname", "")})
