"""deepmod's PINN against DeepXDE on Raissi et al.'s Burgers forward problem, side by side in one run.

The problem: u_t = 0.01/pi u_xx - u u_x on x in [-1, 1], t in [0, 1], u(x, 0) = -sin(pi x), u(+-1, t) = 0
(Raissi, Perdikaris and Karniadakis 2019). The reference is the Cole-Hopf solution by quadrature
(:func:`deepmod.data.synthetic.burgers_sine`, accurate to 1e-12) on 101 x 256 points.

- DeepXDE (its own virtual environment, ``benchmarks/.venv-deepxde``, made on first use with ``pip install
  deepxde torch==2.13.0``, PyTorch backend, one thread): the settings of its Burgers example, written here
  against its public API: a 3 x 20 tanh network (Glorot normal), 2,540 domain, 80 boundary and 160 initial
  points, Adam at 1e-3 for 15,000 steps, then L-BFGS.
- deepmod: ``PINN()`` with its defaults, one thread.

Printed: relative L2 error against the reference, CPU and wall seconds, iterations (``--no-deepmod``,
``--no-deepxde``: one side only; ``SEEDS=5`` or ``SEEDS=1,3``: deepmod over those seeds, one after another;
``--refine``: deepmod with ``PINN(refine=True)``). ``--identification``: Raissi's inverse problem instead
(lambda1 and nu from 2,000 noisy samples, no initial or boundary values) at 0, 1, 5 and 10 % noise over 5
seeds (``SEEDS=N``, or a list ``SEEDS=1,3``; ``LEVELS=0.01,0.1`` and ``WORKERS=2`` choose the levels and the
parallel runs).
Run: ``.venv/bin/python benchmarks/vs_deepxde.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEEPXDE_ENV = ROOT / "benchmarks" / ".venv-deepxde"

PEER = """
import json, sys, time
import numpy as np
import deepxde as dde
import torch

torch.set_num_threads(1)
grid = np.load(sys.argv[1])
geom = dde.geometry.GeometryXTime(dde.geometry.Interval(-1, 1), dde.geometry.TimeDomain(0, 1))

def residual(z, u):
    u_x = dde.grad.jacobian(u, z, i=0, j=0)
    u_t = dde.grad.jacobian(u, z, i=0, j=1)
    u_xx = dde.grad.hessian(u, z, i=0, j=0)
    return u_t + u * u_x - 0.01 / np.pi * u_xx

edge = dde.icbc.DirichletBC(geom, lambda z: 0 * z[:, 0:1], lambda _, on_boundary: on_boundary)
start = dde.icbc.IC(geom, lambda z: -np.sin(np.pi * z[:, 0:1]), lambda _, on_initial: on_initial)
data = dde.data.TimePDE(geom, residual, [edge, start], num_domain=2540, num_boundary=80, num_initial=160)
model = dde.Model(data, dde.nn.FNN([2] + [20] * 3 + [1], "tanh", "Glorot normal"))
wall, cpu = time.perf_counter(), time.process_time()
model.compile("adam", lr=1e-3)
model.train(iterations=15000, display_every=100000)
model.compile("L-BFGS")
_, state = model.train(display_every=100000)
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
x, t = grid["x"], grid["t"]
z = np.stack([np.tile(x, len(t)), np.repeat(t, len(x))], axis=1)
u = model.predict(z).reshape(len(t), len(x))
np.save(sys.argv[2], u)
print(json.dumps({"wall": wall, "cpu": cpu, "iterations": int(state.step)}))
"""


def _ensure_deepxde() -> Path:
    python = DEEPXDE_ENV / "bin" / "python"
    if not python.exists():
        print(f"creating {DEEPXDE_ENV} with deepxde (first run only) ...", file=sys.stderr)
        venv.create(DEEPXDE_ENV, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "torch==2.13.0", "deepxde"], check=True)
    return python


def _deepxde(reference: dict[str, np.ndarray]) -> dict[str, float]:
    python = _ensure_deepxde()
    with tempfile.TemporaryDirectory() as tmp:
        grid, out, script = Path(tmp) / "grid.npz", Path(tmp) / "u.npy", Path(tmp) / "peer.py"
        np.savez(grid, t=reference["t"], x=reference["x"])
        script.write_text(PEER)
        env = {**os.environ, "DDE_BACKEND": "pytorch", "OMP_NUM_THREADS": "1"}
        run = subprocess.run([str(python), str(script), str(grid), str(out)], env=env, capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"DeepXDE failed:\n{run.stderr[-3000:]}")
        stats = json.loads(run.stdout.strip().splitlines()[-1])
        u = np.load(out)
    stats["error"] = float(np.linalg.norm(u - reference["u"]) / np.linalg.norm(reference["u"]))
    return stats


def _deepmod(reference: dict[str, np.ndarray], seed: int = 0, refine: bool = False) -> dict[str, float]:
    import torch

    from deepmod.equation import parse_parametric
    from deepmod.pinn import PINN, Box, PinnProblem, Values
    from deepmod.terms import Symbols

    torch.set_num_threads(1)
    symbols = Symbols(("u",), ("x",))
    problem = PinnProblem(
        (parse_parametric("u_t = 0.01/pi*u_xx - u*u_x", symbols, []),),
        symbols,
        Box(("t", "x"), (0.0, -1.0), (1.0, 1.0)),
        [Values.parse("u = -sin(pi*x)", symbols)],
        [Values.parse("u = 0", symbols)],
    )
    wall, cpu = time.perf_counter(), time.process_time()
    fit = PINN(refine=refine).solve(problem, seed=seed)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    u = fit.on_grid({"t": reference["t"], "x": reference["x"]}).fields["u"]
    error = float(np.linalg.norm(u - reference["u"]) / np.linalg.norm(reference["u"]))
    return {"wall": wall, "cpu": cpu, "iterations": fit.history.iterations[-1], "error": error}


def _identification(level: float, seed: int) -> dict[str, float]:
    """Raissi's identification: lambda1 and nu of ``u_t = nu u_xx - lambda1 u u_x`` from 2,000 random samples
    of the reference grid with Gaussian noise of std ``level`` x std(u) (seeded), no initial or boundary
    values; both unknowns start at 0."""
    import torch
    from identifiability import raissi_draw

    from deepmod.data import Dataset
    from deepmod.data.synthetic import burgers_sine
    from deepmod.equation import parse_parametric
    from deepmod.pinn import PINN, Box, PinnProblem
    from deepmod.terms import Symbols

    torch.set_num_threads(1)
    ref = burgers_sine().data
    x, u = ref.points()
    pick, normal = raissi_draw(len(x), seed)
    noisy = u[pick, 0] + level * np.std(u) * normal
    samples = Dataset({"t": x[pick, 0], "x": x[pick, 1]}, {"u": noisy}, grid=False, source="samples")
    symbols = Symbols(("u",), ("x",))
    equation = parse_parametric("u_t = nu*u_xx - lambda1*u*u_x", symbols, ["lambda1", "nu"])
    box = Box(("t", "x"), (0.0, -1.0), (1.0, 1.0))
    problem = PinnProblem((equation,), symbols, box, None, None, samples, {"lambda1": 0.0, "nu": 0.0})
    cpu = time.process_time()
    fit = PINN().solve(problem, seed=seed)
    cpu = time.process_time() - cpu
    p = fit.parameters()
    nu = 0.01 / np.pi
    return {
        "lambda1": 100 * abs(p["lambda1"]["value"] - 1.0),
        "nu": 100 * abs(p["nu"]["value"] - nu) / nu,
        "nu_sigmas": abs(p["nu"]["value"] - nu) / p["nu"]["std"] if p["nu"]["std"] > 0 else float("inf"),
        "cpu": cpu,
    }


def _identification_table(levels: list[float], seeds: list[int]) -> None:
    """The identification over noise levels and seeds, two runs at a time (one thread each)."""
    from concurrent.futures import ProcessPoolExecutor

    jobs = [(level, seed) for level in levels for seed in seeds]
    workers = int(os.environ.get("WORKERS", str(min(2, os.cpu_count() or 1))))
    print("| noise | seed | lambda1 off % | nu off % | nu off / std | CPU s |")
    print("|---|---|---|---|---|---|", flush=True)
    rows = []
    with ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
        for (level, seed), r in zip(jobs, pool.map(_identification, *zip(*jobs, strict=True)), strict=True):
            cells = f"{r['lambda1']:.2f} | {r['nu']:.2f} | {r['nu_sigmas']:.1f} | {r['cpu']:.0f}"
            print(f"| {level:.0%} | {seed} | {cells} |", flush=True)
            rows.append(r)
    for level in levels:
        mine = [r for (lv, _), r in zip(jobs, rows, strict=True) if lv == level]
        covered = sum(r["nu_sigmas"] <= 2.0 for r in mine)
        print(
            f"noise {level:.0%}: median nu off {np.median([r['nu'] for r in mine]):.2f} %, median lambda1 off "
            f"{np.median([r['lambda1'] for r in mine]):.2f} %, true nu within 2 std in {covered} of {len(mine)}"
        )


def main() -> int:
    from deepmod.data.synthetic import burgers_sine

    identification = "--identification" in sys.argv
    given = os.environ.get("SEEDS", "5" if identification else "1")  # a count (seeds 0..N-1) or a list ("1,3")
    seeds = [int(v) for v in given.split(",")] if "," in given else list(range(int(given)))
    if identification:
        levels = [float(v) for v in os.environ.get("LEVELS", "0,0.01,0.05,0.10").split(",")]
        _identification_table(levels, seeds)
        return 0
    ref = burgers_sine().data
    reference = {"t": ref.coords["t"], "x": ref.coords["x"], "u": ref.fields["u"]}
    refine = "--refine" in sys.argv
    name = "deepmod pinn (defaults" + (", refine)" if refine else ")")
    rows = []
    if "--no-deepmod" not in sys.argv:
        rows = [(f"{name}, seed {seed}", _deepmod(reference, seed, refine)) for seed in seeds]
    if "--no-deepxde" not in sys.argv:
        rows.append(("DeepXDE 3 x 20, Adam 15,000 + L-BFGS", _deepxde(reference)))
    print("| solver | relative L2 | CPU s | wall s | iterations |")
    print("|---|---|---|---|---|")
    for name, r in rows:
        print(f"| {name} | {r['error']:.2e} | {r['cpu']:.0f} | {r['wall']:.0f} | {r['iterations']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
