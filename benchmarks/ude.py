"""Universal ODE on Lotka-Volterra (Rackauckas et al. 2020): the linear terms known, the interactions learned.

x' = 1.3 x - 0.9 x y, y' = 0.8 x y - 1.8 y from (0.44249296, 4.6280594), 31 points on [0, 3], Gaussian noise
with std = level x std of each state. For each seed S the noise is drawn with seed S and
``deepmod ude DATA --coords t --fields x,y --known "x_t = 1.3*x" --known "y_t = -1.8*y" --seed S`` runs
in-process. "exact" = the recovered terms are exactly {x*y} in both equations; "err" = largest relative error of
the two interaction coefficients; "t=20" = relative L2 error of the recovered model simulated from the clean
initial state to t = 20 against the truth (2,001 points).

The "oracle" columns fit the true structure (x*y in each equation, coefficients and initial state free) to the
same noisy data by maximum likelihood: what these 31 samples allow at best.

Usage:  python benchmarks/ude.py [--noise 0.05] [--seeds 10]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from scipy.integrate import solve_ivp

from deepmod.cli import main
from deepmod.data import add_noise, save_npz
from deepmod.data.synthetic import lotka_volterra
from deepmod.equation import Equation
from deepmod.terms import Symbols
from deepmod.universal import PolynomialField, fit_trajectories

Y0 = (0.44249296, 4.6280594)
TRUTH = {"x_t": {"x": 1.3, "x*y": -0.9}, "y_t": {"x*y": 0.8, "y": -1.8}}
XY = Symbols(fields=("x", "y"), space=(), time="t")


def simulate(equations: dict[str, dict[str, float]], t_end: float = 20.0) -> np.ndarray:
    field = PolynomialField.from_equations([Equation(k, v) for k, v in equations.items()], XY).double()

    def rhs(_t: float, u: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return field(torch.zeros(()), torch.as_tensor(u)).numpy()

    t = np.linspace(0.0, t_end, 2001)
    sol = solve_ivp(rhs, (0.0, t_end), Y0, t_eval=t, method="DOP853", rtol=1e-10, atol=1e-12)
    return sol.y if sol.success and sol.y.shape[1] == len(t) else np.full((2, len(t)), np.inf)


def t20_error(equations: dict[str, dict[str, float]], reference: np.ndarray) -> float:
    return float(np.linalg.norm(simulate(equations) - reference) / np.linalg.norm(reference))


def interaction_error(found: dict[str, dict[str, float]]) -> float:
    return max(abs(found[k].get("x*y", 0.0) - TRUTH[k]["x*y"]) / abs(TRUTH[k]["x*y"]) for k in TRUTH)


def oracle(t: np.ndarray, obs: np.ndarray) -> dict[str, dict[str, float]]:
    field = PolynomialField.from_equations(
        [Equation(k, v) for k, v in TRUTH.items()], XY, {"x_t": ["x*y"], "y_t": ["x*y"]}
    )
    fit_trajectories(field, t, obs, adam_iterations=0, lbfgs_iterations=200)
    return {e.lhs: dict(e.coefficients) for e in field.equations(XY)}


def run(seed: int, noise: float, workdir: Path, reference: np.ndarray) -> dict[str, object]:
    data = add_noise(lotka_volterra().data, noise, seed=seed)
    save_npz(data, workdir / "lv.npz")
    out = workdir / "r.json"
    argv = ["ude", str(workdir / "lv.npz"), "--coords", "t", "--fields", "x,y", "--seed", str(seed)]
    argv += ["--known", "x_t = 1.3*x", "--known", "y_t = -1.8*y", "--output", str(out)]
    start = time.perf_counter()
    code = main(argv)
    seconds = time.perf_counter() - start
    if code != 0:
        return {"seed": seed, "exact": False, "seconds": seconds, "found": f"exit {code}"}
    result = json.loads(out.read_text())
    found = result["equations"]
    exact = all(set(found[k]) == set(TRUTH[k]) for k in TRUTH)
    best = oracle(data.coords["t"], np.stack([data.fields["x"], data.fields["y"]], axis=1))
    return {
        "seed": seed,
        "exact": exact,
        "error": interaction_error(found),
        "t20": t20_error(found, reference),
        "oracle_error": interaction_error(best),
        "oracle_t20": t20_error(best, reference),
        "seconds": seconds,
        "found": " ; ".join(result["text"]),
    }


def main_(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--noise", type=float, default=0.05)
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args(argv)
    reference = simulate(TRUTH)
    print(f"Lotka-Volterra UDE, {args.noise:.0%} noise, linear terms known")
    print(
        f"{'seed':>4} {'exact':>5} {'err':>6} {'ok':>3} {'t=20':>6} {'oracle err':>10} {'oracle t=20':>11}"
        f" {'s':>5}  found"
    )
    correct = 0
    for seed in range(args.seeds):
        with tempfile.TemporaryDirectory() as tmp:
            r = run(seed, args.noise, Path(tmp), reference)
        ok = bool(r["exact"]) and float(r.get("error", np.inf)) <= 0.10  # type: ignore[arg-type]
        correct += ok
        print(
            f"{seed:>4} {'yes' if r['exact'] else 'NO':>5} {r.get('error', np.inf):6.1%} {'yes' if ok else 'NO':>3} "
            f"{r.get('t20', np.inf):6.1%} {r.get('oracle_error', np.inf):10.1%} {r.get('oracle_t20', np.inf):11.1%} "
            f"{r['seconds']:5.0f}  {r['found']}",
            flush=True,
        )
    print(f"exact terms with interaction coefficients within 10 %: {correct} of {args.seeds} seeds")
    return 0


if __name__ == "__main__":
    sys.exit(main_(sys.argv[1:]))
