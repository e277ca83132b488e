"""Correctness gates: a fast path gets a speed number only after its output matches a reference."""
from __future__ import annotations

import math

import torch


def rel_err(a: torch.Tensor, ref: torch.Tensor) -> float:
    """Relative RMSE ‖a − ref‖ / ‖ref‖, in float64."""
    return float((a.double() - ref.double()).norm() / ref.double().norm().clamp_min(1e-30))


def error_row(err: float, tol: float, what: str, **fields) -> dict:
    """The rel_error row of a correctness gate. extra.failed is the reason every speed row of the fast path must
    carry instead of a number ("" when the check passed); a non-finite error is a failed row itself."""
    if not math.isfinite(err):
        failed = f"{what}: non-finite output (rel err {err})"
        return fields | dict(metric="rel_error", value=None, unit="ratio", status="failed", reason=failed,
                             extra={"tol": tol, "failed": failed})
    failed = f"{what}: rel err {err:.3g} > tol {tol:g}" if err > tol else ""
    return fields | dict(metric="rel_error", value=err, unit="ratio", status="ok", extra={"tol": tol, "failed": failed})
