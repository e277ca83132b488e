"""Throwaway CPU benchmark of the chunked gated delta rule against the token loop and public torch versions.

Run from the repo root:  .venv/bin/python tests/perf/gdn_public_compare.py [--threads 2] [--skip-naive]

Public comparisons are loaded from unpacked wheels under /tmp/gdn_ref (not project dependencies):
    mkdir -p /tmp/gdn_ref && cd /tmp/gdn_ref
    pip download --no-deps fla-core transformers einops -d .
    for w in fla_core einops transformers; do mkdir -p ${w}_src && (cd ${w}_src && unzip -qo ../${w}-*.whl); done
  - fla-core's `naive_chunk_gated_delta_rule` (fla/ops/gated_delta_rule/naive.py; its UT inverse is a Python
    loop over the 64 rows of the chunk) and, as a second token-loop baseline, its
    `naive_recurrent_gated_delta_rule`, imported as a single file so fla's triton kernels are never loaded;
  - transformers' Qwen3-Next `torch_chunk_gated_delta_rule` (the fallback used without fla), extracted from
    modeling_qwen3_next.py by AST so the rest of transformers (and its dependencies) is not imported.
A missing one is reported and skipped. Timings are the minimum over interleaved repeats (this machine is shared,
so the minimum is the least-disturbed run); forward under torch.no_grad(), plus forward+backward with --backward.
"""
from __future__ import annotations

import argparse
import ast
import importlib.util
import math
import os
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from archs.ops.gated_delta import chunk_gated_delta_rule, naive_recurrent_gated_delta_rule

REF = Path("/tmp/gdn_ref")


def load_fla():
    path = REF / "fla_core_src/fla/ops/gated_delta_rule/naive.py"
    if not path.exists():
        return None
    sys.path.insert(0, str(REF / "einops_src"))
    spec = importlib.util.spec_from_file_location("fla_gdn_naive", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return {"fla naive_chunk": lambda q, k, v, g, b: mod.naive_chunk_gated_delta_rule(q, k, v, g, b, chunk_size=64),
            # fla's argument order is (q, k, v, beta, g) here
            "fla naive_recurrent (token loop)": lambda q, k, v, g, b: mod.naive_recurrent_gated_delta_rule(q, k, v, b, g)}


def load_transformers():
    path = REF / "transformers_src/transformers/models/qwen3_next/modeling_qwen3_next.py"
    if not path.exists():
        return None
    tree = ast.parse(path.read_text())
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "torch_chunk_gated_delta_rule")
    fn.decorator_list = []                      # drop the hub-kernel decorator: we want the torch fallback
    scope = {"torch": torch, "F": F, "is_torchdynamo_exporting": lambda: False}
    exec(compile(ast.Module(body=[fn], type_ignores=[]), str(path), "exec"), scope)
    return {"transformers torch_chunk": lambda q, k, v, g, b: scope["torch_chunk_gated_delta_rule"](
        q, k, v, g, b, chunk_size=64)}


def inputs(T, B=1, H=4, K=64, V=64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(B, T, H, K, generator=gen)
    k = F.normalize(torch.randn(B, T, H, K, generator=gen), dim=-1)   # the layer L2-normalises q and k
    v = torch.randn(B, T, H, V, generator=gen)
    g = F.logsigmoid(torch.randn(B, T, H, generator=gen))              # log decay in (-inf, 0)
    beta = torch.rand(B, T, H, generator=gen)
    return q, k, v, g, beta


def best_ms(fns: dict, x, rounds: int) -> dict[str, float]:
    """Min wall time (ms) of each function, called in interleaved rounds so load spikes hit all alike."""
    for fn in fns.values():
        fn(*x)                                   # warm-up (allocator, MKL)
    best = {name: float("inf") for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn(*x)
            best[name] = min(best[name], time.perf_counter() - t0)
    return {name: 1e3 * t for name, t in best.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-naive", action="store_true")
    ap.add_argument("--backward", action="store_true", help="also time forward+backward at T=4096")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, threads={torch.get_num_threads()}, B=1 H=4 K=V=64 fp32, chunk 64, "
          f"load average at start {os.getloadavg()[0]:.1f}")

    fns = {"ours (chunk)": lambda q, k, v, g, b: chunk_gated_delta_rule(q, k, v, g, b, chunk_size=64)}
    loops = {}
    for name, loader in (("fla", load_fla), ("transformers", load_transformers)):
        found = loader()
        if found is None:
            print(f"{name}: not found under {REF}, skipped")
            continue
        for fn_name, fn in found.items():
            (loops if "token loop" in fn_name else fns)[fn_name] = fn
    with torch.no_grad():
        x = inputs(4096)
        ref = naive_recurrent_gated_delta_rule(*x)[0]
        for name, fn in {**fns, **loops}.items():
            print(f"{name}: relative error vs the token loop {((fn(*x)[0] - ref).norm() / ref.norm()).item():.1e}")
        rows = best_ms(fns, x, 10)
        if not args.skip_naive:
            naive = {"naive token loop": naive_recurrent_gated_delta_rule, **loops}
            rows.update(best_ms(naive, x, 3))
            torch.set_num_threads(1)
            rows["naive token loop, 1 thread"] = best_ms(naive, x, 3)["naive token loop"]
            torch.set_num_threads(args.threads)
        print("\nT=4096 forward (min wall):")
        for name, ms in rows.items():
            print(f"  {name:30s} {ms:9.2f} ms   ({ms / rows['ours (chunk)']:.1f}x ours)")

        print("\nscaling of ours (min wall over 8 rounds, each round runs every T once):")
        ours, Ts = fns["ours (chunk)"], [1024, 2048, 4096, 8192, 16384]
        xs = {T: inputs(T) for T in Ts}
        best = {T: float("inf") for T in Ts}
        for _ in range(8):
            for T in Ts:
                t0 = time.perf_counter()
                ours(*xs[T])
                best[T] = min(best[T], time.perf_counter() - t0)
        ms = [1e3 * best[T] for T in Ts]
        for T, m in zip(Ts, ms):
            print(f"  T={T:6d} {m:9.2f} ms   {1e3 * m / T:6.2f} us/token")
        slope = math.log(ms[-1] / ms[0]) / math.log(Ts[-1] / Ts[0])
        fit = torch.linalg.lstsq(torch.tensor([[math.log(t), 1.0] for t in Ts], dtype=torch.float64),
                                 torch.tensor([[math.log(m)] for m in ms], dtype=torch.float64)).solution
        print(f"  log-log slope 1024->16384: endpoints {slope:.3f}, least squares {fit[0, 0].item():.3f}")

    if args.backward:
        x = [t.requires_grad_() for t in inputs(4096)]
        fb = {name: (lambda fn: lambda *a: fn(*a)[0].sum().backward())(fn)
              for name, fn in fns.items() if not name.startswith("fla")}
        print("\nT=4096 forward+backward (min wall):",
              {name: round(ms, 1) for name, ms in best_ms(fb, x, 5).items()})
    print(f"load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
