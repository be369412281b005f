"""How one run is steered from outside, whatever the method (:class:`RunControl`: callbacks, a stop request,
checkpoints), and the statuses a run ends with (:data:`Status`). Every entry that runs something iterative
takes one ``RunControl``; the stop request travels inside it."""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

Status = Literal["converged", "max_iterations", "interrupted"]
"""How a run ended: it settled (its selection, or its optimiser's progress: ``converged``), its iteration
cap was reached (``max_iterations``), or a stop request ended it with the result so far (``interrupted``)."""

STATUSES: tuple[Status, ...] = ("converged", "max_iterations", "interrupted")


@dataclass(frozen=True)
class Step:
    """What a run reports as it goes: how far it got (the iteration, or the steps of work done), its loss (NaN
    where the method has none, such as fd's derivatives), how many terms are active (0 where none), and at a
    training record the values by name (``loss/data``, ``loss/validation``, normalised coefficients
    ``coef/u_t/u_xx``)."""

    iteration: int
    loss: float = math.nan
    active: int = 0
    values: Mapping[str, float] = field(default_factory=dict)


@runtime_checkable
class Callback(Protocol):
    """Hooks into an iterative run: progress bars and loggers are callbacks. Any object with these three
    methods is one; a class that subclasses ``Callback`` gets empty hooks for the ones it leaves out."""

    def on_start(self, max_iterations: int) -> None:
        """The run begins; it takes at most ``max_iterations`` steps."""
        return None

    def on_step(self, step: Step) -> None:
        """The run reports a step (:class:`Step`)."""
        return None

    def on_end(self, status: Status) -> None:
        """The run ended with ``status``."""
        return None


@dataclass(frozen=True)
class RunControl:
    """What steers one run from outside, kept apart from the method's settings.

    Attributes:
        callbacks: progress bars, loggers.
        stop: once set (by a signal handler, say), an iterative method ends at its next step with status
            ``"interrupted"`` and the result so far.
        checkpoint: where an interrupted run writes its state (``torch.save`` of tensors and plain values).
        resume: a checkpoint to continue from; it must come from the same data, sampling, seed and library.
    """

    callbacks: Sequence[Callback] = ()
    stop: threading.Event | None = None
    checkpoint: str | os.PathLike[str] | None = None
    resume: str | os.PathLike[str] | None = None

    def stopped(self) -> bool:
        """Whether a stop was asked for."""
        return self.stop is not None and self.stop.is_set()

    def stopping_only(self) -> RunControl:
        """The same stop request alone (no callbacks, no checkpoints): what an ensemble member or a sweep cell
        is given."""
        return RunControl(stop=self.stop)


__all__ = ["STATUSES", "Callback", "RunControl", "Status", "Step"]
