"""Sparsity estimators: decide which library terms are active from (Theta, u_t) at the current fit."""

from __future__ import annotations

import abc
import copy
import inspect
from typing import Any

import numpy as np

from deepmod.regression.base import normalise_problem
from deepmod.regression.selection import BackwardElimination
from deepmod.regression.system import RegressionSystem


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
        theta = system.theta
        x, y, _, _ = normalise_problem(theta, system.target)
        reg: Any = copy.deepcopy(self.regressor)
        if system.groups is not None and "groups" in inspect.signature(reg.fit).parameters:
            reg.fit(x, y, groups=system.groups)
        else:
            reg.fit(x, y)
        coef = np.asarray(reg.coef_, dtype=np.float64).ravel()
        if coef.shape != (theta.shape[1],):
            raise ValueError(f"the regressor's coef_ has shape {coef.shape}, expected ({theta.shape[1]},)")
        return coef != 0
