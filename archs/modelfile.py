"""Model files: an architecture as data, in TOML, or a Hugging Face `config.json`.

A model file holds the fields of a config (`archs.config.DecoderConfig`, or with `architecture =
"parallel_stacks"` document 003's `ParallelStacksConfig`): scalars at the top, the layer pattern as `[[pattern]]`
tables (one per layer of the repeating unit: `mixer`, `ffn`, `window`, `mtp`), sub-configs as tables (`[moe]`,
`[mla]`, `[gdn]`, `[mtp]`), 003's stacks as `[[stacks]]`. Three keys are not config fields:

* `base` - a preset name (`archbench list`) or a path relative to this file (`.toml` model file or HF
  `config.json`); the file's fields override the base's: a scalar replaces it, a sub-config table changes only
  the fields it names, a list (`pattern`, `stacks`, `assumptions`) replaces the whole list, and the string
  `"none"` clears an optional field (`n_kv_heads = "none"` is MHA, `moe = "none"` drops the experts).
* `shrink` - `true` or a table of `archs.presets.shrink.shrink` arguments (`dim`, `n_heads`, `n_layers`,
  `vocab_size`, `max_experts`): the small runnable twin of the model described above it.
* `title` - one line for listings.

`load_model(path)` returns the config; a `.json` path is read by `archs.hf.load_hf_config`. Every error is one
line starting with the file and naming the field and, for a choice, the allowed values. `dump_model(cfg)` writes
the file that loads back to an equal config (the round trip every preset is tested with).
"""
from __future__ import annotations

import json
import math
import tomllib
from dataclasses import MISSING, fields, is_dataclass
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

from archs import get_config
from archs.config import DecoderConfig
from archs.hf import load_hf_config
from archs.parallel_stacks import ParallelStacksConfig
from archs.presets.shrink import shrink
from harness.errors import ArchbenchError, ConfigError, one_line

ARCHITECTURES = {"decoder": DecoderConfig, "parallel_stacks": ParallelStacksConfig}
META_KEYS = ("architecture", "base", "shrink", "title")
SHRINK_KEYS = ("dim", "n_heads", "n_layers", "vocab_size", "max_experts")
NONE = "none"
MODEL_SUFFIXES = (".toml", ".json")


def load_model(path: Path | str, *, _seen: tuple[Path, ...] = ()) -> Any:
    """The config a model file (TOML) or a HF config.json describes; ArchbenchError naming the file if not."""
    path = Path(path)
    if path.suffix == ".json" or path.is_dir():
        return load_hf_config(path)
    if path.resolve() in _seen:
        raise ArchbenchError(f"{path}: base chain loops back to itself ({' -> '.join(p.name for p in _seen)})")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ArchbenchError(f"{path}: {one_line(err)}") from None
    try:
        return model_from_data(data, path, _seen + (path.resolve(),))
    except (ArchbenchError, TypeError, ValueError) as err:     # a base's own error keeps its file: a chain
        raise ArchbenchError(f"{path}: {one_line(err)}") from None


def model_from_data(data: dict[str, Any], path: Path, seen: tuple[Path, ...] = ()) -> Any:
    """A config from a model file's parsed table (`path` resolves a relative `base` and names the file)."""
    base = _base(data.get("base"), path, seen) if "base" in data else None
    kind = data.get("architecture", _architecture(base) if base is not None else "decoder")
    if kind not in ARCHITECTURES:
        raise ConfigError(f"field 'architecture' = {kind!r} is not one of {', '.join(ARCHITECTURES)}")
    cls = ARCHITECTURES[kind]
    if base is not None and not isinstance(base, cls):
        raise ConfigError(f"field 'architecture' = {kind!r} but base {data['base']!r} is a {_architecture(base)}")
    body = {k: v for k, v in data.items() if k not in META_KEYS}
    base_data = {k: v for k, v in model_data(base).items() if k != "architecture"} if base is not None else {}
    merged = _merge(base_data, body, cls, "")
    cfg = _build(cls, merged, "")
    if "shrink" in data:
        cfg = _shrunk(cfg, data["shrink"])
    return cfg


def _architecture(cfg: Any) -> str:
    return next(name for name, cls in ARCHITECTURES.items() if isinstance(cfg, cls))


def _base(base: Any, path: Path, seen: tuple[Path, ...]) -> Any:
    if not isinstance(base, str) or not base:
        raise ConfigError(f"field 'base' must be a preset name or a path, got {base!r}")
    if base.endswith(MODEL_SUFFIXES) or "/" in base:
        target = (path.parent / base)
        if not target.exists():
            raise ConfigError(f"field 'base' = {base!r}: no such file {target}")
        return load_model(target, _seen=seen)
    return get_config(base)


def _shrunk(cfg: Any, spec: Any) -> Any:
    if not isinstance(cfg, DecoderConfig):
        raise ConfigError("field 'shrink' applies to decoder models only (a parallel-stacks twin is written out)")
    if spec is True:
        spec = {}
    if not isinstance(spec, dict):
        raise ConfigError(f"field 'shrink' must be true or a table of {', '.join(SHRINK_KEYS)}, got {spec!r}")
    unknown = sorted(set(spec) - set(SHRINK_KEYS))
    if unknown:
        raise ConfigError(f"field 'shrink.{unknown[0]}' is not one of {', '.join(SHRINK_KEYS)}")
    for key, value in spec.items():
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ConfigError(f"field 'shrink.{key}' must be a positive integer, got {value!r}")
    return shrink(cfg, **spec)


# ---------------------------------------------------------------- merging a file over its base, then building
def _merge(base: dict[str, Any], over: dict[str, Any], cls: type, prefix: str) -> dict[str, Any]:
    """`over` on top of `base` (both plain data of `cls`): sub-config tables merge field by field."""
    hints, known = get_type_hints(cls), [f.name for f in fields(cls)]
    out = dict(base)
    for key, value in over.items():
        if key not in known:
            allowed = ", ".join(known + (list(META_KEYS) if not prefix else []))
            raise ConfigError(f"unknown field {prefix + key!r} (allowed: {allowed})")
        sub = _dataclass_of(hints[key])
        if sub is not None and isinstance(value, dict) and isinstance(out.get(key), dict):
            value = _merge(out[key], value, sub, f"{prefix}{key}.")
        out[key] = value
    return out


def _dataclass_of(hint: Any) -> type | None:
    return next((t for t in (hint, *get_args(hint)) if is_dataclass(t)), None)


def _build(cls: type, data: dict[str, Any], prefix: str) -> Any:
    """`cls(**data)` with every value checked against its field's type first, so an error names the field."""
    if not isinstance(data, dict):
        raise ConfigError(f"field {prefix.rstrip('.') or cls.__name__!r} must be a table, got {data!r}")
    hints, known = get_type_hints(cls), [f.name for f in fields(cls)]
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"unknown field {prefix + unknown[0]!r} (allowed: {', '.join(known)})")
    required = [f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING]
    missing = [key for key in required if key not in data]
    if missing:
        raise ConfigError(f"field {prefix + missing[0]!r} is required (missing: {', '.join(missing)})")
    values = {key: _value(hints[key], value, prefix + key) for key, value in data.items()}
    try:
        return cls(**values)
    except ConfigError as err:
        raise ConfigError(f"{prefix.rstrip('.') + ': ' if prefix else ''}{err}") from None


def _value(hint: Any, value: Any, name: str) -> Any:
    optional = type(None) in get_args(hint)
    if value == NONE and optional:
        return None
    if value == NONE and hint is not str:
        raise ConfigError(f"field {name!r} cannot be {NONE!r}: it is required")
    inner = [t for t in get_args(hint) if t is not type(None)] if get_origin(hint) in (Union, type(int | None)) \
        else [hint]
    target = inner[0] if len(inner) == 1 else hint
    if get_origin(target) is tuple:
        item = get_args(target)[0]
        if not isinstance(value, list):
            raise ConfigError(f"field {name!r} must be a list, got {value!r}")
        return tuple(_value(item, v, f"{name}[{i}]") for i, v in enumerate(value))
    if is_dataclass(target):
        return _build(target, value, f"{name}.")
    return _scalar(target, value, name)


def _scalar(target: Any, value: Any, name: str) -> Any:
    if target is bool:
        ok = isinstance(value, bool)
    elif target is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif target is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        value = float(value) if ok else value
    elif target is str or get_origin(target) is not None:     # str, or a Literal of strings
        ok = isinstance(value, str)
    else:
        ok = True
    if not ok:
        kind = {bool: "true or false", int: "an integer", float: "a number"}.get(target, "a string")
        raise ConfigError(f"field {name!r} must be {kind}, got {value!r}")
    return value


# ---------------------------------------------------------------- writing
def model_data(cfg: Any) -> dict[str, Any]:
    """The model file's table for `cfg`: every field, None ones left out (absent means the default, None)."""
    data = {"architecture": _architecture(cfg), **cfg.to_dict()}
    return _drop_none(data)


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_drop_none(v) for v in value]
    return value


def dump_model(cfg: Any, title: str = "") -> str:
    """TOML text of `cfg` as a model file (scalars, then tables, then arrays of tables)."""
    data = model_data(cfg)
    if title:
        data = {"title": title, **data}
    return _toml_table(data, "")


def _toml_table(data: dict[str, Any], prefix: str) -> str:
    scalars = {k: v for k, v in data.items() if not _is_table(v) and not _is_table_list(v)}
    lines = [f"{k} = {_toml_value(v)}" for k, v in scalars.items()]
    for key, value in data.items():
        if _is_table(value):
            lines += ["", f"[{prefix}{key}]", _toml_table(value, f"{prefix}{key}.").rstrip("\n")]
    for key, value in data.items():
        if _is_table_list(value):
            for item in value:
                lines += ["", f"[[{prefix}{key}]]", _toml_table(item, f"{prefix}{key}.").rstrip("\n")]
    return "\n".join(lines).strip("\n") + "\n"


def _is_table(value: Any) -> bool:
    return isinstance(value, dict)


def _is_table_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        items = [_toml_value(v) for v in value]
        one_line_form = "[" + ", ".join(items) + "]"
        return one_line_form if len(one_line_form) <= 100 else "[\n" + "".join(f"  {i},\n" for i in items) + "]"
    raise ConfigError(f"cannot write {value!r} to a model file")
