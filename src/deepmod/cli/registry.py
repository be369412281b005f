"""The command line's one table from method names to the classes behind them (:data:`METHODS`): ``discover
--method``, ``sweep --methods`` and their help read it. The flags that set a method's options travel as one
:class:`Options`; where a flag is not given, the method keeps its own default (no default is repeated here).

Classes are imported when a method is built, so the command line starts without loading PyTorch.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from deepmod.errors import InputError

if TYPE_CHECKING:
    from deepmod.method import Method


@dataclass(frozen=True)
class Options:
    """The command-line flags that set a method's options; ``None``: the method's own default.

    Attributes:
        max_iterations: ``--max-iterations``, the training cap (DeepMoD; each training stage of the universal
            ODE and PDE).
        samples: ``--samples``, the most samples trained on (DeepMoD).
        fuse: off with ``--no-fuse`` or ``DEEPMOD_FUSE=0`` (DeepMoD's compiled derivative work).
        simulation_refit: off with ``--no-simulation-refit`` (the weak method's ensembles).
        progress: off with ``--quiet`` (the universal ODE's and PDE's own progress bars).
    """

    max_iterations: int | None = None
    samples: int | None = None
    fuse: bool = True
    simulation_refit: bool = True
    progress: bool = False

    @staticmethod
    def of(args: argparse.Namespace | None = None) -> Options:
        """The options of parsed arguments (``None``: no flags given), with ``DEEPMOD_FUSE`` read here."""
        off = os.environ.get("DEEPMOD_FUSE", "1").strip() in ("0", "false", "no", "off")
        args = argparse.Namespace() if args is None else args
        return Options(
            getattr(args, "max_iterations", None),
            getattr(args, "samples", None),
            not (getattr(args, "no_fuse", False) or off),
            not getattr(args, "no_simulation_refit", False),
            not getattr(args, "quiet", True),
        )


@dataclass(frozen=True)
class Entry:
    """One registered method: a line of help and how its object is built from :class:`Options`."""

    summary: str
    build: Callable[[Options], Method]


def _deepmod(options: Options) -> Method:
    from deepmod.neural import DeepMoD, Schedule
    from deepmod.neural.components import DefaultNetwork

    settings: dict[str, object] = {}
    if options.max_iterations is not None:
        settings["schedule"] = Schedule(max_iterations=options.max_iterations)
    if options.samples is not None:
        settings["max_samples"] = options.samples
    return DeepMoD(network=DefaultNetwork(fuse=options.fuse), **settings)  # type: ignore[arg-type]


def _weak(options: Options) -> Method:
    from deepmod.classical import WeakForm

    return WeakForm() if options.simulation_refit else WeakForm(simulation_refit=None)


def _fd(options: Options) -> Method:
    from deepmod.classical import FiniteDifferences

    return FiniteDifferences()


def _capped(method: Method, options: Options, stages: tuple[str, ...]) -> Method:
    """``method`` with each of its training ``stages`` (iteration settings) at most ``--max-iterations``, and
    its progress bars on where the command line shows them."""
    settings: dict[str, object] = {"progress": options.progress}
    if options.max_iterations is not None:
        settings.update({s: min(options.max_iterations, getattr(method, s)) for s in stages})
    return dataclasses.replace(method, **settings)  # type: ignore[type-var]


def _ude(options: Options) -> Method:
    from deepmod.ode import UDE

    return _capped(UDE(), options, ("collocation_iterations", "adam_iterations", "lbfgs_iterations"))


def _upde(options: Options) -> Method:
    from deepmod.pde import UniversalPDEMethod

    stages = ("collocation_iterations", "adam_iterations", "lbfgs_iterations", "refit_iterations")
    return _capped(UniversalPDEMethod(), options, stages)


METHODS: dict[str, Entry] = {
    "deepmod": Entry("a network fits the data, any sampling (the default)", _deepmod),
    "weak": Entry("weak form, grids and time series, fast and robust to heavy noise", _weak),
    "fd": Entry("PDE-FIND style smoothed finite differences, grids, clean data", _fd),
    "ude": Entry("universal ODE, everything learned, the network read back as terms (deepmod ude: known parts)", _ude),
    "upde": Entry("universal PDE, a learned stencil and reaction network read back as terms (deepmod upde)", _upde),
}


def build_method(name: str, options: Options) -> Method:
    """The method registered as ``name``, with these options.

    Raises:
        InputError: for a name that is not registered.
    """
    if name not in METHODS:
        raise InputError(f"unknown method '{name}': choose one of {', '.join(METHODS)}", options=("method",))
    return METHODS[name].build(options)


def methods_help() -> str:
    """Every registered method with its line of help, for ``--help``."""
    return "; ".join(f"{name}: {entry.summary}" for name, entry in METHODS.items())


__all__ = ["METHODS", "Entry", "Options", "build_method", "methods_help"]
