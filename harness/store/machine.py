"""Run metadata captured once per run: software versions, CPU, git state, and the GPU as NVML reports it.

Nothing here raises because a GPU, NVML or git is absent: those answers come back as
`{"available": False, "reason": "..."}` (GPU/NVML) or `"nogit"` (git), so a CPU-only laptop and a CUDA box
produce the same shape of `run.json`. NVML (from `nvidia-ml-py`, imported as `pynvml`) is opened and shut
down around each query; its device index is matched to torch's CUDA index by UUID when torch can see the
GPU, because `CUDA_VISIBLE_DEVICES` may renumber devices.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import importlib
import os
import platform
import socket
import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import torch

from harness.errors import one_line

REPO_DIR = Path(__file__).resolve().parents[2]
VERSIONED_PACKAGES = ("torch", "triton", "numpy", "pandas", "scipy")


def package_versions() -> dict[str, str]:
    """`{package: version}` for the packages whose version changes a measurement; "absent" if not importable."""
    versions = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = str(importlib.import_module(name).__version__)
        except Exception as err:  # noqa: BLE001 - a broken optional package is recorded, not fatal
            versions[name] = f"absent ({one_line(err, 80)})"
    return versions


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo (Linux), else what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown cpu"


def git_state(repo_dir: Path = REPO_DIR) -> dict[str, Any]:
    """`{"commit", "short", "dirty", "diff_sha256"}` of the checkout holding the harness: `diff_sha256` hashes
    `git diff HEAD` of a dirty tree (None when clean), so two runs of one commit with different local edits differ.
    Commit "nogit" when git can't say."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=repo_dir, capture_output=True, text=True, timeout=10)
        if done.returncode != 0:
            raise RuntimeError(done.stderr.strip() or f"git {' '.join(args)} failed")
        return done.stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
        diff = hashlib.sha256(git("diff", "HEAD", "--binary").encode()).hexdigest() if dirty else None
    except Exception:  # noqa: BLE001 - no git binary, not a repo, no commits yet
        return {"commit": "nogit", "short": "nogit", "dirty": None, "diff_sha256": None}
    return {"commit": commit, "short": commit[:7], "dirty": dirty, "diff_sha256": diff}


def utc_now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


@contextmanager
def _nvml() -> Iterator[Any]:
    """Yields an initialised `pynvml`; raises (ImportError, NVMLError...) for the caller to turn into a reason."""
    import pynvml

    pynvml.nvmlInit()
    try:
        yield pynvml
    finally:
        pynvml.nvmlShutdown()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _nvml_handle(nvml: Any, cuda_index: int) -> Any:
    """NVML handle of torch's CUDA device `cuda_index`, matched by UUID when torch can see it."""
    if torch.cuda.is_available() and cuda_index < torch.cuda.device_count():
        uuid = str(getattr(torch.cuda.get_device_properties(cuda_index), "uuid", ""))
        if uuid:
            try:
                return nvml.nvmlDeviceGetHandleByUUID(uuid if uuid.startswith(("GPU-", "MIG-")) else f"GPU-{uuid}")
            except Exception:  # noqa: BLE001 - fall back to the plain index
                pass
    return nvml.nvmlDeviceGetHandleByIndex(cuda_index)


def _optional(call: Any, *args: Any) -> Any:
    """One NVML query that some GPUs/drivers don't support: its value, or None."""
    try:
        return call(*args)
    except Exception:  # noqa: BLE001
        return None


def _unavailable(err: BaseException) -> dict[str, Any]:
    return {"available": False, "reason": one_line(err)}


def gpu_info() -> dict[str, Any]:
    """Static facts about every GPU NVML sees (name, driver, memory, max clocks, power limit), or why there are none."""
    try:
        with _nvml() as nvml:
            devices = []
            for index in range(nvml.nvmlDeviceGetCount()):
                handle = nvml.nvmlDeviceGetHandleByIndex(index)
                power_limit_mw = _optional(nvml.nvmlDeviceGetPowerManagementLimit, handle)
                devices.append({
                    "index": index,
                    "name": _text(nvml.nvmlDeviceGetName(handle)),
                    "uuid": _text(_optional(nvml.nvmlDeviceGetUUID, handle)),
                    "memory_total_bytes": int(nvml.nvmlDeviceGetMemoryInfo(handle).total),
                    "sm_clock_max_mhz": _optional(nvml.nvmlDeviceGetMaxClockInfo, handle, nvml.NVML_CLOCK_SM),
                    "mem_clock_max_mhz": _optional(nvml.nvmlDeviceGetMaxClockInfo, handle, nvml.NVML_CLOCK_MEM),
                    "power_limit_w": None if power_limit_mw is None else power_limit_mw / 1000.0,
                })
            return {"available": bool(devices), "reason": "" if devices else "NVML reports no GPUs",
                    "driver": _text(nvml.nvmlSystemGetDriverVersion()),
                    "cuda_driver": _optional(nvml.nvmlSystemGetCudaDriverVersion), "devices": devices}
    except Exception as err:  # noqa: BLE001 - no library, no driver, no device: all a clean "unavailable"
        return _unavailable(err)


def nvml_snapshot(cuda_index: int = 0) -> dict[str, Any]:
    """Momentary power draw, clocks, temperature and utilisation of one GPU (for throttling checks around a run)."""
    try:
        with _nvml() as nvml:
            handle = _nvml_handle(nvml, cuda_index)
            power_mw = _optional(nvml.nvmlDeviceGetPowerUsage, handle)
            util = _optional(nvml.nvmlDeviceGetUtilizationRates, handle)
            return {"available": True, "reason": "",
                    "power_w": None if power_mw is None else power_mw / 1000.0,
                    "sm_clock_mhz": _optional(nvml.nvmlDeviceGetClockInfo, handle, nvml.NVML_CLOCK_SM),
                    "mem_clock_mhz": _optional(nvml.nvmlDeviceGetClockInfo, handle, nvml.NVML_CLOCK_MEM),
                    "temperature_c": _optional(nvml.nvmlDeviceGetTemperature, handle, nvml.NVML_TEMPERATURE_GPU),
                    "gpu_util_pct": None if util is None else util.gpu}
    except Exception as err:  # noqa: BLE001
        return _unavailable(err)


def nvml_process_memory(cuda_index: int = 0) -> dict[str, Any]:
    """GPU memory NVML charges to this process (includes the CUDA context, unlike torch's allocator counters).

    Inside a container NVML may list host PIDs; then this process isn't found and the answer says so.
    """
    try:
        with _nvml() as nvml:
            handle = _nvml_handle(nvml, cuda_index)
            for proc in nvml.nvmlDeviceGetComputeRunningProcesses(handle):
                if proc.pid == os.getpid():
                    used = proc.usedGpuMemory
                    return {"available": used is not None, "reason": "" if used is not None else "NVML hides usage",
                            "bytes": None if used is None else int(used)}
            return {"available": False, "reason": f"NVML does not list pid {os.getpid()} (none yet, or a container)"}
    except Exception as err:  # noqa: BLE001
        return _unavailable(err)


def run_metadata() -> dict[str, Any]:
    """Everything about the machine and software that a result depends on; written once to `run.json`."""
    return {
        "time_utc": utc_now_iso(),
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "versions": package_versions(),
        "cpu": {"model": cpu_model(), "logical_cores": os.cpu_count(),
                "torch_threads": torch.get_num_threads(), "torch_interop_threads": torch.get_num_interop_threads()},
        "git": git_state(),
        "gpu": gpu_info(),
        "cuda_available": torch.cuda.is_available(),
        "torch_cuda": torch.version.cuda,
        "sdpa_backends": sdpa_backends(),
    }


def sdpa_backends() -> dict[str, Any]:
    """Which scaled_dot_product_attention kernels torch may pick on CUDA (all False/None without CUDA)."""
    if not torch.cuda.is_available():
        return {"available": False, "reason": "no CUDA: SDPA runs its CPU kernels"}
    cuda = torch.backends.cuda
    return {"available": True, "flash": cuda.flash_sdp_enabled(), "mem_efficient": cuda.mem_efficient_sdp_enabled(),
            "math": cuda.math_sdp_enabled(), "cudnn": getattr(cuda, "cudnn_sdp_enabled", lambda: None)()}
