"""Tests for peak memory: a known allocation is found, sequential allocations are not summed, baselines excluded."""
import pytest
import torch

from harness.measure import memory
from harness.measure.memory import CPU_FALLBACK_METHOD, CPU_PROFILER_METHOD, peak_memory, walk_peak

MB10 = 10_000_000


def allocate_one():
    torch.empty(MB10, dtype=torch.uint8)


def test_cpu_peak_covers_a_known_allocation():
    peak = peak_memory(allocate_one, "cpu")
    assert MB10 <= peak.bytes <= 1.5 * MB10


def test_cpu_peak_uses_the_allocation_event_walk():
    assert peak_memory(allocate_one, "cpu").method == CPU_PROFILER_METHOD


def test_cpu_peak_does_not_sum_allocations_freed_in_between():
    def one_after_another():
        for _ in range(3):
            torch.empty(MB10, dtype=torch.uint8)
    assert peak_memory(one_after_another, "cpu").bytes < 2 * MB10


def test_cpu_peak_adds_allocations_alive_together():
    def two_at_once():
        a = torch.empty(MB10, dtype=torch.uint8)
        b = torch.empty(MB10, dtype=torch.uint8)
        return a, b
    assert peak_memory(two_at_once, "cpu").bytes >= 2 * MB10


def test_memory_held_before_the_call_is_not_counted():
    held = torch.ones(5 * MB10 // 4, dtype=torch.float32)  # float sum: no upcast copy (a uint8 sum makes int64)
    assert peak_memory(lambda: held.sum(), "cpu").bytes < MB10


def test_fallback_is_named_when_the_event_tree_is_unreadable(monkeypatch):
    def unreadable(prof):
        raise AttributeError("moved")
    monkeypatch.setattr(memory, "_allocation_deltas", unreadable)
    peak = peak_memory(allocate_one, "cpu")
    assert peak.method == CPU_FALLBACK_METHOD and peak.bytes >= MB10


def test_walk_peak_tracks_the_running_maximum():
    assert walk_peak([5, -5, 3, 4, -10, 2]) == 7


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_peak_covers_a_known_allocation():
    peak = peak_memory(lambda: torch.empty(MB10, dtype=torch.uint8, device="cuda"), "cuda")
    assert MB10 <= peak.bytes <= 1.5 * MB10 and peak.reserved_bytes >= peak.bytes
