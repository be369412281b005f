"""``deepmod ude``: a universal ODE, known terms plus a network, then symbolic recovery of the network's part."""

from __future__ import annotations

import argparse
from typing import Any


def known_equations(texts: list[str], symbols: Any) -> list[Any]:
    """``--known`` texts parsed against the data's symbols (one line and status 2 for a bad one)."""
    from deepmod.equation import parse_equation
    from deepmod.errors import InputError

    known = []
    for text in texts:
        try:
            known.append(parse_equation(text, symbols))
        except ValueError as exc:
            raise InputError(f"--known '{text}': {exc}") from exc
    return known


def training_settings(method: Any, args: argparse.Namespace, n_times: int, stages: tuple[str, ...]) -> Any:
    """``--segments`` checked against the record, ``--max-iterations`` applied to each of ``stages`` (names of
    the method's iteration settings), ``--threads`` set; returns the method."""
    import dataclasses

    import torch

    from deepmod.errors import InputError

    if args.segments is not None and args.segments >= n_times:
        raise InputError(f"--segments must be below the number of time points ({n_times})")
    if args.max_iterations is not None:
        cap = args.max_iterations
        method = dataclasses.replace(method, **{s: min(cap, getattr(method, s)) for s in stages})
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    return method


def run(args: argparse.Namespace, show: Any, ensemble: Any) -> int:
    """The ``ude`` command: a single fit, or ``--ensemble N`` of them (``ensemble``); ``show`` prints it."""
    import dataclasses

    from deepmod.api import discover
    from deepmod.data.loaders import load
    from deepmod.errors import FitFailed, InputError
    from deepmod.method import symbols_for
    from deepmod.ode import UDE

    data = load(args.data, args.coords, args.fields)
    if data.n_space != 0:
        raise InputError(f"deepmod ude needs t as the only coordinate, got {', '.join(data.coord_names)}")
    symbols = symbols_for(data)
    known = known_equations(args.known, symbols)
    method = UDE(known=known, segments=args.segments, progress=not args.quiet)
    stages = ("collocation_iterations", "adam_iterations", "lbfgs_iterations")
    method = training_settings(method, args, len(data.coords[data.coord_names[0]]), stages)
    if args.ensemble:
        library = method.default_library(data, args.poly_order)
        return ensemble(args, data, dataclasses.replace(method, progress=False), library)
    try:
        library = method.default_library(data, args.poly_order)
        result = discover(data, method, library, seed=args.seed, device=args.device)
    except FitFailed as exc:  # the best finite model is still written; the one line and status 2 follow
        if args.output:
            exc.result.save(args.output)
        raise
    show(result, args.output)
    return 0
