"""``--ensemble N`` on ``deepmod discover`` and ``deepmod ude``: the backend named on the command line, a
progress bar over the members, Ctrl-C that keeps what is finished."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from deepmod.cli.arguments import data_arguments

BACKENDS = ("auto", "serial", "process", "ray")


def add_arguments(p: argparse.ArgumentParser, positive: Any) -> None:
    """The ensemble's flags (and the backend's, which ``deepmod sweep`` shares)."""
    p.add_argument(
        "--ensemble",
        type=positive,
        metavar="N",
        help="run N members on bootstrap draws of the data: each term's inclusion, median and 95 %% interval",
    )
    p.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="the inclusion a term needs to be in the ensemble's model (default 0.5)",
    )
    backend_arguments(p, positive)


def backend_arguments(p: argparse.ArgumentParser, positive: Any) -> None:
    p.add_argument(
        "--backend",
        default="auto",
        help="where runs go: serial, process (worker processes, all cores), ray (pip install 'deepmod[ray]'); "
        "auto: process for deepmod and ude, serial for weak and fd (members faster than a process start)",
    )
    p.add_argument("--workers", type=positive, help="worker processes of the process backend (default: one per core)")
    p.add_argument("--ray-address", help="a Ray cluster's address (default: RAY_ADDRESS, else a local cluster)")


def backend(args: argparse.Namespace, method_name: str) -> Any:
    """The backend object named by ``--backend``."""
    from deepmod.ensemble import Processes, Ray, Serial
    from deepmod.errors import InputError

    name = args.backend
    if name not in BACKENDS:
        raise InputError(f"unknown backend '{name}': choose one of {', '.join(BACKENDS)}")
    if name == "auto":
        name = "process" if method_name in ("deepmod", "ude", "upde") else "serial"
    if name == "ray":
        return Ray(address=args.ray_address)
    if args.ray_address:
        raise InputError("--ray-address is for --backend ray")
    return Processes(workers=args.workers) if name == "process" else Serial()


class MemberBar:
    """A tqdm bar that counts finished members (silent off a terminal)."""

    def __init__(self, total: int, quiet: bool, desc: str = "ensemble") -> None:
        from tqdm.auto import tqdm

        self._bar = tqdm(total=total, desc=desc, unit="member", leave=False, disable=quiet or not sys.stderr.isatty())

    def __call__(self, *_: Any) -> None:
        self._bar.update(1)

    def close(self) -> None:
        self._bar.close()


def run(args: argparse.Namespace, data: Any, method: Any, library: Any, control: Any) -> Any:
    """The ensemble of ``method`` on ``data`` as the command line asked for it."""
    from deepmod.ensemble import THRESHOLD, ensemble
    from deepmod.errors import InputError

    threshold = THRESHOLD if args.threshold is None else args.threshold
    if not 0.0 < threshold <= 1.0:
        raise InputError(f"--threshold must be in (0, 1], got {threshold}")
    bar = MemberBar(args.ensemble, args.quiet)
    try:
        return ensemble(
            data,
            method,
            library,
            members=args.ensemble,
            threshold=threshold,
            backend=backend(args, method.name),
            seed=args.seed,
            device=args.device,
            on_member=bar,
            control=control,
        )
    finally:
        bar.close()


def interrupted_line(result: Any, output: str | None) -> str:
    """What an ensemble stopped by Ctrl-C says."""
    settings = result.settings["ensemble"]
    saved = f"; they are in {output}" if output else ""
    return f"deepmod: interrupted: {settings['finished']} of {settings['members']} members finished{saved}"


def sweep_arguments(s: argparse.ArgumentParser, csv: Any, positive: Any) -> None:
    data_arguments(s, "clean data: .npz, .mat, .nc/.h5 or .csv (noise is added per cell)")
    s.add_argument(
        "--truth", action="append", required=True, help='the true equation, "u_t = 0.1*u_xx - u*u_x" (one per field)'
    )
    s.add_argument(
        "--noise", type=csv, default=["0", "0.01", "0.05", "0.1"], help="noise levels (default 0,0.01,0.05,0.1)"
    )
    s.add_argument("--seeds", type=positive, default=3, help="noise seeds per level: 0..N-1 (default 3)")
    s.add_argument("--methods", type=csv, default=["weak", "fd"], help="methods to compare (default weak,fd)")
    s.add_argument("--poly-order", type=int, default=None, help="highest power of the fields (each method's own)")
    s.add_argument("--diff-order", type=int, default=None, help="highest spatial derivative (each method's own)")
    s.add_argument("--ensemble", type=positive, metavar="N", help="an ensemble of N members per cell")
    s.add_argument("--output", help="write the rows as JSON")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    backend_arguments(s, positive)


def sweep(args: argparse.Namespace, make_method: Callable[[str], Any], control: Any) -> int:
    """The ``sweep`` command: the table on stdout (and the rows as JSON)."""
    import dataclasses
    import json

    from deepmod._io import atomic_write_text
    from deepmod.data.loaders import load
    from deepmod.ensemble.sweep import sweep as run_sweep
    from deepmod.equation import parse_equation
    from deepmod.errors import InputError
    from deepmod.method import symbols_for

    data = load(args.data, args.coords, args.fields, dims=args.dims)
    truth = {}
    for text in args.truth:
        try:
            eq = parse_equation(text, symbols_for(data))
        except ValueError as exc:
            raise InputError(f"--truth '{text}': {exc}") from exc
        truth[eq.lhs] = dict(eq.coefficients)
    try:
        levels = [float(v) for v in args.noise]
    except ValueError as exc:
        raise InputError(f"--noise takes numbers, not {','.join(args.noise)}") from exc
    methods = [make_method(name) for name in args.methods]
    slow = "deepmod" if any(m.name == "deepmod" for m in methods) else "weak"
    bar = MemberBar(len(methods) * len(levels) * args.seeds, args.quiet, desc="sweep")
    try:
        table = run_sweep(
            data,
            truth,
            methods,
            levels,
            range(args.seeds),
            members=args.ensemble or 0,
            poly_order=args.poly_order,
            diff_order=args.diff_order,
            backend=backend(args, slow),
            on_row=bar,
            control=control,
        )
    finally:
        bar.close()
    print(table.text())
    if args.output:
        atomic_write_text(args.output, json.dumps([dataclasses.asdict(r) for r in table.rows], indent=1) + "\n")
    return 130 if table.interrupted else 0
