"""The noise bias of nonlinear columns, and its correction.

Measured data are ``y = u + e`` with white noise ``e`` of variance ``s^2``. A linear column of ``y`` is
unbiased, but a power is not: ``E[y^2] = u^2 + s^2``, ``E[y^3] = u^3 + 3 s^2 u``. Regressed on directly (the
weak form integrates the data's monomials), the shift turns into wrong coefficients: a spurious constant next
to ``-u^2``, a linear coefficient inflated by ``3 s^2`` next to ``-u^3``. The unbiased estimate of ``u^k`` is
the scaled Hermite polynomial ``s^k He_k(y / s)``:

    u^2 -> y^2 - s^2,    u^3 -> y^3 - 3 s^2 y,    u^4 -> y^4 - 6 s^2 y^2 + 3 s^4,

and, the fields' noises being independent, a product of fields is corrected factor by factor
(:func:`~deepmod.classical.weak.monomial_values` with the variances). The variance
of each field is read off its spectrum's floor (:func:`~deepmod.derivatives.smoothing.noise_std`); on clean
data it is at the level of the discretisation and the correction vanishes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from deepmod.derivatives.smoothing import noise_std


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


__all__ = ["noise_variances", "unbiased_power"]
