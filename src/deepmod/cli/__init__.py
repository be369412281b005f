"""The command line: ``deepmod discover``, ``ude``, ``upde``, ``coarsen``, ``simulate``, ``report``, ``example``,
``pinn``, ``sweep``, ``deepmod --version``.

The only place where strings become classes. Every user error prints one line on stderr and exits 2,
without a traceback and without writing an output file.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from deepmod.cli.exits import EXIT_INTERRUPTED, EXIT_USAGE
from deepmod.cli.parser import build_parser
from deepmod.cli.registry import Options, build_method
from deepmod.control import RunControl


def _method(args: argparse.Namespace) -> Any:
    """The method object named by ``--method`` (:mod:`deepmod.cli.registry`), with the flags that set its options."""
    return build_method(args.method, Options.of(args))


def _control(args: argparse.Namespace) -> Any:
    """Progress bar, TensorBoard, a stop event (set by :func:`_stop_on_signals`) and checkpoint paths of a
    ``discover`` run."""
    from deepmod.report.progress import ProgressBar

    desc = "smoothed derivatives" if args.method == "fd" else "training"
    callbacks: list[Any] = [] if args.quiet else [ProgressBar(desc=desc)]
    if args.tensorboard:
        from deepmod.report.progress import TensorBoardLogger

        callbacks.append(TensorBoardLogger(args.tensorboard))
    return RunControl(callbacks, threading.Event(), _checkpoint_path(args), args.resume)


def _checkpoint_path(args: argparse.Namespace) -> str:
    if args.checkpoint:
        return str(args.checkpoint)
    return f"{args.output}.ckpt" if args.output else "deepmod.ckpt"


@contextlib.contextmanager
def _stop_on_signals(control: RunControl) -> Iterator[None]:
    """SIGINT and SIGTERM set ``control``'s stop event (training ends cleanly at the next step); a second signal
    aborts."""
    stop = control.stop
    if stop is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum: int, _frame: object) -> None:
        stop.set()
        for sig in previous:  # a second Ctrl-C interrupts at once
            signal.signal(sig, signal.default_int_handler)

    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _check_output(path: str | None) -> None:
    from deepmod.errors import InputError

    if path is None:
        return
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        raise InputError(f"the output folder '{parent}' does not exist: create it or choose another path")
    if Path(path).is_dir():
        raise InputError(f"--output '{path}' is a directory: give a file name")
    if not os.access(parent, os.W_OK):
        raise InputError(f"the output folder '{parent}' is not writable")


def _discover(args: argparse.Namespace) -> int:
    import torch

    from deepmod.api import discover
    from deepmod.data.loaders import load
    from deepmod.errors import InputError

    _check_output(args.output)
    _check_output(_checkpoint_path(args))
    if args.resume is not None and not Path(args.resume).is_file():
        raise InputError(f"the checkpoint '{args.resume}' does not exist or is not a file")
    _check_device(args.device)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    data = load(
        args.data,
        args.coords,
        args.fields,
        dims=args.dims,
        mask_nan=args.mask_nan,
        inputs=args.inputs,
        trajectory=args.trajectory,
    )
    method = _method(args)
    if args.mask_nan and not data.grid and args.method in ("weak", "fd"):
        raise InputError(
            f"with the NaN points left out ({data.source}) the samples are scattered, and the {args.method} "
            "method needs the whole grid: use the deepmod method"
        )
    library = method.default_library(data, args.poly_order, args.diff_order, args.term)
    if args.ensemble:
        if args.resume or args.tensorboard:
            raise InputError("--resume and --tensorboard are for single runs, not --ensemble")
        return _ensemble(args, data, method, library)
    control = _control(args)
    with _stop_on_signals(control):
        result = discover(data, method, library, seed=args.seed, device=args.device, control=control)
    _show(result, args.output)
    if result.status == "interrupted":
        saved = f"; the result so far is in {args.output}" if args.output else ""
        checkpoint = _checkpoint_path(args)
        print(
            f"deepmod: interrupted at iteration {result.iterations}{saved}; continue with --resume {checkpoint}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    return 0


def _show(result: Any, output: str | None) -> None:
    """Write the result where asked, print its equations and its warnings."""
    if output:
        result.save(output)
    print(result)
    for warning in result.warnings:
        print(f"deepmod: warning: {warning}", file=sys.stderr)


def _ensemble(args: argparse.Namespace, data: Any, method: Any, library: Any) -> int:
    """``--ensemble N``: the members on the chosen backend, one model with every term's uncertainty."""
    from deepmod.cli import ensemble
    from deepmod.errors import FitFailed

    control = RunControl(stop=threading.Event())
    with _stop_on_signals(control):
        try:
            result = ensemble.run(args, data, method, library, control)
        except FitFailed:
            if control.stopped():
                print("deepmod: interrupted before any member of the ensemble finished", file=sys.stderr)
                return EXIT_INTERRUPTED
            raise
    _show(result, args.output)
    if result.status == "interrupted":
        print(ensemble.interrupted_line(result, args.output), file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def _check_device(device: str) -> None:
    import torch

    from deepmod.errors import InputError

    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise InputError(f"unknown device '{device}': use cpu or cuda")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError("--device cuda was asked for but no CUDA GPU is available: use --device cpu")


def _ude(args: argparse.Namespace) -> int:
    from deepmod.cli import ude

    _check_output(args.output)
    _check_device(args.device)
    return ude.run(args, _show, _ensemble)


def _upde(args: argparse.Namespace) -> int:
    from deepmod.cli import upde

    _check_output(args.output)
    _check_device(args.device)
    return upde.run(args, _show, _ensemble, _stop_on_signals)


def _coarsen(args: argparse.Namespace) -> int:
    from deepmod.cli import coarsen

    _check_output(args.output)
    return coarsen.run(args)


def _run_simulation(args: argparse.Namespace, result: Any, data: Any) -> Any:
    from deepmod.errors import InputError
    from deepmod.report.progress import TimeProgress

    t = data.coords[data.coord_names[0]]
    bar = None if args.quiet else TimeProgress(float(t[0]), float(t[-1]))
    try:
        sim = result.simulate(
            data,
            boundary=args.boundary,
            denoise=not args.no_denoise,
            max_seconds=args.max_seconds,
            control=RunControl([] if bar is None else [bar]),
        )
    except InputError:
        raise
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    finally:
        if bar is not None:
            bar.close()
    if "low-passed" in sim.start:
        print(f"deepmod: simulating from {sim.start}; --no-denoise starts from it as measured", file=sys.stderr)
    return sim


def _simulate(args: argparse.Namespace) -> int:
    from deepmod.data import save_npz
    from deepmod.data.loaders import load
    from deepmod.result import Result

    _check_output(args.output)
    result = Result.load(args.result)
    data = load(args.data, args.coords, args.fields, dims=args.dims, inputs=args.inputs)
    sim = _run_simulation(args, result, data)
    if args.output:
        save_npz(sim, args.output)
    if sim.status != "success":
        print(f"deepmod: the integration stopped early: {sim.status}", file=sys.stderr)
    print(f"relative L2 error: {sim.relative_error(data):.4g}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from deepmod._io import atomic_write_text
    from deepmod.data.loaders import load
    from deepmod.report import build_report
    from deepmod.result import Result

    _check_output(args.output)
    result = Result.load(args.result)
    data = load(args.data, args.coords, args.fields, dims=args.dims, inputs=args.inputs)
    reference = (
        data
        if args.reference is None
        else load(args.reference, args.coords, args.fields, dims=args.dims, inputs=args.inputs)
    )
    sim = None if args.no_simulation or not reference.grid else _run_simulation(args, result, reference)
    report = build_report(result, data, sim, reference=reference)
    atomic_write_text(args.output, report.html())
    if not args.quiet:
        print(f"report written to {args.output}")
    return 0


def _example(args: argparse.Namespace) -> int:
    from deepmod.data import add_noise, save_npz, subsample
    from deepmod.data.synthetic import EXAMPLES
    from deepmod.equation import Equation
    from deepmod.errors import InputError

    if args.name not in EXAMPLES:
        raise InputError(f"unknown example '{args.name}': choose one of {', '.join(EXAMPLES)}")
    _check_output(args.output)
    system = EXAMPLES[args.name]()
    data = system.data
    if args.noise:
        data = add_noise(data, args.noise, seed=args.seed)
    if args.samples:
        data = subsample(data, args.samples, seed=args.seed)
    save_npz(data, args.output)
    if not args.quiet:
        coords = ",".join(data.coord_names)
        fields = ",".join(data.targets) + (f" --inputs {','.join(data.inputs)}" if data.inputs else "")
        print(f"wrote {args.output}: {system.description}; use --coords {coords} --fields {fields}")
        for lhs, terms in system.truth.items():
            print(f"true: {Equation(lhs, terms).text()}")
    return 0


FLAGS = {
    "coords": "--coords",
    "fields": "--fields",
    "dims": "--dims",
    "poly_order": "--poly-order",
    "diff_order": "--diff-order",
    "method": "--method",
    "device": "--device",
    "terms": "--term",
    "mask_nan": "--mask-nan",
    "inputs": "--inputs",
    "trajectory": "--trajectory",
    "max_seconds": "--max-seconds",
}


def _with_flags(exc: Exception) -> str:
    """The error's message with the flags of the settings it names (library errors name settings, not flags)."""
    flags = [FLAGS[o] for o in getattr(exc, "options", ()) if o in FLAGS]
    return f"{exc} ({', '.join(flags)})" if flags else str(exc)


def _show_warning(
    message: Warning | str, category: type[Warning], filename: str, lineno: int, *rest: Any, **kw: Any
) -> None:
    """deepmod's own warnings as one line on stderr, ``deepmod: warning: ...`` with the flags they name;
    other packages' in Python's usual form."""
    from deepmod.errors import DeepmodWarning

    if isinstance(message, DeepmodWarning):
        print(f"deepmod: warning: {_with_flags(message)}", file=sys.stderr)
    else:
        _python_show_warning(message, category, filename, lineno, *rest, **kw)


_python_show_warning = warnings.showwarning


def _pinn(args: argparse.Namespace) -> int:
    from deepmod.cli import pinn

    _check_device(args.device)
    return pinn.run(args, _stop_on_signals, _check_output)


def _sweep(args: argparse.Namespace) -> int:
    from deepmod.cli import ensemble

    _check_output(args.output)
    control = RunControl(stop=threading.Event())
    defaults = Options.of()  # a sweep compares the methods at their own defaults

    def make(name: str) -> Any:
        return build_method(name, defaults)

    with _stop_on_signals(control):
        return ensemble.sweep(args, make, control)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``deepmod`` command; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse's usage errors (code 2), --help and --version (code 0)
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    from deepmod.errors import DeepmodError

    handlers = {
        "discover": _discover,
        "ude": _ude,
        "upde": _upde,
        "coarsen": _coarsen,
        "simulate": _simulate,
        "report": _report,
        "example": _example,
        "pinn": _pinn,
        "sweep": _sweep,
    }
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return handlers[args.command](args)
    except DeepmodError as exc:
        print(f"deepmod: error: {_with_flags(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("deepmod: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
