"""The producer contract: a :class:`SystemProducer` turns grid data and a candidate library into one
:class:`~deepmod.regression.system.RegressionSystem` per field (theta, target, named columns, row groups), and
refits chosen terms on the same kind of rows. The sparse-regression methods choose a producer and a regressor;
DeepMoD's weak selection and refit use the weak producer's pieces.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from deepmod.data.dataset import Dataset
from deepmod.equation import Equation
from deepmod.errors import InputError
from deepmod.library import CandidateLibrary
from deepmod.regression.system import FittedEquation, RegressionSystem
from deepmod.result import SelectionEvidence

Progress = Callable[[int, int], None]
"""Called with (steps done, steps in all) as a producer works; once with 0 done before the first step."""


@dataclass(frozen=True)
class Bootstrap:
    """One ensemble member's resampling of the rows a method learns from, drawn from ``seed``: rows of its
    regression systems (test functions for the weak method, grid points for fd), samples (DeepMoD), times
    (the universal ODE). Each method says which; :mod:`deepmod.ensemble` builds one per member."""

    seed: int

    def draw(self, n: int) -> np.ndarray:
        """``n`` indices into ``range(n)`` drawn with replacement, sorted."""
        return np.sort(np.random.default_rng(self.seed).integers(0, n, n))

    def systems(self, systems: Sequence[RegressionSystem]) -> list[RegressionSystem]:
        """The systems (one per field, on the same rows) on one draw of their rows: a row drawn twice keeps its
        block label, so held-out folds never split its copies."""
        groups = systems[0].groups
        if groups is None:
            rows = self.draw(systems[0].n_rows)
        else:
            labels, inverse = np.unique(groups, return_inverse=True)
            picked = self.draw(len(labels))
            rows = np.concatenate([np.flatnonzero(inverse == g) for g in picked])
        return [s.taken(rows) for s in systems]


@dataclass(frozen=True)
class Produced:
    """What a producer made: the systems (one per field, on the same rows), the settings that say how (plain
    JSON values, for the result), and the names of every term the systems' columns expand into."""

    systems: list[RegressionSystem]
    settings: dict[str, Any] = field(default_factory=dict)
    terms: list[str] = field(default_factory=list)


class SystemProducer(abc.ABC):
    """Makes the regression systems of a sparse-regression method.

    Contract: :meth:`produce` returns one system per field with an equation (the data's targets), rows in the
    same order in each, grouped into blocks for held-out selection; with ``rows`` (an ensemble member's
    :class:`Bootstrap`) on that draw of the rows. :meth:`refit` fits already chosen terms by least squares on
    all the rows, in physical units.
    """

    name: ClassVar[str]
    """The form of the rows, for messages (``"weak"``, ``"pointwise"``)."""
    refit_label: ClassVar[str]
    """How :meth:`refit` fits, as an ensemble records it (``{"by": refit_label}``)."""
    evidence: ClassVar[type[SelectionEvidence]] = SelectionEvidence
    """The record a selection on these systems leaves in the result."""

    @abc.abstractmethod
    def produce(
        self, data: Dataset, library: CandidateLibrary, rows: Bootstrap | None = None, progress: Progress | None = None
    ) -> Produced:
        """The systems of ``data`` for ``library``'s terms, and how they were made."""

    def systems(
        self, data: Dataset, library: CandidateLibrary, rows: Bootstrap | None = None
    ) -> list[RegressionSystem]:
        """:meth:`produce`'s systems alone."""
        return self.produce(data, library, rows).systems

    @abc.abstractmethod
    def refit(
        self, data: Dataset, library: CandidateLibrary, supports: Sequence[Sequence[str]]
    ) -> list[Equation] | None:
        """The equations with these terms (names, one list per field) fitted on all the rows; ``None`` where
        some field's terms cannot be fitted on this producer's rows."""

    def fitted_settings(self, systems: Sequence[RegressionSystem], fits: Sequence[FittedEquation]) -> dict[str, Any]:
        """Settings that say what the regression found in the systems' own columns (where those differ from the
        library's terms); none by default."""
        return {}


def require_grid(data: Dataset, method: str) -> None:
    """Refuse scattered data for a method that works on grids (the weak and fd methods)."""
    if not data.grid:
        raise InputError(
            f"the {method} method needs data on a grid; use the deepmod method for scattered samples",
            options=("method",),
        )


def check_library_size(n_points: int, n_terms: int) -> None:
    """Refuse libraries with more terms than data points."""
    if n_terms >= n_points:
        raise InputError(
            f"the library has {n_terms} terms but the data have only {n_points} points: lower the polynomial "
            "or derivative order or give more data",
            options=("poly_order", "diff_order"),
        )


__all__ = ["Bootstrap", "Produced", "Progress", "SystemProducer", "check_library_size", "require_grid"]
