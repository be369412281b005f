"""``deepmod coarsen``: learn a coarse discretization of a known 1-D periodic equation from fine-grid runs, and
compare its rollouts with the Fornberg stencils of the same width on the same coarse grid."""

from __future__ import annotations

import argparse
import json
from typing import Any

from deepmod.cli.arguments import data_arguments


def arguments(c: argparse.ArgumentParser, csv: Any, positive: Any) -> None:
    """The ``coarsen`` command's arguments."""
    c.add_argument(
        "data", nargs="+", help="fine-grid runs, one file each, of one field on a periodic grid in t, x (the same grid)"
    )
    data_arguments(c, None, coords="t,x", fields="the field: u", dims=False)
    c.add_argument("--equation", required=True, help='the known equation, e.g. "u_t = 0.01*u_xx - u*u_x"')
    c.add_argument("--factor", type=positive, default=4, help="coarsening factor (default 4)")
    c.add_argument("--width", type=positive, default=5, help="stencil width, odd (default 5)")
    c.add_argument(
        "--held-out",
        type=int,
        default=None,
        help="runs kept out of training and rolled out to measure the error (default: a quarter, at least 1)",
    )
    c.add_argument("--iterations", type=positive, default=None, help="Adam steps (default 3000)")
    c.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    c.add_argument("--output", required=True, help="JSON with the rollout errors")


def run(args: argparse.Namespace) -> int:
    """Train on the first runs, roll out the held-out ones with the learned and the Fornberg stencils."""
    import dataclasses

    from deepmod.data.loaders import load
    from deepmod.equation import parse_equation
    from deepmod.errors import InputError
    from deepmod.method import symbols_for
    from deepmod.pde.coarse import Coarsening

    runs = [load(path, args.coords, args.fields) for path in args.data]
    data = runs[0]
    held = max(1, len(runs) // 4) if args.held_out is None else args.held_out
    if not 1 <= held < len(runs):
        raise InputError(
            f"{len(runs)} runs were given: hold out between 1 and {len(runs) - 1} (--held-out); training and "
            "measuring need different runs, one file each"
        )
    if args.width % 2 == 0 or args.width < 3:
        raise InputError(f"--width must be an odd number of 3 or more, got {args.width}")
    symbols = symbols_for(data)
    try:
        equation = parse_equation(args.equation, symbols)
    except ValueError as exc:
        raise InputError(f"--equation '{args.equation}': {exc}") from exc
    method = Coarsening(factor=args.factor, width=args.width)
    if args.iterations is not None:
        method = dataclasses.replace(method, iterations=args.iterations)
    train = dataclasses.replace(runs[0], runs=tuple(runs[1 : len(runs) - held]))
    model = method.fit(train, equation, symbols, seed=args.seed)
    rows = [
        _rollouts(model, run_, len(runs) - held + k, args.factor) for k, run_ in enumerate(runs[len(runs) - held :])
    ]
    out = {
        "equation": equation.text(),
        "factor": args.factor,
        "width": args.width,
        "coarse_points": len(model.x),
        "training_seconds": model.seconds,
        "held_out": rows,
    }
    with open(args.output, "w") as f:
        json.dump(out, f, indent=2)
    for row in rows:
        print(
            f"run {row['run']}: relative error, learned {row['learned']:.4g}, Fornberg {row['fornberg']:.4g} "
            f"(width {args.width}, {len(model.x)} points)"
        )
    return 0


def _rollouts(model: Any, run_: Any, index: int, factor: int) -> dict[str, Any]:
    """One held-out run rolled out on the coarse grid with the learned and the Fornberg stencils."""
    import numpy as np

    from deepmod.pde.coarse import relative_error

    t = np.asarray(run_.coords[run_.coord_names[0]], dtype=np.float64)
    reference = np.asarray(run_.fields[run_.field_names[0]], dtype=np.float64)[:, ::factor]
    learned = model.rollout(reference[0], t, learned=True)
    fornberg = model.rollout(reference[0], t, learned=False)
    return {
        "run": index,
        "learned": relative_error(learned, reference),
        "fornberg": relative_error(fornberg, reference),
        "learned_stable": bool(np.isfinite(learned).all()),
        "fornberg_stable": bool(np.isfinite(fornberg).all()),
    }
