"""What the per-architecture suites (params_flops, memory, kv_cache, throughput, loss_curves) share: one plan
loop over the registered architectures, the registry's metadata instead of name patterns, and the provenance
every architecture row carries.

* `arch_plan(ctx, *kinds)`: for every architecture in `archs.ARCHS` the run selects (`--archs`), in registry
  order, one unit per `ArchUnits` kind, keyed "<prefix>/<arch>" (or "<prefix>/<arch>/<point>" for a kind with
  points); a `tiny_only` kind runs only on the presets registered with scale "tiny" (the ones built and run here;
  the others are analysed from formulas or on the meta device).
* `same_document(ctx, name)`: the run selects some preset of the document `name` belongs to (registry `doc`).
* `provenance(cfg)`: the dict that rebuilds the config a row measured (`cfg.to_dict()`), with its
  `assumptions` as a list (claims read `config.assumptions`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from archs import ARCHS
from harness.suite import Context, Unit


@dataclass(frozen=True)
class ArchUnits:
    """One kind of unit of a per-architecture suite. `rows(arch, ctx)` yields its row fields; with `points`,
    `points(arch, ctx)` maps a key suffix to a value and `rows(arch, value, ctx)` runs once per point."""
    prefix: str
    rows: Callable[..., Iterable[dict[str, Any]]]
    tiny_only: bool = False
    points: Callable[[str, Context], Mapping[str, Any]] | None = None


def is_tiny(name: str) -> bool:
    return ARCHS.meta(name)["scale"] == "tiny"


def analysed_presets() -> list[str]:
    """The presets analysed at full size (not the tiny twins that run): the archs a headline figure compares."""
    return [name for name in ARCHS.names() if not is_tiny(name)]


def arch_plan(ctx: Context, *kinds: ArchUnits) -> list[Unit]:
    units = []
    for name in ARCHS.names():
        if not ctx.wants_arch(name):
            continue
        for kind in kinds:
            if kind.tiny_only and not is_tiny(name):
                continue
            if kind.points is None:
                units.append(Unit(f"{kind.prefix}/{name}", lambda c, n=name, f=kind.rows: f(n, c)))
                continue
            for label, point in kind.points(name, ctx).items():
                units.append(Unit(f"{kind.prefix}/{name}/{label}",
                                  lambda c, n=name, p=point, f=kind.rows: f(n, p, c)))
    return units


def same_document(ctx: Context, name: str) -> bool:
    doc = ARCHS.meta(name)["doc"]
    return any(ctx.wants_arch(n) for n in ARCHS.names() if ARCHS.meta(n)["doc"] == doc)


def provenance(cfg, **more: Any) -> dict[str, Any]:
    """Row.config of a row that measured `cfg`: `cfg.to_dict()` plus `more` (e.g. a comparison's group)."""
    return cfg.to_dict() | {"assumptions": list(getattr(cfg, "assumptions", ()))} | more
