"""Measured machine peaks (matmul FLOP/s, memory bandwidth) for roofline fractions, measured once per run.

Method, both timed with `harness.measure.timing.time_fn` (warm-up, median of blocks), inputs allocated beforehand:

* Compute: `torch.mm(a, b, out=c)` on square n×n matrices of `dtype`; work counted as 2·n³ FLOPs per call.
  n = 1024 on CPU (about 1 s for both measurements on 2 cores), 8192 on CUDA. On CUDA, fp32 uses whatever TF32
  setting torch currently has (`torch.backends.cuda.matmul.allow_tf32`), recorded in the method string.
* Bandwidth: `dst.copy_(src)` of a `copy_mib`-MiB buffer (64 MiB on CPU, 1 GiB on CUDA: src + dst exceed
  common last-level caches; pass more on CPUs with bigger ones), counted as 2 × buffer bytes per call
  (one read + one write), the STREAM "copy" convention.

These are *achieved* peaks of a library matmul and a copy on this machine, not datasheet numbers: a fraction
of them says how close a kernel gets to what this software stack can reach here.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from harness.errors import ArchbenchError
from harness.measure.timing import time_fn


@dataclass(frozen=True, kw_only=True)
class Peaks:
    flops_per_s: float
    bytes_per_s: float
    flops_method: str
    bytes_method: str
    device: str
    threads: int | None
    dtype: str

    @property
    def ridge_intensity(self) -> float:
        """FLOPs per byte where the roofline turns from bandwidth-bound to compute-bound."""
        return self.flops_per_s / self.bytes_per_s

    def attainable_flops_per_s(self, intensity: float) -> float:
        """Roofline ceiling for a kernel doing `intensity` FLOPs per byte moved."""
        return min(self.flops_per_s, intensity * self.bytes_per_s)


def measure_peaks(device: str = "cpu", threads: int | None = None, *, dtype: torch.dtype = torch.float32,
                  matmul_n: int | None = None, copy_mib: int | None = None, min_run_time: float = 0.2) -> Peaks:
    """Measure matmul FLOP/s and copy bandwidth on `device` (see the module docstring)."""
    cuda = device.startswith("cuda")
    threads = None if cuda else (torch.get_num_threads() if threads is None else threads)
    n = matmul_n or (8192 if cuda else 1024)
    mib = copy_mib or (1024 if cuda else 64)
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    c = torch.empty(n, n, device=device, dtype=dtype)
    mm = time_fn(lambda: torch.mm(a, b, out=c), device=device, threads=threads, min_run_time=min_run_time)
    del a, b, c
    src = torch.ones(mib * 2**20, device=device, dtype=torch.uint8)
    dst = torch.empty_like(src)
    copy = time_fn(lambda: dst.copy_(src), device=device, threads=threads, min_run_time=min_run_time)
    tf32 = f", allow_tf32={torch.backends.cuda.matmul.allow_tf32}" if cuda and dtype == torch.float32 else ""
    return Peaks(flops_per_s=2 * n**3 / mm.median, bytes_per_s=2 * src.numel() / copy.median, device=device,
                 flops_method=f"torch.mm {n}x{n} {dtype}{tf32}, 2n^3 FLOPs, median of {mm.method}",
                 bytes_method=f"copy_ of {mib} MiB, 2x bytes (read+write), median of {copy.method}",
                 threads=threads, dtype=str(dtype).removeprefix("torch."))


def achieved_fraction(work: float, seconds: float, peak_per_s: float) -> float:
    """(work / seconds) / peak: e.g. FLOPs with `peaks.flops_per_s`, or bytes with `peaks.bytes_per_s`."""
    if seconds <= 0 or peak_per_s <= 0:
        raise ArchbenchError(f"achieved_fraction needs positive seconds and peak, got {seconds} and {peak_per_s}")
    return work / seconds / peak_per_s
