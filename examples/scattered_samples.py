"""Discover Burgers' equation from 2,000 noisy scattered samples with DeepMoD (the Python API).

Run:  python examples/scattered_samples.py [--max-iterations N]
"""

from __future__ import annotations

import argparse

import deepmod
from deepmod.data import burgers_delta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-iterations", type=int, default=5000)
    args = parser.parse_args()

    system = burgers_delta(viscosity=0.1, amplitude=1.0)
    data = deepmod.subsample(deepmod.add_noise(system.data, 0.05, seed=0), 2000, seed=0)
    method = deepmod.DeepMoD(schedule=deepmod.Schedule(max_iterations=args.max_iterations))
    result = deepmod.discover(data, method, seed=0)
    print("found:", result)
    print("true: ", system.truth)
    print(f"{result.iterations} iterations, {result.seconds:.1f} s, status {result.status}")


if __name__ == "__main__":
    main()
