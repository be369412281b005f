"""Derivatives of noisy samples: spectral on periodic grids, Savitzky-Golay (local polynomial) elsewhere."""

from __future__ import annotations

import math

import numpy as np


def evenly_spaced(coord: np.ndarray) -> bool:
    """Whether the samples ``coord`` are evenly spaced (to a millionth of the spacing)."""
    h = np.diff(np.asarray(coord, dtype=np.float64))
    return len(h) == 0 or bool(np.allclose(h, h[0], rtol=1e-6, atol=0))


def without_end_line(u: np.ndarray) -> np.ndarray:
    """``u`` less, along its last axis, the straight line through its end values: a non-periodic record then
    has no jump at the wrap to spread over every wavenumber of its spectrum."""
    ramp = np.linspace(0.0, 1.0, u.shape[-1])
    return u - u[..., :1] - (u[..., -1:] - u[..., :1]) * ramp


def spectral_derivative(u: np.ndarray, x: np.ndarray, order: int, axis: int = 0) -> np.ndarray:
    """The ``order``-th derivative along ``axis`` of samples on a uniform periodic grid ``x`` (end point left
    out, so the period is ``len(x) * dx``). For even orders the Nyquist mode is kept, for odd ones zeroed."""
    n = len(x)
    period = n * (x[1] - x[0])
    k = 2 * np.pi * np.fft.rfftfreq(n, d=period / n)
    factor = (1j * k) ** order
    if n % 2 == 0 and order % 2 == 1:
        factor[-1] = 0.0
    shape = [1] * u.ndim
    shape[axis] = len(k)
    return np.fft.irfft(np.fft.rfft(u, axis=axis) * factor.reshape(shape), n=n, axis=axis)


def savgol_derivative(
    u: np.ndarray, x: np.ndarray, order: int, axis: int = 0, half_width: int = 3, polyorder: int | None = None
) -> np.ndarray:
    """The ``order``-th derivative along ``axis`` from local least-squares polynomials (Savitzky-Golay).

    Each point's derivative is that of the polynomial of degree ``polyorder`` (default ``order + 2``, at
    least 2) fitted to the ``2 half_width + 1`` points around it; near the edges the polynomial fitted to the
    first or last window is used. The grid must be uniform.
    """
    x = np.asarray(x, dtype=np.float64)
    if not evenly_spaced(x):
        raise ValueError("Savitzky-Golay derivatives need a uniform grid")
    p = max(order + 2, 2) if polyorder is None else polyorder
    window = 2 * max(half_width, (p + 2) // 2) + 1
    if window > len(x):
        raise ValueError(f"{len(x)} points are too few for a window of {window}")
    from scipy.signal import savgol_filter  # here, not at the top: scipy.signal costs a second to import

    return savgol_filter(
        np.asarray(u, dtype=np.float64), window, p, deriv=order, delta=x[1] - x[0], axis=axis, mode="interp"
    )


def savgol_half_width(n: int, corner: int, polyorder: int) -> int:
    """Half-width whose Savitzky-Golay filter passes the wavenumbers up to ``corner`` (of ``n // 2``).

    Uses the 3 dB cutoff ``f_c ~ (N + 1) / (3.2 M - 4.6)`` of a degree-N filter of half-width M, as a
    fraction of the Nyquist frequency (R. W. Schafer, "What is a Savitzky-Golay filter?", IEEE Signal
    Processing Magazine 28(4), 2011).
    """
    cutoff = min(1.0, max(corner, 1) / (n / 2))
    m = ((polyorder + 1) / cutoff + 4.6) / 3.2
    return max(math.ceil(m), (polyorder + 2) // 2)


def noise_cutoff(u: np.ndarray, axis: int) -> int:
    """The wavenumber index where the data's mean amplitude spectrum along ``axis`` sinks to its noise floor.

    The floor is the median amplitude over the highest quarter of wavenumbers (white noise is flat there,
    a smooth signal has long decayed); the cutoff is the first wavenumber whose amplitude is below twice
    that floor. Noise-free data give a cutoff near the Nyquist wavenumber.
    """
    mean, floor = _spectrum_floor(u, axis)
    below = np.flatnonzero(mean[1:] < 2.0 * floor)
    return int(below[0]) + 1 if len(below) else len(mean) - 1


def signal_band(u: np.ndarray, axis: int) -> int:
    """The highest wavenumber index along ``axis`` whose mean amplitude stands above twice the noise floor
    (see :func:`noise_cutoff`, which takes the first one below it): a signal whose spectrum has gaps (modes 1
    and 3, none at 2) keeps all its modes. The mean over the other axes makes the floor steady, so noise
    alone rarely stands that high."""
    mean, floor = _spectrum_floor(u, axis)
    above = np.flatnonzero(mean[1:] >= 2.0 * floor)
    return int(above[-1]) + 1 if len(above) else 1


def noise_std(u: np.ndarray) -> float:
    """An estimate of the standard deviation of white noise on grid values ``u``, from the spectral floor.

    Along each axis the floor (see :func:`noise_cutoff`) is the mean amplitude of white noise of variance
    ``s^2`` over ``n`` points, ``s sqrt(pi n) / 2`` (a Rayleigh mean); the signal only adds to it, so the
    smallest estimate over the axes is taken. Clean data give a value at the level of their discretisation.
    """
    estimates = []
    for axis in range(np.ndim(u)):
        n = np.shape(u)[axis]
        if n >= 8:
            estimates.append(2.0 * _spectrum_floor(u, axis)[1] / np.sqrt(np.pi * n))
    return float(min(estimates)) if estimates else float("nan")


def _spectrum_floor(u: np.ndarray, axis: int) -> tuple[np.ndarray, float]:
    """The mean amplitude spectrum along ``axis`` and the median of its highest quarter of wavenumbers."""
    moved = np.moveaxis(np.asarray(u, dtype=np.float64), axis, -1)
    spectrum = np.abs(np.fft.rfft(moved - moved.mean(axis=-1, keepdims=True), axis=-1))
    mean = spectrum.reshape(-1, spectrum.shape[-1]).mean(axis=0)
    return mean, float(np.median(mean[3 * len(mean) // 4 :]))
