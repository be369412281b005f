"""The PINN as a discovery method (:class:`PinnIdentification`): the equations' form is known, some of their
coefficients are not, and a physics-informed network calibrates them on the data (Raissi, Perdikaris and
Karniadakis 2019, the identification of Burgers' nu from scattered samples). As a :class:`~deepmod.method.Method`
it runs wherever the other methods do: :func:`deepmod.discover`, ensembles (each member fitted to the distinct
samples of a draw with replacement, about 63 % of them: scattered samples cannot repeat a point, so the
members' spread is that of fits to fewer samples, a wider interval than the bootstrap's) and sweeps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, final

import numpy as np

from deepmod.data.dataset import Dataset
from deepmod.equation import ParametricEquation
from deepmod.errors import InputError
from deepmod.method import Method, Problem, require_one_run
from deepmod.pinn.problem import Box, PinnProblem
from deepmod.pinn.solver import PINN
from deepmod.result import Result


@final
@dataclass(frozen=True)
class PinnIdentification(Method):
    """Unknown coefficients of known equations, calibrated by a PINN on the data alone (no initial or boundary
    values: the samples fix the solution), on the box the data span.

    Attributes:
        equations: one per field, coefficients affine in the unknowns (:func:`~deepmod.equation.parse_parametric`
            with the data's symbols, ``"u_t = nu*u_xx - lambda1*u*u_x"``).
        unknowns: the unknown coefficients' names and starting values.
        settings: the PINN's network, points and training (:class:`~deepmod.pinn.PINN`).
    """

    equations: Sequence[ParametricEquation]
    unknowns: Mapping[str, float]
    settings: PINN = field(default_factory=PINN)

    name: ClassVar[str] = "pinn"

    def run(self, problem: Problem) -> Result:
        """The calibrated equations; the library only names the symbols (the terms are the equations'). An
        ensemble member (``problem.bootstrap``) is fitted to the distinct points of its draw."""
        data = problem.data
        require_one_run(data, self.name)
        if data.n_space == 0:
            raise InputError("a PINN solves PDEs: the data need a space coordinate", options=("method",))
        if problem.bootstrap is not None:
            data = _resampled(data, np.unique(problem.bootstrap.draw(data.n_points)))
        calibration = PinnProblem(
            tuple(self.equations), problem.library.symbols, Box.of(data), None, None, data, dict(self.unknowns)
        )
        fit = self.settings.solve(calibration, seed=problem.seed, device=problem.device, control=problem.control)
        return fit.result(reference=data)


def _resampled(data: Dataset, rows: np.ndarray) -> Dataset:
    """The data's points ``rows`` as scattered samples."""
    x, u = data.points()
    coords = {name: x[rows, k] for k, name in enumerate(data.coord_names)}
    fields = {name: u[rows, k] for k, name in enumerate(data.field_names)}
    return Dataset(coords, fields, grid=False, source=data.source, inputs=data.inputs)


__all__ = ["PinnIdentification"]
