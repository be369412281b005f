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

from deepmod.derivatives.bumps import AxisTests, BumpRule
from deepmod.library import CandidateLibrary
from deepmod.neural.approximators import Approximator


class WeakSelection:
    """The weak system of a network fitted to ODE data, on a uniform grid of normalised time.

    Args:
        grid: uniform normalised times ``(n,)`` at which the network is evaluated.
        tests: the test functions on that grid (quadrature weights included), with their first derivatives.
    """

    def __init__(self, grid: np.ndarray, tests: AxisTests) -> None:
        self.grid, self.tests = grid, tests

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
        return WeakSelection(grid, bumps.axes[0])

    def system(self, model: Approximator, library: CandidateLibrary) -> tuple[np.ndarray, np.ndarray]:
        """``(G, b)``: ``G`` ``(n_tests, n_terms)`` and ``b`` ``(n_tests, n_fields)``, in normalised units."""
        param = next(model.parameters())
        x = torch.as_tensor(self.grid, dtype=param.dtype, device=param.device).unsqueeze(1)
        with torch.no_grad():
            values = model(x).double()
            theta = library.evaluate({key: values[:, key[0]] for key in library.required()})
        v, th = values.cpu().numpy(), theta.cpu().numpy()
        return self.tests.values[0] @ th, -(self.tests.values[1] @ v)

    def describe(self) -> dict[str, object]:
        """The test functions, for a result's settings."""
        t = self.tests
        return {"weak": {"half_width_points": t.half_width, "degree": t.degree, "count": len(t.centres)}}
