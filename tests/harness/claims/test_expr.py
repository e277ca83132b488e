"""The expression evaluator: arithmetic as before, and an injected namespace whose functions take strings,
booleans and keywords; every misuse is one line."""
from __future__ import annotations

import pytest

from harness.claims.expr import evaluate_expression, function_names, install_namespace
from harness.errors import ArchbenchError


@pytest.fixture
def namespace():
    install_namespace({"size": lambda name, scale=1, half=False: len(name) * scale / (2 if half else 1)})
    yield
    install_namespace({})


def test_arithmetic_with_values_and_builtins():
    assert evaluate_expression("max(a, 3) * 2 ** 3 - ceil(0.5)", {"a": 2}) == 23


def test_installed_functions_take_strings_keywords_and_booleans(namespace):
    assert evaluate_expression("size('abcd', scale=3) + size('ab', half=True)", {}) == 13
    assert "size" in function_names()


@pytest.mark.parametrize("expr, words", [
    ("size('ab', depth=2)", ["size()", "depth"]),
    ("nothing(1)", ["unknown function 'nothing'", "size"]),
    ("'ab'", ["not allowed"]),
    ("x + 1", ["not allowed"]),
    ("1 +", ["expression"]),
])
def test_misuse_is_one_line(namespace, expr, words):
    with pytest.raises(ArchbenchError) as err:
        evaluate_expression(expr, {})
    assert "\n" not in str(err.value)
    for word in words:
        assert word in str(err.value)


def test_a_namespace_cannot_hide_a_builtin():
    with pytest.raises(ArchbenchError, match="built-in"):
        install_namespace({"max": lambda *a: 0})
