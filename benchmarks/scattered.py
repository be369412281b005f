"""Scattered samples: DeepMoD's selection on the weak form of the network's values on a grid over the
samples' box (``BoxWeak``, the default) against pointwise selection on its derivatives (``Pointwise``).

Six records, each noised (Gaussian, std = level x std(field), seed 0) and then sampled at random points
(seed 0): DeePyMoD's Burgers case (5 %, 2,000 samples), the built-in 2-D advection-diffusion (10 %, 4,000),
and four of issue 19's unseen kinds at seed 0 (10 %; drift-diffusion 2,000, anisotropic 2-D
advection-diffusion, cubic pair with cubic powers in the library, damped wave 4,000 each). "correct" =
exactly the true terms and every coefficient within 10 %.

Usage:  python benchmarks/scattered.py [--json FILE] [NAME_SUBSTRING ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from unseen import score  # exact terms and every coefficient within 10 %

import deepmod
from deepmod.data import Dataset, add_noise, subsample
from deepmod.data.synthetic import SyntheticSystem, advection_diffusion_2d, burgers_delta
from deepmod.method import RunControl
from deepmod.neural import Pointwise
from deepmod.report.progress import ProgressBar
from unseen_systems import library_orders, unseen_systems

Truth = dict[str, dict[str, float]]


def _records() -> dict[str, tuple[Callable[[], SyntheticSystem], float, int]]:
    unseen = unseen_systems(0)
    out: dict[str, tuple[Callable[[], SyntheticSystem], float, int]] = {
        "burgers delta (DeePyMoD)": (burgers_delta, 0.05, 2000),
        "advection-diffusion 2-D": (advection_diffusion_2d, 0.10, 4000),
    }
    for name, n in (
        ("drift-diffusion", 2000),
        ("anisotropic advection-diffusion 2-D", 4000),
        ("cubic reaction-diffusion", 4000),
        ("damped wave", 4000),
    ):
        out[f"{name} (unseen, seed 0)"] = (lambda name=name: unseen[name], 0.10, n)  # type: ignore[misc]
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    saved = {}
    print(f"{'record':40} {'samples':>7} {'selection':9} {'correct':>7} {'max err':>8} {'iters':>6} {'s':>6}  found")
    for name, (make, level, n) in _records().items():
        if args.names and not any(f in name for f in args.names):
            continue
        system = make()
        data: Dataset = subsample(add_noise(system.data, level, seed=0), n, seed=0)
        for label, box in (("box weak", True), ("pointwise", False)):
            start = time.perf_counter()
            result = deepmod.discover(
                data,
                deepmod.DeepMoD(selection=None if box else Pointwise()),
                seed=0,
                control=RunControl([ProgressBar()]),
                **library_orders(system),
            )
            seconds = time.perf_counter() - start
            ok, err = score(result.coefficients, system.truth)
            saved[f"{name} {label}"] = {"truth": system.truth, **result.to_dict()}
            found = str(result).replace("\n", " ; ")
            print(
                f"{name:40} {n:>7} {label:9} {'yes' if ok else 'NO':>7} {err:8.2%} {result.iterations:>6} "
                f"{seconds:6.0f}  {found[:200]}",
                flush=True,
            )
    if args.json:
        Path(args.json).write_text(json.dumps(saved, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
