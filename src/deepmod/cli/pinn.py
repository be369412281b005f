"""``deepmod pinn``: solve a PDE, or calibrate its unknown coefficients, with a physics-informed network.

Strings become objects here: the equation text (or a result file), the domain, the initial and boundary
conditions and the unknowns.
"""

from __future__ import annotations

import argparse
import dataclasses
import threading
from pathlib import Path
from typing import Any

import numpy as np

from deepmod.cli.arguments import data_arguments, run_arguments
from deepmod.cli.exits import EXIT_INTERRUPTED


def add_arguments(p: argparse.ArgumentParser, csv: Any) -> None:
    p.add_argument("equation", help='the PDE, "u_t = 0.01/pi*u_xx - u*u_x" (several: separate by ;), or a result JSON')
    p.add_argument("--domain", help="the box, time first: t=0:1,x=-1:1 (default: the data's)")
    p.add_argument(
        "--initial",
        default="data",
        help='initial values, "u = -sin(pi*x)" (; between fields), or data (none with scattered samples)',
    )
    p.add_argument("--boundary", default="data", help='periodic, values on every face "u = 0" (or "u_x = 0"), or data')
    p.add_argument("--data", help="a data file: the domain, the initial and boundary values, samples to fit")
    data_arguments(
        p,
        None,
        coords="the data's coordinate arrays, time first",
        fields="the data's field arrays",
        dims=False,
        required=False,
    )
    p.add_argument("--unknown", type=csv, default=[], help="coefficients to calibrate from the data: nu,a (or nu=0.1)")
    p.add_argument(
        "--grid", help="the output grid's points per coordinate: 101x256 (default: the data's, else 101x256)"
    )
    run_arguments(p, output=None, threads=False)
    p.add_argument(
        "--max-iterations",
        type=int,
        help="cap on each stage: Adam (default 2000), L-BFGS (8000), each bootstrap refit (500)",
    )
    p.add_argument(
        "--data-weight", type=float, default=10.0, help="the data loss's weight against the residual's (default 10)"
    )
    p.add_argument(
        "--float64", action="store_true", help="train in float64 (default: float32 to solve, float64 to calibrate)"
    )
    refine = "when float64 makes no progress, add points where the residual is largest (1.5-2.5 x the time)"
    p.add_argument("--refine", action="store_true", help=refine)
    p.add_argument("--output", required=True, help="the result JSON: equations, parameters with std, residual")
    p.add_argument("--solution", help="write the solved fields on the grid as .npz")
    p.add_argument("--checkpoint", help="where an interrupted run writes its state (default: OUTPUT.ckpt)")
    p.add_argument("--resume", help="go on from a checkpoint (same equation, data and options)")


def run(args: argparse.Namespace, stop_on_signals: Any, check_output: Any) -> int:
    """The ``pinn`` command: train, write the result (and the solution), print the equations and errors."""
    import torch

    from deepmod.control import RunControl
    from deepmod.data import save_npz
    from deepmod.errors import InputError
    from deepmod.pinn import PINN
    from deepmod.report.progress import ProgressBar

    check_output(args.output)
    if args.solution:
        check_output(args.solution)
    problem, data = _problem(args)
    checkpoint = args.checkpoint or f"{args.output}.ckpt"
    check_output(checkpoint)
    if args.resume and not Path(args.resume).is_file():
        raise InputError(f"the checkpoint '{args.resume}' does not exist or is not a file", options=("resume",))
    control = RunControl([] if args.quiet else [ProgressBar(desc="pinn")], threading.Event(), checkpoint, args.resume)
    if not args.data_weight > 0:
        raise InputError(f"--data-weight {args.data_weight}: give a positive weight")
    settings = PINN(dtype=torch.float64 if args.float64 else None, data_weight=args.data_weight, refine=args.refine)
    if args.max_iterations is not None:
        cap = max(1, args.max_iterations)
        settings = dataclasses.replace(
            settings,
            adam_iterations=min(cap, settings.adam_iterations),
            lbfgs_iterations=min(cap, settings.lbfgs_iterations),
            refit_iterations=min(cap, settings.refit_iterations),
        )
    with stop_on_signals(control):
        fit = settings.solve(problem, seed=args.seed, device=args.device, control=control)
    result = fit.result(reference=data)
    result.save(args.output)
    grid = _grid(args.grid, problem.box, data)
    if args.solution:
        save_npz(fit.on_grid(grid), args.solution)
    print(result)
    parameters: dict[str, dict[str, float]] = result.settings["parameters"]
    for name, p in parameters.items():
        print(f"{name} = {p['value']:.6g} +- {p['std']:.2g}")
    if "data_error" in result.settings:
        print(f"relative L2 error against the data: {result.settings['data_error']:.4g}")
    if fit.status == "interrupted":
        print(f"deepmod: interrupted; the result so far is written; continue with --resume {checkpoint}", flush=True)
        return EXIT_INTERRUPTED
    return 0


def _problem(args: argparse.Namespace) -> tuple[Any, Any]:
    from deepmod.data.loaders import load
    from deepmod.errors import InputError
    from deepmod.library import symbols_for
    from deepmod.pinn import Box, PinnProblem, Values
    from deepmod.terms import Symbols

    data = None
    if args.data:
        if not args.coords or not args.fields:
            raise InputError("--data needs --coords and --fields", options=("coords", "fields"))
        data = load(args.data, args.coords, args.fields)
    periodic = args.boundary == "periodic"
    box = _domain(args.domain) if args.domain else (Box.of(data, periodic) if data is not None else None)
    if box is None:
        raise InputError("give the domain (--domain t=0:1,x=-1:1) or data (--data)")
    texts, fields = _equation_texts(args.equation, box.names[0])
    if data is not None:
        symbols = symbols_for(data)
    else:
        try:
            symbols = Symbols(tuple(fields), tuple(box.names[1:]), box.names[0])
        except ValueError as exc:
            raise InputError(str(exc)) from exc
    unknowns = _unknowns(args.unknown)
    equations = tuple(_parametric(t, symbols, list(unknowns)) for t in texts)

    def condition(text: str, what: str) -> Any:
        if text == "data":
            if data is None:
                raise InputError(f"--{what} data needs --data", options=(what,))
            if not data.grid and unknowns:  # scattered samples: the inverse problem rests on them alone
                return None
            return data
        if text == "periodic" and what == "boundary":
            return "periodic"
        return [Values.parse(part, symbols) for part in text.split(";") if part.strip()]

    initial, boundary = condition(args.initial, "initial"), condition(args.boundary, "boundary")
    problem = PinnProblem(equations, symbols, box, initial, boundary, data if unknowns else None, unknowns)
    return problem, data


def _equation_texts(text: str, time: str) -> tuple[list[str], list[str]]:
    """The equations' texts (from the text, or from a result file) and the fields they are for."""
    from deepmod.errors import InputError
    from deepmod.result import Result

    if text.endswith(".json") or Path(text).is_file():
        result = Result.load(text)
        texts = [_as_arithmetic(e) for e in result.equations]
    else:
        texts = [part.strip() for part in text.split(";") if part.strip()]
    fields = []
    for t in texts:
        lhs = t.partition("=")[0].strip()
        if not lhs.endswith(f"_{time}"):
            raise InputError(f"'{t}': the left-hand side must be a field's {time}-derivative, e.g. u_{time}")
        fields.append(lhs[: -len(time) - 1])
    return texts, fields


def _as_arithmetic(equation: Any) -> str:
    """``u_t = 0.1*u_xx + -1.0*u*u_x``: a result's equation as text the parser reads back exactly."""
    parts = [f"({c!r})*{n}" if n != "1" else f"({c!r})" for n, c in equation.coefficients.items()]
    return f"{equation.lhs} = {' + '.join(parts) or '0'}"


def _parametric(text: str, symbols: Any, unknowns: list[str]) -> Any:
    from deepmod.equation import parse_parametric
    from deepmod.errors import InputError

    try:
        return parse_parametric(text, symbols, unknowns)
    except ValueError as exc:
        raise InputError(f"'{text}': {exc}") from exc


def _unknowns(items: list[str]) -> dict[str, float]:
    from deepmod.errors import InputError

    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            out[name.strip()] = float(value) if sep else 0.0
        except ValueError as exc:
            raise InputError(f"--unknown '{item}': write NAME or NAME=START, e.g. nu=0.1") from exc
    return out


def _domain(text: str) -> Any:
    from deepmod.errors import InputError
    from deepmod.pinn import Box

    names, lower, upper = [], [], []
    for part in text.split(","):
        name, sep, span = part.partition("=")
        lo, colon, hi = span.partition(":")
        try:
            if not sep or not colon:
                raise ValueError
            lower.append(float(lo))
            upper.append(float(hi))
        except ValueError as exc:
            raise InputError(f"--domain '{part}': write NAME=LOW:HIGH, e.g. t=0:1,x=-1:1") from exc
        names.append(name.strip())
    return Box(tuple(names), tuple(lower), tuple(upper))


def _grid(text: str | None, box: Any, data: Any) -> dict[str, np.ndarray]:
    from deepmod.errors import InputError

    if text is None and data is not None and data.grid:
        return {n: np.asarray(data.coords[n]) for n in data.coord_names}
    counts = [101] + [256 if len(box.names) == 2 else 64] * (len(box.names) - 1)
    if text is not None:
        try:
            counts = [int(k) for k in text.lower().split("x")]
        except ValueError as exc:
            raise InputError(f"--grid '{text}': write points per coordinate, e.g. 101x256") from exc
        if len(counts) != len(box.names) or min(counts) < 2:
            raise InputError(f"--grid needs {len(box.names)} counts of at least 2, e.g. 101x256")
    return {n: np.linspace(lo, hi, k) for n, lo, hi, k in zip(box.names, box.lower, box.upper, counts, strict=True)}
