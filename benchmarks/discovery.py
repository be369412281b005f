"""Discovery accuracy on the acceptance cases, with the default method and its own defaults.

Each case makes its data (noise: Gaussian, std = level x std(field), seeded), runs
``deepmod.discover(data, deepmod.DeepMoD(), seed=0)`` (what ``deepmod discover FILE --coords ... --fields ...``
runs: the method owns its defaults, ``tests/test_system.py`` checks that both give the same equation) and
compares the result with the true equation: "correct" means exactly the true terms and every coefficient
within 10 % (5 % for DeePyMoD's Burgers case). ``--json FILE`` writes every result in full precision.

Usage:  python benchmarks/discovery.py [--json FILE] [CASE_SUBSTRING ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import deepmod
from deepmod.data import Dataset, add_noise, load, subsample
from deepmod.data.synthetic import advection_diffusion_2d, burgers_delta, lorenz, reaction_diffusion
from deepmod.method import RunControl
from deepmod.report.progress import ProgressBar
from deepmod.result import Result

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"

Truth = dict[str, dict[str, float]]


@dataclass
class Case:
    name: str
    make: Callable[[], tuple[Dataset, Truth]]
    noise: float
    tolerance: float = 0.10
    samples: int | None = None
    known_gap: str = ""


def _shared(file: str, truth: Truth) -> Callable[[], tuple[Dataset, Truth]]:
    return lambda: (load(SHARED / file, ["t", "x"], ["u=usol"]), truth)


BURGERS = {"u_t": {"u*u_x": -1.0, "u_xx": 0.1}}
KDV = {"u_t": {"u*u_x": -6.0, "u_xxx": -1.0}}


def _system(factory: Callable[[], object]) -> Callable[[], tuple[Dataset, Truth]]:
    def make() -> tuple[Dataset, Truth]:
        s = factory()
        return s.data, s.truth  # type: ignore[attr-defined]

    return make


CASES = [
    *(Case(f"burgers.mat {n:.0%}", _shared("burgers.mat", BURGERS), n) for n in (0.0, 0.1, 0.25)),
    *(Case(f"kdv.mat {n:.0%}", _shared("kdv.mat", KDV), n) for n in (0.0, 0.1, 0.25)),
    Case("burgers delta (DeePyMoD) 5%", _system(burgers_delta), 0.05, tolerance=0.05, samples=2000),
    Case("advection-diffusion 2-D 10%", _system(advection_diffusion_2d), 0.10),
    Case("reaction-diffusion 5%", _system(reaction_diffusion), 0.05),
    Case("lorenz 1%", _system(lorenz), 0.01),
]


def score(found: Truth, truth: Truth) -> tuple[bool, float]:
    """(exact support and all coefficients within tolerance?, max relative coefficient error)."""
    exact = all(set(found.get(k, {})) == set(v) for k, v in truth.items())
    errors = [
        abs(found.get(lhs, {}).get(term, 0.0) - c) / abs(c) for lhs, terms in truth.items() for term, c in terms.items()
    ]
    return exact, max(errors)


def run(case: Case) -> tuple[dict[str, object], Result]:
    data, truth = case.make()
    data = add_noise(data, case.noise, seed=0) if case.noise else data
    if case.samples:
        data = subsample(data, case.samples, seed=0)
    control = RunControl([ProgressBar()])  # a training progress bar on a terminal only
    start = time.perf_counter()
    result = deepmod.discover(data, deepmod.DeepMoD(), seed=0, control=control)
    seconds = time.perf_counter() - start
    exact, error = score(result.coefficients, truth)
    row = {
        "case": case.name,
        "samples": result.settings["samples"],
        "correct": exact and error <= case.tolerance,
        "error": error,
        "seconds": seconds,
        "iterations": result.iterations,
        "found": str(result).replace("\n", " ; "),
    }
    return row, result


def main_(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", help="run the cases whose names contain one of these")
    parser.add_argument("--json", help="write every case's result (full precision) to this file")
    args = parser.parse_args(argv)
    cases = [c for c in CASES if not args.cases or any(f in c.name for f in args.cases)]
    print(f"{'case':32} {'samples':>7} {'correct':>7} {'max err':>8} {'iters':>6} {'seconds':>8}  found")
    failures, saved = 0, {}
    for case in cases:
        r, result = run(case)
        saved[case.name] = result.to_dict()
        failures += not r["correct"]
        print(
            f"{r['case']:32} {r.get('samples', '-')!s:>7} {'yes' if r['correct'] else 'NO':>7} "
            f"{r['error']:8.2%} {r.get('iterations', '-')!s:>6} {r['seconds']:8.1f}  {r['found']}",
            flush=True,
        )
    if args.json:
        Path(args.json).write_text(json.dumps(saved, indent=1))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main_(sys.argv[1:]))
