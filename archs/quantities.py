"""Generic quantities a claim's expression can ask of any model: the figures documents state, computed from the
model's config by the analytic formulas (`archs.analytic`), for any model a document names.

`Quantities(resolve).namespace()` is what the composition root installs into the claims' expression evaluator
(`harness.claims.expr.install_namespace`); `resolve(name)` turns a model name (one of a document's model files, or
a preset) into its config. In an expression (bytes are decimal; `dtype` one of DTYPE_BYTES):

    params(model, part="total")             total, active (per token), or one kind: embedding, output, attention,
                                            mla, gdn, mlp, moe_experts, moe_shared, moe_router, norm, mtp, ...
    weight_bytes(model, dtype, part="total") those parameters at a number format
    kv_bytes(model, context, batch=1, dtype="bfloat16", part="total")
                                            decode state after `context` tokens: KV cache, MLA latent, GDN state
    flops_per_token(model, context, training=False)   forward (or forward + backward) FLOPs per token
    mixer_flops(model, context, kind="attention", part="layer")
                                            forward FLOPs of one sequence of `context` tokens through the
                                            model's first layer whose mixer is `kind` (attention, mla, gdn): the
                                            whole mixer ("layer": projections included) or the mixing alone
                                            ("mixing": causal QK^T and AV; GDN's chunked recurrence and solve)
    mixer_crossover(model, kind, than, part="layer")
                                            the first context length (to 1%, from 64 tokens) from which `kind`
                                            needs fewer mixer FLOPs than `than` in the same model; inf if none
                                            below 4M tokens
    train_memory(model, batch, context, precision="bf16", part="total", checkpointing=False)
                                            weights, gradients, optimizer (Adam), activations, or their total
    field(model, name)                      a config value: "max_seq_len", "moe.n_experts", "kv_heads", ...
    solve(model, name, target, quantity="params", **arguments)
                                            the value of the numeric field `name` that makes the quantity (with
                                            its other arguments) equal `target`: what an open field must be for a
                                            stated number to be true. Exact for a quantity affine in the field
                                            (parameters in the expert count or the layer count); otherwise the
                                            secant method to 1e-6.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

from archs import analytic
from archs.components import MIXERS, attention, deltanet
from harness.errors import ArchbenchError, ConfigError, one_line

DTYPE_BYTES = {"float32": 4, "fp32": 4, "float16": 2, "fp16": 2, "bfloat16": 2, "bf16": 2, "float8": 1, "fp8": 1,
               "int8": 1, "int4": 0.5}
TRAINING_PRECISION = {"float32": "fp32", "fp32": "fp32", "bfloat16": "bf16", "bf16": "bf16", "float16": "bf16",
                      "fp16": "bf16"}
SOLVE_STEPS = 30


def _one_of(what: str, value: Any, allowed) -> None:
    if value not in allowed:
        raise ArchbenchError(f"{what} {value!r} is not one of {', '.join(map(str, allowed))}")


def dtype_bytes(dtype: str) -> float:
    _one_of("dtype", dtype, DTYPE_BYTES)
    return DTYPE_BYTES[dtype]


def _part(parts: dict[str, float], part: str, what: str) -> float:
    if part == "total":
        return float(sum(parts.values()))
    _one_of(f"{what} part", part, ["total", *parts])
    return float(parts[part])


# ---------------------------------------------------------------- the quantities, over configs
ALWAYS_COUNTED = ("embedding", "output", "positions", "norm")   # parts every decoder has, possibly of 0 parameters


def params(cfg: Any, part: str = "total") -> float:
    p = analytic.params(cfg)
    if part in ("total", "active"):
        return float(p.total if part == "total" else p.active)
    _one_of("params part", part, ["total", "active", *dict.fromkeys([*ALWAYS_COUNTED, *p.by_kind])])
    return float(p.by_kind.get(part, 0))


def weight_bytes(cfg: Any, dtype: str = "bfloat16", part: str = "total") -> float:
    return params(cfg, part) * dtype_bytes(dtype)


def kv_bytes(cfg: Any, context: float, batch: float = 1, dtype: str = "bfloat16", part: str = "total") -> float:
    return _part(analytic.cache_bytes(cfg, int(batch), int(context), dtype_bytes(dtype)), part, "kv_bytes")


def flops_per_token(cfg: Any, context: float, training: bool = False) -> float:
    return float(analytic.flops_per_token(cfg, int(context), causal=True, training=bool(training)))


def train_memory(cfg: Any, batch: float, context: float, precision: str = "bf16", part: str = "total",
                 checkpointing: bool = False) -> float:
    _one_of("training precision", precision, TRAINING_PRECISION)
    parts = analytic.training_memory(cfg, int(batch), int(context), TRAINING_PRECISION[precision],
                                     checkpointing=bool(checkpointing))
    return _part(parts, part, "train_memory")


def _mixing_flops(cfg: Any, spec: Any, T: int) -> float:
    """FLOPs of the mixing alone (no projections), causal: attention's QK^T and AV, GDN's chunks and solve."""
    if spec.mixer == "gdn":
        terms = deltanet.flops_terms(cfg, T)
        return float(terms["chunk"] + terms["solve"])
    if spec.mixer == "attention":
        return float(4 * attention.attended_pairs(T, spec.window, True) * cfg.n_heads * cfg.attn_head_dim)
    raise ArchbenchError(f"mixer_flops part 'mixing' is known for attention and gdn, not {spec.mixer!r}")


def mixer_flops(cfg: Any, context: float, kind: str = "attention", part: str = "layer") -> float:
    _one_of("mixer_flops part", part, ("layer", "mixing"))
    layers = getattr(cfg, "layers", ())
    spec = next((s for s in layers if s.mixer == kind), None)
    if spec is None:
        raise ArchbenchError(f"mixer_flops: the model has no {kind!r} layer "
                             f"(its mixers: {', '.join(sorted({s.mixer for s in layers})) or 'none'})")
    if part == "mixing":
        return _mixing_flops(cfg, spec, int(context))
    return float(MIXERS[kind].flops_formula(cfg, spec, int(context), True))


CROSSOVER_RANGE = (64, 1 << 22)


def mixer_crossover(cfg: Any, kind: str, than: str, part: str = "layer") -> float:
    """The first T (to 1%) from which `kind`'s mixer FLOPs are below `than`'s: bisection on log T."""
    def cheaper(T: int) -> bool:
        return mixer_flops(cfg, T, kind, part) < mixer_flops(cfg, T, than, part)

    lo, hi = CROSSOVER_RANGE
    if not cheaper(hi):
        return float("inf")
    while hi / lo > 1.01:
        mid = int((lo * hi) ** 0.5)
        lo, hi = (lo, mid) if cheaper(mid) else (mid, hi)
    return float(hi)


def field(cfg: Any, name: str) -> float:
    """A numeric config value by dotted name (a sub-config's field: "moe.n_experts"), properties included."""
    value: Any = cfg
    for step in str(name).split("."):
        if not hasattr(value, step):
            raise ArchbenchError(f"field {name!r}: {type(value).__name__} has no {step!r}")
        value = getattr(value, step)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ArchbenchError(f"field {name!r} is {value!r}, not a number")
    return float(value)


QUANTITIES: dict[str, Callable[..., float]] = {
    "params": params, "weight_bytes": weight_bytes, "kv_bytes": kv_bytes, "flops_per_token": flops_per_token,
    "train_memory": train_memory, "field": field, "mixer_flops": mixer_flops,
}


def with_field(cfg: Any, name: str, value: int) -> Any:
    """`cfg` with the (dotted) field `name` set to `value`."""
    head, _, rest = str(name).partition(".")
    if not hasattr(cfg, head):
        raise ArchbenchError(f"field {name!r}: {type(cfg).__name__} has no {head!r}")
    return replace(cfg, **{head: with_field(getattr(cfg, head), rest, value) if rest else value})


def solve(cfg: Any, name: str, target: float, quantity: str = "params", **arguments: Any) -> float:
    """The (real) value of the integer field `name` at which `quantity(cfg with name=value, **arguments)` equals
    `target`: the secant through integer settings, from the config's own value and the next valid one up."""
    _one_of("solve quantity", quantity, [q for q in QUANTITIES if q != "field"])

    def gap(value: int) -> float:
        try:
            return QUANTITIES[quantity](with_field(cfg, name, value), **arguments) - float(target)
        except ConfigError as err:
            raise ArchbenchError(f"solve {name!r}: {value} is not a valid setting ({one_line(err)})") from None

    x0 = int(field(cfg, name))
    x1 = next((x0 + step for step in (1, 2, 3, 4, 6, 8, 12, 16) if _valid(cfg, name, x0 + step)), None)
    if x1 is None:
        raise ArchbenchError(f"solve {name!r}: no valid setting near {x0} to step to")
    g0, g1 = gap(x0), gap(x1)
    estimate = float(x0)
    for _ in range(SOLVE_STEPS):
        if g1 == g0:
            raise ArchbenchError(f"solve {name!r}: {quantity} does not change with it")
        estimate = x1 - g1 * (x1 - x0) / (g1 - g0)
        nearest = max(1, round(estimate))
        if nearest in (x0, x1) or not _valid(cfg, name, nearest):
            break
        x0, g0, x1, g1 = x1, g1, nearest, gap(nearest)
        if abs(g1) <= 1e-6 * abs(float(target)):
            return float(nearest)
    return float(estimate)


def _valid(cfg: Any, name: str, value: int) -> bool:
    try:
        with_field(cfg, name, value)
    except (ConfigError, ArchbenchError):
        return False
    return value > 0


class Quantities:
    """The quantities over model names: `resolve(name)` gives the config a name stands for."""

    def __init__(self, resolve: Callable[[str], Any]):
        self.resolve = resolve

    def _model(self, model: Any) -> Any:
        if not isinstance(model, str):
            raise ArchbenchError(f"a model is named by a string, got {model!r}")
        return self.resolve(model)

    def namespace(self) -> dict[str, Callable[..., float]]:
        out = {name: (lambda model, *a, _fn=fn, **k: _fn(self._model(model), *a, **k))
               for name, fn in QUANTITIES.items()}
        out["solve"] = lambda model, *a, **k: solve(self._model(model), *a, **k)
        out["mixer_crossover"] = lambda model, *a, **k: mixer_crossover(self._model(model), *a, **k)
        out["dtype_bytes"] = dtype_bytes
        return out
