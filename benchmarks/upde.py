"""Universal PDEs: the UDE paper's Fisher-KPP set-up and the built-in Fisher-KPP, everything learned but the form
u_t = stencil(u) + N(u), with ``deepmod upde``'s defaults (``UniversalPDEMethod()``), through ``deepmod.ensemble``'s
sweep (one cell per noise seed, Gaussian noise of std = level x std(u)).

- ``--paper``: Rackauckas et al. 2020's Fisher-KPP (D = 0.01, r = 1, 26 periodic points with dx = 0.04, 11
  snapshots to T = 5, one tanh pulse; the data are the exact discrete system with the three-point Laplacian,
  ``deepmod.data.synthetic.fisher_kpp_discrete``) at 1 % noise, seeds 0..4. Pass: exactly u_xx, u, u^2 with D
  within 2 % and r (the u coefficient and minus the u^2 one) within 5 %.
- ``--builtin``: the built-in Fisher-KPP (``deepmod example fisher-kpp``: D = 0.1, r = 1, 256 points, 101
  snapshots to T = 8) at 5 % noise, seeds 0..2. Pass: exactly the true terms, each within 10 %.

Usage:  python benchmarks/upde.py [--paper] [--builtin] [--seeds N] [--workers N]
"""

from __future__ import annotations

import argparse
import sys

from deepmod.data.synthetic import fisher_kpp, fisher_kpp_discrete
from deepmod.ensemble import Processes
from deepmod.ensemble.sweep import sweep
from deepmod.pde import UniversalPDEMethod


def paper(seeds: int, workers: int | None) -> bool:
    system = fisher_kpp_discrete()
    table = sweep(system.data, system.truth, [UniversalPDEMethod()], [0.01], range(seeds), backend=Processes(workers))
    print("| seed | terms | D (error) | r from u, -u^2 (error) | pass | seconds |")
    print("|---|---|---|---|---|---|")
    passed = 0
    for row in table.rows:
        found = row.equations.get("u_t", {})
        exact = set(found) == {"u_xx", "u", "u^2"}
        d = found.get("u_xx", float("nan"))
        rates = [found.get("u", float("nan")), -found.get("u^2", float("nan"))]
        d_error = abs(d - 0.01) / 0.01
        r_error = max(abs(r - 1.0) for r in rates)
        ok = exact and d_error <= 0.02 and r_error <= 0.05
        passed += ok
        terms = ", ".join(f"{n} {c:.5g}" for n, c in found.items())
        print(
            f"| {row.seed} | {terms} | {d:.5f} ({100 * d_error:.2f} %) | {rates[0]:.4f}, {rates[1]:.4f} "
            f"({100 * r_error:.2f} %) | {'yes' if ok else 'no'} | {row.seconds:.0f} |",
            flush=True,
        )
    print(f"\npassed in {passed} of {len(table.rows)} seeds (acceptance: >= 4 of 5)")
    return passed >= len(table.rows) - 1


def builtin(seeds: int, workers: int | None) -> bool:
    system = fisher_kpp()
    table = sweep(system.data, system.truth, [UniversalPDEMethod()], [0.05], range(seeds), backend=Processes(workers))
    print("| seed | equation | largest error | correct (10 %) | seconds |")
    print("|---|---|---|---|---|")
    for row in table.rows:
        terms = ", ".join(f"{n} {c:.5g}" for n, c in row.equations.get("u_t", {}).items())
        error = "-" if row.error is None else f"{100 * row.error:.2f} %"
        print(f"| {row.seed} | {terms} | {error} | {'yes' if row.correct else 'no'} | {row.seconds:.0f} |", flush=True)
    return all(row.correct for row in table.rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paper", action="store_true")
    parser.add_argument("--builtin", action="store_true")
    parser.add_argument("--seeds", type=int, default=None, help="noise seeds (default 5 for --paper, 3 for --builtin)")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    args = parser.parse_args()
    if not (args.paper or args.builtin):
        args.paper = args.builtin = True
    ok = True
    if args.paper:
        print("## The UDE paper's Fisher-KPP, 1 % noise\n")
        ok &= paper(args.seeds or 5, args.workers)
    if args.builtin:
        print("\n## The built-in Fisher-KPP, 5 % noise\n")
        ok &= builtin(args.seeds or 3, args.workers)
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
