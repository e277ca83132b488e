"""Fused RMSNorm and LayerNorm in Triton: the same one-pass forward and backward kernels for both, behind a
torch.autograd.Function, so a speed comparison of the two ideas is at equal implementation effort.

RMSNorm: y = w * x * rsqrt(mean(x²) + eps), the formula of `archs.components.norms.RMSNorm`. LayerNorm (the
`CENTER` constexpr): x is centred first, x̂ = (x - mean(x)) * rsqrt(var(x) + eps), and y = w * x̂ + b. Every
reduction is in fp32. Forward: one program per row, BLOCK = next_power_of_2(D) lanes, writes y and the row's
rstd (and mean, for LayerNorm), kept for backward so it never recomputes them. Backward: each program walks a
contiguous block of rows, writes dx per row and accumulates its own fp32 partials of dw (and db); the partials
([P, D]) are summed by torch afterwards. That avoids atomics, so the result is deterministic.

Runs on CUDA, or on CPU under Triton's interpreter. The interpreter is chosen when `triton.jit` decorates the
kernels, i.e. when THIS module is imported: TRITON_INTERPRET=1 must be in the environment before that.
`available()` says whether the kernels can run in the current process, and why not.

Shapes: x [..., D] (any leading dims, last dim contiguous after reshape), weight [D]; y has x's shape and dtype.
"""
from __future__ import annotations

import math
import os

import torch
from torch import nn

try:
    import triton
    import triton.language as tl

    _TRITON_ERROR: str | None = None
except Exception as e:  # noqa: BLE001 - any import failure (no wheel for this platform, broken install) means "absent"
    triton = None
    tl = None
    _TRITON_ERROR = f"triton cannot be imported: {e!r}"

# Captured at import because that is when triton.jit decides between compiled and interpreted kernels;
# setting the variable later has no effect on the kernels below.
INTERPRETED = os.environ.get("TRITON_INTERPRET", "0") == "1" and triton is not None

# Upper bound on backward programs (and so on rows of the dw partial buffer). A fixed number keeps the result
# and `bytes_moved` independent of the GPU model; 256 programs is about two waves on an H100 (132 SMs).
DW_PROGRAMS = 256
# One row must fit the program's registers/shared memory; 64 KiB per row is the bound Triton's own
# layer-norm tutorial uses for a single-pass row kernel.
MAX_FUSED_BYTES = 65536


def available() -> tuple[bool, str]:
    """(True, how) if the kernels can run in this process, else (False, why not)."""
    if triton is None:
        return False, _TRITON_ERROR or "triton missing"
    if INTERPRETED:
        return True, "Triton interpreter (TRITON_INTERPRET=1 was set before import)"
    if torch.cuda.is_available():
        return True, f"CUDA ({torch.cuda.get_device_name()})"
    return False, ("no CUDA device, and TRITON_INTERPRET=1 was not set before archs.ops.norm_triton was "
                   "imported (set it in the environment of a fresh process to run on CPU)")


if triton is not None:

    @triton.jit
    def _norm_fwd_kernel(X, W, B, Y, MEAN, RSTD, stride_x, stride_y, D, eps, BLOCK: tl.constexpr,
                         CENTER: tl.constexpr):
        """One program = one row. X, Y: [N, D] rows `stride_*` apart; W, B: [D]; MEAN, RSTD: [N] fp32 out.
        CENTER: LayerNorm (subtract the mean, add the bias B); else RMSNorm (B and MEAN are not touched)."""
        row = tl.program_id(0)
        cols = tl.arange(0, BLOCK)
        mask = cols < D  # BLOCK is D rounded up to a power of 2; the tail lanes read 0 and add nothing
        x = tl.load(X + row * stride_x + cols, mask=mask, other=0.0).to(tl.float32)
        w = tl.load(W + cols, mask=mask, other=0.0).to(tl.float32)
        if CENTER:
            mean = tl.sum(x, axis=0) / D  # divide by D, not BLOCK: the masked lanes are padding, not data
            x = tl.where(mask, x - mean, 0.0)
            tl.store(MEAN + row, mean)
        rstd = 1.0 / tl.sqrt(tl.sum(x * x, axis=0) / D + eps)
        tl.store(RSTD + row, rstd)
        y = x * rstd * w
        if CENTER:
            y += tl.load(B + cols, mask=mask, other=0.0).to(tl.float32)
        tl.store(Y + row * stride_y + cols, y.to(Y.dtype.element_ty), mask=mask)

    @triton.jit
    def _norm_bwd_kernel(X, W, DY, MEAN, RSTD, DX, DW_PART, DB_PART, stride_x, stride_dy, stride_dx, N, D,
                         rows_per_program, BLOCK: tl.constexpr, CENTER: tl.constexpr):
        """Program p handles rows [p*rows_per_program, (p+1)*rows_per_program) and writes DW_PART[p, :] (and
        DB_PART[p, :] when CENTER).

        With x̂ = (x - μ) * r (μ = 0 for RMSNorm), g = dy * w:
        dx = r * (g - x̂ * mean(g * x̂) - mean(g) [LayerNorm only]),   dw = Σ_rows dy * x̂,   db = Σ_rows dy.
        """
        pid = tl.program_id(0)
        cols = tl.arange(0, BLOCK)
        cmask = cols < D
        w = tl.load(W + cols, mask=cmask, other=0.0).to(tl.float32)
        dw_acc = tl.zeros([BLOCK], dtype=tl.float32)
        db_acc = tl.zeros([BLOCK], dtype=tl.float32)
        row_start = pid * rows_per_program
        for i in range(0, rows_per_program):
            row = row_start + i
            # the last program may own fewer rows: past row N every lane is masked, loads return 0 and add
            # nothing to the accumulators. (The bound is folded into one column limit: the interpreter rejects
            # the and of a vector mask with a scalar one.)
            mask = cols < tl.where(row < N, D, 0)
            last = tl.minimum(row, N - 1)  # clamped: rows past N have x = dy = 0 anyway
            x = tl.load(X + row * stride_x + cols, mask=mask, other=0.0).to(tl.float32)
            dy = tl.load(DY + row * stride_dy + cols, mask=mask, other=0.0).to(tl.float32)
            r = tl.load(RSTD + last)
            if CENTER:
                x = tl.where(mask, x - tl.load(MEAN + last), 0.0)
            xhat = x * r
            g = dy * w
            dx = g - xhat * (tl.sum(g * xhat, axis=0) / D)
            if CENTER:
                dx -= tl.sum(g, axis=0) / D
                db_acc += dy
            tl.store(DX + row * stride_dx + cols, (r * dx).to(DX.dtype.element_ty), mask=mask)
            dw_acc += dy * xhat
        tl.store(DW_PART + pid * D + cols, dw_acc, mask=cmask)
        if CENTER:
            tl.store(DB_PART + pid * D + cols, db_acc, mask=cmask)


def _block(d: int, elem_size: int) -> int:
    block = triton.next_power_of_2(d)
    if block * elem_size > MAX_FUSED_BYTES:
        raise ValueError(f"norm row of {d} x {elem_size} B exceeds the single-pass limit "
                         f"({MAX_FUSED_BYTES} B); this kernel does not tile a row")
    return block


def _num_warps(block: int) -> int:
    # ~256 elements per warp keeps each thread at 8 fp32 values; capped at 16 warps (one 512-thread block)
    return min(max(block // 256, 1), 16)


def dw_programs(n_rows: int) -> tuple[int, int]:
    """(programs launched by backward, rows per program): rows split into at most DW_PROGRAMS equal blocks."""
    rows_per = math.ceil(n_rows / min(n_rows, DW_PROGRAMS))
    return math.ceil(n_rows / rows_per), rows_per


def _as_rows(t: torch.Tensor, d: int) -> torch.Tensor:
    """[..., D] -> [N, D] with a unit stride along D (the kernels index columns as base + col)."""
    t2 = t.reshape(-1, d)
    return t2 if t2.stride(-1) == 1 else t2.contiguous()


class _TritonNormFn(torch.autograd.Function):
    """RMSNorm (bias None) or LayerNorm (bias given) of x's last dimension."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, eps: float) -> torch.Tensor:
        d = x.shape[-1]
        for name, p in (("weight", weight), ("bias", bias)):
            if p is not None and p.shape != (d,):
                raise ValueError(f"{name} shape {tuple(p.shape)} != ({d},)")
        center = bias is not None
        x2 = _as_rows(x, d)
        n = x2.shape[0]
        y = torch.empty((n, d), dtype=x.dtype, device=x.device)
        mean, rstd = (torch.empty(n, dtype=torch.float32, device=x.device) for _ in range(2))
        block = _block(d, x.element_size())
        if n > 0:
            _norm_fwd_kernel[(n,)](x2, weight, bias if center else weight, y, mean, rstd, x2.stride(0),
                                   y.stride(0), d, eps, BLOCK=block, CENTER=center, num_warps=_num_warps(block))
        ctx.save_for_backward(x2, weight, mean, rstd)
        ctx.x_shape, ctx.center, ctx.bias_dtype = x.shape, center, bias.dtype if center else None
        return y.view(x.shape)

    @staticmethod
    def backward(ctx, dy: torch.Tensor):
        x2, weight, mean, rstd = ctx.saved_tensors
        n, d = x2.shape
        dy2 = _as_rows(dy, d)
        dx = torch.empty_like(x2)
        programs, rows_per = dw_programs(max(n, 1))
        dw_part, db_part = (torch.zeros((programs, d), dtype=torch.float32, device=x2.device) for _ in range(2))
        block = _block(d, x2.element_size())
        if n > 0:
            _norm_bwd_kernel[(programs,)](x2, weight, dy2, mean, rstd, dx, dw_part, db_part, x2.stride(0),
                                          dy2.stride(0), dx.stride(0), n, d, rows_per, BLOCK=block,
                                          CENTER=ctx.center, num_warps=_num_warps(block))
        # the second stage of the two-stage reductions, in fp32 then cast once
        db = db_part.sum(0).to(ctx.bias_dtype) if ctx.center else None
        return dx.view(ctx.x_shape), dw_part.sum(0).to(weight.dtype), db, None


def _apply(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, eps: float, what: str):
    ok, why = available()
    if not ok:
        raise RuntimeError(f"{what} cannot run here: {why}")
    return _TritonNormFn.apply(x, weight, bias, eps)


def triton_rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Fused RMSNorm. x [..., D], weight [D] -> y [..., D] in x's dtype (fp32 math inside)."""
    return _apply(x, weight, None, eps, "triton_rms_norm")


def triton_layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Fused LayerNorm. x [..., D], weight and bias [D] -> y [..., D] in x's dtype (fp32 math inside)."""
    return _apply(x, weight, bias, eps, "triton_layer_norm")


class TritonRMSNorm(nn.Module):
    """Drop-in for `archs.components.norms.RMSNorm` (same `weight` parameter, same state_dict keys).

    One difference: the output is always x's dtype, while the reference multiplies by the weight after casting,
    so an fp32 weight with bf16 x gives fp32 there. Also the reference rounds x*rstd to x's dtype before
    multiplying by w; the kernel rounds once at the end (so in bf16 the two differ by ~1 ulp).
    """

    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return triton_rms_norm(x, self.weight, self.eps)


class TritonLayerNorm(nn.Module):
    """Drop-in for torch.nn.LayerNorm over the last dimension (same `weight` and `bias`, same state_dict keys)."""

    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return triton_layer_norm(x, self.weight, self.bias, self.eps)


def bytes_moved(n_rows: int, dim: int, dtype: torch.dtype, backward: bool = False,
                weight_dtype: torch.dtype | None = None) -> int:
    """Minimum DRAM traffic of the RMSNorm kernels in bytes (each element read or written once), for GB/s figures
    (LayerNorm adds the bias [D] and mean [N], and the db partials [P,D] in backward).

    forward : read x [N,D], read w [D], write y [N,D], write rstd [N] fp32.
    backward: read x, dy [N,D], w [D], rstd [N]; write dx [N,D] and the fp32 dw partials [P,D]
              (P from `dw_programs`). The torch sum of the partials into dw is a separate kernel, not counted.
    `dtype` is the activations' dtype; the weight's defaults to the same.
    """
    e = torch.empty((), dtype=dtype).element_size()
    ew = torch.empty((), dtype=weight_dtype or dtype).element_size()
    nd = n_rows * dim
    if not backward:
        return 2 * nd * e + dim * ew + 4 * n_rows
    programs, _ = dw_programs(max(n_rows, 1))
    return 3 * nd * e + dim * ew + 4 * n_rows + 4 * programs * dim
