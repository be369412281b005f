"""Test functions for weak forms: separable ``(1 - s^2)^p`` bumps on a lattice of subdomains, their supports
chosen from the data's spectrum, and the integrals of data against them.

For a test function psi that vanishes with its derivatives on the boundary of its support,
``int psi d^a f = (-1)^|a| int (d^a psi) f``: derivatives move from the data onto psi. Along each axis the
bumps and their derivatives are one matrix ``(n_centres, n_points)`` (quadrature weights included), so an
integral over all subdomains is one matrix product per axis. The support along each axis is chosen from the
data: the bump's spectrum must keep the frequencies where the data's spectrum stands above its noise floor
and cut those beyond (:func:`corner_wavenumber`; Messenger and Bortz, "Weak SINDy for partial differential
equations", J. Comput. Phys. 443, 2021). Used by the weak method, DeepMoD's weak selection and the weak refit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from deepmod.derivatives.smoothing import evenly_spaced, without_end_line
from deepmod.errors import InputError


def corner_wavenumber(u: np.ndarray, axis: int) -> int:
    """Index of the wavenumber where the data's spectrum along ``axis`` meets its noise floor.

    The cumulative sum of the mean amplitude spectrum rises steeply over the signal's wavenumbers and
    linearly over a flat noise floor; the corner is where two straight lines fit it best (the changepoint
    used by WSINDy). On noise-free data the "floor" is round-off or the resolution limit. The line through
    the end values is taken out first, so a non-periodic record has no jump at the wrap to spread over all
    wavenumbers.
    """
    detrended = without_end_line(np.moveaxis(np.asarray(u, dtype=np.float64), axis, -1))
    spectrum = np.abs(np.fft.rfft(detrended, axis=-1))
    mean = spectrum.reshape(-1, spectrum.shape[-1]).mean(axis=0)
    cum = np.cumsum(mean)
    n = len(cum)
    if n < 5:
        return n - 1
    k = np.arange(n, dtype=np.float64)
    best, corner = np.inf, n - 1
    for c in range(2, n - 2):
        err = 0.0
        for sl in (slice(0, c + 1), slice(c, n)):
            a = np.polyfit(k[sl], cum[sl], 1)
            err += float(np.sum((np.polyval(a, k[sl]) - cum[sl]) ** 2))
        if err < best:
            best, corner = err, c
    return corner


def bump_derivatives(half_width: int, degree: int, orders: int) -> np.ndarray:
    """``(orders + 1, 2 m + 1)``: ``d^a/ds^a (1 - s^2)^degree`` at ``s = j / m``, ``j = -m..m``."""
    poly = np.polynomial.Polynomial([1.0, 0.0, -1.0]) ** degree
    s = np.arange(-half_width, half_width + 1) / half_width
    return np.stack([poly.deriv(a)(s) if a else poly(s) for a in range(orders + 1)])


def support_half_width(n: int, corner: int, degree: int, min_width: int, max_width: int) -> int:
    """Half-width m (grid points) of the bump whose spectrum passes wavenumbers up to ``corner`` and no further.

    ``(1 - s^2)^p`` is close to a Gaussian of standard deviation ``m / sqrt(2 p)`` points, whose spectrum has
    standard deviation ``n / (2 pi sigma)`` wavenumbers; the corner is put at two of those.
    """
    sigma = 2.0 * n / (2.0 * math.pi * max(corner, 1))
    m = round(sigma * math.sqrt(2.0 * degree))
    return int(min(max(m, min_width), max_width))


@dataclass
class AxisTests:
    """The test functions along one axis: ``values[a]`` is ``(n_centres, n_points)`` of the a-th derivative
    (physical units), multiplied by the quadrature weights."""

    values: np.ndarray
    half_width: int
    degree: int
    centres: np.ndarray

    def describe(self) -> dict[str, object]:
        """Support, degree and count, for a result's settings."""
        return {"half_width_points": self.half_width, "degree": self.degree, "count": len(self.centres)}


def axis_tests(coord: np.ndarray, half_width: int, degree: int, orders: int, stride: int) -> AxisTests:
    """Bumps of ``half_width`` points centred every ``stride`` points, wholly inside the axis; on a
    non-uniform axis, see :func:`uneven_axis_tests`."""
    n = len(coord)
    h = np.diff(coord)
    if np.any(h <= 0):
        raise InputError("the weak method needs increasing coordinates along every axis")
    if not evenly_spaced(coord):
        return uneven_axis_tests(coord, half_width, degree, orders, stride)
    m = half_width
    centres = np.arange(m, n - m, stride)
    if len(centres) == 0:
        raise InputError(f"the grid has too few points ({n}) for test functions of half-width {m}")
    shapes = bump_derivatives(m, degree, orders)
    scale = m * h[0]  # s = (x - c) / scale
    weights = h[0]
    values = np.zeros((orders + 1, len(centres), n))
    for i, c in enumerate(centres):
        for a in range(orders + 1):
            values[a, i, c - m : c + m + 1] = shapes[a] / scale**a * weights
    return AxisTests(values, m, degree, centres)


def uneven_axis_tests(coord: np.ndarray, half_width: int, degree: int, orders: int, stride: int) -> AxisTests:
    """Bumps on a non-uniform axis (irregular sampling times): a support of ``half_width`` mean spacings on
    either side of a sample, evaluated at the samples with trapezoidal quadrature weights, centred on every
    ``stride``-th sample whose support lies wholly inside the axis.

    The bump and its derivatives up to ``degree - 1`` vanish at the support's ends, so the trapezoidal rule
    keeps its accuracy where the support meets the samples anywhere between them.
    """
    n = len(coord)
    scale = half_width * (coord[-1] - coord[0]) / (n - 1)  # s = (x - c) / scale
    inside = np.flatnonzero((coord - scale >= coord[0]) & (coord + scale <= coord[-1]))
    centres = inside[::stride]
    if len(centres) == 0:
        raise InputError(f"the axis has too few points ({n}) for test functions of half-width {half_width}")
    weights = np.zeros(n)
    weights[1:] += np.diff(coord) / 2
    weights[:-1] += np.diff(coord) / 2
    poly = np.polynomial.Polynomial([1.0, 0.0, -1.0]) ** degree
    shapes = [poly.deriv(a) if a else poly for a in range(orders + 1)]
    values = np.zeros((orders + 1, len(centres), n))
    for i, c in enumerate(centres):
        s = (coord - coord[c]) / scale
        near = np.abs(s) < 1
        for a in range(orders + 1):
            values[a, i, near] = shapes[a](s[near]) / scale**a * weights[near]
    return AxisTests(values, half_width, degree, centres)


@dataclass(frozen=True)
class Bumps:
    """The test functions on a grid: one :class:`AxisTests` per axis, time first; a test function is the
    product of one bump per axis, so there are ``n_rows`` of them."""

    axes: tuple[AxisTests, ...]

    @property
    def n_rows(self) -> int:
        return int(np.prod([len(a.centres) for a in self.axes]))

    def integrate(self, values: np.ndarray, orders: Sequence[int]) -> np.ndarray:
        """``(-1)^|a| int (d^a psi) values`` for every test function psi, flattened over the centres (time
        centres slowest), for grid ``values`` of shape ``(n_t, n_x, ...)`` and ``orders`` a, one per axis."""
        return (-1.0) ** sum(orders) * _separable(values, [a.values[o] for a, o in zip(self.axes, orders, strict=True)])

    def integrate_pair(self, values: np.ndarray, first: Sequence[int], second: Sequence[int]) -> np.ndarray:
        """``sum_p (d^a psi)(p) (d^b psi)(p) values(p)`` with the quadrature weights squared, signs as in
        :meth:`integrate`, for every test function psi: the covariance of the integrals against ``d^a psi``
        and ``d^b psi`` of white noise whose pointwise covariance is ``values``."""
        matrices = [a.values[i] * a.values[j] for a, i, j in zip(self.axes, first, second, strict=True)]
        return (-1.0) ** (sum(first) + sum(second)) * _separable(values, matrices)

    def integrate_cross(self, values: np.ndarray, first: Sequence[int], second: Sequence[int]) -> np.ndarray:
        """``(n_rows, n_rows)``: ``sum_p (d^a psi_i)(p) (d^b psi_k)(p) values(p)`` for every two test functions
        ``psi_i``, ``psi_k``, signs as in :meth:`integrate`: the covariance between the integrals of white noise
        against ``d^a psi_i`` and ``d^b psi_k`` (its diagonal is :meth:`integrate_pair`). One axis at a time:
        each grid axis is replaced by a pair of centre axes."""
        out = np.asarray(values, dtype=np.float64)
        for axis, i, j in zip(self.axes, first, second, strict=True):
            left, right = axis.values[i], axis.values[j]
            flat = out.reshape(out.shape[0], -1)
            pair = np.stack([(right * row) @ flat for row in left])  # (centres, centres, rest)
            out = np.moveaxis(pair.reshape(*pair.shape[:2], *out.shape[1:]), (0, 1), (-2, -1))
        d = len(self.axes)
        out = out.transpose(*range(0, 2 * d, 2), *range(1, 2 * d, 2))
        return (-1.0) ** (sum(first) + sum(second)) * out.reshape(self.n_rows, self.n_rows)

    def row_groups(self) -> np.ndarray:
        """``(n_rows,)``: the time centre of each row, the blocks cross-validation must keep together
        (neighbouring test functions overlap)."""
        return np.repeat(np.arange(len(self.axes[0].centres)), self.n_rows // len(self.axes[0].centres))

    def describe(self, names: Sequence[str]) -> list[dict[str, object]]:
        """Support, degree and count per axis, for a result's settings."""
        return [{"axis": n, **a.describe()} for n, a in zip(names, self.axes, strict=True)]


@dataclass(frozen=True)
class BumpRule:
    """How test functions are chosen for a grid (nothing is set by hand per data set).

    Attributes:
        smoothness: the bump's exponent p is the highest derivative order along its axis plus this. Each
            derivative moved onto the bump must vanish at the support's ends (p above the order), and the
            order of the zero it keeps there sets the quadrature error, about ``m^-(smoothness + 1)`` for a
            support of m points (Euler-Maclaurin): 4 makes it negligible beside noise and the data's own
            discretisation error.
        min_width, max_width_fraction: bounds on the automatic half-width (points; fraction of the axis).
        stride_fraction: centres every this fraction of the half-width.
        rows_per_term: centres are brought closer together until there are at least this many test
            functions per library term.
    """

    smoothness: int = 4
    min_width: int = 4
    max_width_fraction: float = 0.25
    stride_fraction: float = 0.5
    rows_per_term: int = 20

    def build(self, fields: Sequence[np.ndarray], coords: Sequence[np.ndarray], diff_order: int, n_terms: int) -> Bumps:
        """Test functions for grid ``fields`` over ``coords`` (time first), derivatives up to ``diff_order``
        in space and 1 in time, for a library of ``n_terms``: supports from the data's spectra; centres every
        half support, closer together where that gives fewer than ``rows_per_term`` rows per term."""
        widths, degrees = [], []
        for axis, coord in enumerate(coords):
            n = len(coord)
            degree = (1 if axis == 0 else diff_order) + self.smoothness
            corner = min(corner_wavenumber(_on_uniform(u, coord, axis), axis) for u in fields)
            max_width = max(self.min_width, int(self.max_width_fraction * n))
            widths.append(support_half_width(n, corner, degree, self.min_width, max_width))
            degrees.append(degree)
        strides = [max(1, round(self.stride_fraction * m)) for m in widths]

        def count(axis: int) -> int:
            return len(range(widths[axis], len(coords[axis]) - widths[axis], strides[axis]))

        while np.prod([count(a) for a in range(len(coords))]) < self.rows_per_term * n_terms and max(strides) > 1:
            a = int(np.argmax(strides))
            strides[a] = max(1, int(strides[a] * 0.7))
        return Bumps(
            tuple(
                axis_tests(coord, widths[a], degrees[a], 1 if a == 0 else diff_order, strides[a])
                for a, coord in enumerate(coords)
            )
        )


__all__ = ["AxisTests", "BumpRule", "Bumps", "axis_tests", "bump_derivatives", "corner_wavenumber"]


def _separable(values: np.ndarray, matrices: Sequence[np.ndarray]) -> np.ndarray:
    """``values`` contracted with one ``(n_centres, n_points)`` matrix per axis, flattened (first axis slowest)."""
    out = values
    for axis, matrix in enumerate(matrices):
        out = np.moveaxis(np.tensordot(matrix, out, axes=([1], [axis])), 0, axis)
    return out.ravel()


def _on_uniform(u: np.ndarray, coord: np.ndarray, axis: int) -> np.ndarray:
    """``u`` linearly interpolated along ``axis`` to as many evenly spaced points (for its spectrum); as it
    is on an evenly spaced axis."""
    if evenly_spaced(coord):
        return u
    even = np.linspace(coord[0], coord[-1], len(coord))
    moved = np.moveaxis(np.asarray(u, dtype=np.float64), axis, -1)
    flat = moved.reshape(-1, moved.shape[-1])
    out = np.stack([np.interp(even, coord, row) for row in flat]).reshape(moved.shape)
    return np.moveaxis(out, -1, axis)
