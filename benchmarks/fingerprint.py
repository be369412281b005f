"""Full-precision fingerprints of benchmark cells, to show a refactoring changes no result.

``record OUT.json [GROUP ...]`` runs the cells of the chosen groups (all by default) on one thread and writes
every equation at full precision; ``compare A.json B.json`` prints each cell whose selection differs or whose
coefficients move by more than 1e-6 relative, and exits non-zero if any does.

Groups:
- ``pysindy``: ``vs_pysindy.py``'s deepmod rows (``WeakForm()``, ``FiniteDifferences()``; Burgers, KdV, KS at
  0, 1, 5, 10, 25, 50 % noise, noise seed 0), through ``deepmod.ensemble.sweep`` as there.
- ``ensemble``: ``ensemble.py --pde-table``'s 20-member weak ensembles on the same sets at 100 % noise, noise
  seeds from ``--draws`` (default 0, 1).
- ``discovery`` and ``unseen``: run ``discovery.py --json`` and ``unseen.py --seeds 0,1 --json`` and compare
  their files with ``compare`` (they keep whole results).

Usage:  python benchmarks/fingerprint.py record OUT.json [pysindy] [ensemble] [--draws 0,1]
        python benchmarks/fingerprint.py compare BEFORE.json AFTER.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import torch

import deepmod
from deepmod.data.loaders import load
from deepmod.ensemble import Serial
from deepmod.ensemble.sweep import sweep

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SETS = {
    "burgers": ("burgers.mat", ["t", "x"], ["u=usol"], {"u*u_x": -1.0, "u_xx": 0.1}),
    "kdv": ("kdv.mat", ["t", "x"], ["u=usol"], {"u*u_x": -6.0, "u_xxx": -1.0}),
    "ks": ("kuramoto_sivishinky.mat", ["t=tt", "x"], ["u=uu"], {"u*u_x": -1.0, "u_xx": -1.0, "u_xxxx": -1.0}),
}
TOLERANCE = 1e-6


def pysindy_cells() -> dict[str, Any]:
    out = {}
    for name, (file, coords, fields, truth) in SETS.items():
        data = load(SHARED / file, coords, fields)
        levels = [0.0, 0.01, 0.05, 0.1, 0.25, 0.5]
        table = sweep(data, {"u_t": truth}, [deepmod.WeakForm(), deepmod.FiniteDifferences()], levels, seeds=(0,))
        for r in table.rows:
            out[f"{name} {r.method} {r.level}"] = r.equations
        print(f"pysindy {name} done", flush=True)
    return out


def ensemble_cells(draws: list[int]) -> dict[str, Any]:
    out = {}
    for name, (file, coords, fields, truth) in SETS.items():
        data = load(SHARED / file, coords, fields)
        table = sweep(data, {"u_t": truth}, [deepmod.WeakForm()], [1.0], draws, members=20, backend=Serial())
        for r in table.rows:
            out[f"{name} ensemble {r.seed}"] = r.equations
        print(f"ensemble {name} done", flush=True)
    return out


def equations_of(entry: Any) -> dict[str, dict[str, float]]:
    """A cell's equations: a sweep cell as it is, a saved Result's ``equations``."""
    return entry["equations"] if isinstance(entry, dict) and "equations" in entry else entry


def compare(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    problems = []
    for key in sorted(set(a) | set(b)):
        if key not in a or key not in b:
            problems.append(f"{key}: only in {'after' if key not in a else 'before'}")
            continue
        ea, eb = equations_of(a[key]), equations_of(b[key])
        for lhs in sorted(set(ea) | set(eb)):
            ta, tb = ea.get(lhs, {}), eb.get(lhs, {})
            if set(ta) != set(tb):
                problems.append(f"{key} {lhs}: terms {sorted(ta)} -> {sorted(tb)}")
                continue
            for term, value in ta.items():
                rel = abs(tb[term] - value) / max(abs(value), 1e-300)
                if not math.isfinite(rel) or rel > TOLERANCE:
                    problems.append(f"{key} {lhs} {term}: {value!r} -> {tb[term]!r} ({rel:.1e})")
    return problems


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["record", "compare"])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--draws", default="0,1")
    args = parser.parse_args(argv)
    if args.action == "compare":
        before, after = (json.loads(Path(f).read_text()) for f in args.files[:2])
        problems = compare(before, after)
        print("\n".join(problems) or f"{len(before)} cells: the same selection, coefficients within {TOLERANCE:g}")
        return 1 if problems else 0
    torch.set_num_threads(1)
    out_file, groups = args.files[0], args.files[1:] or ["pysindy", "ensemble"]
    cells: dict[str, Any] = {}
    if "pysindy" in groups:
        cells.update(pysindy_cells())
    if "ensemble" in groups:
        cells.update(ensemble_cells([int(s) for s in args.draws.split(",")]))
    Path(out_file).write_text(json.dumps(cells, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
