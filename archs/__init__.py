"""archbench's architectures: components, the generic decoder, and one registry of named presets (ARCHS).

`ARCHS.get(name)()` returns a config; `config.build()` returns the model. Every preset is registered with its
document (`doc`), its scale (`full` = analysed on the meta device only, `tiny` = actually run on this CPU,
`reference` = a public model used to calibrate the counters) and a one-line title.
"""
from dataclasses import fields, replace

from archs.presets import ARCHS, hybrid, mla_moe, modern, nexus, reference  # noqa: F401  (modules register presets)
from archs import parallel_stacks  # noqa: E402,F401,I001  (registers document 003's presets, after the others)
from harness.errors import ConfigError

__all__ = ["ARCHS", "get_config"]


def get_config(name: str, **overrides):
    """The preset's config with `overrides` applied; a bad field name or value raises ConfigError naming it."""
    cfg = ARCHS.get(name)()
    known = {f.name for f in fields(cfg)}
    for key in overrides:
        if key not in known:
            raise ConfigError(f"{name}: unknown config field {key!r}")
    return replace(cfg, **overrides) if overrides else cfg
