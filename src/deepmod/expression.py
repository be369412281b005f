"""Safe arithmetic expressions of named arrays, for initial and boundary values: ``-sin(pi*x)``.

The text is parsed with :mod:`ast` and only numbers, the given names, ``pi``, ``+ - * / **`` (``^`` too),
unary signs, parentheses and the functions :data:`FUNCTIONS` are accepted; the tree is evaluated node by node
with numpy, never by Python's ``eval``.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "sin": np.sin,
    "cos": np.cos,
    "exp": np.exp,
    "tanh": np.tanh,
    "sqrt": np.sqrt,
    "log": np.log,
    "abs": np.abs,
}
"""The functions an expression may call, each of one argument."""

_MAX_TEXT = 2000
_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.divide,
    ast.Pow: np.power,
}


@dataclass(frozen=True)
class Expression:
    """An arithmetic expression of ``names`` (coordinates, parameters), checked when parsed.

    Example:
        >>> Expression.parse("-sin(pi*x)", ["t", "x"])({"t": 0.0, "x": 0.5})
        -1.0
    """

    text: str
    names: tuple[str, ...]
    _tree: ast.expr = field(repr=False, compare=False)

    @staticmethod
    def parse(text: str, names: Sequence[str]) -> Expression:
        """Parse ``text``.

        Raises:
            ValueError: naming what is not allowed: another name, a call of something else, an attribute, ...
        """
        if len(text) > _MAX_TEXT:
            raise ValueError(f"the expression is longer than {_MAX_TEXT} characters")
        try:
            tree = ast.parse(text.replace("^", "**").strip(), mode="eval").body
        except SyntaxError as exc:
            raise ValueError(f"cannot read '{text}': {exc.msg}") from exc
        _check(tree, set(names))
        return Expression(text, tuple(names), tree)

    def __call__(self, values: Mapping[str, Any]) -> Any:
        """The value for ``values`` (name -> number or array; arrays broadcast)."""
        with np.errstate(all="ignore"):
            return _evaluate(self._tree, values)


def _check(node: ast.expr, names: set[str]) -> None:
    allowed = f"numbers, {', '.join(sorted(names)) or 'no names'}, pi, + - * / ** and {', '.join(FUNCTIONS)}"
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return
    if isinstance(node, ast.Name):
        if node.id not in names and node.id != "pi":
            raise ValueError(f"unknown name '{node.id}': use {allowed}")
        return
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
        _check(node.operand, names)
        return
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        _check(node.left, names)
        _check(node.right, names)
        return
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in FUNCTIONS
        and len(node.args) == 1
        and not node.keywords
    ):
        _check(node.args[0], names)
        return
    raise ValueError(f"'{ast.unparse(node)}' is not allowed: use {allowed}")


def _evaluate(node: ast.expr, values: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return float(node.value)  # type: ignore[arg-type]  # a number: _check allows no other constant
    if isinstance(node, ast.Name):
        return math.pi if node.id == "pi" and "pi" not in values else values[node.id]
    if isinstance(node, ast.UnaryOp):
        inner = _evaluate(node.operand, values)
        return -inner if isinstance(node.op, ast.USub) else inner
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_evaluate(node.left, values), _evaluate(node.right, values))
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)  # guaranteed by _check
    return FUNCTIONS[node.func.id](_evaluate(node.args[0], values))


__all__ = ["FUNCTIONS", "Expression"]
