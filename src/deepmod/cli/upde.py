"""``deepmod upde``: a universal PDE, known terms plus a learned stencil and a reaction network, trained through
the solver and read back as symbols."""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deepmod.control import RunControl


def run(
    args: argparse.Namespace,
    show: Callable[[Any, str | None], None],
    ensemble: Callable[..., int],
    stop_on_signals: Callable[[RunControl], AbstractContextManager[None]],
) -> int:
    """The ``upde`` command: one fit, or ``--ensemble N`` of them; ``show`` prints and saves the result."""
    import dataclasses

    from deepmod.api import discover
    from deepmod.cli.exits import EXIT_INTERRUPTED
    from deepmod.cli.ude import known_equations, universal_method
    from deepmod.control import RunControl
    from deepmod.data.loaders import load
    from deepmod.errors import FitFailed, InputError
    from deepmod.method import symbols_for

    data = load(args.data, args.coords, args.fields, dims=args.dims)
    if data.n_space not in (1, 2) or not data.grid:
        raise InputError("deepmod upde needs grid data in t and one or two space coordinates")
    symbols = symbols_for(data)
    known = known_equations(args.known, symbols)
    both = args.stencil is None and not args.reaction
    stencil = 3 if both else (args.stencil or 0)
    n_times = len(data.coords[data.coord_names[0]])
    form = {"stencil": stencil, "reaction": both or args.reaction, "segments": args.segments}
    method = universal_method("upde", args, n_times, known=known, **form)
    library = method.default_library(data, args.poly_order)
    if args.ensemble:
        return ensemble(args, data, dataclasses.replace(method, progress=False), library)
    control = RunControl(stop=threading.Event())
    try:
        with stop_on_signals(control):
            result = discover(data, method, library, seed=args.seed, device=args.device, control=control)
    except FitFailed as exc:
        if args.output:
            exc.result.save(args.output)
        raise
    show(result, args.output)
    if result.status == "interrupted":
        saved = f"; the model read back so far is in {args.output}" if args.output else ""
        print(f"deepmod: interrupted during training{saved}", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0
