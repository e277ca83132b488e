"""Run a worker module on W local processes with torchrun, with a hard wall-clock bound.

`launch(module, W, args, timeout_s)` runs

    python -m torch.distributed.run --standalone --nproc-per-node=W --max-restarts=0 --monitor-interval=0.1 \\
        -m <module> <args...> --out <records.jsonl>

in its own session, stdout+stderr to a log file. The worker picks its backend (nccl with a GPU per rank,
else gloo on CPU) and appends one JSON object per line to `--out`, each with a single write, so what it
wrote before a failure survives. Convention for failures: a worker that catches its own exception appends
{"kind": "error", "rank": r, "reason": "<one line>"} before exiting non-zero; the launcher names it.

Bounded failure: a rank that dies makes torchrun stop the other ranks (monitor interval 0.1 s) and exit
non-zero; a rank that hangs (or a collective that never completes) runs into `timeout_s`, after which the
launcher SIGKILLs torchrun and every descendant (torchrun starts each worker in its own session, so its
process group alone would miss them; descendants are found through /proc) and raises. Either way the caller
gets a one-line `LaunchError` (an ArchbenchError) carrying the `LaunchResult` with the records already written.

Environment: the repository root is prepended to PYTHONPATH; OMP_NUM_THREADS defaults to 1 (one thread per
rank, so each rank stands for one device and W ranks need W cores); `env` overrides both.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import ArchbenchError

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class LaunchResult:
    module: str
    world_size: int
    returncode: int | None
    elapsed_s: float
    out_path: Path
    log_path: Path
    records: list[dict] = field(default_factory=list)
    timed_out: bool = False

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class LaunchError(ArchbenchError):
    """The launched job failed or timed out; `.result` holds what it wrote."""

    def __init__(self, message: str, result: LaunchResult):
        super().__init__(message)
        self.result = result


def read_records(path: Path) -> list[dict]:
    """JSON lines of `path`; a torn last line (a rank killed mid-write) is dropped."""
    if not path.exists():
        return []
    records = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def _descendants(pid: int) -> list[int]:
    """All descendants of `pid`, from /proc (Linux); [] where /proc is unavailable."""
    children: dict[int, list[int]] = {}
    try:
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return []
    for entry in entries:
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])              # field 4, after "(comm)" and the state
        children.setdefault(ppid, []).append(int(entry))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL torchrun, its process group, every descendant and their groups (workers run in own sessions)."""
    victims = _descendants(proc.pid)
    for pid in [proc.pid, *victims]:
        for kill in (os.killpg, os.kill):
            try:
                kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def _failure_reason(records: list[dict], result: LaunchResult) -> str:
    errors = [r for r in records if r.get("kind") == "error"]   # file order = time order: the first is the cause
    if errors:
        first, more = errors[0], len({r.get("rank") for r in errors}) - 1
        also = f" (then {more} more rank{'s' if more > 1 else ''} failed)" if more else ""
        return f"rank {first.get('rank', '?')} failed: {first.get('reason', '')}{also}"
    tail = result.log_tail(80)
    if "Root Cause" in tail:                           # torchrun's summary: rank, exitcode, traceback lines
        block = tail.rsplit("Root Cause", 1)[1]
        field = {k.strip(): v.strip() for k, _, v in (ln.partition(":") for ln in block.splitlines()) if v}
        cause = field.get("traceback", "")
        if cause.startswith("To enable traceback"):       # no error file: the workers' last stderr line
            before = tail.split("elastic/multiprocessing/api.py")[0].splitlines()[:-1]
            raised = [ln.strip() for ln in before if re.match(r"^\s*[\w.]+(Error|Exception)\b", ln)]
            cause = (raised or [ln.strip() for ln in before if ln.strip()] or [""])[-1][:200]
        cause = f" ({cause})" if cause else ""
        rank, code = field.get("rank", "?").split()[0], field.get("exitcode", "?").split()[0]
        return f"rank {rank} exited with code {code}{cause}"
    lines = [ln.strip() for ln in tail.splitlines() if ln.strip()]
    return (lines or ["no output"])[-1][:300]


def launch(module: str, world_size: int, args: list[str], timeout_s: float, env: dict[str, str] | None = None,
           out: str | Path | None = None) -> LaunchResult:
    """Run `module` on `world_size` processes under torchrun (see the module docstring); raises LaunchError
    within about `timeout_s` seconds when a rank fails or hangs. Records go to `out` (default: a fresh temporary
    directory), the log beside it (`<out>.log`)."""
    if not isinstance(world_size, int) or world_size < 1:
        raise ArchbenchError(f"launch: world_size must be a positive int, got {world_size!r}")
    if timeout_s <= 0:
        raise ArchbenchError(f"launch: timeout_s must be positive, got {timeout_s!r}")
    if out is None:
        out = Path(tempfile.mkdtemp(prefix="archbench-launch-")) / "records.jsonl"
    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    log_path = out_path.with_suffix(".log")                # torchrun's and the workers' stdout + stderr
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={world_size}",
           "--max-restarts=0", "--monitor-interval=0.1", "-m", module, *map(str, args), "--out", str(out_path)]
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    full_env = {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", **(env or {})}
    start = time.perf_counter()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=full_env,
                                cwd=ROOT, start_new_session=True)
        try:
            rc, timed_out = proc.wait(timeout=timeout_s), False
        except subprocess.TimeoutExpired:
            _kill_tree(proc)
            rc, timed_out = proc.wait(), True
        except BaseException:                              # KeyboardInterrupt: leave nothing running
            _kill_tree(proc)
            proc.wait()
            raise
    result = LaunchResult(module=module, world_size=world_size, returncode=rc, out_path=out_path,
                          log_path=log_path, elapsed_s=time.perf_counter() - start, timed_out=timed_out)
    result.records = read_records(out_path)
    where = f"{module} on {world_size} rank{'s' if world_size > 1 else ''}"
    if timed_out:
        done = sorted({r.get("rank") for r in result.records if r.get("kind") == "done"} - {None})
        raise LaunchError(f"{where} timed out after {timeout_s:g}s (a rank hung or is too slow; ranks finished: "
                          f"{done or 'none'}); killed, log: {log_path}", result)
    if rc != 0:
        raise LaunchError(f"{where} failed (exit {rc}): {_failure_reason(result.records, result)}", result)
    return result
