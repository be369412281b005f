"""Sparsity estimators: decide which library terms are active from (Theta, u_t) at the current fit."""

from __future__ import annotations

import abc
from typing import Any

import numpy as np

from deepmod.regression.base import normalise_problem
from deepmod.regression.selection import BackwardElimination
from deepmod.regression.system import RegressionSystem, fit_copy


class SparsityEstimator(abc.ABC):
    """Contract: :meth:`select` returns a boolean mask of shape ``(n_terms,)``, True for active terms, for a
    :class:`~deepmod.regression.RegressionSystem` of the network's current fit."""

    @abc.abstractmethod
    def select(self, system: RegressionSystem) -> np.ndarray:
        """Active columns of ``system`` (Theta ``(n_points, n_terms)``, target ``(n_points,)``)."""


class RegressorEstimator(SparsityEstimator):
    """Any scikit-learn-compatible linear regressor as a sparsity estimator.

    Columns are scaled to unit RMS and the target to unit RMS before fitting, so penalties and
    thresholds are unit-free; a term is active where ``coef_`` is non-zero. Regressors with an
    intercept (``fit_intercept=True``) should be given ``fit_intercept=False``: the constant term is part
    of the library. Defaults to :class:`~deepmod.regression.BackwardElimination`, which copes with
    nearly collinear terms where a coefficient threshold does not.
    """

    def __init__(self, regressor: Any = None) -> None:
        self.regressor = BackwardElimination() if regressor is None else regressor

    def select(self, system: RegressionSystem) -> np.ndarray:
        x, y, _, _ = normalise_problem(system.theta, system.target)
        _, coef = fit_copy(self.regressor, x, y, system.groups)
        return coef != 0
