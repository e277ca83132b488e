"""Decoding: the time of one decode step against the context it attends to, for every way of keeping the past:
softmax attention with 16, 4 and 1 KV heads (MHA, GQA, MQA), MLA's latent cache (naive and absorbed paths) and
Gated DeltaNet's fixed-size state, at batch 1 and above, beside the bytes the step must move and the fraction of
this machine's memory bandwidth that makes.

Method. One layer of each at the profile's width (standard: dim 1024, 16 heads of 64; GQA 4 query heads per KV
head; MLA with the mla-moe preset's latent sizes), the run's dtype and device, under no_grad. For each batch B and
context S the layer's own cache holds S tokens per sequence, allocated for S + 1 (`new_cache(capacity=...)`):
attention's keys and values and MLA's latents are random entries written through the cache's `append` (a step's
work does not depend on their values), Gated DeltaNet's state comes from a real prefill of min(S, gdn_prefill)
tokens (its state has the same size after any number of tokens, so its step is the same work at every S). Then
one step of B new tokens is timed from a shallow copy of that cache (`copy.copy` forks it), so every sample times
the same step (harness.measure.timing.interleaved; MLA's naive and absorbed paths alternate on one cache, after a
rel_error gate of absorbed against naive).

Rows per (variant, B, S): latency_decode_s (the step), tokens_per_s = B / step, decode_bytes_per_token = bytes the
step must move / B, where bytes = cache read (cache.nbytes(), exactly the analytic formula) + cache written (the
new tokens; Gated DeltaNet rewrites its whole state) + weights read once per step; bandwidth_bytes_per_s = bytes /
step, and roofline_fraction = that over this machine's measured copy bandwidth (harness.measure.fields
.machine_peaks). MLA naive also re-expands every cached latent to per-head keys and values each step, traffic not
counted here (it is compute the absorbed path avoids). scaling_exponent per (variant, B): log-log slope of the step
time against S with its 95% interval: ~0 while the weights dominate, approaching 1 where reading the cache does
(the KV-bandwidth-bound regime that decode-speed claims speak of: long contexts, batch > 1).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from archs import get_config
from archs.components.attention import Attention
from archs.components.deltanet import GatedDeltaNet
from archs.components.mla import MLA
from archs.config import DecoderConfig, LayerSpec
from harness.measure.fields import machine_peaks, rate_fields, roofline_fields, timing_fields
from harness.measure.gates import error_row, rel_err
from harness.measure.timing import interleaved
from harness.report.headline import Headline
from harness.suite import Context, PerProfile, Suite, Unit
from suites.mixers import fit_row

VARIANTS = ("mha", "gqa", "mqa", "mla", "gdn")
GQA_GROUP = 4                   # query heads per KV head
FILL_TOKENS = 4096              # random cache entries are written in pieces of this many tokens
TOL = {torch.float32: 1e-4, torch.float64: 1e-10}           # absorbed vs naive MLA; other dtypes 2e-2


@dataclass(frozen=True)
class Sizes:
    dim: int                            # layer width
    heads: int                          # query heads (of dim / heads each)
    batches: tuple[int, ...]            # sequences decoded together
    contexts: tuple[int, ...]           # cached tokens per sequence before the timed step
    mla_naive_max: int | None           # longest context for MLA's naive path (None: every context)
    gdn_prefill: int                    # longest real prefill that gives Gated DeltaNet its state
    min_run_time: float                 # seconds per timing


SIZES = PerProfile(
    smoke=Sizes(dim=32, heads=4, batches=(1, 2), contexts=(16, 32, 64), mla_naive_max=None, gdn_prefill=16,
                min_run_time=0.002),
    quick=Sizes(dim=512, heads=8, batches=(1, 4), contexts=(512, 1024, 2048, 4096, 8192), mla_naive_max=4096,
                gdn_prefill=256, min_run_time=0.1),
    standard=Sizes(dim=1024, heads=16, batches=(1, 4), contexts=(1024, 2048, 4096, 8192, 16384, 32768),
                   mla_naive_max=None, gdn_prefill=1024, min_run_time=0.3),
    full=Sizes(dim=2048, heads=16, batches=(1, 8), contexts=(1024, 4096, 16384, 32768, 65536), mla_naive_max=None,
               gdn_prefill=1024, min_run_time=0.5))


def config(variant: str, s: Sizes) -> DecoderConfig:
    """A one-layer config whose only layer is the variant's mixer."""
    kv_heads = {"mha": s.heads, "gqa": s.heads // GQA_GROUP, "mqa": 1}.get(variant)
    spec = LayerSpec(mixer=variant) if variant in ("mla", "gdn") else LayerSpec()      # default: softmax attention
    return DecoderConfig(vocab_size=256, dim=s.dim, n_layers=1, n_heads=s.heads, ffn_dim=4 * s.dim,
                         n_kv_heads=kv_heads, pattern=(spec,),
                         mla=get_config("mla-moe").mla if variant == "mla" else None)


def build(variant: str, s: Sizes, ctx: Context) -> nn.Module:
    cfg = config(variant, s)
    torch.manual_seed(ctx.seed)
    module = {"mla": MLA, "gdn": GatedDeltaNet}.get(variant, Attention)(cfg, cfg.pattern[0])
    return module.eval().to(ctx.device, ctx.torch_dtype)


def filled_cache(module: nn.Module, B: int, S: int, s: Sizes, ctx: Context):
    """The layer's cache after S tokens per sequence (see the module docstring), with room for one more."""
    like = dict(device=ctx.device, dtype=ctx.torch_dtype)
    if isinstance(module, GatedDeltaNet):
        cache = module.new_cache()
        module(torch.randn(B, min(S, s.gdn_prefill), s.dim, **like), cache)
        return cache
    cache = module.new_cache(capacity=S + 1)
    for n in [FILL_TOKENS] * (S // FILL_TOKENS) + [S % FILL_TOKENS] * bool(S % FILL_TOKENS):
        if isinstance(module, MLA):
            cache.append(torch.randn(B, n, module.rank + module.rope_dim, **like))
        else:
            cache.append(*(torch.randn(B, module.n_kv, n, module.head_dim, **like) for _ in range(2)))
    return cache


def bytes_moved(module: nn.Module, cache, x1: torch.Tensor) -> dict[str, int]:
    """What one step must read and write: the cache, what it adds (or, for a fixed-size state, rewrites), weights."""
    fork = copy.copy(cache)
    module(x1, fork)
    grown = fork.nbytes() - cache.nbytes()
    return {"cache_read": cache.nbytes(), "cache_written": grown if grown > 0 else cache.nbytes(),
            "weights": sum(p.numel() * p.element_size() for p in module.parameters())}


def step_rows(case: str, t, moved: dict[str, int], B: int, S: int, s: Sizes, ctx: Context, capacity: int):
    total = sum(moved.values())
    base = dict(case=case, measure="decode", shape={"B": B, "T": S, "D": s.dim})
    extra = {"phase": "decode", "cache_bytes": moved["cache_read"], "capacity_bytes": capacity} | moved
    peaks = machine_peaks(ctx.device, ctx.threads)
    yield base | timing_fields(t, "latency_decode_s", extra=extra)
    yield base | rate_fields(t, B, "tokens_per_s", "tokens/s", extra={"phase": "decode"})
    yield base | dict(metric="decode_bytes_per_token", value=total / B, unit="bytes", stat="exact", extra=extra,
                      method="(cache.nbytes() read + bytes the step adds to the cache + weight bytes) / B")
    yield base | rate_fields(t, total, "bandwidth_bytes_per_s", "bytes/s", extra={"phase": "decode"})
    yield base | roofline_fields(total / t.median, peaks.bytes_per_s, "bytes (cache + weights)",
                                 extra={"peak_per_s": peaks.bytes_per_s, "peak_method": peaks.bytes_method})


def decode_rows(variant: str, ctx: Context):
    s = SIZES[ctx.profile]
    module, points = build(variant, s, ctx), {}
    for B in s.batches:
        x1 = torch.randn(B, 1, s.dim, device=ctx.device, dtype=ctx.torch_dtype)
        for S in s.contexts:
            with torch.no_grad():
                cache = filled_cache(module, B, S, s, ctx)
                fns, moved, gate_rows = step_fns(variant, module, cache, x1, S, s)
                yield from (row | dict(shape={"B": B, "T": S, "D": s.dim}) for row in gate_rows)
                times = interleaved(fns, ctx, s.min_run_time, samples=6)
            for case, t in times.items():
                points.setdefault((case, B), []).append((S, t.median))
                yield from step_rows(case, t, moved, B, S, s, ctx, cache.capacity_bytes())
            del cache
    for (case, B), xy in points.items():
        yield fit_row(case, "decode_vs_T", *zip(*xy), f"median decode-step time at B={B}", shape={"B": B})


def step_fns(variant: str, module: nn.Module, cache, x1: torch.Tensor, S: int, s: Sizes):
    """({case: one step from a fork of `cache`}, bytes moved, MLA's absorbed-vs-naive gate rows: the rel_error, and
    a failed latency row when absorbed disagrees, which is then not timed)."""
    def step(impl: str | None = None):
        if impl:
            module.attn_impl = impl
        return module(x1, copy.copy(cache))
    if variant != "mla":
        return {variant: step}, bytes_moved(module, cache, x1), []
    module.attn_impl = "naive"
    moved = bytes_moved(module, cache, x1)
    gate = error_row(rel_err(step("absorbed"), step("naive")), TOL.get(x1.dtype, 2e-2),
                     "absorbed decode != naive decode", case="mla-absorbed", measure="decode_equality",
                     method="relative RMSE of one decode step vs attn_impl='naive'")
    fns = {"mla-absorbed": lambda: step("absorbed")}
    if s.mla_naive_max is None or S <= s.mla_naive_max:
        fns["mla-naive"] = lambda: step("naive")
    if not gate["extra"]["failed"]:
        return fns, moved, [gate]
    fns.pop("mla-absorbed")
    return fns, moved, [gate, dict(case="mla-absorbed", measure="decode", metric="latency_decode_s", value=None,
                                   unit="s", status="failed", reason=gate["extra"]["failed"])]


def plan(ctx: Context) -> list[Unit]:
    return [Unit(f"decode/{v}", lambda c, v=v: decode_rows(v, c)) for v in VARIANTS]


HEADLINE = Headline(
    title="One decode step against the context it attends to: growing caches (MHA, GQA, MQA, MLA) vs Gated "
          "DeltaNet's fixed state, log-log with fitted slopes",
    kind="lines", metric="latency_decode_s", x="shape.T", series="case", panels="shape.B", log_x=True, log_y=True,
    slopes=True, y_label="decode-step time")

SUITE = Suite(headline=HEADLINE, name="decode", plan=plan, sizes=SIZES, docs=("000", "001", "004"), description=__doc__,
              question="How does the time of one decode step grow with the context for MHA, GQA, MQA, MLA (naive "
                       "and absorbed) and Gated DeltaNet, at batch 1 and above, and how much of this machine's "
                       "memory bandwidth does it use?")
