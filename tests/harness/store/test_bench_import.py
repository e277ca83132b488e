"""pytest-benchmark JSON -> result rows, and a clear error for a file that is not one."""
import json

import pytest

from harness.store.bench_import import benchmark_rows
from harness.errors import ArchbenchError
from harness.store.results import Row

SAVED = {"version": "5.3.1", "machine_info": {"cpu": {"brand_raw": "Test CPU"}},
         "commit_info": {"id": "abc", "dirty": False},
         "benchmarks": [{"name": "test_rmsnorm", "group": "norms", "fullname": "tests/perf/x.py::test_rmsnorm",
                         "stats": {"median": 2e-4, "q1": 1.9e-4, "q3": 2.2e-4, "rounds": 50, "iterations": 1},
                         "extra_info": {"D": 768}},
                        {"name": "test_disabled", "stats": {}}]}


def test_saved_benchmarks_become_median_rows_with_their_spread(tmp_path):
    path = tmp_path / "0001.json"
    path.write_text(json.dumps(SAVED))
    rows = [Row(**fields) for fields in benchmark_rows(path, "0001_nogit_20250101-000000")]
    assert len(rows) == 1                                     # the statless (disabled) benchmark is skipped
    row = rows[0]
    assert (row.case, row.measure, row.value, row.n) == ("test_rmsnorm", "norms", 2e-4, 50)
    assert row.spread == pytest.approx(0.15)
    assert row.extra["cpu"] == "Test CPU"


def test_a_file_that_is_not_pytest_benchmark_json_is_one_line(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"hello": 1}')
    with pytest.raises(ArchbenchError, match="not a pytest-benchmark JSON file"):
        list(benchmark_rows(path, "r"))
