"""Tests of the fused Triton RMSNorm and LayerNorm (archs/ops/norm_triton.py) against the eager references
(archs RMSNorm, torch's F.layer_norm).

On CPU the kernels run under Triton's interpreter. The interpreter is picked when the kernel module is
imported, so it cannot be switched on inside this pytest process (another test may already have imported the
module compiled); the fp32 cases therefore run once in a fresh `python` with TRITON_INTERPRET=1, which saves
y, dx and dw to a file. The reference is computed here, in-process, from the same inputs.
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from archs.components.norms import RMSNorm

REPO = Path(__file__).resolve().parents[2]
EPS = 1e-6

# (name, shape): power-of-2 D, non-power-of-2 D (masked tail lanes), 3-D input (leading dims flattened),
# and 257 rows: more rows than the 256 backward programs, so programs own 2 rows and the last one a single
# row — this covers the masked row tail of the dw accumulation.
CASES = [("4x64", (4, 64)), ("3x100", (3, 100)), ("2x3x48", (2, 3, 48)), ("257x24", (257, 24))]

# fp32 vs fp32: the only differences are reduction order (tree sum in the kernel vs torch's), a few ulp of
# values of size ~1-20, so 1e-5 abs + 1e-5 rel leaves ~10x margin over the ~1e-6 observed, while any
# formula error (a missing term, a D vs BLOCK divisor) is >= 1e-2.
ATOL, RTOL = 1e-5, 1e-5

_SCRIPT = r"""
import sys, torch
from archs.ops.norm_triton import available, triton_layer_norm, triton_rms_norm
ok, how = available()
assert ok, how
cases = torch.load(sys.argv[1])
out = {"how": how}
for name, c in cases.items():
    x = c["x"].clone().requires_grad_(True)
    w = c["w"].clone().requires_grad_(True)
    b = c["b"].clone().requires_grad_(True)
    y = triton_rms_norm(x, w, c["eps"])
    y.backward(c["dy"])
    out[name] = {"y": y.detach(), "dx": x.grad, "dw": w.grad}
    x.grad, w.grad = None, None
    y = triton_layer_norm(x, w, b, c["eps"])
    y.backward(c["dy"])
    out[name + "/layer"] = {"y": y.detach(), "dx": x.grad, "dw": w.grad, "db": b.grad}
torch.save(out, sys.argv[2])
"""


def _inputs() -> dict:
    g = torch.Generator().manual_seed(0)
    cases = {}
    for name, shape in CASES:
        d = shape[-1]
        # weight away from 1 so a kernel that ignored w (or used it twice) would fail
        cases[name] = {"x": torch.randn(shape, generator=g) + 0.7, "w": 1 + 0.5 * torch.randn(d, generator=g),
                       "b": 0.5 * torch.randn(d, generator=g), "dy": torch.randn(shape, generator=g), "eps": EPS}
    return cases


def _reference(c: dict) -> dict:
    ref = RMSNorm(c["x"].shape[-1], eps=c["eps"])
    with torch.no_grad():
        ref.weight.copy_(c["w"])
    x = c["x"].clone().requires_grad_(True)
    y = ref(x)
    y.backward(c["dy"])
    return {"y": y.detach(), "dx": x.grad, "dw": ref.weight.grad}


@pytest.fixture(scope="module")
def interpreted(tmp_path_factory):
    """Runs every case through the kernels once, in a child process with the interpreter on."""
    if importlib.util.find_spec("triton") is None:
        pytest.skip("triton is not installed: neither CUDA kernels nor the interpreter can run")
    d = tmp_path_factory.mktemp("rmsnorm_triton")
    cases = _inputs()
    torch.save(cases, d / "in.pt")
    env = {**os.environ, "TRITON_INTERPRET": "1", "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.run([sys.executable, "-c", _SCRIPT, str(d / "in.pt"), str(d / "out.pt")],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        pytest.fail(f"interpreted kernel run failed:\n{proc.stderr[-4000:]}")
    return cases, torch.load(d / "out.pt")


@pytest.mark.parametrize("name", [n for n, _ in CASES])
def test_forward_matches_reference(interpreted, name):
    cases, out = interpreted
    torch.testing.assert_close(out[name]["y"], _reference(cases[name])["y"], atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("name", [n for n, _ in CASES])
def test_dx_matches_reference(interpreted, name):
    cases, out = interpreted
    torch.testing.assert_close(out[name]["dx"], _reference(cases[name])["dx"], atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("name", [n for n, _ in CASES])
def test_dw_matches_reference(interpreted, name):
    cases, out = interpreted
    torch.testing.assert_close(out[name]["dw"], _reference(cases[name])["dw"], atol=ATOL, rtol=RTOL)


def _layer_reference(c: dict) -> dict:
    x, w, b = (c[k].clone().requires_grad_(True) for k in ("x", "w", "b"))
    y = torch.nn.functional.layer_norm(x, (x.shape[-1],), w, b, c["eps"])
    y.backward(c["dy"])
    return {"y": y.detach(), "dx": x.grad, "dw": w.grad, "db": b.grad}


@pytest.mark.parametrize("name", [n for n, _ in CASES])
@pytest.mark.parametrize("what", ["y", "dx", "dw", "db"])
def test_layer_norm_kernel_matches_torch_layer_norm(interpreted, name, what):
    """The same kernels with CENTER on (mean subtracted, bias added) against torch's LayerNorm; the inputs have
    a non-zero mean, so a kernel that skipped the centring would fail."""
    cases, out = interpreted
    torch.testing.assert_close(out[name + "/layer"][what], _layer_reference(cases[name])[what], atol=ATOL, rtol=RTOL)


def test_child_ran_the_interpreter(interpreted):
    # guards against the child silently taking another path (e.g. a CUDA box ignoring the variable)
    assert "interpreter" in interpreted[1]["how"].lower()


def test_module_loads_reference_state_dict():
    from archs.ops.norm_triton import TritonRMSNorm
    ref = RMSNorm(48)
    with torch.no_grad():
        ref.weight.uniform_(0.5, 1.5)
    mod = TritonRMSNorm(48)
    mod.load_state_dict(ref.state_dict())  # strict: same keys and shapes, so it is a drop-in replacement
    assert torch.equal(mod.weight, ref.weight)


def test_unavailable_raises_with_reason():
    from archs.ops import norm_triton as rt
    ok, why = rt.available()
    if ok:
        pytest.skip(f"kernels can run here ({why})")
    with pytest.raises(RuntimeError, match="cannot run here"):
        rt.triton_rms_norm(torch.randn(2, 8), torch.ones(8))


def test_bytes_moved_forward():
    from archs.ops.norm_triton import bytes_moved
    n, d = 4, 64
    # x read + y written (fp32) + w read + fp32 rstd written
    assert bytes_moved(n, d, torch.float32) == n * d * 4 * 2 + d * 4 + n * 4


def test_bytes_moved_backward_counts_dw_partials():
    from archs.ops.norm_triton import bytes_moved, dw_programs
    n, d = 1000, 512
    programs, rows_per = dw_programs(n)
    assert (programs, rows_per) == (250, 4)  # 1000 rows over <= 256 programs: 4 rows each, 250 programs
    # bf16 x, dy read + dx written; fp32 weight read; rstd read; fp32 partials [P, D] written
    expected = 3 * n * d * 2 + d * 4 + n * 4 + programs * d * 4
    assert bytes_moved(n, d, torch.bfloat16, backward=True, weight_dtype=torch.float32) == expected


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("shape", [(64, 4096), (33, 1000)])
def test_bf16_cuda_matches_fp32_math(shape):
    from archs.ops.norm_triton import triton_rms_norm
    g = torch.Generator(device="cuda").manual_seed(0)
    x = torch.randn(shape, device="cuda", generator=g).bfloat16()
    w = (1 + 0.5 * torch.randn(shape[-1], device="cuda", generator=g)).bfloat16()
    dy = torch.randn(shape, device="cuda", generator=g).bfloat16()
    xk, wk = x.clone().requires_grad_(True), w.clone().requires_grad_(True)
    y = triton_rms_norm(xk, wk)
    y.backward(dy)
    # reference: the same bf16 inputs with all math in fp32
    xr, wr = x.float().requires_grad_(True), w.float().requires_grad_(True)
    yr = wr * xr * torch.rsqrt(xr.pow(2).mean(-1, keepdim=True) + EPS)
    yr.backward(dy.float())
    # the kernel rounds each output to bf16 once (8 mantissa bits: rel. step 2^-8 ~ 0.4%); 1e-2 rel is ~2.5
    # steps, atol covers values that cancel to ~0 in dx
    for got, want in [(y, yr), (xk.grad, xr.grad), (wk.grad, wr.grad)]:
        assert got.dtype == torch.bfloat16
        torch.testing.assert_close(got.float(), want.detach(), atol=1e-2, rtol=1e-2)
