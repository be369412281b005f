"""SINDy for time series: deepmod's weak and fd methods against PySINDy 2 on the same noisy records.

Records (Gaussian noise, std = level x std(state), seed 0): the built-in Lorenz record (1,001 points over
[0, 10]) at 1 and 5 %; the built-in Lotka-Volterra system over its own span [0, 3] (less than one period)
with 41 points at 1 and 10 %; the same system over [0, 12] (about two periods) with 121 points at 10 %.

- deepmod: ``deepmod.discover(data, deepmod.WeakForm())`` and ``FiniteDifferences()`` with their defaults
  (as ``deepmod discover --method weak`` / ``fd``): polynomials of degree 2 with the constant.
- PySINDy 2.1, its defaults but the library: ``SINDy(feature_library=PolynomialLibrary(degree=2))`` with
  STLSQ (threshold 0.1) on finite differences ("PySINDy"), and ``WeakPDELibrary`` (``K=100`` subdomains,
  the same polynomials, constant included) with STLSQ ("PySINDy weak").

PySINDy runs in its own virtual environment (``benchmarks/.venv-pysindy``, made on first use, as for
``vs_pysindy.py``). "correct" = exactly the true terms and every coefficient within 10 %. Seconds: the fit.

Usage:  python benchmarks/vs_pysindy_ode.py [--no-pysindy]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from unseen import score  # exact terms and every coefficient within 10 %
from vs_pysindy import _ensure_pysindy

Truth = dict[str, dict[str, float]]


def _records() -> list[tuple[str, Any, float]]:
    from deepmod.data.synthetic import lorenz, lotka_volterra

    return [
        ("Lorenz, 1,001 points", lorenz(), 0.01),
        ("Lorenz, 1,001 points", lorenz(), 0.05),
        ("Lotka-Volterra [0, 3], 41 points", lotka_volterra(t=np.linspace(0.0, 3.0, 41)), 0.01),
        ("Lotka-Volterra [0, 3], 41 points", lotka_volterra(t=np.linspace(0.0, 3.0, 41)), 0.10),
        ("Lotka-Volterra [0, 12], 121 points", lotka_volterra(t=np.linspace(0.0, 12.0, 121)), 0.10),
    ]


WORKER = r"""
import json, sys, time, warnings
import numpy as np
import pysindy as ps
warnings.filterwarnings("ignore")
out = []
for job in json.loads(open(sys.argv[1]).read()):
    d = np.load(job["file"])
    t, x = d["t"], np.stack([d[n] for n in job["states"]], axis=1)
    for label in ("PySINDy", "PySINDy weak"):
        if label == "PySINDy":
            library = ps.PolynomialLibrary(degree=2)
        else:
            library = ps.WeakPDELibrary(
                function_library=ps.PolynomialLibrary(degree=2, include_bias=False), spatiotemporal_grid=t,
                include_bias=True, K=100,
            )
        model = ps.SINDy(feature_library=library, optimizer=ps.STLSQ(threshold=0.1))
        start = time.process_time()
        try:
            model.fit(x, t=t, feature_names=job["states"])
            names = [n.replace(" ", "*") for n in model.get_feature_names()]
            found = {f"{s}_t": {n: float(c) for n, c in zip(names, row) if c != 0}
                     for s, row in zip(job["states"], np.asarray(model.coefficients()))}
        except Exception as exc:
            found = {"error": str(exc)[:80]}
        out.append({"key": job["key"], "method": label, "found": found, "s": time.process_time() - start})
print(json.dumps(out))
"""


def _canonical(name: str) -> str:
    """PySINDy's ``x y`` / ``x^2`` / ``1`` names as deepmod's (factors sorted as deepmod sorts them)."""
    return "*".join(sorted(name.split("*"))) if name != "1" else name


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-pysindy", action="store_true")
    args = parser.parse_args(argv)
    import deepmod
    from deepmod.data import add_noise, save_npz

    rows: list[tuple[str, str, dict[str, dict[str, float]], float, Truth]] = []
    jobs = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, (name, system, level) in enumerate(_records()):
            key = f"{name}, {level:.0%}"
            data = add_noise(system.data, level, seed=0)
            for label, method in (("deepmod weak", deepmod.WeakForm()), ("deepmod fd", deepmod.FiniteDifferences())):
                start = time.process_time()
                result = deepmod.discover(data, method)
                rows.append((key, label, result.coefficients, time.process_time() - start, system.truth))
            file = Path(tmp) / f"r{k}.npz"
            save_npz(data, file)
            jobs.append({"key": key, "file": str(file), "states": list(data.field_names), "truth": system.truth})
        if not args.no_pysindy:
            python = _ensure_pysindy()
            (Path(tmp) / "jobs.json").write_text(json.dumps(jobs))
            (Path(tmp) / "worker.py").write_text(WORKER)
            done = subprocess.run(
                [str(python), str(Path(tmp) / "worker.py"), str(Path(tmp) / "jobs.json")],
                capture_output=True,
                text=True,
                check=True,
            )
            truths = {j["key"]: j["truth"] for j in jobs}
            for r in json.loads(done.stdout.strip().splitlines()[-1]):
                found = {lhs: {_canonical(n): c for n, c in terms.items()} for lhs, terms in r["found"].items()}
                rows.append((r["key"], r["method"], found, r["s"], truths[r["key"]]))
    print(f"{'record':40} {'method':14} {'correct':>7} {'max err':>8} {'s':>6}  found")
    for key, label, found, seconds, truth in sorted(rows, key=lambda r: r[0]):
        ok, err = score(found, truth) if "error" not in found else (False, float("nan"))
        text = " ; ".join(f"{lhs} = " + " + ".join(f"{c:.4g} {t}" for t, c in v.items()) for lhs, v in found.items())
        print(f"{key:40} {label:14} {'yes' if ok else 'NO':>7} {err:8.2%} {seconds:6.2f}  {text[:150]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
