"""A universal ODE: known linear growth and decay plus a network for the interaction, read back as symbols.

Lotka-Volterra predator and prey at 5 % noise; the known parts are x_t = 1.3 x and y_t = -1.8 y, the network
learns the rest through the ODE solver (torchdiffeq), and symbolic recovery turns it into monomials.

Run:  python examples/universal_ode.py [--quick]
"""

from __future__ import annotations

import argparse

import deepmod
from deepmod.data import lotka_volterra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a few training steps only (a smoke run)")
    args = parser.parse_args()

    system = lotka_volterra()
    data = deepmod.add_noise(system.data, 0.05, seed=0)
    symbols = deepmod.symbols_for(data)
    known = [deepmod.parse_equation("x_t = 1.3*x", symbols), deepmod.parse_equation("y_t = -1.8*y", symbols)]
    steps = {"collocation_iterations": 300, "adam_iterations": 20, "lbfgs_iterations": 20} if args.quick else {}
    result = deepmod.discover(data, deepmod.UDE(known=known, **steps), seed=0)
    print(result)
    print("true:", system.truth)


if __name__ == "__main__":
    main()
