"""Hypersolvers against torchdiffeq's dopri5 and RK4 on Lotka-Volterra.

x' = 1.3 x - 0.9 x y, y' = 0.8 x y - 1.8 y. The correction networks of HyperEuler and HyperHeun are trained on
states visited from 64 initial states drawn in [1, 3.5] x [0.7, 2.5] (seed 0); the comparison solves 64
*held-out* initial states from the same box (seed 1) over t in [0, 10], output every 0.25, as one batch.
Error: relative L2 against dopri5 at rtol = atol = 1e-12. "f evals": vector-field evaluations per solve
(counted); "g evals": correction evaluations; wall time: median of 5 solves, one thread. Training cost is
reported separately.

The last lines compare each hypersolver with the cheapest dopri5 tolerance (sweep in half decades) that reaches
at least the same accuracy.

Usage:  python benchmarks/hypersolver.py
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torchdiffeq import odeint

from deepmod.equation import Equation
from deepmod.ode import HyperEuler, HyperHeun, HyperSolver
from deepmod.ode.hypersolvers import relative_error, sample_states
from deepmod.terms import Symbols
from deepmod.universal import PolynomialField

LV = [Equation("x_t", {"x": 1.3, "x*y": -0.9}), Equation("y_t", {"x*y": 0.8, "y": -1.8})]
LOW, HIGH = torch.tensor([1.0, 0.7]), torch.tensor([3.5, 2.5])
T = torch.linspace(0.0, 10.0, 41, dtype=torch.float64)
DT = 0.25


class Counted(nn.Module):
    """Counts the evaluations of a vector field."""

    def __init__(self, field: nn.Module) -> None:
        super().__init__()
        self.field = field
        self.calls = 0

    def forward(self, t: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.field(t, u)


def initial_states(n: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return (LOW + (HIGH - LOW) * torch.rand(n, 2, generator=gen)).to(torch.float64)


def timed(solve: Callable[[], torch.Tensor], repeats: int = 5) -> tuple[torch.Tensor, float]:
    times = []
    out = solve()
    for _ in range(repeats):
        start = time.perf_counter()
        out = solve()
        times.append(time.perf_counter() - start)
    return out, statistics.median(times)


def main() -> int:
    torch.set_num_threads(1)
    field = PolynomialField.from_equations(LV, Symbols(fields=("x", "y"), space=())).double()
    counted = Counted(field)
    held_out = initial_states(64, seed=1)
    with torch.no_grad():
        reference = odeint(field, held_out, T, rtol=1e-12, atol=1e-12, method="dopri5")
    rows = []
    with torch.no_grad():
        for exponent in np.arange(3.0, 9.5, 0.5):
            tol = 10.0**-exponent
            counted.calls = 0
            path = odeint(counted, held_out, T, rtol=tol, atol=tol, method="dopri5")
            calls = counted.calls
            _, seconds = timed(lambda tol=tol: odeint(field, held_out, T, rtol=tol, atol=tol, method="dopri5"))
            rows.append(("dopri5", f"tol 1e-{exponent:g}", calls, 0, relative_error(path, reference), seconds))
        for steps in (1, 2, 4):
            h = DT / steps
            path, seconds = timed(lambda h=h: odeint(field, held_out, T, method="rk4", options={"step_size": h}))
            rows.append(("rk4", f"h {h:g}", 4 * (len(T) - 1) * steps, 0, relative_error(path, reference), seconds))
    train_states = sample_states(field, initial_states(64, seed=0), 10.0, 201)
    hyper: list[tuple[str, HyperSolver, int]] = [
        ("HyperEuler", HyperEuler(field), 4),
        ("HyperHeun", HyperHeun(field), 1),
        ("HyperHeun", HyperHeun(field), 2),
    ]
    training = []
    for name, solver, steps in hyper:
        h = DT / steps
        start = time.perf_counter()
        solver.fit(train_states, h)
        training.append((name, h, time.perf_counter() - start))
        path, stats = solver.solve(held_out, T, steps)
        _, seconds = timed(lambda solver=solver, steps=steps: solver.solve(held_out, T, steps)[0])
        rows.append(
            (
                name,
                f"h {h:g}",
                stats.field_evaluations,
                stats.correction_evaluations,
                relative_error(path, reference),
                seconds,
            )
        )
        base, base_stats = type(solver)(field).solve(held_out, T, steps)
        _, base_seconds = timed(lambda solver=solver, steps=steps: type(solver)(field).solve(held_out, T, steps)[0])
        rows.append(
            (
                f"{name} (no g)",
                f"h {h:g}",
                base_stats.field_evaluations,
                0,
                relative_error(base, reference),
                base_seconds,
            )
        )
    print(f"{'solver':20} {'setting':10} {'f evals':>8} {'g evals':>8} {'rel error':>10} {'ms/solve':>9}")
    for name, setting, calls, g_calls, error, seconds in rows:
        print(f"{name:20} {setting:10} {calls:8d} {g_calls:8d} {error:10.2e} {seconds * 1e3:9.2f}")
    print()
    for name, h, seconds in training:
        print(f"training {name} at h {h:g}: {seconds:.1f} s (dopri5 targets + Adam)")
    print()
    dopri = [r for r in rows if r[0] == "dopri5"]
    for r in rows:
        if not r[0].startswith("Hyper") or "no g" in r[0]:
            continue
        match = [d for d in dopri if d[4] <= r[4]]
        if not match:
            print(f"{r[0]} {r[1]}: no dopri5 tolerance in the sweep is as accurate")
            continue
        d = min(match, key=lambda d: d[2])
        print(
            f"{r[0]} {r[1]}: error {r[4]:.2e} with {r[2]} f evals and {r[5] * 1e3:.1f} ms; dopri5 needs {d[1]} "
            f"for {d[4]:.2e}: {d[2]} f evals ({d[2] / r[2]:.1f}x) and {d[5] * 1e3:.1f} ms ({d[5] / r[5]:.1f}x)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
