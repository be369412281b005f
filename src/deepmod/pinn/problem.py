"""What a physics-informed network solves: an equation on a box, initial and boundary values, and data.

A PINN here is a DeepMoD network whose library is fixed and whose coefficients are known (a forward solve)
or partly unknown (an inverse problem, the unknowns named in the equation's text). Values are given as safe
expressions of the coordinates (:class:`~deepmod.expression.Expression`) or read from a grid data set: its
first snapshot as the initial state, its edges as boundary values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from deepmod.data.dataset import Dataset
from deepmod.equation import ParametricEquation
from deepmod.errors import InputError
from deepmod.expression import Expression
from deepmod.terms import Factor, Symbols


@dataclass(frozen=True)
class Box:
    """The domain: a box in time and space, time first.

    Attributes:
        names: the coordinates' names, ``("t", "x")``.
        lower, upper: the bounds of each coordinate.
    """

    names: tuple[str, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]

    def __post_init__(self) -> None:
        if not (len(self.names) == len(self.lower) == len(self.upper)) or len(self.names) < 2:
            raise InputError("a PINN's domain needs time and at least one space coordinate, each with two bounds")
        if any(hi <= lo for lo, hi in zip(self.lower, self.upper, strict=True)):
            raise InputError(f"each coordinate's upper bound must exceed its lower one: {self.describe()}")

    @staticmethod
    def of(data: Dataset, periodic: bool = False) -> Box:
        """The box a data set spans; ``periodic``: one period per spatial axis (:func:`period_end`)."""
        ranges = data.coord_ranges()
        upper = ranges[:, 1].copy()
        if periodic and data.grid:
            for k, name in enumerate(data.coord_names[1:], start=1):
                upper[k] = period_end(data, k, name)
        return Box(data.coord_names, tuple(ranges[:, 0].tolist()), tuple(upper.tolist()))

    @property
    def centre(self) -> np.ndarray:
        return (np.array(self.lower) + np.array(self.upper)) / 2

    @property
    def half_width(self) -> np.ndarray:
        return (np.array(self.upper) - np.array(self.lower)) / 2

    def describe(self) -> str:
        return ",".join(f"{n}={lo:g}:{hi:g}" for n, lo, hi in zip(self.names, self.lower, self.upper, strict=True))


def period_end(data: Dataset, axis: int, name: str) -> float:
    """Where one period of the grid's spatial ``axis`` ends.

    A periodic field sampled on a uniform grid (as spectral solvers write it) leaves the end point out, so
    the period is ``n dx``, one step past the last point. Where the last point repeats the first (the data's
    values there differ much less than neighbouring points' do), the period is the grid's span.
    """
    x = np.asarray(data.coords[name], dtype=np.float64)
    step = np.diff(x)
    if len(x) < 3 or np.ptp(step) > 1e-6 * abs(step.mean()):
        raise InputError(f"periodic boundaries need a uniform grid in {name}", options=("boundary",))
    u = np.stack([np.moveaxis(np.asarray(data.fields[f]), axis, 0) for f in data.field_names])
    ends = float(np.mean(np.abs(u[:, 0] - u[:, -1])))
    neighbours = float(np.mean(np.abs(u[:, 0] - u[:, 1])))
    return float(x[-1]) if ends < 0.1 * neighbours else float(x[-1] + step.mean())


@dataclass(frozen=True)
class Values:
    """Prescribed values of a field or of one of its derivatives: ``u = -sin(pi*x)``, ``u_x = 0``.

    Attributes:
        target: the field's factor (a field, or a field's spatial derivative: a Neumann condition).
        expression: the values, an expression of the coordinates.
    """

    target: Factor
    expression: Expression

    @staticmethod
    def parse(text: str, symbols: Symbols) -> Values:
        """Read ``"u = -sin(pi*x)"`` or ``"u_x = 0"`` with the fields and coordinates of ``symbols``.

        Raises:
            InputError: for a left-hand side that is no field or derivative of one, or a bad expression.
        """
        lhs, sep, rhs = text.partition("=")
        try:
            term = symbols.parse(lhs.strip()) if sep else None
        except ValueError:
            term = None
        if term is None or len(term.factors) != 1 or not term.factors[0].plain or term.factors[0].power != 1:
            raise InputError(f"'{text}' is not a condition: write FIELD = EXPRESSION, e.g. u = -sin(pi*x) or u_x = 0")
        try:
            return Values(term.factors[0], Expression.parse(rhs, symbols.coordinates))
        except ValueError as exc:
            raise InputError(f"'{text}': {exc}") from exc


Condition = Sequence[Values] | Dataset
"""Values by expression (one per field, or per field and face kind), or a grid data set that has them."""


@dataclass(frozen=True)
class PinnProblem:
    """A PDE to solve or calibrate on a box.

    Attributes:
        equations: one per field, coefficients affine in the unknowns (:func:`~deepmod.equation.parse_parametric`).
        symbols: the fields' and coordinates' names.
        box: the domain.
        initial: the fields at the first time: expressions, or a grid data set's first snapshot; ``None``
            for an inverse problem from samples alone (Raissi's identification).
        boundary: ``"periodic"`` (every spatial axis, a hard constraint), expressions on every spatial face,
            a grid data set's values along its edges, or ``None`` with samples alone.
        data: samples the solution must also fit (grid or scattered): needed to calibrate unknowns.
        unknowns: the unknown coefficients' names and starting values.
    """

    equations: tuple[ParametricEquation, ...]
    symbols: Symbols
    box: Box
    initial: Condition | None
    boundary: str | Condition | None
    data: Dataset | None = None
    unknowns: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        named = {p for eq in self.equations for p in eq.parameters}
        if named != set(self.unknowns):
            raise InputError(
                f"the unknowns ({', '.join(self.unknowns) or 'none'}) must be the names the equations use "
                f"({', '.join(sorted(named)) or 'none'})",
                options=("unknown",),
            )
        if (self.initial is None or self.boundary is None) and self.data is None:
            raise InputError("without initial or boundary values the solution is fixed by data alone: give data")
        if self.unknowns and self.data is None:
            raise InputError("unknown coefficients are calibrated from data: give data", options=("data",))
        if isinstance(self.boundary, str) and self.boundary != "periodic":
            raise InputError(f"unknown boundary '{self.boundary}': periodic, values by expression, or data")
        lhs = [self.symbols.lhs(i) for i in range(len(self.symbols.targets))]
        if sorted(e.lhs for e in self.equations) != sorted(lhs):
            raise InputError(f"a PINN needs one equation per field: {', '.join(lhs)}")


__all__ = ["Box", "Condition", "PinnProblem", "Values", "period_end"]
