"""deepmod against DeePyMoD on DeePyMoD's own standard Burgers task, measured side by side in one run.

The task is DeePyMoD's Burgers notebook (``examples/PDE_Burgers.ipynb``): the analytic solution from a delta
peak (viscosity 0.1, amplitude 1) on x in [-3, 4] (100 points) and t in [0.5, 5] (50 points), 5 % noise,
2,000 random samples, 80/20 train/test split, a 4 x 50 tanh network, ``Library1D(poly_order=2,
diff_order=3)``, ``Threshold(0.1)``, ``TrainTestPeriodic(periodicity=25, patience=200, delta=1e-5)``,
``LeastSquares()``, Adam (lr 2e-3, betas (0.99, 0.99), amsgrad), convergence ``delta=1e-4, patience=200``.

1. DeePyMoD runs in its own virtual environment (``benchmarks/.venv-deepymod``, made on first use with
   ``pip install deepymod "setuptools<81" torch==2.13.0``), builds the data set exactly as its notebook does,
   writes its 2,000 noisy samples to an ``.npz`` file (scattered data: 1-D arrays ``t``, ``x``, ``u``) and
   trains.
2. ``deepmod discover`` runs on that file with its default settings (``--threads`` as given), three times:
   with an empty compile cache ("1st": the fused Taylor-mode kernels are compiled, as on a new machine),
   again ("deepmod": compiled kernels found in the cache, as on every later run), and with ``--no-fuse``
   (nothing compiled).

Both run as child processes with one thread by default (the issue's setting; ``--threads``); each one's CPU
time is the child's user + system time from the operating system (start-up, imports and data loading
included for both; DeePyMoD's training loop alone is printed too). "correct" = exactly ``u*u_x`` and ``u_xx`` with
every coefficient within 5 % of (-1, 0.1).

Usage:  python benchmarks/vs_deepymod.py [--threads 1] [--no-deepymod SAMPLES.npz] [--device cuda]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEEPYMOD_ENV = ROOT / "benchmarks" / ".venv-deepymod"
TRUTH = {"u*u_x": -1.0, "u_xx": 0.1}
# DeePyMoD's Library1D column order: [1, u, u^2] x [1, u_x, u_xx, u_xxx], derivative fastest
DEEPYMOD_TERMS = [
    "*".join(p for p in (poly, deriv) if p) or "1"
    for poly in ("", "u", "u^2")
    for deriv in ("", "u_x", "u_xx", "u_xxx")
]


def score(found: dict[str, float]) -> tuple[bool, float | None]:
    """Whether the terms are exactly the true ones and all within 5 %, and the largest relative error."""
    if set(found) != set(TRUTH):
        return False, None
    err = max(abs(found[k] - v) / abs(v) for k, v in TRUTH.items())
    return err <= 0.05, err


# --------------------------------------------------------------------------- DeePyMoD side (own environment)


def _deepymod_worker(samples_file: str, result_file: str, threads: int, device: str = "cpu") -> None:
    """DeePyMoD's Burgers notebook, verbatim in its settings; writes the samples and the found equation."""
    import numpy as np
    import torch

    torch.set_num_threads(threads)
    import deepymod.training.training as training_module
    from deepymod import DeepMoD
    from deepymod.data import Dataset, get_train_test_loader
    from deepymod.data.burgers import burgers_delta
    from deepymod.data.samples import Subsample_random
    from deepymod.model.constraint import LeastSquares
    from deepymod.model.func_approx import NN
    from deepymod.model.library import Library1D
    from deepymod.model.sparse_estimators import Threshold
    from deepymod.training import train
    from deepymod.training.sparsity_scheduler import TrainTestPeriodic

    np.random.seed(42)  # noqa: NPY002 - DeePyMoD draws its samples and split from the legacy global state
    torch.manual_seed(0)
    x = torch.linspace(-3, 4, 100)
    t = torch.linspace(0.5, 5.0, 50)
    dataset = Dataset(
        burgers_delta,
        load_kwargs={"x": x, "t": t, "v": 0.1, "A": 1.0},
        preprocess_kwargs={"noise_level": 0.05},
        subsampler=Subsample_random,
        subsampler_kwargs={"number_of_samples": 2000},
        device=device,
    )
    coords, data = dataset.get_coords().cpu().numpy(), dataset.get_data().cpu().numpy()
    np.savez(samples_file, t=coords[:, 0], x=coords[:, 1], u=data[:, 0])
    train_loader, test_loader = get_train_test_loader(dataset, train_test_split=0.8)

    iterations = [0]

    class CountingConvergence(training_module.Convergence):  # type: ignore[misc,name-defined]
        def __call__(self, iteration: Any, l1_norm: Any) -> bool:
            iterations[0] = int(iteration) + 1
            return bool(super().__call__(iteration, l1_norm))

    training_module.Convergence = CountingConvergence
    network = NN(2, [50, 50, 50, 50], 1)
    library = Library1D(poly_order=2, diff_order=3)
    estimator = Threshold(0.1)
    scheduler = TrainTestPeriodic(periodicity=25, patience=200, delta=1e-5)
    constraint = LeastSquares()
    model = DeepMoD(network, library, estimator, constraint).to(device)
    optimizer = torch.optim.Adam(model.parameters(), betas=(0.99, 0.99), amsgrad=True, lr=2e-3)
    with tempfile.TemporaryDirectory() as logs:
        start = time.process_time()
        train(
            model,
            train_loader,
            test_loader,
            optimizer,
            scheduler,
            log_dir=logs,
            max_iterations=100000,
            delta=1e-4,
            patience=200,
        )
        seconds = time.process_time() - start
    mask = model.sparsity_masks[0].cpu().numpy()
    coefs = model.constraint_coeffs(scaled=False, sparse=True)[0].detach().cpu().numpy().ravel()
    found = {name: float(c) for name, c, m in zip(DEEPYMOD_TERMS, coefs, mask, strict=True) if m and c != 0}
    Path(result_file).write_text(json.dumps({"equation": found, "seconds": seconds, "iterations": iterations[0]}))


def _ensure_deepymod() -> Path:
    python = DEEPYMOD_ENV / "bin" / "python"
    if not python.exists():
        print(f"creating {DEEPYMOD_ENV} (pip install deepymod) ...", file=sys.stderr)
        venv.create(DEEPYMOD_ENV, with_pip=True)
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, "torch==2.13.0"], check=True)
        subprocess.run([*pip, "deepymod", "setuptools<81", "torch==2.13.0"], check=True)
    return python


def _child_cpu(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run a child process; its CPU seconds (user + system), wall seconds and standard output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"{command[0]} failed with exit code {done.returncode}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, done.stdout


def _equation(found: dict[str, float]) -> str:
    return " + ".join(f"{c:.4g} {name}" for name, c in sorted(found.items())) or "0"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-deepymod", metavar="SAMPLES", help="skip DeePyMoD; run deepmod on these samples")
    parser.add_argument("--deepymod-python", help="an interpreter that imports deepymod (default: its own venv)")
    parser.add_argument("--device", default="cpu", help="cpu, or cuda for both tools (then wall time is compared)")
    args = parser.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)}
    env["TORCHINDUCTOR_COMPILE_THREADS"] = "1"  # compile in the process itself, so its CPU time is counted
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        samples = args.no_deepymod or str(Path(tmp) / "burgers_samples.npz")
        if not args.no_deepymod:
            python = Path(args.deepymod_python) if args.deepymod_python else _ensure_deepymod()
            result_file = str(Path(tmp) / "deepymod.json")
            code = (
                f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import vs_deepymod as b; "
                f"b._deepymod_worker({samples!r}, {result_file!r}, {args.threads}, {args.device!r})"
            )
            cpu, wall, _ = _child_cpu([str(python), "-c", code], env)
            found = json.loads(Path(result_file).read_text())
            rows.append(("DeePyMoD 2.2", found["equation"], found["iterations"], cpu, wall))
            print(f"DeePyMoD's training loop alone: {found['seconds']:.1f} CPU s", file=sys.stderr)
        cache = str(Path(tmp) / "inductor-cache")  # an empty compile cache: the first run compiles
        variants = [
            ("deepmod, 1st", {"TORCHINDUCTOR_CACHE_DIR": cache}, []),
            ("deepmod", {"TORCHINDUCTOR_CACHE_DIR": cache}, []),
            ("deepmod unfused", {}, ["--no-fuse"]),
        ]
        for name, extra_env, flags in variants:
            output = str(Path(tmp) / "deepmod.json")
            command = [
                str(Path(sys.executable).parent / "deepmod"),
                "discover",
                samples,
                "--coords",
                "t,x",
                "--fields",
                "u",
                "--threads",
                str(args.threads),
                "--device",
                args.device,
                "--quiet",
                "--output",
                output,
                *flags,
            ]
            cpu, wall, _ = _child_cpu(command, {**env, **extra_env})
            result = json.loads(Path(output).read_text())
            rows.append((name, result["equations"]["u_t"], result["iterations"], cpu, wall))
    print(f"DeePyMoD's Burgers task: 2,000 samples, 5 % noise, {args.threads} thread(s), {args.device}")
    print(f"{'tool':<13} {'correct':>7} {'max err':>8} {'iters':>6} {'CPU s':>7} {'wall s':>7}  equation")
    for name, found, iterations, cpu, wall in rows:
        ok, err = score(found)
        err_text = f"{100 * err:.2f}%" if err is not None else "-"
        print(
            f"{name:<13} {'yes' if ok else 'no':>7} {err_text:>8} {iterations:>6} {cpu:>7.1f} {wall:>7.1f}  "
            f"u_t = {_equation(found)}"
        )
    if not args.no_deepymod:
        gpu = args.device != "cpu"  # on a GPU the CPU time measures the launching thread only: compare wall time
        for name, _, _, cpu, wall in rows[1:]:
            ratio = wall / rows[0][4] if gpu else cpu / rows[0][3]
            print(f"{name} / DeePyMoD {'wall' if gpu else 'CPU'} time: {ratio:.3f}")
    if not all(score(row[1])[0] for row in rows if row[0].startswith("deepmod")):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
