"""Systems the benchmark cases were not developed on: the same kinds of physics with other coefficients,
domains and initial states, drawn from a seed (issue 19). Each returns its data and its true equation.

- anisotropic 2-D advection-diffusion (unequal diffusivities, drift in both axes), exact Fourier solution;
- a cubic reaction-diffusion pair (FitzHugh-Nagumo type), method of lines, spectral in space;
- a short predator-prey record (three periods, 61 points);
- a fourth-order equation (Kuramoto-Sivashinsky type) on a domain of many cells, ETDRK4;
- a damped wave written as a first-order pair, exact Fourier solution;
- diffusion with drift on a non-periodic window, exact (a spreading Gaussian).

Coefficients are drawn from ranges around the textbook values, never the benchmark cases' own.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.integrate import solve_ivp

from deepmod.data import Dataset
from deepmod.data.synthetic import SyntheticSystem


def _periodic_axis(n: int, length: float) -> tuple[np.ndarray, np.ndarray]:
    """Grid points and angular wavenumbers of a periodic axis of ``n`` points (end point left out)."""
    x = np.linspace(0.0, length, n, endpoint=False)
    return x, 2 * np.pi * np.fft.fftfreq(n, d=length / n)


def anisotropic_advection_diffusion(rng: np.random.Generator) -> SyntheticSystem:
    """``u_t = -a u_x - b u_y + D_x u_xx + D_y u_yy`` on a periodic rectangle, 41 x 51 x 51, from a few bumps."""
    a, b = rng.uniform(0.3, 1.0, 2) * rng.choice([-1, 1], 2)
    dx, dy = rng.uniform(0.05, 0.12), rng.uniform(0.2, 0.35)
    lx, ly = rng.uniform(8, 12, 2)
    x, kx = _periodic_axis(51, lx)
    y, ky = _periodic_axis(51, ly)
    t = np.linspace(0.0, rng.uniform(3, 5), 41)
    xx, yy = np.meshgrid(x, y, indexing="ij")
    u0 = np.zeros_like(xx)
    for cx, cy, w in zip(rng.uniform(0, lx, 3), rng.uniform(0, ly, 3), rng.uniform(0.6, 1.2, 3), strict=True):
        ddx = (xx - cx + lx / 2) % lx - lx / 2
        ddy = (yy - cy + ly / 2) % ly - ly / 2
        u0 += np.exp(-(ddx**2 + ddy**2) / (2 * w**2))
    kxx, kyy = np.meshgrid(kx, ky, indexing="ij")
    symbol = -1j * (a * kxx + b * kyy) - dx * kxx**2 - dy * kyy**2
    spectrum = np.fft.fft2(u0)
    u = np.real(np.fft.ifft2(spectrum[None] * np.exp(symbol[None] * t[:, None, None]), axes=(1, 2)))
    data = Dataset({"t": t, "x": x, "y": y}, {"u": u}, grid=True, source="anisotropic advection-diffusion")
    truth = {"u_t": {"u_x": -a, "u_y": -b, "u_xx": dx, "u_yy": dy}}
    return SyntheticSystem(data, truth, "anisotropic 2-D advection-diffusion, periodic, exact")


def _spectral_mol(
    rhs: Callable[[np.ndarray], np.ndarray], y0: np.ndarray, t: np.ndarray, method: str = "LSODA"
) -> np.ndarray:
    sol = solve_ivp(lambda _t, y: rhs(y), (t[0], t[-1]), y0, t_eval=t, method=method, rtol=1e-9, atol=1e-11)
    if not sol.success:
        raise RuntimeError(f"the reference integration failed: {sol.message}")
    return sol.y.T


def cubic_reaction_diffusion(rng: np.random.Generator) -> SyntheticSystem:
    """``u_t = D_u u_xx + u - u^3 - v``, ``v_t = D_v v_xx + e u - e c v`` (FitzHugh-Nagumo type), periodic."""
    du, dv = rng.uniform(0.05, 0.15), rng.uniform(0.3, 0.6)
    eps, c = rng.uniform(0.2, 0.4), rng.uniform(0.8, 1.2)
    length = rng.uniform(20, 30)
    x, k = _periodic_axis(128, length)
    t = np.linspace(0.0, rng.uniform(15, 20), 121)
    phase = rng.uniform(0, 2 * np.pi, 3)
    u0 = sum(np.cos(2 * np.pi * m * x / length + p) for m, p in zip((1, 2, 3), phase, strict=True)) / 2
    v0 = 0.2 * np.sin(2 * np.pi * x / length + phase[0])

    def rhs(y: np.ndarray) -> np.ndarray:
        u, v = y[:128], y[128:]
        u_xx = np.real(np.fft.ifft(-(k**2) * np.fft.fft(u)))
        v_xx = np.real(np.fft.ifft(-(k**2) * np.fft.fft(v)))
        return np.concatenate([du * u_xx + u - u**3 - v, dv * v_xx + eps * u - eps * c * v])

    y = _spectral_mol(rhs, np.concatenate([u0, v0]), t)
    data = Dataset({"t": t, "x": x}, {"u": y[:, :128], "v": y[:, 128:]}, grid=True, source="cubic reaction-diffusion")
    truth = {
        "u_t": {"u": 1.0, "v": -1.0, "u^3": -1.0, "u_xx": du},
        "v_t": {"u": eps, "v": -eps * c, "v_xx": dv},
    }
    return SyntheticSystem(data, truth, "cubic reaction-diffusion pair (FitzHugh-Nagumo type), periodic")


def short_predator_prey(rng: np.random.Generator) -> SyntheticSystem:
    """Lotka-Volterra ``x' = a x - b x y``, ``y' = c x y - d y``: 61 points over three periods."""
    a, b, c, d = rng.uniform(0.6, 1.6), rng.uniform(0.4, 1.2), rng.uniform(0.4, 1.2), rng.uniform(0.6, 1.6)
    period = 2 * np.pi / np.sqrt(a * d)  # of small oscillations; the orbit's own is somewhat longer
    t = np.linspace(0.0, 3 * period, 61)
    start = np.array([d / c, a / b]) * rng.uniform(0.4, 0.7, 2)

    def rhs(_t: float, s: np.ndarray) -> np.ndarray:
        return np.array([a * s[0] - b * s[0] * s[1], c * s[0] * s[1] - d * s[1]])

    sol = solve_ivp(rhs, (t[0], t[-1]), start, t_eval=t, method="DOP853", rtol=1e-11, atol=1e-12)
    data = Dataset({"t": t}, {"x": sol.y[0], "y": sol.y[1]}, grid=True, source="short predator-prey record")
    truth = {"x_t": {"x": a, "x*y": -b}, "y_t": {"x*y": c, "y": -d}}
    return SyntheticSystem(data, truth, "Lotka-Volterra, three periods, 61 points")


def fourth_order(rng: np.random.Generator) -> SyntheticSystem:
    """``u_t = -u u_x - a u_xx - b u_xxxx`` (Kuramoto-Sivashinsky type) on a periodic domain of many cells,
    256 x 201, after the transient; ETDRK4 in time (Kassam and Trefethen 2005)."""
    a, b = rng.uniform(0.8, 1.2), rng.uniform(0.8, 1.2)
    length = rng.uniform(24, 36) * np.pi * np.sqrt(b / a)
    x, k = _periodic_axis(256, length)
    linear = a * k**2 - b * k**4
    h = 0.025
    e, e2 = np.exp(h * linear), np.exp(h * linear / 2)
    roots = np.exp(1j * np.pi * (np.arange(1, 33) - 0.5) / 32)
    lr = h * linear[:, None] + roots[None, :]
    q = h * np.real(np.mean((np.exp(lr / 2) - 1) / lr, axis=1))
    f1 = h * np.real(np.mean((-4 - lr + np.exp(lr) * (4 - 3 * lr + lr**2)) / lr**3, axis=1))
    f2 = h * np.real(np.mean((2 + lr + np.exp(lr) * (-2 + lr)) / lr**3, axis=1))
    f3 = h * np.real(np.mean((-4 - 3 * lr - lr**2 + np.exp(lr) * (4 - lr)) / lr**3, axis=1))
    g = -0.5j * k
    v = np.fft.fft(
        0.1 * np.cos(2 * np.pi * 3 * x / length + rng.uniform(0, 2 * np.pi)) + 0.05 * rng.standard_normal(256)
    )

    def nonlinear(w: np.ndarray) -> np.ndarray:
        return g * np.fft.fft(np.real(np.fft.ifft(w)) ** 2)

    transient, every, n_out = 4000, 8, 201
    out = []
    for step in range(transient + every * (n_out - 1) + 1):
        if step >= transient and (step - transient) % every == 0:
            out.append(np.real(np.fft.ifft(v)))
        nv = nonlinear(v)
        a_ = e2 * v + q * nv
        na = nonlinear(a_)
        b_ = e2 * v + q * na
        nb = nonlinear(b_)
        c_ = e2 * a_ + q * (2 * nb - nv)
        nc = nonlinear(c_)
        v = e * v + nv * f1 + 2 * (na + nb) * f2 + nc * f3
    t = h * every * np.arange(n_out)
    data = Dataset({"t": t, "x": x}, {"u": np.array(out)}, grid=True, source="fourth-order (KS type)")
    truth = {"u_t": {"u*u_x": -1.0, "u_xx": -a, "u_xxxx": -b}}
    return SyntheticSystem(data, truth, "Kuramoto-Sivashinsky type, periodic, many cells")


def damped_wave(rng: np.random.Generator) -> SyntheticSystem:
    """``u_t = v``, ``v_t = c^2 u_xx - g v``: a damped wave as a first-order pair, periodic, exact."""
    c, gamma = rng.uniform(0.5, 1.5), rng.uniform(0.05, 0.3)
    length = rng.uniform(8, 14)
    x, k = _periodic_axis(128, length)
    t = np.linspace(0.0, rng.uniform(6, 10), 101)
    u0 = np.exp(-((x - length / 2) ** 2) / (2 * rng.uniform(0.5, 1.0) ** 2))
    uh, vh = np.fft.fft(u0), np.zeros(128, dtype=complex)
    # each mode: w'' + g w' + c^2 k^2 w = 0, roots r = (-g +- sqrt(g^2 - 4 c^2 k^2)) / 2
    disc = np.sqrt((gamma**2 - 4 * c**2 * k**2).astype(complex))
    r1, r2 = (-gamma + disc) / 2, (-gamma - disc) / 2
    same = np.abs(r1 - r2) < 1e-12
    r2 = np.where(same, r2 - 1e-9, r2)
    a1 = (vh - r2 * uh) / (r1 - r2)
    a2 = uh - a1
    modes_u = a1[None] * np.exp(r1[None] * t[:, None]) + a2[None] * np.exp(r2[None] * t[:, None])
    modes_v = a1[None] * r1[None] * np.exp(r1[None] * t[:, None]) + a2[None] * r2[None] * np.exp(r2[None] * t[:, None])
    u, v = np.real(np.fft.ifft(modes_u, axis=1)), np.real(np.fft.ifft(modes_v, axis=1))
    data = Dataset({"t": t, "x": x}, {"u": u, "v": v}, grid=True, source="damped wave")
    truth = {"u_t": {"v": 1.0}, "v_t": {"v": -gamma, "u_xx": c**2}}
    return SyntheticSystem(data, truth, "damped wave as a first-order pair, periodic, exact")


def drift_diffusion(rng: np.random.Generator) -> SyntheticSystem:
    """``u_t = D u_xx - a u_x`` on a window that the spreading, drifting Gaussian never leaves: not periodic."""
    diffusivity, a = rng.uniform(0.05, 0.2), rng.uniform(0.3, 0.8)
    x = np.linspace(-4.0, 8.0, 200)
    t = np.linspace(0.0, rng.uniform(4, 6), 81)
    t0 = rng.uniform(0.5, 1.0)
    s = 4 * diffusivity * (t[:, None] + t0)
    u = np.exp(-((x[None, :] - a * t[:, None]) ** 2) / s) / np.sqrt(np.pi * s)
    data = Dataset({"t": t, "x": x}, {"u": u}, grid=True, source="drift-diffusion")
    truth = {"u_t": {"u_x": -a, "u_xx": diffusivity}}
    return SyntheticSystem(data, truth, "diffusion with drift, non-periodic, exact")


def library_orders(system: SyntheticSystem) -> dict[str, int]:
    """The library orders the truth needs beyond the defaults: cubic powers, fourth derivatives."""
    terms = [t for v in system.truth.values() for t in v]
    out = {}
    if any("^3" in t for t in terms):
        out["poly_order"] = 3
    if any("xxxx" in t for t in terms):
        out["diff_order"] = 4
    return out


GENERATORS: dict[str, Callable[[np.random.Generator], SyntheticSystem]] = {
    "anisotropic advection-diffusion 2-D": anisotropic_advection_diffusion,
    "cubic reaction-diffusion": cubic_reaction_diffusion,
    "short predator-prey": short_predator_prey,
    "fourth-order (KS type)": fourth_order,
    "damped wave": damped_wave,
    "drift-diffusion": drift_diffusion,
}


def unseen_systems(seed: int = 0) -> dict[str, SyntheticSystem]:
    """The six systems, each from its own stream of ``seed``."""
    return {name: make(np.random.default_rng([seed, i])) for i, (name, make) in enumerate(GENERATORS.items())}
