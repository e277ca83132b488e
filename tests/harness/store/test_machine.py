"""Tests for run metadata: versions, CPU, git, and clean answers when there is no GPU, NVML or git."""
import json
import subprocess
import sys

import pynvml
import pytest
import torch

from harness.store import machine

NVML_QUERIES = [machine.gpu_info, machine.nvml_snapshot, machine.nvml_process_memory]


def fail_init():
    raise pynvml.NVMLError(pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)


@pytest.mark.parametrize("query", NVML_QUERIES, ids=lambda q: q.__name__)
def test_missing_nvml_library_is_a_clean_unavailable(monkeypatch, query):
    monkeypatch.setattr(pynvml, "nvmlInit", fail_init)
    answer = query()
    assert answer["available"] is False and "NVML" in answer["reason"]


@pytest.mark.parametrize("query", NVML_QUERIES, ids=lambda q: q.__name__)
def test_missing_pynvml_package_is_a_clean_unavailable(monkeypatch, query):
    monkeypatch.setitem(sys.modules, "pynvml", None)
    answer = query()
    assert answer["available"] is False and answer["reason"]


def test_run_metadata_records_versions_cpu_git_and_time():
    meta = machine.run_metadata()
    assert meta["versions"]["torch"] == torch.__version__
    assert meta["cpu"]["torch_threads"] == torch.get_num_threads()
    assert meta["cpu"]["logical_cores"] >= 1 and meta["cpu"]["model"]
    assert meta["git"]["commit"] and meta["time_utc"].endswith("+00:00")


def test_run_metadata_is_json_serialisable():
    meta = machine.run_metadata()
    assert json.loads(json.dumps(meta)) == meta          # round-trips unchanged: only JSON types inside


def test_git_state_outside_a_repository_is_nogit(tmp_path):
    assert machine.git_state(tmp_path) == {"commit": "nogit", "short": "nogit", "dirty": None, "diff_sha256": None}


def test_a_dirty_tree_is_told_apart_by_the_hash_of_its_diff(tmp_path):
    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True,
                       capture_output=True)
    (tmp_path / "a.py").write_text("x = 1\n")
    git("init", "-q")
    git("add", "a.py")
    git("commit", "-q", "-m", "one")
    assert machine.git_state(tmp_path)["diff_sha256"] is None
    hashes = []
    for text in ("x = 2\n", "x = 3\n", "x = 2\n"):
        (tmp_path / "a.py").write_text(text)
        hashes.append(machine.git_state(tmp_path)["diff_sha256"])
    assert hashes[0] == hashes[2] != hashes[1] and machine.git_state(tmp_path)["dirty"]


def test_absent_git_binary_is_nogit(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert machine.git_state()["commit"] == "nogit"
