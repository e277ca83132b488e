"""A safe arithmetic evaluator for consistency claims: numbers, names, + - * / // % ** and a few functions.

Pure: no frame, no claim. Used by the checks (`arithmetic`) and by claim validation at load time."""
from __future__ import annotations

import ast
import math
import operator

from harness.errors import ArchbenchError

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
_FUNCTIONS = {"min": min, "max": max, "ceil": math.ceil, "floor": math.floor, "log2": math.log2,
              "sqrt": math.sqrt, "abs": abs, "len_range": lambda *a: len(range(*(int(x) for x in a)))}


def evaluate_expression(expr: str, values: dict[str, float]) -> float:
    """Numbers, names from `values`, + - * / // % **, and min max ceil floor log2 sqrt abs len_range."""
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
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS:
            return _FUNCTIONS[node.func.id](*(walk(a) for a in node.args))
        raise ArchbenchError(f"expression {expr!r}: {ast.dump(node)[:60]} is not allowed (unknown name?)")
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as err:
        raise ArchbenchError(f"expression {expr!r}: {err.msg}") from None
    return float(walk(tree))
