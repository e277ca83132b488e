"""Before/after measurement of issue 16's two hot paths, in one run: the chunked gated delta rule (forward, and
forward + backward) and one decode step per token against the context (KV cache, MLA cache, Gated DeltaNet state).

Run from the repository root (OMP_WAIT_POLICY=PASSIVE: spinning OpenMP threads distort a shared 2-core machine):
    OMP_WAIT_POLICY=PASSIVE .venv/bin/python -m tests.perf.measure_hot_paths [--T 1024 4096 16384] [--out x.json]

Each hot path is timed for the current code and for the previous algorithm kept under tests/perf (reference_*),
in alternating rounds (harness.measure.timing.interleaved), so drifting load on the machine hits both alike.
Widths as the mixers suite's standard profile: dim 1024, 16 heads of 64 (GDN op: B=1, H=16, K=V=64); MLA with the
mla-moe preset's latent sizes. Decode: one new token after `context` cached tokens (see `fill`), every call from
a shallow copy of the same cache (as the suites time it). Prints a table and the log-log slopes of time
against T with their 95% intervals; --out writes every timing as JSON.
"""
from __future__ import annotations

import argparse
import copy
import inspect
import json

import torch
import torch.nn.functional as F

from archs import get_config
from archs.components.attention import Attention
from archs.components.deltanet import GatedDeltaNet
from archs.components.mla import MLA
from archs.config import DecoderConfig, LayerSpec
from archs.ops.gated_delta import chunk_gated_delta_rule
from harness.measure.timing import fit_loglog, interleaved
from harness.suite import Context
from tests.perf.reference_concat_cache import ConcatKVCache, ConcatMLACache
from tests.perf.reference_gdn_chunk import chunk_gated_delta_rule as reference_chunk_gated_delta_rule

DIM, HEADS = 1024, 16
GDN_OPS = {"reference": reference_chunk_gated_delta_rule, "current": chunk_gated_delta_rule}
DECODE_VARIANTS = ("mha", "gqa-4kv", "mqa", "mla-naive", "mla-absorbed", "gdn")
GDN_PREFILL = 1024


def gdn_inputs(T: int, seed: int = 0) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    q, k = (F.normalize(torch.randn(1, T, HEADS, DIM // HEADS, generator=gen), dim=-1) for _ in range(2))
    v = torch.randn(1, T, HEADS, DIM // HEADS, generator=gen)
    g = F.logsigmoid(torch.randn(1, T, HEADS, generator=gen) + 2)
    return [q, k, v, g, torch.rand(1, T, HEADS, generator=gen)]


def gdn_fns(T: int, backward: bool, impls) -> dict:
    xs, ops = gdn_inputs(T), {name: GDN_OPS[name] for name in impls}
    if not backward:
        return {name: (lambda op=op: torch.no_grad()(op)(*xs)) for name, op in ops.items()}
    leaves = [x.requires_grad_(True) for x in xs]
    dy = torch.randn_like(xs[2])

    def fwd_bwd(op):
        o, _ = op(*leaves)
        return torch.autograd.grad(o, leaves, dy)
    return {name: (lambda op=op: fwd_bwd(op)) for name, op in ops.items()}


def decode_module(variant: str) -> torch.nn.Module:
    torch.manual_seed(0)
    kind = variant.split("-")[0]
    kv = {"mha": HEADS, "gqa": 4, "mqa": 1}.get(kind)
    cfg = DecoderConfig(vocab_size=256, dim=DIM, n_layers=1, n_heads=HEADS, ffn_dim=4 * DIM, n_kv_heads=kv,
                        mla=get_config("mla-moe").mla if kind == "mla" else None)
    spec = LayerSpec(mixer=kind) if kind in ("mla", "gdn") else LayerSpec()        # default: softmax attention
    module = {"mla": MLA, "gdn": GatedDeltaNet}.get(kind, Attention)(cfg, spec).eval()
    if kind == "mla":
        module.attn_impl = variant.split("-")[1]
    return module


def fill(cache, module: torch.nn.Module, context: int) -> None:
    """Writes `context` random tokens through the cache's own append (a decode step's work does not depend on the
    values; a real prefill of 16k tokens through MLA's naive path needs a 16 GiB score matrix on CPU). Gated
    DeltaNet gets its state from a real prefill of at most GDN_PREFILL tokens: the state has the same size after
    any number. Also runs on the tree before issue 16, whose MLA cache took the latent and rope key apart."""
    if isinstance(module, GatedDeltaNet):
        module(torch.randn(1, min(context, GDN_PREFILL), DIM), cache)
    elif isinstance(module, MLA):
        kv = torch.randn(1, context, module.rank + module.rope_dim)
        if len(inspect.signature(cache.append).parameters) == 2:
            cache.append(kv[..., :module.rank], kv[..., module.rank:])
        else:
            cache.append(kv)
    else:
        cache.append(*(torch.randn(1, module.n_kv, context, module.head_dim) for _ in range(2)))


def decode_fns(variant: str, context: int, impls) -> dict:
    """One decode step from a shallow copy of a cache holding `context` tokens, per cache algorithm in `impls`."""
    module = decode_module(variant)
    reference = {"mla": ConcatMLACache, "gdn": None}.get(variant.split("-")[0], ConcatKVCache)
    factories = {"current": module.new_cache} | ({"reference": reference} if reference else {})
    x1, fns = torch.randn(1, 1, DIM), {}
    for name, factory in ((name, factories[name]) for name in impls if name in factories):
        cache = factory()
        with torch.no_grad():
            fill(cache, module, context)
        fns[name] = lambda cache=cache: torch.no_grad()(module)(x1, copy.copy(cache))
    return fns


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--T", type=int, nargs="+", default=[1024, 4096, 16384])
    parser.add_argument("--min-run-time", type=float, default=0.5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--impls", nargs="+", default=["reference", "current"], choices=["reference", "current"])
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    ctx = Context(run_id="measure_hot_paths")
    cases = [("gdn_forward", T, lambda T=T: gdn_fns(T, False, args.impls)) for T in args.T]
    cases += [("gdn_fwd_bwd", T, lambda T=T: gdn_fns(T, True, args.impls)) for T in args.T]
    cases += [(f"decode/{v}", T, lambda v=v, T=T: decode_fns(v, T, args.impls))
              for v in DECODE_VARIANTS for T in args.T]
    rows = []
    print(f"{'path':24s} {'T':>6s} {'impl':10s} {'median s':>10s} {'us/token':>10s}  (q1, q3) n")
    for path, T, make in cases:
        times = interleaved(make(), ctx, args.min_run_time, rounds=args.rounds, samples=4)
        for impl, t in times.items():
            per_token = t.median / (1 if path.startswith("decode") else T)
            rows.append(dict(path=path, T=T, impl=impl, median=t.median, q1=t.q1, q3=t.q3, n=t.n, method=t.method))
            print(f"{path:24s} {T:6d} {impl:10s} {t.median:10.4g} {per_token * 1e6:10.1f}  ({t.q1:.4g}, {t.q3:.4g}) "
                  f"{t.n}", flush=True)
    for path in dict.fromkeys(r["path"] for r in rows):
        for impl in ("reference", "current"):
            points = [(r["T"], r["median"]) for r in rows if r["path"] == path and r["impl"] == impl]
            if len(points) >= 3:
                fit = fit_loglog(*zip(*points))
                print(f"slope {path:24s} {impl:10s} {fit.slope:.3f} [{fit.ci_low:.3f}, {fit.ci_high:.3f}]")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(dict(rows=rows, threads=torch.get_num_threads(), torch=torch.__version__), f, indent=1)


if __name__ == "__main__":
    main()
