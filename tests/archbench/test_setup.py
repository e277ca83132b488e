"""Setup on a machine that is not this one: the Python check, the dependency markers, both entry points' OpenMP
setting, and a wheel built from the tree rendering a report in a fresh virtual environment."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def test_python_and_dependency_markers_match_what_the_code_needs():
    project = PYPROJECT["project"]
    assert project["requires-python"] == ">=3.11"                      # tomllib
    triton = next(d for d in project["dependencies"] if d.startswith("triton"))
    assert triton.endswith("; sys_platform == 'linux'")               # no wheels elsewhere; imported optionally
    extras = project["optional-dependencies"]
    assert not any(d.startswith("fvcore") for d in extras["dev"]) and extras["count"][0].startswith("fvcore")
    assert "reports" in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]


@pytest.mark.skipif(shutil.which("make") is None, reason="no make on PATH")
def test_make_stops_at_once_in_one_line_on_python_3_10(tmp_path):
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(REPO / name, tmp_path / name)
    fake = tmp_path / "python3.10"
    fake.write_text('#!/bin/sh\nif [ "$1" = --version ]; then echo "Python 3.10.13"; else exit 1; fi\n')
    fake.chmod(0o755)
    # run as a top-level make: under `make test` the inherited MAKEFLAGS/MAKELEVEL add "Leaving directory" lines
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    done = subprocess.run(["make", "setup", f"PYTHON={fake}"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, env=env)
    assert done.returncode != 0 and not (tmp_path / ".venv").exists()
    assert done.stdout.strip().splitlines()[-1] == (f"archbench needs Python >= 3.11 (tomllib); {fake} is "
                                                     f"Python 3.10.13: make setup PYTHON=python3.11")


def test_both_entry_points_set_the_openmp_wait_policy_before_torch_loads():
    """The console script imports `archbench.cli:main` and `python -m archbench` runs `archbench.__main__`: either
    imports the package first, which sets the policy without loading torch."""
    probe = "import os, sys, archbench; print(os.environ.get('OMP_WAIT_POLICY'), 'torch' in sys.modules)"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=REPO,
                          timeout=120)
    assert done.stdout.split() == ["PASSIVE", "False"], done.stderr
    assert "OMP_WAIT_POLICY" not in (REPO / "archbench" / "__main__.py").read_text()   # one place sets it


def tree_copy(destination: Path) -> Path:
    """The working tree's tracked and new (not ignored) files: what a clone with these changes would hold."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, capture_output=True,
                            text=True, check=True).stdout.split("\0")
    for name in filter(None, listed):
        if (REPO / name).is_file() and not name.startswith("tests/"):
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, destination / name)
    return destination


def tiny_run(root: Path) -> Path:
    run = root / "0001_nogit_20250101-000000"
    run.mkdir(parents=True)
    row = {"run_id": run.name, "suite": "attention", "case": "gqa-3kv", "measure": "kv_vs_mha",
           "metric": "kv_reduction", "value": 4.0, "unit": "ratio", "stat": "analytic", "status": "ok"}
    (run / "rows.jsonl").write_text(json.dumps(row) + "\n")
    (run / "run.json").write_text(json.dumps({"profile": "quick", "hostname": "wheelbox"}))
    return run


@pytest.mark.slow
def test_a_wheel_built_from_the_tree_renders_a_report_in_a_fresh_venv(tmp_path):
    """Templates and claims ship inside the wheel: the installed package renders without the source tree."""
    if shutil.which("git") is None or subprocess.run(["git", "rev-parse"], cwd=REPO).returncode:
        pytest.skip("not a git checkout: the tree to build from is unknown")
    source, dist, venv = tree_copy(tmp_path / "source"), tmp_path / "dist", tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist),
                    str(source)], check=True, capture_output=True, timeout=300)
    wheel = next(dist.glob("archbench-*.whl"))
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # reuse this environment's torch, pandas, jinja2... (not its archbench: a plain path runs none of its .pth)
    import sysconfig
    Path(purelib, "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
                   check=True, capture_output=True, timeout=300)
    work = tmp_path / "elsewhere"
    run = tiny_run(work / "results")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    where = subprocess.run([python, "-c", "import archbench, reports; print(archbench.__file__, reports.__file__)"],
                           cwd=work, capture_output=True, text=True, env=env, check=True).stdout
    assert str(REPO) not in where and where.count(purelib) == 2
    done = subprocess.run([venv / "bin" / "archbench", "report", str(run), "--out", str(work / "out")], cwd=work,
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    index = work / "out" / run.name / "index.html"
    assert done.stdout.strip() == f"report: {index}" and "wheelbox" in index.read_text()
