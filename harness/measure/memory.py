"""Peak memory of one call: the most bytes the call held at once, above what was held when it began.

CUDA: `torch.cuda.reset_peak_memory_stats`, then `max_memory_allocated() - memory_allocated()` taken before the
call (tensor bytes through torch's caching allocator; the CUDA context and cuBLAS workspaces that predate the call
are not counted). `max_memory_reserved()` (what the allocator took from the driver) is reported alongside.

CPU: there is no resettable high-water mark for the CPU allocator, and RSS is process-wide and never goes down,
so the call runs once under `torch.profiler.profile(profile_memory=True)`. Every allocation and free that
PyTorch's CPU allocator makes is recorded with a timestamp; walking them in time order (`current += bytes;
peak = max(peak, current)`) gives the call's peak. Only tensor storage is counted: Python objects and memory
that numpy or other libraries allocate themselves are not. The walk reads the profiler's event tree (the same
private structure `torch.profiler`'s own memory timeline reads); if a future torch moves it, the fallback walks
the public per-operator net memory (`self_cpu_memory_usage`) at each operator's start, which misses temporaries
freed inside one operator, and the result's `method` says which was used. Never time a call under the profiler.
"""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterable

import torch

CPU_PROFILER_METHOD = "torch.profiler(profile_memory=True): CPU allocator events walked in time order"
CPU_FALLBACK_METHOD = "torch.profiler(profile_memory=True): per-operator net CPU memory walked in time order"


@dataclass(frozen=True, kw_only=True)
class PeakMemory:
    """`bytes`: the call's peak above its starting point. `reserved_bytes`: CUDA allocator peak reserve, else None."""
    bytes: int
    method: str
    device: str
    baseline_bytes: int | None = None
    reserved_bytes: int | None = None


def peak_memory(fn: Callable[[], object], device: str = "cpu") -> PeakMemory:
    """Run `fn()` once and report its peak memory (see the module docstring for how, per device)."""
    if device.startswith("cuda"):
        return _peak_cuda(fn, torch.device(device))
    return _peak_cpu(fn)


def _peak_cuda(fn: Callable[[], object], device: torch.device) -> PeakMemory:
    torch.cuda.synchronize(device)
    baseline = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    fn()
    torch.cuda.synchronize(device)
    peak = torch.cuda.max_memory_allocated(device) - baseline
    return PeakMemory(bytes=int(peak), baseline_bytes=int(baseline),
                      reserved_bytes=int(torch.cuda.max_memory_reserved(device)), device=str(device),
                      method="torch.cuda.max_memory_allocated after reset_peak_memory_stats, minus allocated before")


def walk_peak(deltas: Iterable[int]) -> int:
    """Largest running total of signed byte deltas, starting from 0 (frees of older memory can go below 0)."""
    current = peak = 0
    for delta in deltas:
        current += delta
        peak = max(peak, current)
    return peak


@contextmanager
def _native_stderr_silenced():
    """The profiler's C++ side prints start/stop lines on file descriptor 2 for every use; progress output of a
    run should not drown in them. Python-level stderr is untouched (it is flushed first)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _peak_cpu(fn: Callable[[], object]) -> PeakMemory:
    from torch.profiler import ProfilerActivity, profile

    with _native_stderr_silenced(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    try:
        deltas = _allocation_deltas(prof)
        method = CPU_PROFILER_METHOD
    except Exception:  # noqa: BLE001 - private profiler structure changed: use the public per-operator view
        deltas = _operator_deltas(prof)
        method = CPU_FALLBACK_METHOD
    return PeakMemory(bytes=walk_peak(deltas), method=method, device="cpu")


def _allocation_deltas(prof: "torch.profiler.profile") -> list[int]:
    """Signed sizes of every CPU allocation/free, in time order, from the profiler's event tree."""
    from torch._C._profiler import _EventType

    events: list[tuple[int, int]] = []
    stack = list(reversed(prof.profiler.kineto_results.experimental_event_tree()))
    while stack:  # pre-order walk, so events with equal timestamps keep the tree's order under the stable sort
        node = stack.pop()
        if node.tag == _EventType.Allocation and node.extra_fields.device.type == "cpu":
            events.append((node.start_time_ns, int(node.extra_fields.alloc_size)))
        stack.extend(reversed(node.children))
    events.sort(key=lambda event: event[0])
    return [size for _, size in events]


def _operator_deltas(prof: "torch.profiler.profile") -> list[int]:
    timed = [(event.time_range.start, event.self_cpu_memory_usage) for event in prof.events()
             if event.self_cpu_memory_usage]
    return [size for _, size in sorted(timed, key=lambda event: event[0])]
