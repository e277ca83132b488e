"""The base every mixer and FFN kind derives from: what a component declares about itself, so that the decoder,
the analytic formulas, the config checks and the parameter counter read it from the module (through the table in
`archs/components/__init__.py`) instead of knowing each kind by name.

A component module defines its formulas as plain functions and its class last, which names them:

    class Attention(Component):
        kind = param_kind = "attention"
        params_formula = staticmethod(params_formula)
        ...

`param_kind` is read by `harness.measure.counting`, which does not import archs: any module (a component, a
norm, a container such as the routed experts' ModuleList, an embedding tagged with `with_param_kind`) may
declare it, and the outermost declaration on a parameter's path wins. `active_fraction` (on the routed experts)
says which share of those parameters one token uses.
"""
from __future__ import annotations

from torch import nn


def with_param_kind(module: nn.Module, kind: str) -> nn.Module:
    """`module`, declaring that the counters file its parameters under `kind` (for torch's own classes)."""
    module.param_kind = kind
    return module


class Component(nn.Module):
    """A mixer or FFN kind. Built as `Cls.build(cfg, spec)` from a DecoderConfig and the layer's LayerSpec.

    kind           its name in the formulas' breakdowns of FLOPs and decode state
    param_kind     what the counters file its parameters under; None where its parts declare their own (MoE)
    params_formula(cfg, spec), flops_formula(cfg, spec, T, causal=True), cache_bytes_formula(cfg, spec, batch,
                   T, dtype_bytes): the independent references (conventions in archs/components/__init__.py)
    """
    kind: str
    param_kind: str | None

    @classmethod
    def build(cls, cfg, spec) -> "Component":
        return cls(cfg, spec)

    @classmethod
    def check_config(cls, cfg) -> None:
        """Raise ConfigError where `cfg` cannot hold this component (a sub-config missing, dims that do not
        divide). Called by DecoderConfig for every kind its pattern uses."""

    @staticmethod
    def cache_bytes_formula(cfg, spec, batch: int, T: int, dtype_bytes: int) -> int:
        return 0                                  # no decode state (every FFN)

    @classmethod
    def params_by_kind(cls, cfg, spec) -> dict[str, int]:
        """The formula's parameters split as the counters file them (one kind unless a component has parts)."""
        return {cls.param_kind: cls.params_formula(cfg, spec)}

    @classmethod
    def params_at_fraction(cls, cfg, spec) -> dict[float, int]:
        """Parameters of which one token uses only a share, by share (routed experts: top_k / n_experts)."""
        return {}
