"""The method contract: every discovery method turns a Dataset and a library into a Result; how a run is
controlled from outside (callbacks, a stop request, checkpoints) travels beside the settings, in one
:class:`~deepmod.control.RunControl`."""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from deepmod.control import Callback, RunControl, Status
from deepmod.data.dataset import Dataset
from deepmod.equation import Equation
from deepmod.errors import InputError
from deepmod.library import CandidateLibrary, PolynomialLibrary, symbols_for
from deepmod.result import Evidence, History, Result, TermUncertainty
from deepmod.systems.base import Bootstrap, check_library_size, require_grid
from deepmod.terms import Symbols


@dataclass(frozen=True)
class Refit:
    """An ensemble's reported model refitted on all the data (:meth:`Method.refit`), and how: ``how["by"]`` names
    the fit, with what it measured (deterministic values only: the same seed gives the same bytes)."""

    equations: list[Equation]
    how: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Problem:
    """One discovery task, everything a method's :meth:`Method.run` is given: the data, the candidate library,
    the seed of every random choice, the device and the run control. A value, so a task can be sent to another
    process as it is. ``bootstrap``: an ensemble member's resampling of the rows (``None``: all the data)."""

    data: Dataset
    library: CandidateLibrary
    seed: int = 0
    device: str = "cpu"
    control: RunControl = field(default_factory=RunControl)
    bootstrap: Bootstrap | None = None


class Method(abc.ABC):
    """A discovery method. Contract: :meth:`run` returns a :class:`Result` with equations in the data's
    physical units, one per field, listing only active terms. Each method owns its defaults: ``poly_order``
    and ``diff_order`` of its default library (:meth:`default_library`).
    """

    name: ClassVar[str]
    poly_order: ClassVar[int] = 2
    diff_order: ClassVar[int] = 3

    @abc.abstractmethod
    def run(self, problem: Problem) -> Result:
        """Discover the equations of ``problem.data`` among the terms of ``problem.library``."""

    def refit(self, problem: Problem, supports: Sequence[Sequence[str]]) -> Refit | None:
        """The equations with these terms (names, one list per field) refitted on all of ``problem.data``, as an
        ensemble's reported model; ``None`` where the method has no refit of its own (the ensemble then takes
        its members' median coefficients)."""
        return None

    def orders(self) -> tuple[int, int]:
        """The polynomial and derivative orders of the method's default library."""
        return self.poly_order, self.diff_order

    def default_library(
        self,
        data: Dataset,
        poly_order: int | None = None,
        diff_order: int | None = None,
        extra_terms: Sequence[str] = (),
    ) -> CandidateLibrary:
        """The method's library for ``data``: powers of the fields up to ``poly_order`` times spatial derivatives
        up to ``diff_order`` (the method's own orders where ``None``), plus ``extra_terms`` by name."""
        own_poly, own_diff = self.orders()
        poly = own_poly if poly_order is None else poly_order
        diff = own_diff if diff_order is None else diff_order
        return make_library(data, poly, diff, extra_terms)


def make_library(
    data: Dataset, poly_order: int = 2, diff_order: int = 3, extra_terms: Sequence[str] = ()
) -> CandidateLibrary:
    """The polynomial library for ``data`` with these orders (see :class:`~deepmod.library.PolynomialLibrary`).

    Raises:
        InputError: for orders out of range or an extra term that cannot be read.
    """
    try:
        return PolynomialLibrary(symbols_for(data), poly_order, diff_order, extra_terms)
    except ValueError as exc:
        raise InputError(str(exc), options=("poly_order", "diff_order", "terms")) from exc


def assemble(
    method: str,
    symbols: Symbols,
    coords: Sequence[str],
    equations: Sequence[Equation],
    terms: Sequence[str],
    *,
    seconds: float = 0.0,
    status: Status = "converged",
    iterations: int = 0,
    history: History | None = None,
    settings: Mapping[str, Any] | None = None,
    evidence: Evidence | None = None,
    warnings: Sequence[str] = (),
    uncertainty: Mapping[str, dict[str, TermUncertainty]] | None = None,
) -> Result:
    """The one way a run becomes a :class:`~deepmod.result.Result`, for every method: the equations (physical
    units, active terms) and the candidate ``terms`` under the ``method``'s name, written in ``symbols`` over the
    data's ``coords``, with the run's wall time in ``seconds`` and the record of how they were found."""
    return Result(
        list(equations),
        method,
        list(terms),
        status,
        iterations,
        seconds,
        History() if history is None else history,
        dict(settings or {}),
        evidence,
        symbols,
        tuple(coords),
        list(warnings),
        dict(uncertainty or {}),
    )


def known_parts(known: Sequence[Equation], symbols: Symbols, n_fields: int, what: str = "field") -> list[Equation]:
    """The known part of each of the ``n_fields`` equations (empty where none is given), in field order, for the
    universal ODE and PDE; ``what`` names a field in the messages ("state", "field").

    Raises:
        InputError: for an equation of no field, or two of one.
    """
    lhs = [symbols.lhs(i) for i in range(n_fields)]
    by_lhs: dict[str, Equation] = {}
    for eq in known:
        if eq.lhs not in lhs:
            raise InputError(f"the known equation for '{eq.lhs}' names no {what}: use one of {', '.join(lhs)}")
        if eq.lhs in by_lhs:
            raise InputError(f"two known equations for '{eq.lhs}': give one per {what}")
        by_lhs[eq.lhs] = eq
    return [by_lhs.get(name, Equation(name, {})) for name in lhs]


def require_one_run(data: Dataset, method: str) -> None:
    """Refuse a record of several trajectories for a method that fits one (DeepMoD's network, the UDE)."""
    if data.runs:
        raise InputError(
            f"the {method} method fits one trajectory and the record has {1 + len(data.runs)}: use the weak or fd "
            "method, which stack them",
            options=("method", "trajectory"),
        )


__all__ = [
    "Bootstrap",
    "Callback",
    "Method",
    "Problem",
    "Refit",
    "RunControl",
    "Status",
    "assemble",
    "check_library_size",
    "known_parts",
    "make_library",
    "require_grid",
    "require_one_run",
    "symbols_for",
]
