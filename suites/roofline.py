"""This machine's achieved peaks (matmul FLOP/s and copy bandwidth), measured once per run: the scale every
throughput number is read against."""
from __future__ import annotations

from harness.measure.fields import machine_peaks
from harness.suite import Context, Suite, Unit
from harness.report.headline import Headline


def peak_rows(ctx: Context):
    peaks = machine_peaks(ctx.device, ctx.threads)
    yield dict(case="matmul", measure="peak", metric="flops_per_s", value=peaks.flops_per_s, unit="FLOP/s",
               stat="median", method=peaks.flops_method, dtype=peaks.dtype)
    yield dict(case="copy", measure="peak", metric="bandwidth_bytes_per_s", value=peaks.bytes_per_s,
               unit="bytes/s", stat="median", method=peaks.bytes_method, dtype="uint8")


HEADLINE = Headline(
    title="This machine's roofline: attainable FLOP/s against arithmetic intensity, from the measured peaks",
    kind="roofline", metric=("flops_per_s", "bandwidth_bytes_per_s"), x="metric", series="case")

SUITE = Suite(name="roofline", plan=lambda ctx: [Unit("peaks", peak_rows)], description=__doc__, headline=HEADLINE,
              question="What matmul FLOP rate and memory bandwidth can this machine reach?")
