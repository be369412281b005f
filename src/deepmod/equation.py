"""Equations: a left-hand side and the active terms with their coefficients, in physical units.

Printed as text (``u_t = 0.0998 u_xx - 1.002 u*u_x``), written as JSON (``{"u_xx": 0.0998, ...}``) and
turned into sympy expressions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from deepmod.terms import Symbols, Term


@dataclass(frozen=True)
class Equation:
    """``lhs = sum_j coefficients[j] * term_j`` with term names in the project convention.

    Attributes:
        lhs: the left-hand side, e.g. ``"u_t"``.
        coefficients: active term name -> coefficient (physical units), in library order.
    """

    lhs: str
    coefficients: Mapping[str, float]

    def text(self, digits: int = 4) -> str:
        """Human-readable form, e.g. ``u_t = 0.1 u_xx - 1 u*u_x``."""
        parts: list[str] = []
        for name, c in self.coefficients.items():
            mag = _fmt(abs(c), digits)
            body = mag if name == "1" else f"{mag} {name}"
            if not parts:
                parts.append(f"-{body}" if c < 0 else body)
            else:
                parts.append(f"- {body}" if c < 0 else f"+ {body}")
        return f"{self.lhs} = {' '.join(parts) if parts else '0'}"

    def __str__(self) -> str:
        return self.text()

    def to_sympy(self, symbols: Symbols, time: str | None = None) -> Any:
        """The equation as ``sympy.Eq(Derivative(u, t), rhs)`` with fields as functions of the coordinates."""
        import sympy

        t = sympy.Symbol(time or symbols.time)
        space = [sympy.Symbol(s) for s in symbols.space]
        funcs = [sympy.Function(f)(t, *space) for f in symbols.fields]
        rhs = sympy.Integer(0)
        for name, c in self.coefficients.items():
            rhs += sympy.Float(c, 6) * term_to_sympy(symbols.parse(name), funcs, [t, *space])
        field = symbols.fields.index(self.lhs.split("_")[0])
        return sympy.Eq(sympy.Derivative(funcs[field], t), rhs)


def term_to_sympy(term: Term, funcs: Sequence[Any], coordinates: Sequence[Any]) -> Any:
    """A term as a sympy product of (derivatives of) field functions, coordinates (``coordinates``: time,
    then space) and functions of them."""
    import sympy

    expr = sympy.Integer(1)
    space = coordinates[1:]
    for f in term.factors:
        base = coordinates[-1 - f.field] if f.field < 0 else funcs[f.field]
        pairs = [(s, k) for s, k in zip(space, f.derivative, strict=True) if k]
        if pairs:
            base = sympy.Derivative(base, *pairs)
        if f.function:
            base = getattr(sympy, "Abs" if f.function == "abs" else f.function)(base)
        expr *= base**f.power
    return expr


def _fmt(x: float, digits: int) -> str:
    if x == 0 or not math.isfinite(x):
        return str(x)
    return f"{x:.{digits}g}"


_MAX_POWER = 12
_MAX_TEXT = 2000


def parse_equation(text: str, symbols: Symbols) -> Equation:
    """Read a user's equation such as ``"x_t = 1.3*x - 0.9*x*y"`` or ``"u_t = 0.1*u_xx - u*u_x"``.

    Safe by construction: the text is parsed with :mod:`ast` and only numbers, the names of fields and their
    derivatives (``u``, ``u_xx``), ``+ - * /``, powers (``**`` or ``^``) with small non-negative integer
    exponents and parentheses are accepted; nothing is evaluated by Python. The right-hand side is expanded
    into a polynomial and written in the term-naming convention.

    Raises:
        ValueError: naming what is not allowed, e.g. a function call or an unknown name.
    """
    import ast

    import sympy

    if len(text) > _MAX_TEXT:
        raise ValueError(f"the equation is longer than {_MAX_TEXT} characters")
    lhs, sep, rhs = text.partition("=")
    if not sep or "=" in rhs:
        raise ValueError(f"'{text}' is not an equation: write it as LHS = RHS, e.g. x_t = 1.3*x")
    lhs = lhs.strip()
    lhs_names = [symbols.lhs(i) for i in range(len(symbols.fields))]
    if lhs not in lhs_names:
        raise ValueError(f"the left-hand side '{lhs}' must be one of {', '.join(lhs_names)}")
    try:
        tree = ast.parse(rhs.replace("^", "**").strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"cannot read the right-hand side of '{text}': {exc.msg}") from exc
    factors: dict[str, Any] = {}
    expr = _to_sympy(tree.body, symbols, factors)
    gens = list(factors.values())
    poly = sympy.Poly(sympy.expand(expr), *gens) if gens else None
    if poly is None:
        value = float(expr)
        return Equation(lhs, {"1": value} if value else {})
    coefficients: dict[str, float] = {}
    names = list(factors)
    for powers, c in poly.terms():
        parts = []
        for name, p in zip(names, powers, strict=True):
            if p:
                parts.append(name if p == 1 else f"{name}^{p}")
        term = symbols.name(symbols.parse("*".join(parts))) if parts else "1"
        coefficients[term] = coefficients.get(term, 0.0) + float(c)
    order = sorted(coefficients, key=lambda n: (symbols.parse(n).degree, n))
    return Equation(lhs, {k: coefficients[k] for k in order if coefficients[k] != 0.0})


def _to_sympy(node: Any, symbols: Symbols, factors: dict[str, Any]) -> Any:
    """The sympy expression of an allowed AST node; ``factors`` collects the names met (name -> symbol)."""
    import ast

    import sympy

    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return sympy.Rational(node.value) if isinstance(node.value, int) else sympy.Float(node.value)
    if isinstance(node, ast.Name):
        try:
            term = symbols.parse(node.id)
        except ValueError as exc:
            raise ValueError(f"unknown name '{node.id}': use the fields {list(symbols.fields)}") from exc
        if len(term.factors) != 1 or term.factors[0].power != 1:
            raise ValueError(f"'{node.id}' is not a field or a derivative of one")
        name = symbols.name(term)
        return factors.setdefault(name, sympy.Symbol(name))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
        value = _to_sympy(node.operand, symbols, factors)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div | ast.Pow):
        left = _to_sympy(node.left, symbols, factors)
        right = _to_sympy(node.right, symbols, factors)
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        if isinstance(node.op, ast.Div):
            if not right.is_number or right == 0:
                raise ValueError("only division by a non-zero number is allowed")
            return left / right
        if not (right.is_integer and 0 <= int(right) <= _MAX_POWER):
            raise ValueError(f"powers must be whole numbers from 0 to {_MAX_POWER}")
        return left ** int(right)
    raise ValueError(f"'{ast.unparse(node)}' is not allowed: use numbers, field names, + - * / and powers")
