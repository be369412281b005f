"""The noise bias of nonlinear columns, and its correction.

Measured data are ``y = u + e`` with white noise ``e`` of variance ``s^2``. A linear column of ``y`` is
unbiased, but a power is not: ``E[y^2] = u^2 + s^2``, ``E[y^3] = u^3 + 3 s^2 u``. Regressed on directly (the
weak form integrates the data's monomials), the shift turns into wrong coefficients: a spurious constant next
to ``-u^2``, a linear coefficient inflated by ``3 s^2`` next to ``-u^3``. The unbiased estimate of ``u^k`` is
the scaled Hermite polynomial ``s^k He_k(y / s)``:

    u^2 -> y^2 - s^2,    u^3 -> y^3 - 3 s^2 y,    u^4 -> y^4 - 6 s^2 y^2 + 3 s^4,

and, the fields' noises being independent, a product of fields is corrected factor by factor
(:func:`~deepmod.systems.weak.monomial_values` with the variances). The variance
of each field is read off its spectrum's floor (:func:`~deepmod.derivatives.smoothing.noise_std`); on clean
data it is at the level of the discretisation and the correction vanishes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from deepmod.derivatives.bumps import Bumps
from deepmod.derivatives.smoothing import noise_std
from deepmod.regression.noise import RowNoise
from deepmod.terms import Term


def noise_variances(fields: Sequence[np.ndarray]) -> list[float]:
    """Each grid field's noise variance, from its spectral floor (0 where it cannot be read)."""
    out = []
    for u in fields:
        s = noise_std(u)
        out.append(float(s**2) if np.isfinite(s) else 0.0)
    return out


def unbiased_power(y: np.ndarray, k: int, variance: float) -> np.ndarray:
    """The unbiased estimate of ``u^k`` from ``y = u + e``, ``e ~ N(0, variance)``: ``s^k He_k(y / s)``,
    summed as ``sum_m (-1)^m k! / (m! (k - 2m)! 2^m) s^(2m) y^(k - 2m)`` (no division by ``s``)."""
    out = np.zeros_like(y, dtype=np.float64)
    for m in range(k // 2 + 1):
        c = (-1) ** m * math.factorial(k) / (math.factorial(m) * math.factorial(k - 2 * m) * 2**m)
        out = out + c * variance**m * y ** (k - 2 * m)
    return out


def power_moment(y: np.ndarray, a: int, c: int, variance: float) -> np.ndarray:
    """The unbiased estimate of ``E[H_a H_c]``, ``H_k`` the unbiased estimate of ``u^k`` (:func:`unbiased_power`):
    ``sum_m C(a, m) C(c, m) m! s^(2m) u^(a + c - 2m)`` (the Hermite polynomials' orthogonality under the
    Gaussian), each power of ``u`` itself estimated without bias."""
    out = np.zeros_like(y, dtype=np.float64)
    for m in range(min(a, c) + 1):
        out = out + _moment_weight(a, c, m, variance) * unbiased_power(y, a + c - 2 * m, variance)
    return out


def _moment_weight(a: int, c: int, m: int, variance: float) -> float:
    """The weight of ``u^(a + c - 2m)`` in ``E[H_a H_c]`` (:func:`power_moment`)."""
    return math.comb(a, m) * math.comb(c, m) * math.factorial(m) * variance**m


@dataclass(frozen=True)
class WeakColumn:
    """A weak column's noise: its monomial's powers of the fields ``((field, power), ...)``, the test
    function's derivative orders (time first), the values of its coordinate factors (``None``: none); a
    column with a factor whose noise is not modelled (a function of a field, a negative power) is ``modelled``
    False and counted noise-free."""

    powers: tuple[tuple[int, int], ...]
    orders: tuple[int, ...]
    scale: np.ndarray | None = None
    modelled: bool = True

    @staticmethod
    def of(term: Term, orders: tuple[int, ...], coords: Sequence[np.ndarray]) -> WeakColumn:
        """The column of ``term`` (underived factors) integrated against the ``orders`` derivative of the test
        functions, on the grid of ``coords`` (time first)."""
        powers: dict[int, int] = {}
        scale = None
        grids = np.meshgrid(*coords, indexing="ij") if any(f.field < 0 for f in term.factors) else []
        for f in term.factors:
            if f.plain and not any(f.derivative):
                powers[f.field] = powers.get(f.field, 0) + f.power
            elif f.field < 0 and not f.function:
                values = grids[-1 - f.field] ** f.power
                scale = values if scale is None else scale * values
            else:
                return WeakColumn((), orders, modelled=False)
        return WeakColumn(tuple(sorted(powers.items())), orders, scale)


@dataclass(frozen=True)
class WeakNoise(RowNoise):
    """Each test function's covariance of the weak columns and target of one field's equation, from the
    fields' white-noise ``variances``: for monomials ``m_j``, ``m_k`` of the noisy fields (each its unbiased
    estimate), the pointwise covariance is ``prod_f E[H_a H_c] - prod_f u^(a + c)`` over the fields (their
    noises independent), and the integrals against ``d^a psi`` and ``d^b psi`` carry
    ``sum_p (d^a psi)(p) (d^b psi)(p) Cov_jk(p)`` (:meth:`~deepmod.derivatives.bumps.Bumps.integrate_pair`).
    ``columns``: the system's columns, then the target's (``-int psi_t u``)."""

    fields: tuple[np.ndarray, ...]
    variances: tuple[float, ...]
    bumps: Bumps
    columns: tuple[WeakColumn, ...]

    def covariance(self, columns: Sequence[int]) -> np.ndarray:
        picked = [self.columns[c] for c in columns] + [self.columns[-1]]
        k = len(picked)
        out = np.zeros((self.bumps.n_rows, k, k))
        for i in range(k):
            for j in range(i, k):
                first, second = picked[i], picked[j]
                pointwise = self._column_pointwise(first, second)
                if pointwise is None:
                    continue
                out[:, i, j] = out[:, j, i] = self.bumps.integrate_pair(pointwise, first.orders, second.orders)
        return out

    def pairs(self, columns: Sequence[int]) -> tuple[np.ndarray, np.ndarray] | None:
        """The covariance between every two rows (:meth:`RowNoise.pairs`), for a system of at most
        :data:`MAX_PAIR_ENTRIES` entries in all; ``None`` where a column's noise is not modelled. The weights'
        copy evaluates the covariance at ``u = y`` (a Gaussian's covariance, positive semi-definite at every
        point) where the unbiased one can be indefinite (``4 y^2 s^2 - 2 s^4`` for ``u^2``)."""
        picked = [self.columns[c] for c in columns] + [self.columns[-1]]
        k, n = len(picked), self.bumps.n_rows
        if 2 * k * k * n * n > MAX_PAIR_ENTRIES or not all(c.modelled for c in picked):
            return None
        out = np.zeros((2, k, k, n, n))
        for i in range(k):
            for j in range(i, k):
                first, second = picked[i], picked[j]
                for version, plug_in in enumerate((False, True)):
                    pointwise = self._column_pointwise(first, second, plug_in)
                    if pointwise is None:
                        continue
                    out[version, i, j] = self.bumps.integrate_cross(pointwise, first.orders, second.orders)
                    out[version, j, i] = out[version, i, j].T
        return out[0], out[1]

    def _column_pointwise(self, first: WeakColumn, second: WeakColumn, plug_in: bool = False) -> np.ndarray | None:
        """The two columns' pointwise covariance (:meth:`_pointwise`) times their coordinate factors; ``None``
        where it is zero or not modelled."""
        if not (first.modelled and second.modelled):
            return None
        pointwise = self._pointwise(dict(first.powers), dict(second.powers), plug_in)
        if pointwise is None:
            return None
        for column in (first, second):
            if column.scale is not None:
                pointwise = pointwise * column.scale
        return pointwise

    def _pointwise(self, first: dict[int, int], second: dict[int, int], plug_in: bool = False) -> np.ndarray | None:
        """The covariance at each point of the two monomials' estimates (``None``: they share no field);
        ``plug_in``: its formula in ``u`` evaluated at ``u = y`` rather than estimated without bias."""
        shared = set(first) & set(second)
        if not shared:
            return None
        moment, mean = np.ones_like(self.fields[0], dtype=np.float64), np.ones_like(self.fields[0], dtype=np.float64)
        for f in set(first) | set(second):
            a, c = first.get(f, 0), second.get(f, 0)
            y, s2 = self.fields[f], self.variances[f]
            if plug_in:
                moment = moment * sum(_moment_weight(a, c, m, s2) * y ** (a + c - 2 * m) for m in range(min(a, c) + 1))
                mean = mean * y ** (a + c)
            else:
                moment = moment * power_moment(y, a, c, s2)
                mean = mean * unbiased_power(y, a + c, s2)
        return moment - mean


MAX_PAIR_ENTRIES = 40_000_000
"""The largest row-by-row covariance held for generalised least squares (320 MB): 1,500 rows for a model of
three terms. Larger systems keep the row-wise correction."""


__all__ = ["MAX_PAIR_ENTRIES", "WeakColumn", "WeakNoise", "noise_variances", "power_moment", "unbiased_power"]
