"""Weak-form selection for ODE data: the network's fit integrated against test functions of time.

For a test function psi that vanishes at both ends of its support, ``int psi u' dt = -int psi' u dt``, so
the system ``G xi = b`` with ``G = int psi Theta(u) dt`` and ``b = -int psi' u dt`` holds exactly where
``u' = Theta(u) xi`` does, and it needs no derivative of the fit. The sparsity estimator chooses terms on this
system instead of the pointwise one.

Why: the pointwise system compares network derivatives, whose error is a per cent or so at a per cent of
noise and is smooth, so it can stand in for a wrong term. In Lorenz's y' = 28 x - x z - y, with z about 25 +- 8,
the wrong model ``{x, x z, y z}`` leaves only 0.02 % of var(y') unexplained, as little as a 1.3 %
derivative error does; once the wrong mask is in the loss the network bends towards it. The integrals see
the fitted values, which the data pin down an order of magnitude better, and average what error is left.
The coefficients are still solved on the pointwise system inside the loss, as in DeepMoD.

The support of the bumps is chosen from the data's spectrum as for the weak method (:mod:`deepmod.derivatives.bumps`).
"""

from __future__ import annotations

import numpy as np
import torch

from deepmod.approximators import Approximator
from deepmod.data.dataset import Dataset
from deepmod.derivatives.bumps import AxisTests, BumpRule, Bumps
from deepmod.library import CandidateLibrary
from deepmod.neural.sparsity import SparsityEstimator
from deepmod.regression.held_out import SmallTerms, Stepwise
from deepmod.regression.selection import subset_path
from deepmod.regression.system import RegressionSystem
from deepmod.systems.weak import WeakTerm, monomial_values, spanned, weak_terms


class WeakSelection:
    """The weak system of a network fitted to ODE data, on a uniform grid of normalised time.

    Small terms: a chosen term of small contribution is judged once more on the weak system of the data
    themselves (``samples``, which the network cannot bend towards its mask) by ``small``
    (:class:`~deepmod.regression.SmallTerms`): it goes unless the data's held-out rows need it.

    Args:
        grid: uniform normalised times ``(n,)`` at which the network is evaluated.
        tests: the test functions on that grid (quadrature weights included), with their first derivatives.
        samples: the data interpolated to ``grid`` ``(n, n_fields)``, normalised; ``None``: no second look.
        small: the rule for small terms; ``None``: :class:`~deepmod.regression.SmallTerms`'s defaults.
    """

    def __init__(
        self,
        grid: np.ndarray,
        tests: AxisTests,
        samples: np.ndarray | None = None,
        small: SmallTerms | None = None,
    ) -> None:
        self.grid, self.tests, self.samples, self.small = grid, tests, samples, small
        self._data_system: tuple[CandidateLibrary, np.ndarray, np.ndarray] | None = None  # made once per library

    @staticmethod
    def for_samples(t: np.ndarray, u: np.ndarray, n_terms: int, rule: BumpRule | None = None) -> WeakSelection:
        """Test functions for samples at times ``t`` ``(n,)`` (any order, normalised) of fields ``u`` ``(n, F)``.

        The samples are interpolated to as many uniform times, and the weak method's rule chooses the test
        functions there (``rule``; default :class:`~deepmod.derivatives.bumps.BumpRule`'s): the bump's
        support keeps the frequencies above the noise floor, centres half a support apart, closer where that
        gives too few rows per term.
        """
        order = np.argsort(t, kind="stable")
        ts, us = np.asarray(t, dtype=np.float64)[order], np.asarray(u, dtype=np.float64)[order]
        grid = np.linspace(ts[0], ts[-1], len(ts))
        sampled = [np.interp(grid, ts, us[:, f]) for f in range(us.shape[1])]
        bumps = (BumpRule() if rule is None else rule).build(sampled, [grid], 0, n_terms)
        return WeakSelection(grid, bumps.axes[0], np.stack(sampled, axis=1))

    def masks(self, model: Approximator, library: CandidateLibrary, estimator: SparsityEstimator) -> list[np.ndarray]:
        """The estimator's choice of library terms, per field, on the weak system of the network's fit."""
        theta, targets = self.system(model, library)
        names, symbols = tuple(library.names), library.symbols
        masks = [
            estimator.select(RegressionSystem(theta, targets[:, f], names, symbols.lhs(f)))
            for f in range(len(symbols.targets))
        ]
        if self.samples is None:
            return masks
        small = self.small or SmallTerms()
        if self._data_system is None or self._data_system[0] is not library:  # the data do not change
            self._data_system = (library, *self.integrate(torch.as_tensor(self.samples), library))
        _, g, b = self._data_system
        return [small.prune(g, b[:, f], m) for f, m in enumerate(masks)]

    def system(self, model: Approximator, library: CandidateLibrary) -> tuple[np.ndarray, np.ndarray]:
        """``(G, b)``: ``G`` ``(n_tests, n_terms)`` and ``b`` ``(n_tests, n_fields)``, in normalised units."""
        param = next(model.parameters())
        x = torch.as_tensor(self.grid, dtype=param.dtype, device=param.device).unsqueeze(1)
        with torch.no_grad():
            values = model(x)
        return self.integrate(values, library)

    def integrate(self, values: torch.Tensor, library: CandidateLibrary) -> tuple[np.ndarray, np.ndarray]:
        """The weak system ``(G, b)`` of field values ``(n, n_fields)`` on :attr:`grid`."""
        with torch.no_grad():
            values = values.double()
            theta = library.evaluate({key: values[:, key[0]] for key in library.required()})
        v, th = values.cpu().numpy(), theta.cpu().numpy()
        return self.tests.values[0] @ th, -(self.tests.values[1] @ v)

    def describe(self) -> dict[str, object]:
        """The test functions, for a result's settings."""
        out: dict[str, object] = {"weak": self.tests.describe()}
        if self.samples is not None:
            out["small_terms"] = "judged on the data's weak system" if self.small is None else repr(self.small)
        return out


class DataWeakCheck:
    """The weak form of grid PDE data, on which a proposed choice of terms is refined
    (:class:`~deepmod.regression.Stepwise`).

    A network proposes terms: pointwise, from its derivatives, or on the weak form of its fit
    (:class:`GridWeakSelection`). The data, integrated against the weak method's test functions with every
    derivative on the test functions, then confirm the proposal by held-out rows, one term in or out at a
    time, after the data's own best subset of no more terms has had the chance to replace a proposal it
    predicts clearly better (:class:`~deepmod.regression.Stepwise`'s exchange). Why the data and not the
    network's fit: the network sees a couple of thousand noisy samples, the
    integrals all of the grid. In an anisotropic 2-D advection-diffusion at 10 % noise (diffusivities 0.05
    and 0.32), removing the weak u_xx raises the data's weak residual 2.2-fold, clearly needed over 343 rows,
    but the network's fit from 2,000 samples only 1.3-fold, so every selection on the network (pointwise or
    weak, 2,000 or 6,000 samples) drops it.

    Library terms that no weak term spans (``u*u_xx``) are kept as proposed: the data cannot judge them.

    Args:
        bumps: the test functions on the grid.
        terms: the weak terms (columns): derivatives of monomials whose expansions use library terms only.
        spread: ``(n_weak_terms, n_library_terms)`` expansion coefficients of each weak term.
        shape: the grid's shape ``(n_t, n_x, ...)``.
        fields: the data's fields on the grid.
        coords: the grid's coordinates, in the units the test functions were built in.
        rule: the refinement; ``None``: :class:`~deepmod.regression.Stepwise`'s defaults.
    """

    def __init__(
        self,
        bumps: Bumps,
        terms: list[WeakTerm],
        spread: np.ndarray,
        shape: tuple[int, ...],
        fields: list[np.ndarray],
        coords: list[np.ndarray],
        rule: Stepwise | None = None,
    ) -> None:
        self.bumps, self.terms, self.spread, self.shape = bumps, terms, spread, shape
        self.coords, self.rule = coords, Stepwise() if rule is None else rule
        self.columns, self.targets = self.system(fields)
        self.groups = bumps.row_groups()
        self._used = np.abs(spread) > 0  # (weak term, library term): the library term is in its expansion
        self._subsets: dict[int, list[np.ndarray]] = {}  # per field: the data do not change

    @staticmethod
    def for_grid(
        data: Dataset,
        centre: np.ndarray,
        half_width: np.ndarray,
        library: CandidateLibrary,
        rule: BumpRule | None = None,
    ) -> DataWeakCheck:
        """The check for grid ``data`` in the network's coordinates ``(x - centre) / half_width``; supports
        chosen from the data's spectra by ``rule`` (the weak method's by default)."""
        coords = _normalised_coords(data, centre, half_width)
        fields = [np.asarray(data.fields[n], dtype=np.float64) for n in data.field_names]
        terms, spread = _spanned_weak_terms(library, data.n_space)
        targets = fields[: len(data.targets)]
        bumps = (BumpRule() if rule is None else rule).build(targets, coords, library.diff_order, len(terms))
        return DataWeakCheck(bumps, terms, spread, data.shape, fields, coords)

    def system(self, fields: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """The weak columns ``(n_tests, n_weak_terms)`` and targets ``(n_tests, n_fields)`` of grid fields."""
        columns = np.stack(
            [self.bumps.integrate(monomial_values(t.monomial, fields, self.coords), (0, *t.alpha)) for t in self.terms],
            axis=1,
        )
        lhs_orders = (1,) + (0,) * (len(self.shape) - 1)
        return columns, np.stack([self.bumps.integrate(u, lhs_orders) for u in fields], axis=1)

    def refine_weak(self, field: int, chosen: np.ndarray) -> np.ndarray:
        """A choice of weak terms for ``field``, refined on the data; the data's best subsets of each size
        (:func:`~deepmod.regression.selection.subset_path`, made once per field) are its alternatives."""
        if field not in self._subsets:
            self._subsets[field] = subset_path(self.columns, self.targets[:, field])
        return self.rule.refine(self.columns, self.targets[:, field], chosen, self.groups, self._subsets[field])

    def library_terms(self, chosen: np.ndarray) -> np.ndarray:
        """The library terms of the chosen weak terms' expansions."""
        return self._used[chosen].any(axis=0)

    def refine(self, masks: list[np.ndarray]) -> list[np.ndarray]:
        """Per field, a choice of library terms refined on the data: the weak terms spanned by the chosen
        library terms are refined, and map back to library terms; unspanned chosen terms stay."""
        used = self._used
        covered = used.any(axis=0)
        out = []
        for f, mask in enumerate(masks):
            mask = np.asarray(mask, dtype=bool)
            weak = used.any(axis=1) & ~(used & ~mask[None, :]).any(axis=1)
            out.append(self.library_terms(self.refine_weak(f, weak)) | (mask & ~covered))
        return out

    def describe(self) -> dict[str, object]:
        """The test functions, for a result's settings."""
        return {"data_check": [a.describe() for a in self.bumps.axes], "weak_terms": len(self.terms)}


class GridWeakSelection:
    """The weak system of a network fitted to grid PDE data (DeepMoD's default on grids).

    The network's values on the data's grid are integrated against the weak method's test functions, with
    every derivative moved onto the test functions, so no derivative of the network enters the choice: the
    columns are the weak library's terms ``d^a (monomial)`` whose expansions use library terms only, the
    target is ``-int psi_t u``. A chosen weak term selects the library terms of its expansion
    (``(u^2)_x`` selects ``u*u_x``); the loss keeps the pointwise system on those. The choice is then refined
    on the data's own weak form (``check``, :class:`DataWeakCheck`).

    Args:
        check: the data's weak form on the grid, in the network's coordinates: the same grid, test functions
            and weak terms serve the network's values.
    """

    def __init__(self, check: DataWeakCheck) -> None:
        self.points, self.check = _grid_points(check.coords), check

    def masks(self, model: Approximator, library: CandidateLibrary, estimator: SparsityEstimator) -> list[np.ndarray]:
        """Per field, the library terms of the weak terms the estimator chooses on the network's weak system,
        refined on the data's."""
        check = self.check
        columns, targets = check.system(_network_fields(model, self.points, check.shape))
        return _choices(check, columns, targets, library, estimator, refine=True)

    def describe(self) -> dict[str, object]:
        """The test functions, for a result's settings."""
        return {"weak_grid": [a.describe() for a in self.check.bumps.axes], "weak_terms": len(self.check.terms)}


class BoxWeakSelection:
    """The weak system of a network fitted to scattered PDE samples, on a grid spanning them.

    Scattered samples have no grid of their own, so the network's values on an even grid over the samples'
    box (the network's [-1, 1] in every coordinate) stand in: the weak method's rule chooses test functions
    from the spectrum of those values at each check, and the estimator chooses weak terms as for grid data
    (:class:`GridWeakSelection`). Without data on a grid nothing refines the choice. Measured against the
    pointwise selection on six scattered records (Burgers, 2-D advection-diffusion, drift-diffusion, an
    anisotropic 2-D advection-diffusion, a cubic pair, a damped wave; 2,000 to 4,000 samples at 5 to 10 %
    noise): correct where the pointwise selection is, and in fewer iterations on two of them.

    Args:
        library: the library whose weak terms (derivatives of monomials it spans) are the candidates.
        n_axes: the number of coordinates, time first.
        per_axis: grid points per coordinate.
    """

    def __init__(self, library: CandidateLibrary, n_axes: int, per_axis: int) -> None:
        self.axes = [np.linspace(-1.0, 1.0, per_axis) for _ in range(n_axes)]
        self.points, self.shape = _grid_points(self.axes), (per_axis,) * n_axes
        self.terms, self.spread = _spanned_weak_terms(library, n_axes - 1)

    @staticmethod
    def for_samples(library: CandidateLibrary, n_axes: int) -> BoxWeakSelection:
        """64 points per axis in (t, x), 24 in (t, x, y): supports of a few to a quarter of an axis, and
        enough test functions per term."""
        return BoxWeakSelection(library, n_axes, 64 if n_axes <= 2 else 24)

    def masks(self, model: Approximator, library: CandidateLibrary, estimator: SparsityEstimator) -> list[np.ndarray]:
        """Per field, the library terms of the weak terms the estimator chooses on the network's weak system."""
        fields = _network_fields(model, self.points, self.shape)
        targets = fields[: len(library.symbols.targets)]
        bumps = BumpRule().build(targets, self.axes, library.diff_order, len(self.terms))
        check = DataWeakCheck(bumps, self.terms, self.spread, self.shape, fields, self.axes)
        return _choices(check, check.columns, check.targets, library, estimator, refine=False)

    def describe(self) -> dict[str, object]:
        """The grid, for a result's settings."""
        return {"weak_box": list(self.shape), "weak_terms": len(self.terms)}


def _spanned_weak_terms(library: CandidateLibrary, n_space: int) -> tuple[list[WeakTerm], np.ndarray]:
    """The weak terms (derivatives of monomials up to the library's orders) whose expansions use library
    terms only, and their expansion coefficients over the library's terms."""
    symbols = library.symbols
    weak = weak_terms(len(symbols.fields), n_space, library.poly_order, library.diff_order, len(symbols.targets))
    chosen, spread = spanned(weak, library.terms)
    return [weak[k] for k in chosen], spread


def _grid_points(axes: list[np.ndarray]) -> np.ndarray:
    """``(n_points, n_axes)``: every point of the grid over ``axes``, the first axis slowest."""
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([m.ravel() for m in mesh], axis=1)


def _network_fields(model: Approximator, points: np.ndarray, shape: tuple[int, ...]) -> list[np.ndarray]:
    """The network's fields at ``points``, each reshaped to the grid ``shape``, in float64."""
    param = next(model.parameters())
    with torch.no_grad():
        values = model(torch.as_tensor(points, dtype=param.dtype, device=param.device)).double()
    return [values[:, f].cpu().numpy().reshape(shape) for f in range(values.shape[1])]


def _choices(
    check: DataWeakCheck,
    columns: np.ndarray,
    targets: np.ndarray,
    library: CandidateLibrary,
    estimator: SparsityEstimator,
    refine: bool,
) -> list[np.ndarray]:
    """Per field, the library terms of the weak terms ``estimator`` chooses on ``columns``, ``targets`` (the
    check's weak terms and row groups), refined on the check's data when ``refine``."""
    names = tuple(t.name(library.symbols) for t in check.terms)
    out = []
    for f in range(len(library.symbols.targets)):
        chosen = estimator.select(RegressionSystem(columns, targets[:, f], names, library.symbols.lhs(f), check.groups))
        out.append(check.library_terms(check.refine_weak(f, chosen) if refine else chosen))
    return out


def _normalised_coords(data: Dataset, centre: np.ndarray, half_width: np.ndarray) -> list[np.ndarray]:
    """The grid's coordinates in the network's units, ``(x - centre) / half_width``."""
    return [
        (np.asarray(data.coords[c], dtype=np.float64) - centre[k]) / half_width[k]
        for k, c in enumerate(data.coord_names)
    ]
