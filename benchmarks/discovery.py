"""Discovery accuracy on the acceptance cases, through the CLI with default settings.

Each case writes a data file (noise: Gaussian, std = level x std(field), seeded), runs
``deepmod discover FILE --coords ... --fields ... --seed 0 --output result.json`` in-process and compares the
result with the true equation: "correct" means exactly the true terms and every coefficient within 10 %
(5 % for DeePyMoD's Burgers case).

Usage:  python benchmarks/discovery.py [CASE_SUBSTRING ...]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepmod.cli import main
from deepmod.data import Dataset, add_noise, load, save_npz, subsample
from deepmod.data.synthetic import advection_diffusion_2d, burgers_delta, lorenz, reaction_diffusion

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


def run(case: Case, workdir: Path) -> dict[str, object]:
    data, truth = case.make()
    data = add_noise(data, case.noise, seed=0) if case.noise else data
    if case.samples:
        data = subsample(data, case.samples, seed=0)
    path = workdir / "data.npz"
    save_npz(data, path)
    out = workdir / "result.json"
    argv = ["discover", str(path), "--coords", ",".join(data.coord_names), "--fields", ",".join(data.field_names)]
    argv += ["--seed", "0", "--output", str(out)]  # training progress bar on a terminal only
    start = time.perf_counter()
    code = main(argv)
    seconds = time.perf_counter() - start
    if code != 0:
        return {"case": case.name, "correct": False, "error": np.inf, "seconds": seconds, "found": f"exit {code}"}
    result = json.loads(out.read_text())
    exact, error = score(result["equations"], truth)
    return {
        "case": case.name,
        "samples": result["settings"]["samples"],
        "correct": exact and error <= case.tolerance,
        "error": error,
        "seconds": seconds,
        "iterations": result["iterations"],
        "found": " ; ".join(result["text"]),
    }


def main_(filters: list[str]) -> int:
    cases = [c for c in CASES if not filters or any(f in c.name for f in filters)]
    print(f"{'case':32} {'samples':>7} {'correct':>7} {'max err':>8} {'iters':>6} {'seconds':>8}  found")
    failures = 0
    for case in cases:
        with tempfile.TemporaryDirectory() as tmp:
            r = run(case, Path(tmp))
        failures += not r["correct"]
        print(
            f"{r['case']:32} {r.get('samples', '-')!s:>7} {'yes' if r['correct'] else 'NO':>7} "
            f"{r['error']:8.2%} {r.get('iterations', '-')!s:>6} {r['seconds']:8.1f}  {r['found']}",
            flush=True,
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main_(sys.argv[1:]))
