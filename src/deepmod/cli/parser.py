"""The ``deepmod`` command line's arguments: names, types, defaults and help (no behaviour)."""

from __future__ import annotations

import argparse

from deepmod._version import __version__
from deepmod.cli import coarsen
from deepmod.cli.arguments import csv as _csv
from deepmod.cli.arguments import data_arguments, run_arguments
from deepmod.cli.arguments import order as _order
from deepmod.cli.arguments import positive as _positive
from deepmod.cli.ensemble import add_arguments as ensemble_arguments
from deepmod.cli.ensemble import sweep_arguments
from deepmod.cli.exits import EXIT_USAGE
from deepmod.cli.registry import methods_help


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"deepmod: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``deepmod`` parser with its subcommands."""
    parser = _Parser(prog="deepmod", description="Find the differential equation behind measured data.")
    parser.add_argument("--version", action="version", version=f"deepmod {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    _discover_arguments(sub.add_parser("discover", help="discover the equation behind a data file"))
    _upde_arguments(
        sub.add_parser(
            "upde",
            help="universal PDE: known terms plus a learned stencil and reaction network, read back as symbols",
        )
    )
    coarsen.arguments(
        sub.add_parser("coarsen", help="learn a coarse discretization of a known equation from fine-grid runs"),
        _csv,
        _positive,
    )
    _ude_arguments(
        sub.add_parser(
            "ude", help="universal ODE: known terms plus a network, then symbolic recovery of the network's part"
        )
    )
    m = sub.add_parser("simulate", help="simulate a discovered model and compare it with the data")
    _simulation_arguments(m)
    m.add_argument("--output", help="write the simulated fields as .npz")
    _report_arguments(
        sub.add_parser("report", help="an HTML report: equation, data, fit, history, simulation against data")
    )
    _example_arguments(sub.add_parser("example", help="write a built-in synthetic data set"))
    sweep_arguments(
        sub.add_parser("sweep", help="noise levels x seeds x methods on one data set, scored against the truth"),
        _csv,
        _positive,
    )
    from deepmod.cli.pinn import add_arguments

    add_arguments(sub.add_parser("pinn", help="solve or calibrate a PDE with a physics-informed network"), _csv)
    return parser


def _discover_arguments(d: argparse.ArgumentParser) -> None:
    data_arguments(
        d,
        "data file: .npz, .mat, .nc/.h5 (netCDF/HDF5) or .csv",
        coords="coordinate arrays, time first: t,x[,y]",
        fields="field arrays: u[,v] (u=usol; a=u.real,b=u.imag or m=u.abs split a complex array)",
    )
    _inputs_argument(d)
    d.add_argument(
        "--poly-order",
        type=_order(0, 6),
        default=None,
        help="highest power of the fields (default: the method's own, 2; 0: the derivatives alone, as DeePyMoD)",
    )
    d.add_argument(
        "--diff-order",
        type=_order(0, 5),
        default=None,
        help="highest spatial derivative order (default: 3 for deepmod, 4 for weak and fd)",
    )
    d.add_argument(
        "--term",
        action="append",
        default=[],
        help="add a candidate term by name: u_x^2, x^2*u, t*u, sin(u), exp(u), log(u), abs(u)^2, u^-1 (repeatable)",
    )
    d.add_argument("--samples", type=_positive, help="train on N random points (default: up to 2000)")
    d.add_argument("--method", default="deepmod", help="discovery method; " + methods_help())
    run_arguments(d)
    d.add_argument(
        "--no-fuse",
        action="store_true",
        help="do not compile the network's derivative work (no compile time; each step slower; also DEEPMOD_FUSE=0)",
    )
    d.add_argument("--max-iterations", type=_positive, default=None, help="cap on training iterations")
    d.add_argument(
        "--checkpoint",
        help="where Ctrl-C or SIGTERM writes the training state (default: OUTPUT.ckpt, or deepmod.ckpt)",
    )
    d.add_argument("--resume", help="continue training from a checkpoint (same data and options)")
    d.add_argument("--tensorboard", metavar="DIR", help="log losses and coefficients for TensorBoard to DIR")
    _layout_arguments(d)
    ensemble_arguments(d, _positive)
    refit = "weak ensembles: the weak refit's coefficients, no maximum-likelihood fit by simulation"
    d.add_argument("--no-simulation-refit", action="store_true", help=refit)


def _layout_arguments(d: argparse.ArgumentParser) -> None:
    """How the samples are laid out beyond coordinates and fields: gaps, runs."""
    d.add_argument(
        "--trajectory",
        metavar="NAME",
        help="array labelling each sample's run: several trajectories of a time series in one file (weak, fd)",
    )
    d.add_argument(
        "--mask-nan",
        action="store_true",
        help="leave out points where a field is NaN (never filled): a grid with gaps becomes scattered samples",
    )


def _inputs_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--inputs",
        type=_csv,
        default=[],
        help="input fields: in the terms, no equation of their own (a forcing, a potential V); ALIAS=NAME renames",
    )


def _ude_arguments(u: argparse.ArgumentParser) -> None:
    data_arguments(
        u,
        "a time series: .npz, .mat, .nc/.h5 or .csv with t as the only coordinate",
        coords="the time array: t",
        fields="state arrays: x,y",
        dims=False,
    )
    u.add_argument(
        "--known",
        action="append",
        default=[],
        help='a known part, e.g. "x_t = 1.3*x" (repeatable; none: a neural ODE)',
    )
    u.add_argument(
        "--poly-order", type=_order(1, 5), default=None, help="highest power in recovered terms (default: the UDE's, 2)"
    )
    u.add_argument("--segments", type=_positive, default=1, help="multiple-shooting pieces (default 1)")
    _training_arguments(u, "collocation (default 2000), Adam (200) and L-BFGS (100) through the solver")


def _upde_arguments(u: argparse.ArgumentParser) -> None:
    data_arguments(
        u,
        "grid data in t and one or two space coordinates: .npz, .mat, .nc/.h5 or .csv",
        coords="coordinate arrays, time first: t,x",
        fields="field arrays: u[,v]",
    )
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
    u.add_argument("--poly-order", type=_order(1, 5), default=None, help="highest power in recovered terms (default 3)")
    u.add_argument(
        "--segments", type=_positive, help="multiple-shooting pieces (default: one per 20 sampling intervals)"
    )
    _training_arguments(
        u, "collocation (default 1000), Adam (200) and L-BFGS (100) through the solver, each refit (100)"
    )


def _training_arguments(u: argparse.ArgumentParser, stages: str) -> None:
    """The arguments the universal ODE and PDE share: seed, device, threads, the iteration cap, output, ensembles."""
    output = "write the result as JSON to this file (also when every refit blew up)"
    run_arguments(u, device="cpu or cuda: where the model trains", output=output, quiet="no progress bars")
    u.add_argument("--max-iterations", type=_positive, default=None, help=f"cap on each training stage: {stages}")
    ensemble_arguments(u, _positive)


def _report_arguments(r: argparse.ArgumentParser) -> None:
    _simulation_arguments(r)
    r.add_argument("--output", required=True, help="the HTML file to write (self-contained)")
    r.add_argument("--no-simulation", action="store_true", help="leave the simulation out")
    r.add_argument(
        "--reference",
        help="simulate from and compare with this file instead of DATA (same arrays and grid: a clean or "
        "smoothed copy of noisy data; for a PINN result, DATA is its --solution and this the measured data)",
    )


def _example_arguments(e: argparse.ArgumentParser) -> None:
    e.add_argument("name", help="one of: " + ", ".join(_examples()))
    e.add_argument("--output", required=True, help="output .npz file")
    e.add_argument("--noise", type=float, default=0.0, help="relative Gaussian noise level (0.05 = 5%%)")
    e.add_argument("--samples", type=_positive, help="keep N random points, as scattered data")
    e.add_argument("--seed", type=int, default=0, help="seed of noise and sampling")
    e.add_argument("--quiet", action="store_true", help="print nothing")


def _simulation_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("result", help="a result JSON written by deepmod discover or deepmod ude")
    data_arguments(p, "grid data whose first time gives the initial state and whose times the span")
    _inputs_argument(p)
    p.add_argument(
        "--boundary",
        default="auto",
        help="periodic, data (outer points follow the data) or auto (periodic where the data are; default)",
    )
    p.add_argument(
        "--max-seconds",
        type=float,
        default=600.0,
        help="time budget of the integration; past it, one line says how far it got (default 600)",
    )
    p.add_argument(
        "--no-denoise",
        action="store_true",
        help="start from the first snapshot as measured (default: low-passed at its noise floor when noisy)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _examples() -> list[str]:
    from deepmod.data.synthetic import EXAMPLES

    return list(EXAMPLES)
