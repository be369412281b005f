"""Discover, save, load, simulate and report, all from Python.

The weak method on the built-in Fisher-KPP data at 10 % noise; the result is saved as JSON and loaded back
(what a later session or another machine would do), simulated from the clean initial state and compared
with the clean data, and written up as a self-contained HTML report.

Run:  python examples/simulate_and_report.py [--output report.html]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import deepmod
from deepmod.data.synthetic import fisher_kpp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", default="report.html", help="where to write the report")
    args = parser.parse_args()

    system = fisher_kpp()
    noisy = deepmod.add_noise(system.data, 0.10, seed=0)
    found = deepmod.discover(noisy, deepmod.WeakForm())
    print("found:", found)
    print("true: ", system.truth)
    with tempfile.TemporaryDirectory() as tmp:
        found.save(Path(tmp) / "result.json")
        result = deepmod.Result.load(Path(tmp) / "result.json")
    simulation = result.simulate(system.data)
    print(f"simulated from the clean initial state: relative L2 error {simulation.relative_error(system.data):.3g}")
    deepmod.report.write(result, noisy, args.output, reference=system.data)
    print(f"report written to {args.output}")


if __name__ == "__main__":
    main()
