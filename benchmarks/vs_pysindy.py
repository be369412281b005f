"""deepmod's classical methods against PySINDy on the PDE-FIND data, noise 0 to 50 %.

For each of ``../shared/data`` Burgers, KdV and Kuramoto-Sivashinsky and each noise level (Gaussian, std =
level x std(u), seed 0) the noisy copy is written once and given to:

- deepmod's weak and fd methods with their own defaults (``deepmod.discover(data, deepmod.WeakForm())``, the
  same as ``deepmod discover --method weak``);
- PySINDy 2 PDE-FIND (``PDELibrary``, finite differences) and its weak form (``WeakPDELibrary``, 100
  subdomains), with polynomials of degree 2 times derivatives up to the true equation's highest order (3 for
  Burgers and KdV, 4 for KS: a smaller library than deepmod's, which always goes to 4), constant included,
  and STLSQ at its default threshold (0.1) on normalised columns;
- PySINDy's weak form with STLSQ tuned *using the true equation* ("weak, oracle"): the most accurate correct
  model over 21 thresholds from 1e-4 to 10, ridge ``alpha`` 0.05 (the default) or 1e-5, with and without
  column normalisation (CPU time of that one fit). No user can do this; it is the upper bound of hand
  tuning.

PySINDy runs in its own virtual environment (``benchmarks/.venv-pysindy``, created on first use with
``pip install pysindy``) so its pins never touch the project's. "correct" = exactly the true terms and every
coefficient within 10 %. Seconds are the fit alone (library, regression, selection), data loading excluded:
deepmod's side runs through ``deepmod.ensemble.sweep`` on one thread (wall seconds of each cell), PySINDy's
is CPU seconds.

Usage:  python benchmarks/vs_pysindy.py [--levels 0,0.01,0.05,0.1,0.25,0.5] [--sets burgers,kdv,ks]
        [--no-pysindy]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
PYSINDY_ENV = ROOT / "benchmarks" / ".venv-pysindy"

SETS: dict[str, tuple[str, list[str], list[str], dict[str, float]]] = {
    "burgers": ("burgers.mat", ["t", "x"], ["u=usol"], {"u*u_x": -1.0, "u_xx": 0.1}),
    "kdv": ("kdv.mat", ["t", "x"], ["u=usol"], {"u*u_x": -6.0, "u_xxx": -1.0}),
    "ks": ("kuramoto_sivishinky.mat", ["t=tt", "x"], ["u=uu"], {"u*u_x": -1.0, "u_xx": -1.0, "u_xxxx": -1.0}),
}


def score(found: dict[str, float], truth: dict[str, float]) -> tuple[bool, float | None]:
    """Whether the terms are exactly the true ones and all within 10 %, and the largest relative error."""
    if set(found) != set(truth):
        return False, None
    err = max(abs(found[k] - v) / abs(v) for k, v in truth.items())
    return err <= 0.10, err


# --------------------------------------------------------------------------- PySINDy side (own environment)


def _pysindy_name(name: str) -> str:
    """PySINDy's feature names (``x0x0_1``, ``x0^2x0_11``, ``1``) in deepmod's term names."""
    if name == "1":
        return "1"
    parts = []
    cut = name.rfind("x0_")
    head, deriv = (name[:cut], name[cut:]) if cut >= 0 else (name, "")
    if head:
        match = re.fullmatch(r"x0(?:\^(\d+))?", head)
        if match is None:
            raise ValueError(f"unexpected PySINDy feature name {name!r}")
        parts.append("u" if match.group(1) is None else f"u^{match.group(1)}")
    if deriv:
        parts.append("u_" + "x" * (len(deriv) - 3))
    return "*".join(parts)


def _pysindy_worker(jobs_file: str) -> None:  # pragma: no cover - runs in PySINDy's environment
    import warnings

    import numpy as np
    import pysindy as ps

    warnings.filterwarnings("ignore")
    for job in json.loads(Path(jobs_file).read_text()):
        data = np.load(job["file"])
        t, x, u = data["t"], data["x"], data["u"].T[:, :, None]  # PySINDy: (x, t, field)
        grid = np.stack(np.meshgrid(x, t, indexing="ij"), axis=-1)
        truth, order = job["truth"], job["derivative_order"]

        def poly() -> Any:
            return ps.PolynomialLibrary(degree=2, include_bias=False)

        def fit(
            library: Any,
            threshold: float,
            normalise: bool,
            alpha: float = 0.05,
            u: Any = u,
            dt: float = float(t[1] - t[0]),
        ) -> tuple[dict[str, float], float]:
            optimiser = ps.STLSQ(threshold=threshold, alpha=alpha, normalize_columns=normalise)
            model = ps.SINDy(feature_library=library, optimizer=optimiser)
            start = time.process_time()
            model.fit(u, t=dt)
            seconds = time.process_time() - start
            coef = np.asarray(model.coefficients())[0]
            names = model.get_feature_names()
            return {_pysindy_name(n): float(c) for n, c in zip(names, coef, strict=True) if c != 0}, seconds

        def fd(x: Any = x, order: int = order) -> Any:
            return ps.PDELibrary(function_library=poly(), derivative_order=order, spatial_grid=x, include_bias=True)

        def weak(grid: Any = grid, order: int = order) -> Any:
            return ps.WeakPDELibrary(
                function_library=poly(), derivative_order=order, spatiotemporal_grid=grid, include_bias=True, K=100
            )

        rows = []
        for label, make in (("PySINDy PDE-FIND", fd), ("PySINDy weak", weak)):
            found, seconds = fit(make(), 0.1, True)
            rows.append((label, found, seconds))
        best: tuple[str, dict[str, float], float] | None = None
        best_err, total = np.inf, 0.0
        sweep = [(n, a, th) for n in (False, True) for a in (0.05, 1e-5) for th in np.logspace(-4, 1, 21)]
        for normalise, alpha, threshold in sweep:
            found, seconds = fit(weak(), float(threshold), normalise, alpha)
            total += seconds
            ok, err = score(found, truth)
            if ok and err is not None and err < best_err:
                best, best_err = ("PySINDy weak, oracle", found, seconds), err
        rows.append(best if best is not None else ("PySINDy weak, oracle", {}, total / len(sweep)))
        for label, found, seconds in rows:
            print(json.dumps({"set": job["set"], "noise": job["noise"], "method": label, "found": found, "s": seconds}))


def _ensure_pysindy() -> Path:
    python = PYSINDY_ENV / "bin" / "python"
    if not python.exists():
        print(f"creating {PYSINDY_ENV} with pysindy (first run only) ...", file=sys.stderr)
        venv.create(PYSINDY_ENV, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "pysindy"], check=True)
    return python


# --------------------------------------------------------------------------- deepmod side


def _deepmod(clean: Any, truth: dict[str, float], levels: list[float]) -> list[dict[str, Any]]:
    """deepmod's weak and fd methods at every level (noise seed 0), through ``deepmod.ensemble.sweep``."""
    import deepmod
    from deepmod.ensemble.sweep import sweep

    table = sweep(clean, {"u_t": truth}, [deepmod.WeakForm(), deepmod.FiniteDifferences()], levels, seeds=(0,))
    return [
        {
            "set": "",
            "noise": r.level,
            "method": f"deepmod {r.method}",
            "found": r.equations.get("u_t", {}),
            "s": r.seconds,
        }
        for r in table.rows
    ]


def main_(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="0,0.01,0.05,0.1,0.25,0.5")
    parser.add_argument("--sets", default="burgers,kdv,ks")
    parser.add_argument("--no-pysindy", action="store_true", help="deepmod's rows only")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _pysindy_worker(args.worker)
        return 0

    import numpy as np

    from deepmod.data import add_noise, load

    levels = [float(v) for v in args.levels.split(",")]
    sets = args.sets.split(",")
    rows: list[dict[str, Any]] = []
    jobs = []
    with tempfile.TemporaryDirectory() as tmp:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(sets), desc="deepmod sweeps", leave=False, disable=not sys.stderr.isatty())
        for name in sets:
            file, coords, fields, truth = SETS[name]
            clean = load(SHARED / file, coords, fields)
            rows.extend({**row, "set": name} for row in _deepmod(clean, truth, levels))
            bar.update(1)
            for level in levels:
                data = add_noise(clean, level, seed=0) if level else clean
                path = Path(tmp) / f"{name}-{level}.npz"
                t, x = data.coords[data.coord_names[0]], data.coords[data.coord_names[1]]
                np.savez(path, t=t, x=x, u=data.fields["u"])
                order = max(len(term.split("_")[-1]) for term in truth if "_" in term)
                jobs.append({"set": name, "noise": level, "file": str(path), "truth": truth, "derivative_order": order})
        bar.close()
        if not args.no_pysindy:
            print("running PySINDy (about 10 minutes with the oracle sweep) ...", file=sys.stderr)
            python = _ensure_pysindy()
            jobs_file = Path(tmp) / "jobs.json"
            jobs_file.write_text(json.dumps(jobs))
            env = {**os.environ, "PYTHONPATH": ""}
            done = subprocess.run(
                [str(python), __file__, "--worker", str(jobs_file)],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
            if done.returncode != 0:
                print(done.stderr, file=sys.stderr)
                return 1
            rows.extend(json.loads(line) for line in done.stdout.splitlines() if line.startswith("{"))

    order = {"deepmod weak": 0, "deepmod fd": 1, "PySINDy PDE-FIND": 2, "PySINDy weak": 3, "PySINDy weak, oracle": 4}
    rows.sort(key=lambda r: (sets.index(r["set"]), r["noise"], order[r["method"]]))
    print("| data | noise | method | correct | max coef. error | CPU s |\n|---|---|---|---|---|---|")
    failures = 0
    for r in rows:
        ok, err = score(r["found"], SETS[r["set"]][3])
        shown = "-" if err is None else f"{err:.2%}"
        print(f"| {r['set']} | {r['noise']:.0%} | {r['method']} | {'yes' if ok else 'no'} | {shown} | {r['s']:.2f} |")
        failures += r["method"] == "deepmod weak" and not ok and _required(r["set"], r["noise"])
    return 1 if failures else 0


def _required(name: str, level: float) -> bool:
    """The acceptance line: weak correct up to 10 % everywhere, KdV and KS at 25 %, KS at 50 %."""
    return level <= 0.10 or (name in ("kdv", "ks") and level <= 0.25) or name == "ks"


if __name__ == "__main__":
    sys.exit(main_(sys.argv[1:]))
