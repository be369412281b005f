"""``--ensemble N`` on ``deepmod discover`` and ``deepmod ude``: the backend named on the command line, a
progress bar over the members, Ctrl-C that keeps what is finished."""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any

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
        name = "process" if method_name in ("deepmod", "ude") else "serial"
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


def run(args: argparse.Namespace, data: Any, method: Any, library: Any, stop: threading.Event) -> Any:
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
            stop=stop,
        )
    finally:
        bar.close()


def interrupted_line(result: Any, output: str | None) -> str:
    """What an ensemble stopped by Ctrl-C says."""
    settings = result.settings["ensemble"]
    saved = f"; they are in {output}" if output else ""
    return f"deepmod: interrupted: {settings['finished']} of {settings['members']} members finished{saved}"
