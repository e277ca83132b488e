"""Throwaway CPU benchmark of the chunked gated delta rule against the token loop and public torch versions.

Run from the repo root:  .venv/bin/python scratch_gdn_bench.py [--threads 2] [--skip-naive]

Public comparisons are loaded from unpacked wheels under /tmp/gdn_ref (not project dependencies):
    mkdir -p /tmp/gdn_ref && cd /tmp/gdn_ref
    pip download --no-deps fla-core transformers einops -d .
    for w in fla_core einops transformers; do mkdir -p ${w}_src && (cd ${w}_src && unzip -qo ../${w}-*.whl); done
  - fla-core's `naive_chunk_gated_delta_rule` (fla/ops/gated_delta_rule/naive.py; its UT inverse is a Python
    loop over the 64 rows of the chunk), imported as a single file so fla's triton kernels are never loaded;
  - transformers' Qwen3-Next `torch_chunk_gated_delta_rule` (the fallback used without fla), extracted from
    modeling_qwen3_next.py by AST so the rest of transformers (and its dependencies) is not imported.
A missing one is reported and skipped. Timings are the minimum over repeats (this machine is shared, so the
minimum is the least-disturbed run); forward only, under torch.no_grad().
"""
from __future__ import annotations

import argparse
import ast
import importlib.util
import math
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
    return lambda q, k, v, g, b: mod.naive_chunk_gated_delta_rule(q, k, v, g, b, chunk_size=64)


def load_transformers():
    path = REF / "transformers_src/transformers/models/qwen3_next/modeling_qwen3_next.py"
    if not path.exists():
        return None
    tree = ast.parse(path.read_text())
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "torch_chunk_gated_delta_rule")
    fn.decorator_list = []                      # drop the hub-kernel decorator: we want the torch fallback
    scope = {"torch": torch, "F": F, "is_torchdynamo_exporting": lambda: False}
    exec(compile(ast.Module(body=[fn], type_ignores=[]), str(path), "exec"), scope)
    return lambda q, k, v, g, b: scope["torch_chunk_gated_delta_rule"](q, k, v, g, b, chunk_size=64)


def inputs(T, B=1, H=4, K=64, V=64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(B, T, H, K, generator=gen)
    k = F.normalize(torch.randn(B, T, H, K, generator=gen), dim=-1)   # the layer L2-normalises q and k
    v = torch.randn(B, T, H, V, generator=gen)
    g = F.logsigmoid(torch.randn(B, T, H, generator=gen))              # log decay in (-inf, 0)
    beta = torch.rand(B, T, H, generator=gen)
    return q, k, v, g, beta


def best_ms(fn, repeats):
    fn()                                         # warm-up (allocator, MKL)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-naive", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, threads={torch.get_num_threads()}, B=1 H=4 K=V=64 fp32, chunk 64")

    ours = lambda q, k, v, g, b: chunk_gated_delta_rule(q, k, v, g, b, chunk_size=64)
    with torch.no_grad():
        x = inputs(4096)
        ref = naive_recurrent_gated_delta_rule(*x)[0] if not args.skip_naive else ours(*x)[0]
        rows = {"ours (chunk)": best_ms(lambda: ours(*x), 10)}
        for name, loader in (("fla naive_chunk", load_fla), ("transformers torch_chunk", load_transformers)):
            fn = loader()
            if fn is None:
                print(f"{name}: not found under {REF}, skipped")
                continue
            err = ((fn(*x)[0] - ref).norm() / ref.norm()).item()
            rows[name] = best_ms(lambda: fn(*x), 5)
            print(f"{name}: rel. error vs reference {err:.1e}")
        if not args.skip_naive:
            rows["naive token loop"] = best_ms(lambda: naive_recurrent_gated_delta_rule(*x), 2)
            torch.set_num_threads(1)
            rows["naive token loop, 1 thread"] = best_ms(lambda: naive_recurrent_gated_delta_rule(*x), 2)
            torch.set_num_threads(args.threads)
        print("\nT=4096 forward:")
        for name, ms in rows.items():
            print(f"  {name:30s} {ms:9.2f} ms   ({ms / rows['ours (chunk)']:.1f}x ours)")

        print("\nscaling of ours:")
        Ts, ms = [1024, 2048, 4096, 8192, 16384], []
        for T in Ts:
            x = inputs(T)
            ms.append(best_ms(lambda: ours(*x), 7))
            print(f"  T={T:6d} {ms[-1]:9.2f} ms")
        slope = math.log(ms[-1] / ms[0]) / math.log(Ts[-1] / Ts[0])
        fit = torch.linalg.lstsq(torch.tensor([[math.log(t), 1.0] for t in Ts], dtype=torch.float64),
                                 torch.tensor([[math.log(m)] for m in ms], dtype=torch.float64)).solution
        print(f"  log-log slope 1024->16384: endpoints {slope:.3f}, least squares {fit[0, 0].item():.3f}")


if __name__ == "__main__":
    main()
