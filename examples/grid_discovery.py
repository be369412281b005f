"""Discover the Korteweg-de Vries equation from a noisy grid with the scikit-learn style estimator.

Two interacting solitons, u_t = -6 u u_x - u_xxx, 10 % noise, as plain numpy arrays: ``Model.fit(u, t=t, x=x)``
with DeepMoD (a network fitted to the data, the coefficients of the chosen terms refitted on the weak form of
the whole grid), then the model's R^2 against the data's own time derivative.

Run:  python examples/grid_discovery.py [--max-iterations N]
"""

from __future__ import annotations

import argparse

import deepmod
from deepmod.data import kdv_two_soliton


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-iterations", type=int, default=5000)
    args = parser.parse_args()

    system = kdv_two_soliton()
    noisy = deepmod.add_noise(system.data, 0.10, seed=0)
    t, x, u = noisy.coords["t"], noisy.coords["x"], noisy.fields["u"]
    method = deepmod.DeepMoD(schedule=deepmod.Schedule(max_iterations=args.max_iterations))
    model = deepmod.Model(method=method, seed=0).fit(u, t=t, x=x)
    model.print()
    print("true:", system.truth)
    print(f"R^2 of the model's u_t against the data's: {model.score(u, t=t, x=x):.4f}")


if __name__ == "__main__":
    main()
