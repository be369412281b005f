"""``deepmod upde``: a universal PDE, known terms plus a learned stencil and a reaction network, trained through
the solver and read back as symbols."""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

EXIT_INTERRUPTED = 130


def arguments(u: argparse.ArgumentParser, csv: Any, positive: Any, order: Any, ensemble_arguments: Any) -> None:
    """The ``upde`` command's arguments."""
    u.add_argument("data", help="grid data in t and one or two space coordinates: .npz, .mat, .nc/.h5 or .csv")
    u.add_argument("--coords", type=csv, required=True, help="coordinate arrays, time first: t,x; ALIAS=NAME renames")
    u.add_argument("--fields", type=csv, required=True, help="field arrays: u[,v]; ALIAS=NAME renames")
    u.add_argument("--dims", type=csv, help="axis order of grid fields, only when lengths are ambiguous")
    u.add_argument(
        "--known", action="append", default=[], help='a known part, e.g. "u_t = -u*u_x" (repeatable; none: all learned)'
    )
    u.add_argument(
        "--stencil",
        type=int,
        help="learn a stencil of this odd width (3 or 5); with neither --stencil nor --reaction both are learned, "
        "with one of them only that one (default width 3)",
    )
    u.add_argument("--reaction", action="store_true", help="learn a network of the local field values")
    u.add_argument("--poly-order", type=order(1, 5), default=None, help="highest power in recovered terms (default 3)")
    u.add_argument(
        "--segments", type=positive, help="multiple-shooting pieces (default: one per 20 sampling intervals)"
    )
    u.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    u.add_argument("--device", default="cpu", help="cpu or cuda: where the model trains")
    u.add_argument("--threads", type=positive, help="CPU threads for PyTorch (default: PyTorch's choice)")
    u.add_argument(
        "--max-iterations",
        type=positive,
        default=None,
        help="cap on each training stage: collocation (default 1000), Adam (200) and L-BFGS (100) through the solver",
    )
    u.add_argument("--output", help="write the result as JSON to this file")
    u.add_argument("--quiet", action="store_true", help="no progress bars")
    ensemble_arguments(u, positive)


def run(
    args: argparse.Namespace,
    show: Callable[[Any, str | None], None],
    ensemble: Callable[..., int],
    stop_on_signals: Callable[[threading.Event], AbstractContextManager[None]],
) -> int:
    """The ``upde`` command: one fit, or ``--ensemble N`` of them; ``show`` prints and saves the result."""
    import dataclasses

    import torch

    from deepmod.api import discover
    from deepmod.data.loaders import load
    from deepmod.equation import parse_equation
    from deepmod.errors import FitFailed, InputError
    from deepmod.method import RunControl, symbols_for
    from deepmod.pde import UniversalPDEMethod

    data = load(args.data, args.coords, args.fields, dims=args.dims)
    if data.n_space not in (1, 2) or not data.grid:
        raise InputError("deepmod upde needs grid data in t and one or two space coordinates")
    symbols = symbols_for(data)
    known = []
    for text in args.known:
        try:
            known.append(parse_equation(text, symbols))
        except ValueError as exc:
            raise InputError(f"--known '{text}': {exc}") from exc
    n_times = len(data.coords[data.coord_names[0]])
    if args.segments is not None and args.segments >= n_times:
        raise InputError(f"--segments must be below the number of time points ({n_times})")
    both = args.stencil is None and not args.reaction
    stencil = 3 if both else (args.stencil or 0)
    method = UniversalPDEMethod(
        known=known, stencil=stencil, reaction=both or args.reaction, segments=args.segments, progress=not args.quiet
    )
    if args.max_iterations is not None:
        cap = args.max_iterations
        method = dataclasses.replace(
            method,
            collocation_iterations=min(cap, method.collocation_iterations),
            adam_iterations=min(cap, method.adam_iterations),
            lbfgs_iterations=min(cap, method.lbfgs_iterations),
            refit_iterations=min(cap, method.refit_iterations),
        )
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    library = method.default_library(data, args.poly_order)
    if args.ensemble:
        return ensemble(args, data, dataclasses.replace(method, progress=False), library)
    stop = threading.Event()
    try:
        with stop_on_signals(stop):
            result = discover(data, method, library, seed=args.seed, device=args.device, control=RunControl(stop=stop))
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
