"""Defaults on systems the benchmark cases were not developed on (issue 19's six kinds, ``tests/unseen_systems.py``).

Per system and seed: DeepMoD and the weak method with their defaults, noise 10 % for PDEs and 5 % for ODEs
(Gaussian, std = level x std(field), seeded). The library is the default one except where the truth lies
outside it: cubic powers for the cubic reaction-diffusion pair (poly_order 3), fourth derivatives for the
Kuramoto-Sivashinsky type (diff_order 4, the weak method's default). "correct" = exactly the true terms and
every coefficient within 10 %. ``--json FILE`` keeps every result.

Usage:  python benchmarks/unseen.py [--seeds 0,1] [--methods deepmod,weak] [--json FILE] [NAME_SUBSTRING ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import deepmod
from deepmod.method import RunControl
from deepmod.report.progress import ProgressBar
from unseen_systems import library_orders, unseen_systems


def score(found: dict[str, dict[str, float]], truth: dict[str, dict[str, float]]) -> tuple[bool, float]:
    exact = all(set(found.get(k, {})) == set(v) for k, v in truth.items())
    errors = [abs(found.get(k, {}).get(t, 0.0) - c) / abs(c) for k, v in truth.items() for t, c in v.items()]
    return exact and max(errors) <= 0.10, max(errors)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--methods", default="deepmod,weak")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    rows, saved = [], {}
    print(f"{'system':38} {'seed':>4} {'method':8} {'correct':>7} {'max err':>8} {'iters':>6} {'s':>7}  found")
    for seed in (int(s) for s in args.seeds.split(",")):
        for name, system in unseen_systems(seed).items():
            if args.names and not any(n in name for n in args.names):
                continue
            noisy = deepmod.add_noise(system.data, 0.10 if system.data.n_space else 0.05, seed=seed)
            for label in args.methods.split(","):
                if label == "weak" and not system.data.n_space:
                    continue
                method = deepmod.DeepMoD() if label == "deepmod" else deepmod.WeakForm()
                start = time.perf_counter()
                result = deepmod.discover(
                    noisy, method, seed=seed, control=RunControl([ProgressBar()]), **library_orders(system)
                )
                seconds = time.perf_counter() - start
                ok, err = score(result.coefficients, system.truth)
                found = str(result).replace("\n", " ; ")
                rows.append(ok)
                saved[f"{name} {seed} {label}"] = {"truth": system.truth, **result.to_dict()}
                print(
                    f"{name:38} {seed:>4} {label:8} {'yes' if ok else 'NO':>7} {err:8.2%} {result.iterations:>6} "
                    f"{seconds:7.1f}  {found}",
                    flush=True,
                )
    if args.json:
        Path(args.json).write_text(json.dumps(saved, indent=1, default=float))
    return 0 if all(rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
