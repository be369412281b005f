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


def universal_method(name: str, args: argparse.Namespace, n_times: int, **settings: Any) -> Any:
    """The registry's method ``name`` (``ude``, ``upde``) with the command's flags (the iteration cap, progress
    bars) and ``settings`` (the known parts, the form); ``--segments`` checked against the record,
    ``--threads`` set."""
    import dataclasses

    import torch

    from deepmod.cli.registry import Options, build_method
    from deepmod.errors import InputError

    if args.segments is not None and args.segments >= n_times:
        raise InputError(f"--segments must be below the number of time points ({n_times})")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    return dataclasses.replace(build_method(name, Options.of(args)), **settings)  # type: ignore[type-var]


def run(args: argparse.Namespace, show: Any, ensemble: Any) -> int:
    """The ``ude`` command: a single fit, or ``--ensemble N`` of them (``ensemble``); ``show`` prints it."""
    import dataclasses

    from deepmod.api import discover
    from deepmod.data.loaders import load
    from deepmod.errors import FitFailed, InputError
    from deepmod.method import symbols_for

    data = load(args.data, args.coords, args.fields)
    if data.n_space != 0:
        raise InputError(f"deepmod ude needs t as the only coordinate, got {', '.join(data.coord_names)}")
    symbols = symbols_for(data)
    known = known_equations(args.known, symbols)
    n_times = len(data.coords[data.coord_names[0]])
    method = universal_method("ude", args, n_times, known=known, segments=args.segments)
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
