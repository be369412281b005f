"""How well a record can determine its own equation: the true structure fitted by maximum likelihood.

For a time series with Gaussian noise, least squares of the simulated trajectory against the observations,
over the true terms' coefficients and the initial state, is the maximum-likelihood fit; no method that
also has to choose the terms can expect to be more accurate. Where this oracle is far off, an acceptance
line such as "within 10 %" cannot hold for any method on that record.

Records: the built-in Lotka-Volterra over [0, 3] with 41 points (less than one period) at 1 and 10 % noise,
and over [0, 12] with 121 points (two periods) at 10 %; noise seeds 0-9. The fit starts at the truth (the
most favourable start) and uses scipy's ``least_squares`` through ``solve_ivp`` (rtol 1e-9).

Raissi's Burgers identification (``--burgers``): the Cramer-Rao bound on lambda1 and nu of
``u_t + lambda1 u u_x = nu u_xx`` from 2,000 random samples of the 101 x 256 grid with Gaussian noise of
std level x std(u): ``sigma^2 (J^T J)^-1`` with ``J`` the solution's sensitivities to the two coefficients at
the samples (central differences of the Cole-Hopf solution, which gives ``u`` for any lambda1 and nu:
``lambda1 u`` solves the standard equation from ``-lambda1 sin(pi x)``). The initial state is taken as known,
so the bound is optimistic for a PINN, which also has to find it. The median of |error| for an unbiased
estimator at the bound is 0.674 of its std.

Run: ``.venv/bin/python benchmarks/identifiability.py [--burgers]``.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import least_squares

from deepmod.data.sampling import add_noise
from deepmod.data.synthetic import burgers_sine, lotka_volterra

TRUE = np.array([1.3, 0.9, 0.8, 1.8])  # x' = a x - b x y, y' = c x y - d y


def trajectory(p: np.ndarray, y0: np.ndarray, t: np.ndarray) -> np.ndarray:
    a, b, c, d = p

    def rhs(_t: float, s: np.ndarray) -> list[float]:
        return [a * s[0] - b * s[0] * s[1], c * s[0] * s[1] - d * s[1]]

    sol = solve_ivp(rhs, (t[0], t[-1]), y0, t_eval=t, rtol=1e-9, atol=1e-11)
    return sol.y if sol.success and sol.y.shape[1] == len(t) else np.full((2, len(t)), 1e3)


def oracle_errors(t: np.ndarray, level: float, seeds: range) -> list[float]:
    """Per noise seed, the largest relative coefficient error of the maximum-likelihood true-structure fit."""
    data = lotka_volterra(t=t).data
    out = []
    for seed in seeds:
        noisy = add_noise(data, level, seed=seed)
        obs = np.stack([noisy.fields["x"], noisy.fields["y"]])
        spread = obs.std(axis=1, keepdims=True)

        def residual(q: np.ndarray, obs: np.ndarray = obs, spread: np.ndarray = spread) -> np.ndarray:
            return ((trajectory(q[:4], q[4:], t) - obs) / spread).ravel()

        fit = least_squares(residual, np.r_[TRUE, obs[:, 0]])
        out.append(float(np.max(np.abs(fit.x[:4] - TRUE) / TRUE)))
    return out


def burgers(lam: float, nu: float) -> np.ndarray:
    """``u`` of ``u_t + lam u u_x = nu u_xx`` from ``-sin(pi x)`` on the 101 x 256 grid (Cole-Hopf)."""
    return burgers_sine(nu, advection=lam).data.fields["u"]


def burgers_bound() -> None:
    """The Cramer-Rao bound of Raissi's identification (module docstring) for sample seeds 0-4."""
    nu = 0.01 / np.pi
    u, h = burgers(1.0, nu), 1e-4
    d_lam = (burgers(1 + h, nu) - burgers(1 - h, nu)) / (2 * h)
    d_nu = (burgers(1, nu * (1 + h)) - burgers(1, nu * (1 - h))) / (2 * h * nu)
    print("| noise | lambda1 std % (seeds 0-4) | nu std % (seeds 0-4) | median nu error at the bound |")
    print("|---|---|---|---|")
    for level in (0.01, 0.05, 0.10):
        lam_std, nu_std = [], []
        for seed in range(5):
            pick = np.random.default_rng(seed).choice(u.size, 2000, replace=False)
            jac = np.stack([d_lam.ravel()[pick], d_nu.ravel()[pick]], axis=1)
            cov = (level * np.std(u)) ** 2 * np.linalg.inv(jac.T @ jac)
            lam_std.append(100 * np.sqrt(cov[0, 0]))
            nu_std.append(100 * np.sqrt(cov[1, 1]) / nu)
        listed = ", ".join(f"{v:.2f}" for v in lam_std), ", ".join(f"{v:.2f}" for v in nu_std)
        print(f"| {level:.0%} | {listed[0]} | {listed[1]} | {0.674 * np.median(nu_std):.2f} % |")


def main() -> int:
    import sys

    if "--burgers" in sys.argv:
        burgers_bound()
        return 0
    records = [
        ("LV [0, 3], 41 points", np.linspace(0.0, 3.0, 41), 0.01),
        ("LV [0, 3], 41 points", np.linspace(0.0, 3.0, 41), 0.10),
        ("LV [0, 12], 121 points", np.linspace(0.0, 12.0, 121), 0.10),
    ]
    print("| record | noise | oracle's max coefficient error, seeds 0-9 | median | seeds within 10 % |")
    print("|---|---|---|---|---|")
    for name, t, level in records:
        errors = np.array(oracle_errors(t, level, range(10))) * 100
        listed = ", ".join(f"{e:.0f}" for e in errors)
        print(f"| {name} | {level:.0%} | {listed} % | {np.median(errors):.1f} % | {int(np.sum(errors <= 10))} of 10 |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
