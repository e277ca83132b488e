"""Counting parameters and FLOPs from real modules: the module tree, torch's FlopCounterMode, and fvcore.

Method, written where it runs:
- Parameters are counted from the module tree, each tensor once (tied embeddings count once), and bucketed by
  the kind the owning module declares (`param_kind`; see `count_params`): the model says what its parts are,
  this module knows no model class. Full-size models are built on the meta device, so counting a 405B model
  allocates nothing.
- torch's FlopCounterMode counts 2 FLOPs per multiply-add for matmul-like ops only (mm, bmm, addmm, conv,
  SDPA); norms, softmax and activations count 0. On CPU, torch dispatches SDPA to
  `_scaled_dot_product_flash_attention_for_cpu`, which torch's counter does not know, so it would count 0;
  we register torch's own SDPA formulas for it (forward and backward). SDPA is counted non-causally (full
  T²): kernels skip masked blocks, the counter cannot know. It must run under `no_grad`, not
  `inference_mode` (pytorch#126268).
- fvcore's FlopCountAnalysis traces the model with the JIT and counts one FLOP per multiply-add; we multiply
  by 2 and list the ops it skipped.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.flop_counter import (FlopCounterMode, register_flop_formula, sdpa_backward_flop_count,
                                      sdpa_flop_count)

aten = torch.ops.aten


def _register_cpu_sdpa() -> None:
    try:
        @register_flop_formula(aten._scaled_dot_product_flash_attention_for_cpu)
        def _cpu_sdpa(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
            return sdpa_flop_count(query_shape, key_shape, value_shape)

        @register_flop_formula(aten._scaled_dot_product_flash_attention_for_cpu_backward)
        def _cpu_sdpa_bwd(grad_out_shape, query_shape, key_shape, value_shape, *args, out_shape=None,
                          **kwargs) -> int:
            return sdpa_backward_flop_count(grad_out_shape, query_shape, key_shape, value_shape)
    except (AttributeError, RuntimeError, ValueError):   # op absent in this torch, or already registered
        pass


_register_cpu_sdpa()

# ---------------------------------------------------------------- parameters
@dataclass
class ParamCount:
    """Parameters of a model, each tensor once. `active` counts every parameter once, except those a token uses
    only a share of (routed experts), which count at that share."""
    total: int
    trainable: int
    by_kind: dict[str, int] = field(default_factory=dict)
    active: int = 0

    @property
    def embedding(self) -> int:
        return self.by_kind.get("embedding", 0) + self.by_kind.get("positions", 0)

    @property
    def conventions(self) -> dict[str, int]:
        """The three totals people quote: with both embedding tables, without the input embedding (the
        output head is a matmul every token pays for), and non-embedding (neither, nor positions)."""
        return {"with_embeddings": self.total,
                "without_input_embedding": self.total - self.by_kind.get("embedding", 0),
                "non_embedding": self.total - self.embedding - self.by_kind.get("output", 0)}


def count_params(model: nn.Module) -> ParamCount:
    """Walk the module tree. A module declares what its parameters are with two optional attributes, read here
    without knowing any model class: `param_kind` (a string: the outermost declaration on a parameter's path
    wins, so a head that holds a whole layer files it all under its own kind; "other" where none is declared)
    and `active_fraction` (the share a token uses; shares on one path multiply). The conventions the
    tables and claims rely on (embedding, positions, output) are kinds the model declares like any other."""
    by_kind: Counter = Counter()
    at_fraction: Counter = Counter()
    trainable = 0
    for param, kind, fraction in _walk(model, None, 1, set()):
        by_kind[kind or "other"] += param.numel()
        if fraction != 1:
            at_fraction[fraction] += param.numel()
        trainable += param.numel() if param.requires_grad else 0
    total = sum(by_kind.values())
    active = total - sum(at_fraction.values()) + sum(round(n * share) for share, n in at_fraction.items())
    return ParamCount(total=total, trainable=trainable, by_kind=dict(by_kind), active=active)


def _walk(module: nn.Module, kind: str | None, fraction, seen: set[int]):
    """(parameter, its kind, its active share) for every parameter not yet seen (tied weights count once)."""
    kind = kind or getattr(module, "param_kind", None)
    fraction = fraction * getattr(module, "active_fraction", 1)
    for param in module.parameters(recurse=False):
        if id(param) not in seen:
            seen.add(id(param))
            yield param, kind, fraction
    for child in module.children():
        yield from _walk(child, kind, fraction, seen)


# ---------------------------------------------------------------- FLOPs
@dataclass
class FlopCount:
    total: int
    by_op: dict[str, int]
    method: str
    unsupported: dict[str, int] = field(default_factory=dict)


def torch_flops(fn, *args, **kwargs) -> FlopCount:
    """FLOPs of one call of fn(*args) under torch's FlopCounterMode (2 per multiply-add)."""
    with FlopCounterMode(display=False) as counter:
        fn(*args, **kwargs)
    by_op = {str(op).split(".")[-1]: int(n) for op, n in counter.get_flop_counts()["Global"].items()}
    return FlopCount(total=int(counter.get_total_flops()), by_op=by_op, method="torch FlopCounterMode")


class _LogitsOnly(nn.Module):
    """fvcore traces with the JIT, which needs tensor outputs: unwrap a model's output dataclass."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, idx):
        out = self.model(idx)
        return out.logits if hasattr(out, "logits") else out


def fvcore_flops(model: nn.Module, idx: torch.Tensor) -> FlopCount:
    """Forward FLOPs from fvcore's FlopCountAnalysis, ×2 to turn its multiply-adds into FLOPs."""
    try:
        from fvcore.nn import FlopCountAnalysis
    except ImportError as err:       # optional on GPU boxes, where fvcore is not installed
        raise ModuleNotFoundError("fvcore is not installed (pip install fvcore)") from err
    analysis = FlopCountAnalysis(_LogitsOnly(model).eval(), (idx,))
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
    with torch.no_grad():
        total = analysis.total()
        by_op = {k: 2 * int(v) for k, v in analysis.by_operator().items()}
    return FlopCount(total=2 * int(total), by_op=by_op, method="fvcore FlopCountAnalysis ×2",
                     unsupported=dict(analysis.unsupported_ops()))
