"""Pseudo-spectral reference records: several runs of a periodic PDE from random initial states, for learned
coarse discretizations (:mod:`deepmod.pde.coarse`) and their benchmark."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np

from deepmod.data.dataset import Dataset
from deepmod.data.synthetic import SyntheticSystem

BURGERS_MODES = 3
"""Fourier modes of :func:`burgers_periodic`'s initial states."""


def burgers_periodic(
    runs: int = 8,
    viscosity: float = 0.01,
    n_x: int = 256,
    t: np.ndarray | None = None,
    seed: int = 0,
    resolution: int = 2048,
) -> SyntheticSystem:
    """Decaying Burgers u_t = nu u_xx - u u_x on the periodic domain [0, 2 pi), no forcing, from ``runs`` random
    initial states ``sum_k a_k sin(k x + phi_k)`` (k = 1..3, a_k normal / k, scaled to a largest value of 1), at
    times ``t`` (default 41 from 0 to 2); shocks of width about 2 nu form near t = 1 and decay.

    Solved pseudo-spectrally on ``resolution`` points (2/3 dealiasing) with an integrating-factor fourth-order
    Runge-Kutta step of 1e-4 (the diffusion exact), then sampled every ``resolution / n_x``-th point. The first
    run is the data set, the others its :attr:`~deepmod.data.dataset.Dataset.runs`.
    """
    rng = np.random.default_rng(seed)
    fine = np.linspace(0.0, 2 * np.pi, resolution, endpoint=False)
    x = fine[:: resolution // n_x]
    t = np.linspace(0.0, 2.0, 41) if t is None else np.asarray(t, dtype=np.float64)
    modes = BURGERS_MODES
    datasets = []
    for _ in range(runs):
        k = np.arange(1, modes + 1)
        u0 = (
            rng.standard_normal(modes)[:, None]
            / k[:, None]
            * np.sin(np.outer(k, fine) + rng.uniform(0, 2 * np.pi, (modes, 1)))
        ).sum(0)
        u0 /= np.abs(u0).max()
        u = _spectral_burgers(u0, t, viscosity)[:, :: resolution // n_x]
        datasets.append(Dataset({"t": t, "x": x}, {"u": u}, grid=True, source="burgers-periodic"))
    data = dataclasses.replace(datasets[0], runs=tuple(datasets[1:]))
    truth = {"u_t": {"u_xx": viscosity, "u*u_x": -1.0}}
    return SyntheticSystem(data, truth, f"decaying Burgers, {runs} runs from random initial states")


def _spectral_burgers(u0: np.ndarray, t: np.ndarray, viscosity: float, step: float = 1e-4) -> np.ndarray:
    """Burgers on [0, 2 pi) from ``u0``: integrating-factor RK4 in Fourier space, 2/3-rule dealiasing."""
    n = len(u0)
    k = np.fft.rfftfreq(n, d=1.0 / n)
    keep = k < n / 3
    decay = -viscosity * k**2

    def nonlinear(v: np.ndarray) -> np.ndarray:
        u = np.fft.irfft(v * keep, n=n)
        return -0.5j * k * np.fft.rfft(u * u) * keep

    v = np.fft.rfft(u0)
    out = [u0.copy()]
    half, full = np.exp(decay * step / 2), np.exp(decay * step)
    for a, b in itertools.pairwise(t):
        for _ in range(round((b - a) / step)):
            k1 = nonlinear(v)
            k2 = nonlinear(half * (v + step / 2 * k1))
            k3 = nonlinear(half * v + step / 2 * k2)
            k4 = nonlinear(full * v + step * half * k3)
            v = full * v + step / 6 * (full * k1 + 2 * half * (k2 + k3) + k4)
        out.append(np.fft.irfft(v, n=n))
    return np.array(out)


__all__ = ["burgers_periodic"]
