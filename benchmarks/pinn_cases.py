"""deepmod pinn on the cases of its issue, each through the command line as a user runs it, against exact or
data solutions:

- ``2d``: advection-diffusion of a Gaussian on [-4, 4]^2 over t in [0, 2], u_t = 0.5 (u_xx + u_yy) - 0.8 u_x
  + 0.4 u_y, the exact solution on the boundary; relative L2 against the exact solution on a 21 x 41 x 41 grid.
- ``burgers-file``, ``fisher-file``: the built-in Burgers (nu = 0.1, a decaying pulse) and Fisher-KPP (fronts,
  periodic) written by ``deepmod example``, solved from the file's first snapshot with periodic boundaries;
  relative L2 against the file over its whole record.
- ``discovered``: ``deepmod discover`` on the built-in Burgers at 10 % noise, then ``deepmod pinn RESULT --data
  clean.npz --initial data --boundary data``; relative L2 against the clean data.

One thread each. Run: ``.venv/bin/python benchmarks/pinn_cases.py [CASE ...]`` (default: all).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEEPMOD = [sys.executable, "-m", "deepmod"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def _cli(*args: str) -> tuple[str, float]:
    """Run ``deepmod ARGS``; its output and the CPU seconds of the child."""
    before = os.times()
    run = subprocess.run([*DEEPMOD, *args, "--quiet"], env=ENV, capture_output=True, text=True)
    after = os.times()
    if run.returncode != 0:
        raise RuntimeError(f"deepmod {' '.join(args)} failed:\n{run.stderr[-2000:]}")
    return run.stdout, (after.children_user - before.children_user) + (after.children_system - before.children_system)


def _relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def case_2d(tmp: Path) -> dict[str, object]:
    exact = "1/(1 + 2*t)*exp(-((x - 0.8*t)^2 + (y + 0.4*t)^2)/(1 + 2*t))"
    args = ["pinn", "u_t = 0.5*u_xx + 0.5*u_yy - 0.8*u_x + 0.4*u_y", "--domain", "t=0:2,x=-4:4,y=-4:4"]
    args += ["--initial", "u = exp(-(x^2 + y^2))", "--boundary", f"u = {exact}", "--grid", "21x41x41"]
    _, cpu = _cli(*args, "--output", str(tmp / "2d.json"), "--solution", str(tmp / "2d.npz"))
    with np.load(tmp / "2d.npz") as sol:
        t, x, y = np.meshgrid(sol["t"], sol["x"], sol["y"], indexing="ij")
        s = 1 + 2 * t
        want = np.exp(-((x - 0.8 * t) ** 2 + (y + 0.4 * t) ** 2) / s) / s
        return {"error": _relative(sol["u"], want), "cpu": cpu}


def _from_file(tmp: Path, name: str, equation: str) -> dict[str, object]:
    data = tmp / f"{name}.npz"
    _cli("example", name, "--output", str(data))
    args = ["pinn", equation, "--data", str(data), "--coords", "t,x", "--fields", "u"]
    _, cpu = _cli(*args, "--initial", "data", "--boundary", "periodic", "--output", str(tmp / f"{name}.json"))
    return {"error": json.loads((tmp / f"{name}.json").read_text())["settings"]["data_error"], "cpu": cpu}


def case_burgers_file(tmp: Path) -> dict[str, object]:
    return _from_file(tmp, "burgers", "u_t = 0.1*u_xx - u*u_x")


def case_fisher_file(tmp: Path) -> dict[str, object]:
    return _from_file(tmp, "fisher-kpp", "u_t = 0.1*u_xx + u - u^2")


def case_discovered(tmp: Path) -> dict[str, object]:
    clean, noisy, found = tmp / "clean.npz", tmp / "noisy.npz", tmp / "found.json"
    _cli("example", "burgers", "--output", str(clean))
    _cli("example", "burgers", "--noise", "0.1", "--seed", "0", "--output", str(noisy))
    common = ["--coords", "t,x", "--fields", "u"]
    _, cpu_found = _cli("discover", str(noisy), *common, "--output", str(found))
    equation = json.loads(found.read_text())["equations"]
    args = ["pinn", str(found), "--data", str(clean), *common, "--initial", "data", "--boundary", "data"]
    _, cpu = _cli(*args, "--output", str(tmp / "pinn.json"))
    error = json.loads((tmp / "pinn.json").read_text())["settings"]["data_error"]
    return {"error": error, "cpu": cpu, "discovery cpu": cpu_found, "equation": equation}


CASES = {
    "2d": case_2d,
    "burgers-file": case_burgers_file,
    "fisher-file": case_fisher_file,
    "discovered": case_discovered,
}


def main() -> int:
    names = sys.argv[1:] or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        print(f"unknown case {', '.join(unknown)}: choose from {', '.join(CASES)}", file=sys.stderr)
        return 2
    print("| case | relative L2 | CPU s | notes |")
    print("|---|---|---|---|")
    for name in names:
        with tempfile.TemporaryDirectory() as tmp:
            wall = time.perf_counter()
            r = CASES[name](Path(tmp))
            notes = {k: v for k, v in r.items() if k not in ("error", "cpu")}
            notes["wall"] = round(time.perf_counter() - wall)
            print(f"| {name} | {r['error']:.2e} | {r['cpu']:.0f} | {json.dumps(notes)} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
