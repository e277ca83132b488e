"""The parameter counter reads what modules declare (`param_kind`, `active_fraction`), not their class names:
tested on plain torch modules, no model of archs."""
from __future__ import annotations

from fractions import Fraction

from torch import nn

from harness.measure.counting import count_params


def declared(module: nn.Module, kind: str | None = None, fraction=None) -> nn.Module:
    if kind is not None:
        module.param_kind = kind
    if fraction is not None:
        module.active_fraction = fraction
    return module


def test_parameters_are_filed_under_the_outermost_declared_kind():
    inner = declared(nn.Linear(4, 4, bias=False), "inner")                          # 16
    head = declared(nn.Sequential(nn.Linear(4, 2, bias=False), inner), "head")       # 8 + 16, all "head"
    model = nn.Sequential(declared(nn.Linear(4, 3, bias=False), "inner"), head, nn.Linear(3, 1, bias=False))
    counted = count_params(model)
    assert counted.by_kind == {"inner": 12, "head": 24, "other": 3}
    assert counted.total == counted.trainable == counted.active == 39


def test_a_tied_weight_counts_once_under_the_kind_that_reaches_it_first():
    embed = declared(nn.Embedding(10, 4), "embedding")
    out = declared(nn.Linear(4, 10, bias=False), "output")
    out.weight = embed.weight
    counted = count_params(nn.ModuleList([embed, out]))
    assert counted.by_kind == {"embedding": 40} and counted.conventions["non_embedding"] == 0


def test_active_parameters_take_each_containers_own_share():
    quarter = declared(nn.ModuleList(nn.Linear(2, 2, bias=False) for _ in range(4)), "experts", Fraction(1, 4))
    half = declared(nn.ModuleList(nn.Linear(2, 2, bias=False) for _ in range(2)), "experts", Fraction(1, 2))
    dense = nn.Linear(2, 5, bias=False)
    counted = count_params(nn.ModuleList([quarter, half, dense]))
    assert counted.by_kind == {"experts": 24, "other": 10}
    assert counted.active == 10 + 16 // 4 + 8 // 2                                   # not one share for all


def test_frozen_parameters_count_but_are_not_trainable():
    frozen = nn.Linear(3, 3, bias=False).requires_grad_(False)
    counted = count_params(nn.ModuleList([frozen, nn.Linear(3, 1, bias=False)]))
    assert (counted.total, counted.trainable) == (12, 3)
