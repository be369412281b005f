"""``deepmod ude``: a universal ODE, known terms plus a network, then symbolic recovery of the network's part."""

from __future__ import annotations

import argparse
from typing import Any


def run(args: argparse.Namespace, show: Any, ensemble: Any) -> int:
    """The ``ude`` command: a single fit, or ``--ensemble N`` of them (``ensemble``); ``show`` prints it."""
    import dataclasses

    import torch

    from deepmod.api import discover
    from deepmod.data.loaders import load
    from deepmod.equation import parse_equation
    from deepmod.errors import FitFailed, InputError
    from deepmod.method import symbols_for
    from deepmod.ode import UDE

    data = load(args.data, args.coords, args.fields)
    if data.n_space != 0:
        raise InputError(f"deepmod ude needs t as the only coordinate, got {', '.join(data.coord_names)}")
    symbols = symbols_for(data)
    known = []
    for text in args.known:
        try:
            known.append(parse_equation(text, symbols))
        except ValueError as exc:
            raise InputError(f"--known '{text}': {exc}") from exc
    n_times = len(data.coords[data.coord_names[0]])
    if args.segments >= n_times:
        raise InputError(f"--segments must be below the number of time points ({n_times})")
    method = UDE(known=known, segments=args.segments, progress=not args.quiet)
    if args.max_iterations is not None:
        cap = args.max_iterations
        method = dataclasses.replace(
            method,
            collocation_iterations=min(cap, method.collocation_iterations),
            adam_iterations=min(cap, method.adam_iterations),
            lbfgs_iterations=min(cap, method.lbfgs_iterations),
        )
    if args.threads is not None:
        torch.set_num_threads(args.threads)
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
