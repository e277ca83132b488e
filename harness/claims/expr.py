"""A safe arithmetic evaluator for consistency claims: numbers, names, + - * / // % ** and a few functions, plus the
functions of an injected namespace.

Pure but for that namespace: no frame, no claim. Used by the checks (`arithmetic`), by `args.beside` items and by
claim validation at load time. The harness knows no model: the composition root installs the generic quantities
(`archs.quantities`: `params('mixtral-8x7b', 'active')`, `kv_bytes('base', 32768, dtype='bfloat16')`...) with
`install_namespace`, and expressions call them like the built-in functions. Their arguments may be numbers, strings
and true/false (`True`/`False`), positional or by keyword; the expression's value is always a number.
"""
from __future__ import annotations

import ast
import math
import operator
from typing import Any, Callable, Mapping

from harness.errors import ArchbenchError, one_line

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
_FUNCTIONS = {"min": min, "max": max, "ceil": math.ceil, "floor": math.floor, "log2": math.log2,
              "sqrt": math.sqrt, "abs": abs, "len_range": lambda *a: len(range(*(int(x) for x in a)))}
_NAMESPACE: dict[str, Callable[..., float]] = {}


def install_namespace(functions: Mapping[str, Callable[..., float]]) -> None:
    """Make `functions` callable from every expression (replacing what was installed before). A name of the
    built-in functions cannot be taken."""
    taken = sorted(set(functions) & set(_FUNCTIONS))
    if taken:
        raise ArchbenchError(f"expression functions {taken} would hide the built-in ones")
    _NAMESPACE.clear()
    _NAMESPACE.update(functions)


def function_names() -> list[str]:
    """Every function an expression can call now: the built-in ones, then the installed namespace."""
    return [*_FUNCTIONS, *_NAMESPACE]


def evaluate_expression(expr: str, values: dict[str, float]) -> float:
    """Numbers, names from `values`, + - * / // % **, and min max ceil floor log2 sqrt abs len_range, and the
    installed namespace's functions (which may also take strings and booleans)."""
    functions = {**_FUNCTIONS, **_NAMESPACE}

    def argument(node: ast.AST) -> Any:
        if isinstance(node, ast.Constant) and isinstance(node.value, (str, bool)):
            return node.value
        return walk(node)

    def walk(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return node.value
        if isinstance(node, ast.Name) and node.id in values:
            return values[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return _BINARY[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return -walk(node.operand) if isinstance(node.op, ast.USub) else walk(node.operand)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in functions:
            args = [argument(a) for a in node.args]
            kwargs = {k.arg: argument(k.value) for k in node.keywords if k.arg is not None}
            return _call(node.func.id, functions[node.func.id], args, kwargs)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            raise ArchbenchError(f"expression {expr!r}: unknown function {node.func.id!r} "
                                 f"(known: {', '.join(functions)})")
        raise ArchbenchError(f"expression {expr!r}: {ast.dump(node)[:60]} is not allowed (unknown name?)")

    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as err:
        raise ArchbenchError(f"expression {expr!r}: {err.msg}") from None
    result = walk(tree)
    if isinstance(result, bool) or not isinstance(result, (int, float)):
        raise ArchbenchError(f"expression {expr!r} is {result!r}, not a number")
    return float(result)


def _call(name: str, fn: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> Any:
    """`fn(*args, **kwargs)`; a call with wrong arguments is one line naming the function."""
    try:
        return fn(*args, **kwargs)
    except TypeError as err:
        raise ArchbenchError(f"{name}(): {one_line(err)}") from None
