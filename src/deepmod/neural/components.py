"""DeepMoD's algorithm choices as component objects: how terms are selected (:class:`Selection`), the network
chosen from the data (:class:`DefaultNetwork`), and the defaults for a data set (:func:`default_components`).

Each selection is a final class of one abstract base; :meth:`Selection.prepare` builds, for one run, the
system the trainer selects on (``None``: the network's pointwise derivatives) and the check that refines a
pointwise choice on the data's weak form. The weak selections choose among derivatives of monomials, so with a
library that has a term of another kind (a coordinate, a function, a negative power) they select pointwise.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import final

import torch

from deepmod.approximators import MLP, Approximator, TimeWindows, oscillations
from deepmod.data.dataset import Dataset
from deepmod.errors import InputError
from deepmod.library import CandidateLibrary
from deepmod.neural.schedule import Normalisation
from deepmod.neural.training import TrainingData
from deepmod.neural.weak import BoxWeakSelection, DataWeakCheck, GridWeakSelection, WeakSelection
from deepmod.refinement.base import Refinement
from deepmod.refinement.weak import WeakRefit

Selector = WeakSelection | GridWeakSelection | BoxWeakSelection


@dataclass(frozen=True)
class Prepared:
    """One run's selection: the weak system the trainer selects on (``None``: pointwise) and the data's weak-form
    check of a pointwise choice (``None``: none)."""

    selection: Selector | None
    check: DataWeakCheck | None = None

    @property
    def on_library_columns(self) -> bool:
        """Whether terms are chosen among the library's own columns (a grid or box weak selection chooses among
        weak terms)."""
        return not isinstance(self.selection, GridWeakSelection | BoxWeakSelection)


class Selection(abc.ABC):
    """How DeepMoD chooses its terms at each sparsity check."""

    @abc.abstractmethod
    def prepare(self, data: Dataset, split: TrainingData, library: CandidateLibrary, norm: Normalisation) -> Prepared:
        """The selection of one run on ``data`` (its samples ``split``, normalised by ``norm``)."""

    def describe(self) -> str:
        """The selection's name, for messages."""
        return type(self).__name__


@final
@dataclass(frozen=True)
class DataCheck:
    """A pointwise choice refined on the weak form of the data (one term in or out at a time while held-out
    blocks of test functions are predicted better by more than a standard error): the data's integrals see
    small terms that the network's fit to a couple of thousand samples misses. Grid PDE data only."""


@final
@dataclass(frozen=True)
class Pointwise(Selection):
    """Terms chosen on the network's pointwise derivatives, on grid PDE data then refined by ``check``
    (``None``: not refined)."""

    check: DataCheck | None = field(default_factory=DataCheck)

    def prepare(self, data: Dataset, split: TrainingData, library: CandidateLibrary, norm: Normalisation) -> Prepared:
        if self.check is None or not data.grid or data.n_space == 0:
            return Prepared(None)
        return Prepared(None, DataWeakCheck.for_grid(data, norm.centre, norm.half_width, library))


def _polynomial(library: CandidateLibrary) -> bool:
    return all(t.polynomial for t in library.terms)


def _require(condition: bool, selection: Selection, what: str) -> None:
    if not condition:
        raise InputError(f"the {selection.describe()} selection is for {what}", options=("selection",))


@final
@dataclass(frozen=True)
class TimeWeak(Selection):
    """On ODE data, terms chosen on the weak form of the network's fit (integrals against test functions in
    time, :class:`~deepmod.neural.weak.WeakSelection`); the coefficients are still solved pointwise in the
    loss."""

    def prepare(self, data: Dataset, split: TrainingData, library: CandidateLibrary, norm: Normalisation) -> Prepared:
        _require(data.n_space == 0, self, "time series")
        if not _polynomial(library):
            return Pointwise().prepare(data, split, library, norm)
        pairs = ((split.x, split.x_val), (split.u, split.u_val))
        t, u = (torch.cat(pair).cpu().double().numpy() for pair in pairs)
        return Prepared(WeakSelection.for_samples(t[:, 0], u, len(library.terms)))


@final
@dataclass(frozen=True)
class GridWeak(Selection):
    """On PDE data on a grid, terms chosen on the weak form of the network's fit with the derivatives on the test
    functions (:class:`~deepmod.neural.weak.GridWeakSelection`), then refined on the weak form of the data
    (:class:`~deepmod.neural.weak.DataWeakCheck`). The candidates are the library terms that derivatives of
    monomials span (``u*u_xx`` alone is not one)."""

    def prepare(self, data: Dataset, split: TrainingData, library: CandidateLibrary, norm: Normalisation) -> Prepared:
        _require(data.n_space > 0 and data.grid, self, "PDE data on a grid")
        if not _polynomial(library):
            return Pointwise().prepare(data, split, library, norm)
        return Prepared(GridWeakSelection(DataWeakCheck.for_grid(data, norm.centre, norm.half_width, library)))


@final
@dataclass(frozen=True)
class BoxWeak(Selection):
    """On scattered PDE samples, terms chosen on the weak form of the network's values on an even grid over the
    samples' box (:class:`~deepmod.neural.weak.BoxWeakSelection`); nothing refines that choice."""

    def prepare(self, data: Dataset, split: TrainingData, library: CandidateLibrary, norm: Normalisation) -> Prepared:
        _require(data.n_space > 0, self, "PDE data")
        if not _polynomial(library):
            return Pointwise().prepare(data, split, library, norm)
        return Prepared(BoxWeakSelection.for_samples(library, len(data.coord_names)))


def default_network(data: Dataset, n_inputs: int, n_outputs: int, *, fuse: bool = True) -> Approximator:
    """A tanh MLP with four hidden layers of 50 units; for ODE data with several oscillations, one smaller MLP
    per oscillation (:class:`~deepmod.approximators.TimeWindows`), so that each fits about one cycle."""
    if data.n_space == 0:
        x, u = data.points()
        windows = round(oscillations(x[:, 0], u))
        if windows > 1:
            return TimeWindows(n_inputs, n_outputs, windows, fuse=fuse)
    return MLP(n_inputs, n_outputs, fuse=fuse)


@final
@dataclass(frozen=True)
class DefaultNetwork:
    """The network chosen from the data (:func:`default_network`).

    Attributes:
        fuse: compile the element-wise work of its derivatives (``torch.compile``: seconds of compiling once per
            process, then steps about 1.5-3x cheaper; same results to round-off).
    """

    fuse: bool = True

    def factory(self, data: Dataset) -> Callable[[int, int], Approximator]:
        """``(n_inputs, n_outputs) -> Approximator`` for ``data``."""
        return partial(default_network, data, fuse=self.fuse)


@dataclass(frozen=True)
class Choices:
    """The algorithm choices of one DeepMoD run."""

    selection: Selection
    refinement: Refinement | None


def default_components(data: Dataset, library: CandidateLibrary) -> Choices:
    """The choices for ``data``: time series select on the weak form in time (:class:`TimeWeak`); PDE grids on
    the weak form of the network's fit refined on the data's (:class:`GridWeak`), then the chosen terms are
    refitted on the data's weak form (:class:`~deepmod.refinement.WeakRefit`); scattered PDE samples on the
    weak form of the network's values over their box (:class:`BoxWeak`). ``library`` is taken for the
    contract: the weak selections themselves fall back to pointwise for a library with terms of other kinds."""
    if data.n_space == 0:
        return Choices(TimeWeak(), None)
    if data.grid:
        return Choices(GridWeak(), WeakRefit())
    return Choices(BoxWeak(), None)


__all__ = [
    "BoxWeak",
    "Choices",
    "DataCheck",
    "DefaultNetwork",
    "GridWeak",
    "Pointwise",
    "Prepared",
    "Selection",
    "TimeWeak",
    "default_components",
    "default_network",
]
