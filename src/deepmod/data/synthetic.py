"""Synthetic systems that carry their truth: each returns the data and the true coefficient table.

The tables use the project's term names (``{"u_t": {"u_xx": 0.1, "u*u_x": -1.0}}``) so tests,
benchmarks, examples and docs compare against one source.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from deepmod.data.dataset import Dataset

Truth = dict[str, dict[str, float]]


@dataclass(frozen=True)
class SyntheticSystem:
    """A data set together with the equation that generated it."""

    data: Dataset
    truth: Truth
    description: str


Axis = np.ndarray | None
"""A grid axis, or ``None`` for the generator's default."""


def burgers_delta(viscosity: float = 0.1, amplitude: float = 1.0, x: Axis = None, t: Axis = None) -> SyntheticSystem:
    """Burgers' equation u_t = nu u_xx - u u_x from a delta peak ``u(x, 0) = A delta(x)``, exact.

    The Cole-Hopf transform gives, with ``R = A / (2 nu)`` and ``z = x / sqrt(4 nu t)``,
    ``u = sqrt(nu / (pi t)) (e^R - 1) e^{-z^2} / (1 + (e^R - 1) erfc(z) / 2)``
    (Whitham, *Linear and Nonlinear Waves*, section 4.5). The defaults are DeePyMoD's standard case:
    x in [-3, 4] with 100 points, t in [0.5, 5] with 50 points.
    """
    x = np.linspace(-3.0, 4.0, 100) if x is None else np.asarray(x, dtype=np.float64)
    t = np.linspace(0.5, 5.0, 50) if t is None else np.asarray(t, dtype=np.float64)
    if np.any(t <= 0):
        raise ValueError("the delta-peak solution is defined for t > 0 only")
    tt, xx = np.meshgrid(t, x, indexing="ij")
    r = amplitude / (2.0 * viscosity)
    z = xx / np.sqrt(4.0 * viscosity * tt)
    from scipy.special import erfc  # scipy imports here, not at the top: they cost a second at start-up

    u = np.sqrt(viscosity / (np.pi * tt)) * np.expm1(r) * np.exp(-(z**2)) / (1.0 + np.expm1(r) / 2.0 * erfc(z))
    data = Dataset({"t": t, "x": x}, {"u": u}, grid=True, source="burgers (delta peak, exact)")
    truth = {"u_t": {"u_xx": viscosity, "u*u_x": -1.0}}
    return SyntheticSystem(data, truth, f"Burgers, nu={viscosity}, delta peak of amplitude {amplitude}")


def burgers_sine(
    viscosity: float = 0.01 / np.pi, n_x: int = 256, n_t: int = 101, advection: float = 1.0
) -> SyntheticSystem:
    """Burgers' equation u_t = nu u_xx - a u u_x from u(x, 0) = -sin(pi x) on [-1, 1] with u(+-1) = 0 (Raissi et
    al. 2019's case, nu = 0.01 / pi, a = 1: a shock forms at x = 0), exact by the Cole-Hopf transform,

        u = -int sin(pi (x - e)) f(x - e) G(e) de / int f(x - e) G(e) de,  f = exp(-a cos(pi y) / (2 pi nu)),

    ``G`` the heat kernel at time t (``a u`` solves the equation with a = 1 from ``-a sin(pi x)``); the
    integrals by the trapezoidal rule over 4,001 points of the kernel's [-10, 10] standard widths, accurate
    to 1e-12 (against 16,001 points).
    """
    x = np.linspace(-1.0, 1.0, n_x)
    t = np.linspace(0.0, 1.0, n_t)
    z = np.linspace(-10.0, 10.0, 4001)
    u = np.empty((n_t, n_x))
    for i, time in enumerate(t):
        if time == 0:
            u[i] = -np.sin(np.pi * x)
            continue
        y = x[:, None] - np.sqrt(4.0 * viscosity * time) * z[None, :]
        exponent = -advection * np.cos(np.pi * y) / (2.0 * np.pi * viscosity) - z[None, :] ** 2
        weight = np.exp(exponent - exponent.max(axis=1, keepdims=True))
        u[i] = -(np.sin(np.pi * y) * weight).sum(axis=1) / weight.sum(axis=1)
    data = Dataset({"t": t, "x": x}, {"u": u}, grid=True, source="burgers (sine, Cole-Hopf)")
    truth = {"u_t": {"u_xx": viscosity, "u*u_x": -advection}}
    return SyntheticSystem(data, truth, f"Burgers, nu={viscosity:.5g}, from -sin(pi x) (Raissi et al. 2019)")


def kdv_two_soliton(k1: float = 1.0, k2: float = 1.6, x: Axis = None, t: Axis = None) -> SyntheticSystem:
    """Two interacting KdV solitons, u_t = -6 u u_x - u_xxx, exact.

    Hirota's form ``u = 2 (log F)_xx`` with ``F = 1 + e^{eta1} + e^{eta2} + A e^{eta1 + eta2}``,
    ``eta_i = k_i (x - x_i) - k_i^3 t`` and ``A = ((k1 - k2) / (k1 + k2))^2``, evaluated with the
    exponentials scaled by their maximum so that nothing overflows.
    """
    x = np.linspace(-20.0, 20.0, 256) if x is None else np.asarray(x, dtype=np.float64)
    t = np.linspace(0.0, 5.0, 51) if t is None else np.asarray(t, dtype=np.float64)
    tt, xx = np.meshgrid(t, x, indexing="ij")
    eta1 = k1 * (xx + 6.0) - k1**3 * tt
    eta2 = k2 * (xx + 12.0) - k2**3 * tt
    a12 = ((k1 - k2) / (k1 + k2)) ** 2
    exps = np.stack([np.zeros_like(xx), eta1, eta2, eta1 + eta2 + np.log(a12)])
    rates = np.array([0.0, k1, k2, k1 + k2])[:, None, None]
    w = np.exp(exps - exps.max(axis=0))
    f0, f1, f2 = w.sum(0), (rates * w).sum(0), (rates**2 * w).sum(0)
    u = 2.0 * (f2 / f0 - (f1 / f0) ** 2)
    data = Dataset({"t": t, "x": x}, {"u": u}, grid=True, source="kdv (two solitons, exact)")
    return SyntheticSystem(data, {"u_t": {"u*u_x": -6.0, "u_xxx": -1.0}}, "KdV two-soliton solution")


def advection_diffusion_2d(
    diffusion: float = 0.5,
    velocity: tuple[float, float] = (0.8, -0.4),
    width: float = 1.0,
    n: tuple[int, int, int] = (30, 41, 40),
) -> SyntheticSystem:
    """A Gaussian pulse advected and spread in 2-D: u_t = D (u_xx + u_yy) - v_x u_x - v_y u_y, exact.

    ``u = w^2 / (w^2 + 4 D t) * exp(-((x - v_x t)^2 + (y - v_y t)^2) / (w^2 + 4 D t))``.
    """
    t = np.linspace(0.0, 2.0, n[0])
    x = np.linspace(-4.0, 4.0, n[1])
    y = np.linspace(-4.0, 4.0, n[2])
    tt, xx, yy = np.meshgrid(t, x, y, indexing="ij")
    s = width**2 + 4.0 * diffusion * tt
    u = width**2 / s * np.exp(-((xx - velocity[0] * tt) ** 2 + (yy - velocity[1] * tt) ** 2) / s)
    data = Dataset({"t": t, "x": x, "y": y}, {"u": u}, grid=True, source="advection-diffusion 2-D (exact)")
    truth = {"u_t": {"u_xx": diffusion, "u_yy": diffusion, "u_x": -velocity[0], "u_y": -velocity[1]}}
    return SyntheticSystem(data, truth, "2-D advection-diffusion of a Gaussian pulse")


def _periodic_mol(
    rhs: Callable[[np.ndarray, np.ndarray], np.ndarray],
    y0: np.ndarray,
    t: np.ndarray,
) -> np.ndarray:
    from scipy.integrate import solve_ivp

    sol = solve_ivp(lambda _t, y: rhs(_t, y), (t[0], t[-1]), y0, t_eval=t, method="LSODA", rtol=1e-9, atol=1e-11)
    if not sol.success:
        raise RuntimeError(f"the reference integration failed: {sol.message}")
    return sol.y.T


def reaction_diffusion(n_x: int = 128, n_t: int = 101, t_end: float = 10.0, seed: int = 0) -> SyntheticSystem:
    """Two coupled fields: diffusive Lotka-Volterra (predator-prey) on a periodic domain.

    u_t = 0.1 u_xx + u - u v,  v_t = 0.1 v_xx + 0.5 u v - 0.5 v on x in [0, 10), integrated by the method
    of lines with spectral derivatives (LSODA, rtol 1e-9). The initial state is a smooth random departure
    from the coexistence state (1, 1) large enough that populations swing well away from it (otherwise
    1, v and v^2 are nearly collinear and no method can tell them apart), and with spatial modes short
    enough that diffusion changes the solution visibly.
    """
    length = 10.0
    x = np.linspace(0.0, length, n_x, endpoint=False)
    t = np.linspace(0.0, t_end, n_t)
    k = 2.0 * np.pi * np.fft.rfftfreq(n_x, d=length / n_x)
    rng = np.random.default_rng(seed)

    def bump(modes: int) -> np.ndarray:
        phases = rng.uniform(0, 2 * np.pi, modes)
        weights = rng.uniform(0.5, 1.0, modes)
        waves = [
            w * np.cos((m + 1) * 2 * np.pi * x / length + p)
            for m, (w, p) in enumerate(zip(weights, phases, strict=True))
        ]
        shape = np.sum(waves, axis=0)
        return shape / np.max(np.abs(shape))

    u0, v0 = 1.0 + 0.8 * bump(3), 1.0 + 0.8 * bump(2)

    def lap(f: np.ndarray) -> np.ndarray:
        return np.fft.irfft(-(k**2) * np.fft.rfft(f), n=n_x)

    def rhs(_t: np.ndarray, y: np.ndarray) -> np.ndarray:
        u, v = y[:n_x], y[n_x:]
        return np.concatenate([0.1 * lap(u) + u - u * v, 0.1 * lap(v) + 0.5 * u * v - 0.5 * v])

    sol = _periodic_mol(rhs, np.concatenate([u0, v0]), t)
    data = Dataset({"t": t, "x": x}, {"u": sol[:, :n_x], "v": sol[:, n_x:]}, grid=True, source="reaction-diffusion")
    truth = {
        "u_t": {"u_xx": 0.1, "u": 1.0, "u*v": -1.0},
        "v_t": {"v_xx": 0.1, "u*v": 0.5, "v": -0.5},
    }
    return SyntheticSystem(data, truth, "diffusive Lotka-Volterra (predator-prey), two fields")


def fisher_kpp(
    diffusion: float = 0.1, rate: float = 1.0, n_x: int = 256, n_t: int = 101, t_end: float = 8.0
) -> SyntheticSystem:
    """Fisher-KPP u_t = D u_xx + r u - r u^2: two bumps grow to 1 and spread as fronts of speed 2 sqrt(r D).

    On the periodic domain x in [0, 40), method of lines with spectral derivatives (LSODA, rtol 1e-9). The
    bumps (heights 0.3 and 0.6, widths 1 and 2) keep u between 0 and 1 with fronts in view the whole time, so
    u and u^2 stay distinguishable.
    """
    length = 40.0
    x = np.linspace(0.0, length, n_x, endpoint=False)
    t = np.linspace(0.0, t_end, n_t)
    k = 2.0 * np.pi * np.fft.rfftfreq(n_x, d=length / n_x)
    u0 = 0.3 * np.exp(-(((x - 12.0) / 1.0) ** 2)) + 0.6 * np.exp(-(((x - 27.0) / 2.0) ** 2))

    def rhs(_t: np.ndarray, u: np.ndarray) -> np.ndarray:
        return diffusion * np.fft.irfft(-(k**2) * np.fft.rfft(u), n=n_x) + rate * u * (1.0 - u)

    sol = _periodic_mol(rhs, u0, t)
    data = Dataset({"t": t, "x": x}, {"u": sol}, grid=True, source="fisher-kpp")
    truth = {"u_t": {"u_xx": diffusion, "u": rate, "u^2": -rate}}
    return SyntheticSystem(data, truth, "Fisher-KPP fronts")


def fisher_kpp_discrete(diffusion: float = 0.01, rate: float = 1.0) -> SyntheticSystem:
    """The universal-differential-equation paper's Fisher-KPP set-up (Rackauckas et al. 2020, the Fisher-KPP CNN
    example): rho_t = D rho_xx + r rho (1 - rho) with D = 0.01, r = 1 on x = 0, 0.04, ..., 1 (26 points,
    periodic), 11 snapshots to T = 5, from one tanh pulse of width 0.2 and edge width 0.02.

    As in the paper the data are the exact solution of the *discrete* system, rho_xx being the three-point
    Laplacian on this grid: the pulse's edges are narrower than the grid step, so that is the only system this
    record resolves, and its truth is stated for it.
    """
    dx = 0.04
    x = np.arange(26) * dx
    t = np.linspace(0.0, 5.0, 11)
    width = 0.2
    u0 = (np.tanh((x - (0.5 - width / 2)) / (width / 10)) - np.tanh((x - (0.5 + width / 2)) / (width / 10))) / 2

    def rhs(_t: np.ndarray, u: np.ndarray) -> np.ndarray:
        return diffusion * (np.roll(u, 1) - 2 * u + np.roll(u, -1)) / dx**2 + rate * u * (1.0 - u)

    sol = _periodic_mol(rhs, u0, t)
    data = Dataset({"t": t, "x": x}, {"u": sol}, grid=True, source="fisher-kpp-discrete")
    truth = {"u_t": {"u_xx": diffusion, "u": rate, "u^2": -rate}}
    return SyntheticSystem(data, truth, "Fisher-KPP on the UDE paper's 26-point grid (three-point Laplacian)")


def quantum_oscillator(n_x: int = 256, n_t: int = 101, t_end: float = 4.0) -> SyntheticSystem:
    """The quantum harmonic oscillator i u_t = -u_xx / 2 + x^2 u / 2, exact, as its real and imaginary parts
    a and b: a_t = -b_xx / 2 + x^2 b / 2, b_t = a_xx / 2 - x^2 a / 2.

    A superposition of the first five eigenstates ``phi_n = H_n(x) e^{-x^2/2} / sqrt(2^n n! sqrt(pi))``, each
    turning at its energy ``n + 1/2``; x in [-6, 6], where the states have decayed below 1e-6. The
    coefficients of ``x^2 a`` and ``x^2 b`` are the potential, a coordinate factor.
    """
    from scipy.special import eval_hermite, factorial

    x = np.linspace(-6.0, 6.0, n_x)
    t = np.linspace(0.0, t_end, n_t)
    weights = np.array([1.0, 0.8, 0.6j, 0.5, 0.4 - 0.3j])
    psi = np.zeros((n_t, n_x), dtype=np.complex128)
    for n, c in enumerate(weights):
        phi = eval_hermite(n, x) * np.exp(-(x**2) / 2) / np.sqrt(2.0**n * factorial(n) * np.sqrt(np.pi))
        psi += c * np.exp(-1j * (n + 0.5) * t)[:, None] * phi[None, :]
    data = Dataset({"t": t, "x": x}, {"a": psi.real, "b": psi.imag}, grid=True, source="quantum oscillator (exact)")
    truth = {"a_t": {"b_xx": -0.5, "x^2*b": 0.5}, "b_t": {"a_xx": 0.5, "x^2*a": -0.5}}
    return SyntheticSystem(data, truth, "quantum harmonic oscillator, real and imaginary parts")


def driven_diffusion(diffusion: float = 0.1, n_x: int = 256, n_t: int = 101, t_end: float = 4.0) -> SyntheticSystem:
    """Diffusion with a travelling absorption, u_t = D u_xx - V u, the potential V(t, x) = 0.5 + 0.4
    sin(2 pi x / 10 - t) an input field (given, no equation of its own).

    On the periodic domain x in [0, 20), method of lines with spectral derivatives (LSODA, rtol 1e-9), from
    three bumps on a level of 1.
    """
    length = 20.0
    x = np.linspace(0.0, length, n_x, endpoint=False)
    t = np.linspace(0.0, t_end, n_t)
    k = 2.0 * np.pi * np.fft.rfftfreq(n_x, d=length / n_x)

    def potential(time: np.ndarray | float) -> np.ndarray:
        return 0.5 + 0.4 * np.sin(2.0 * np.pi * x / 10.0 - np.asarray(time)[..., None])

    u0 = np.ones(n_x)
    for height, centre, width in ((1.0, 4.0, 1.0), (0.7, 11.0, 1.5), (1.2, 16.0, 0.8)):
        u0 += height * np.exp(-(((x - centre) / width) ** 2))

    def rhs(time: np.ndarray, u: np.ndarray) -> np.ndarray:
        return diffusion * np.fft.irfft(-(k**2) * np.fft.rfft(u), n=n_x) - potential(float(time)) * u

    sol = _periodic_mol(rhs, u0, t)
    data = Dataset({"t": t, "x": x}, {"u": sol, "V": potential(t)}, grid=True, source="driven diffusion", inputs=("V",))
    truth = {"u_t": {"u_xx": diffusion, "u*V": -1.0}}
    return SyntheticSystem(data, truth, "diffusion with a travelling absorption V(t, x), an input field")


def _ode_system(
    rhs: Callable[[float, np.ndarray], np.ndarray],
    y0: list[float],
    t: np.ndarray,
    names: list[str],
    source: str,
) -> Dataset:
    from scipy.integrate import solve_ivp

    sol = solve_ivp(rhs, (t[0], t[-1]), y0, t_eval=t, method="DOP853", rtol=1e-10, atol=1e-12)
    if not sol.success:
        raise RuntimeError(f"the reference integration failed: {sol.message}")
    return Dataset({"t": t}, {n: sol.y[i] for i, n in enumerate(names)}, grid=True, source=source)


def lorenz(
    sigma: float = 10.0, rho: float = 28.0, beta: float = 8.0 / 3.0, t: np.ndarray | None = None
) -> SyntheticSystem:
    """The Lorenz system x' = s (y - x), y' = x (r - z) - y, z' = x y - b z from (-8, 7, 27)."""
    t = np.linspace(0.0, 5.0, 1001) if t is None else np.asarray(t, dtype=np.float64)

    def rhs(_t: float, s: np.ndarray) -> np.ndarray:
        return np.array([sigma * (s[1] - s[0]), s[0] * (rho - s[2]) - s[1], s[0] * s[1] - beta * s[2]])

    data = _ode_system(rhs, [-8.0, 7.0, 27.0], t, ["x", "y", "z"], "lorenz")
    truth = {
        "x_t": {"x": -sigma, "y": sigma},
        "y_t": {"x": rho, "x*z": -1.0, "y": -1.0},
        "z_t": {"x*y": 1.0, "z": -beta},
    }
    return SyntheticSystem(data, truth, "Lorenz system")


def lotka_volterra(
    alpha: float = 1.3,
    beta: float = 0.9,
    gamma: float = 0.8,
    delta: float = 1.8,
    t: np.ndarray | None = None,
    y0: tuple[float, float] = (0.44249296, 4.6280594),
) -> SyntheticSystem:
    """Lotka-Volterra x' = a x - b x y, y' = c x y - d y (the UDE paper's case: 31 points on [0, 3])."""
    t = np.linspace(0.0, 3.0, 31) if t is None else np.asarray(t, dtype=np.float64)

    def rhs(_t: float, s: np.ndarray) -> np.ndarray:
        return np.array([alpha * s[0] - beta * s[0] * s[1], gamma * s[0] * s[1] - delta * s[1]])

    data = _ode_system(rhs, list(y0), t, ["x", "y"], "lotka-volterra")
    truth = {"x_t": {"x": alpha, "x*y": -beta}, "y_t": {"x*y": gamma, "y": -delta}}
    return SyntheticSystem(data, truth, "Lotka-Volterra predator-prey")


EXAMPLES: dict[str, Callable[[], SyntheticSystem]] = {
    "burgers": burgers_delta,
    "kdv": kdv_two_soliton,
    "advection-diffusion": advection_diffusion_2d,
    "reaction-diffusion": reaction_diffusion,
    "fisher-kpp": fisher_kpp,
    "quantum-oscillator": quantum_oscillator,
    "driven-diffusion": driven_diffusion,
    "lorenz": lorenz,
    "lotka-volterra": lotka_volterra,
}
