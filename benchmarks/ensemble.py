"""Ensembles: Ensemble-SINDy's PDE table, the calibration of the intervals, the backends' speed, and the
universal ODE's inclusion probabilities. Every loop goes through ``deepmod.ensemble`` (``sweep`` and
``ensemble``) and its backends.

- ``--pde-table``: the weak method, single fit and a 20-member ensemble, on ``../shared/data`` Burgers, KdV and
  Kuramoto-Sivashinsky with Gaussian noise of std = 1.0 x std(u) (Ensemble-SINDy's hardest level), noise
  seeds 0..19. Success = exactly the true terms, every coefficient within 10 %.
- ``--calibration``: ``burgers.mat`` at 10 % noise, seeds 0..19: how often each true coefficient lies in its
  95 % interval, for the weak method (20 members) and DeepMoD (4 members, defaults).
- ``--backends builtin|burgers.mat``: a 4-member DeepMoD ensemble (defaults) on the built-in Burgers at 5 %
  noise or on ``burgers.mat`` at 10 %, on the serial, process and Ray backends (a local cluster started for
  the run, and one already running), wall seconds and whether the JSON files are byte-identical.
- ``--lv``: ``deepmod ude`` on the built-in Lotka-Volterra record at 5 % noise with the linear terms known,
  an ensemble of 8, noise seeds 0, 1, 2: inclusion of each recovered term.

Usage:  python benchmarks/ensemble.py [--pde-table] [--calibration] [--backends DATA] [--lv] [--draws N]
        [--workers N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import deepmod
from deepmod.data import add_noise, burgers_delta, lotka_volterra
from deepmod.data.loaders import load
from deepmod.ensemble import Processes, Ray, Serial, ensemble
from deepmod.ensemble.sweep import sweep

RAY = str(Path(sys.executable).parent / "ray")  # Ray's command line, beside this interpreter
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SETS = {
    "burgers": ("burgers.mat", ["t", "x"], ["u=usol"], {"u*u_x": -1.0, "u_xx": 0.1}),
    "kdv": ("kdv.mat", ["t", "x"], ["u=usol"], {"u*u_x": -6.0, "u_xxx": -1.0}),
    "ks": ("kuramoto_sivishinky.mat", ["t=tt", "x"], ["u=uu"], {"u*u_x": -1.0, "u_xx": -1.0, "u_xxxx": -1.0}),
}


def pde_table(draws: int, workers: int | None) -> None:
    print("| data | noise | weak | correct | median max error | seconds per fit |")
    print("|---|---|---|---|---|---|")
    for name, (file, coords, fields, truth) in SETS.items():
        data = load(SHARED / file, coords, fields)
        for members in (0, 20):
            table = sweep(
                data, {"u_t": truth}, [deepmod.WeakForm()], [1.0], range(draws), members=members,
                backend=Processes(workers=workers),
            )  # fmt: skip
            rows = table.rows
            errors = sorted(r.error for r in rows if r.error is not None)
            median = f"{100 * errors[len(errors) // 2]:.2f} %" if errors else "-"
            label = f"ensemble of {members}" if members else "single"
            seconds = sorted(r.seconds for r in rows)[len(rows) // 2]
            right = sum(r.correct for r in rows)
            print(f"| {name} | 100 % | {label} | {right}/{len(rows)} | {median} | {seconds:.2f} |", flush=True)
            for r in rows:
                if not r.correct:
                    print(f"|  | seed {r.seed} | {label} | wrong | {r.equations['u_t']} | |", flush=True)


def calibration(draws: int, workers: int | None) -> None:
    file, coords, fields, truth = SETS["burgers"]
    clean = load(SHARED / file, coords, fields)
    for method, members in ((deepmod.WeakForm(), 20), (deepmod.DeepMoD(), 4)):
        covered = dict.fromkeys(truth, 0)
        start = time.perf_counter()
        for seed in range(draws):
            backend = Serial() if method.name == "weak" else Processes(workers=workers)
            result = ensemble(add_noise(clean, 0.1, seed=seed), method, members=members, seed=seed, backend=backend)
            line = []
            for term, value in truth.items():
                u = result.uncertainty["u_t"].get(term)
                inside = u is not None and u.interval[0] <= value <= u.interval[1]
                covered[term] += inside
                shown = "absent" if u is None else f"{u.median:.4g} [{u.interval[0]:.4g}, {u.interval[1]:.4g}]"
                line.append(f"{term} {shown}{'' if inside else ' MISS'}")
            print(f"{method.name} seed {seed}: {result}; " + "; ".join(line), flush=True)
        share = {k: f"{v}/{draws}" for k, v in covered.items()}
        seconds = time.perf_counter() - start
        print(f"{method.name}, {members} members: the truth in the 95 % interval {share} ({seconds:.0f} s)")


def backends(which: str) -> None:
    """Serial, process, Ray on a local cluster it starts, and Ray on a cluster started beforehand (``ray start``),
    on the built-in Burgers at 5 % (``which`` "builtin") or PDE-FIND's ``burgers.mat`` at 10 %."""
    if which == "builtin":
        data = add_noise(burgers_delta().data, 0.05, seed=0)
    else:
        file, coords, fields, _ = SETS["burgers"]
        data = add_noise(load(SHARED / file, coords, fields), 0.1, seed=0)
    runs = [("serial", Serial()), ("process", Processes()), ("ray, local cluster started for the run", Ray())]
    runs.append(("ray, cluster already running (ray start --head)", Ray(address="auto")))
    files, serial = {}, 0.0
    print("| backend | wall seconds | speed-up over serial | model |")
    print("|---|---|---|---|")
    try:
        for label, backend in runs:
            if "already running" in label:
                start_head = [RAY, "start", "--head", "--num-cpus", "2", "--disable-usage-stats"]
                subprocess.run(start_head, capture_output=True, check=True)
            start = time.perf_counter()
            result = ensemble(data, deepmod.DeepMoD(), members=4, seed=0, backend=backend)
            seconds = time.perf_counter() - start
            serial = serial or seconds
            files[label] = json.dumps(result.to_dict())
            print(f"| {label} | {seconds:.1f} | {serial / seconds:.2f}x | {result} |", flush=True)
    finally:
        subprocess.run([RAY, "stop"], capture_output=True, check=False)
    print("byte-identical JSON on every backend:", len(set(files.values())) == 1)


def lotka_volterra_ude() -> None:
    known = ["x_t = 1.3*x", "y_t = -1.8*y"]
    for seed in range(3):
        data = add_noise(lotka_volterra().data, 0.05, seed=seed)
        symbols = deepmod.Symbols(("x", "y"), ())
        method = deepmod.UDE(known=[deepmod.parse_equation(k, symbols) for k in known], progress=False)
        start = time.perf_counter()
        result = ensemble(data, method, members=8, seed=seed, backend=Processes())
        inclusion = {
            lhs: {t: round(u.inclusion, 3) for t, u in terms.items()} for lhs, terms in result.uncertainty.items()
        }
        print(f"seed {seed} ({time.perf_counter() - start:.0f} s): {result}; inclusion {inclusion}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pde-table", action="store_true")
    parser.add_argument("--calibration", action="store_true")
    parser.add_argument("--backends", choices=["builtin", "burgers.mat"], help="the backends' speed on this data")
    parser.add_argument("--lv", action="store_true")
    parser.add_argument("--draws", type=int, default=20)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    if args.pde_table:
        pde_table(args.draws, args.workers)
    if args.calibration:
        calibration(args.draws, args.workers)
    if args.backends:
        backends(args.backends)
    if args.lv:
        lotka_volterra_ude()
    return 0


if __name__ == "__main__":
    sys.exit(main())
