"""The pointwise systems of PDE-FIND: derivatives of the (smoothed) data on the grid, the library evaluated
pointwise (Rudy, Brunton, Proctor and Kutz, "Data-driven discovery of partial differential equations",
Science Advances 3, 2017).

Derivatives are Savitzky-Golay (local polynomial) derivatives, one filter per axis; each axis's window
passes the wavenumbers where the data's spectrum stands above its noise floor
(:func:`~deepmod.derivatives.noise_cutoff`) and the polynomial degree is the derivative order plus two.
Points within a window of an edge are left out of the regression.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from deepmod.data.dataset import Dataset
from deepmod.derivatives.smoothing import evenly_spaced, noise_cutoff, savgol_derivative, savgol_half_width
from deepmod.equation import Equation
from deepmod.errors import InputError
from deepmod.library import CandidateLibrary, coordinate_values, finite_columns
from deepmod.regression.system import LeastSquaresFit, RegressionSystem, fit_equations, stacked
from deepmod.systems.base import Bootstrap, Produced, Progress, SystemProducer, check_library_size, require_grid


@dataclass
class SmoothingPlan:
    """Savitzky-Golay windows per axis for derivatives of noisy grid data.

    Each axis's window passes the wavenumbers up to the data's noise cutoff; the degree is the highest
    derivative order wanted along the axis plus two. ``interior`` leaves out a window's width at each edge.
    """

    coords: list[np.ndarray]
    widths: list[int]
    polyorders: list[int]
    fields: list[np.ndarray]

    @staticmethod
    def fit(
        fields: list[np.ndarray], coords: list[np.ndarray], max_orders: list[int], n_targets: int | None = None
    ) -> SmoothingPlan:
        """The plan for ``fields`` (the first ``n_targets`` of them, all by default, set the noise cutoffs:
        an input such as a single sine has no noise floor to find)."""
        for axis, coord in enumerate(coords):
            if not evenly_spaced(coord):
                raise InputError(
                    f"smoothed finite differences need evenly spaced coordinates, and axis {axis} is not: "
                    "the weak method takes uneven spacing",
                    options=("method",),
                )
        polyorders = [m + 2 for m in max_orders]
        widths = []
        for axis, coord in enumerate(coords):
            cutoff = min(noise_cutoff(u, axis) for u in fields[:n_targets])
            widths.append(min(savgol_half_width(len(coord), cutoff, polyorders[axis]), (len(coord) - 1) // 4))
        plan = SmoothingPlan(coords, widths, polyorders, fields)
        if any(s.stop - s.start < 2 for s in plan.interior):
            raise InputError("the grid is too small for the derivative windows the noise level calls for")
        return plan

    @property
    def interior(self) -> tuple[slice, ...]:
        return tuple(slice(w, len(c) - w) for w, c in zip(self.widths, self.coords, strict=True))

    def derivative(self, u: np.ndarray, orders: tuple[int, ...]) -> np.ndarray:
        """The derivative of ``orders`` (one per axis, time first) on the whole grid."""
        out = u
        for axis, order in enumerate(orders):
            out = savgol_derivative(out, self.coords[axis], order, axis, self.widths[axis], self.polyorders[axis])
        return out


def grid_values(
    needed: set[tuple[int, tuple[int, ...]]],
    plan: SmoothingPlan,
    cut: Callable[[np.ndarray], np.ndarray],
    on_step: Callable[[], None] = lambda: None,
) -> dict[tuple[int, tuple[int, ...]], np.ndarray]:
    """The smoothed derivatives of the fields (``plan``'s fields) and the coordinates' mesh that ``needed``
    names, each ``cut`` to the points of the regression; ``on_step`` is called after each derivative (the
    terms' finiteness is checked on Theta, :func:`~deepmod.library.finite_columns`)."""
    values = {}
    for f, d in sorted(k for k in needed if k[0] >= 0):
        values[(f, d)] = cut(plan.derivative(plan.fields[f], (0, *d)))
        on_step()
    mesh = [cut(m) for m in np.meshgrid(*plan.coords, indexing="ij")]
    values.update(coordinate_values(needed, mesh))
    return values


@dataclass(frozen=True)
class PointwiseSystems(SystemProducer):
    """The pointwise systems of grid data: library columns and u_t from smoothed (Savitzky-Golay) derivatives
    at the interior grid points, grouped by time, the rows of every trajectory stacked.

    Attributes:
        max_rows: at most this many grid points enter the regression (a regular subsample in time).
    """

    name: ClassVar[str] = "pointwise"
    refit_label: ClassVar[str] = "least squares on the smoothed derivatives"

    max_rows: int = 100_000

    def produce(
        self, data: Dataset, library: CandidateLibrary, rows: Bootstrap | None = None, progress: Progress | None = None
    ) -> Produced:
        """Each derivative is a step for ``progress``."""
        require_grid(data, "fd")
        needed = library.required()
        steps = itertools.count(1)
        n_steps = (sum(1 for f, _ in needed if f >= 0) + len(data.targets)) * (1 + len(data.runs))
        if progress is not None:
            progress(0, n_steps)

        def done() -> None:
            count = next(steps)
            if progress is not None:
                progress(count, n_steps)

        per_run = [self._run_systems(run, library, done) for run in data.trajectories]
        systems = [stacked(list(same)) for same in zip(*(s for _, s in per_run), strict=True)]
        check_library_size(systems[0].n_rows, len(library.terms))
        if rows is not None:  # an ensemble member: a draw of the grid points
            systems = rows.systems(systems)
        plan = per_run[0][0]
        settings = {
            "savgol_half_widths": dict(zip(data.coord_names, plan.widths, strict=True)),
            "savgol_polyorders": dict(zip(data.coord_names, plan.polyorders, strict=True)),
            "rows": systems[0].n_rows,
        }
        return Produced(systems, settings, list(library.names))

    def refit(
        self, data: Dataset, library: CandidateLibrary, supports: Sequence[Sequence[str]]
    ) -> list[Equation] | None:
        """Least squares of the chosen terms on the pointwise systems of all the data."""
        systems = self.systems(data, library)
        out = []
        for system, names in zip(systems, supports, strict=True):
            columns = [system.names.index(n) for n in names]
            out.append(fit_equations([system.restricted(columns)], LeastSquaresFit())[0].equation)
        return out

    def _run_systems(
        self, data: Dataset, library: CandidateLibrary, done: Callable[[], None]
    ) -> tuple[SmoothingPlan, list[RegressionSystem]]:
        """The plan and the systems of one trajectory."""
        fields = [np.asarray(data.fields[n], dtype=np.float64) for n in data.field_names]
        coords = [np.asarray(data.coords[n], dtype=np.float64) for n in data.coord_names]
        n_axes = len(coords)
        max_order = [1] + [max((d[k] for _, d in library.required()), default=0) for k in range(n_axes - 1)]
        plan = SmoothingPlan.fit(fields, coords, max_order, len(data.targets))
        interior = plan.interior
        step = max(1, int(np.ceil(np.prod([s.stop - s.start for s in interior]) / self.max_rows)))

        def cut(a: np.ndarray) -> np.ndarray:
            return a[interior][::step]

        values = {k: v.ravel() for k, v in grid_values(library.required(), plan, cut, done).items()}
        theta = library.evaluate(values)
        finite_columns(theta, library.names)
        u_t = []
        for u in fields[: len(data.targets)]:
            u_t.append(cut(plan.derivative(u, (1,) + (0,) * (n_axes - 1))))
            done()
        groups = np.repeat(np.arange(u_t[0].shape[0]), u_t[0][0].size)
        names = tuple(library.names)
        symbols = library.symbols
        return plan, [RegressionSystem(theta, u.ravel(), names, symbols.lhs(f), groups) for f, u in enumerate(u_t)]


__all__ = ["PointwiseSystems", "SmoothingPlan", "grid_values"]
