"""How one run is steered from outside, whatever the method (:class:`RunControl`: callbacks, a stop request,
checkpoints), and the statuses a run ends with (:data:`Status`). Every entry that runs something iterative
takes one ``RunControl``; the stop request travels inside it."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Status = Literal["converged", "max_iterations", "interrupted"]
"""How a run ended: it settled (its selection, or its optimiser's progress: ``converged``), its iteration
cap was reached (``max_iterations``), or a stop request ended it with the result so far (``interrupted``)."""

STATUSES: tuple[Status, ...] = ("converged", "max_iterations", "interrupted")


class Callback:
    """Hooks into an iterative run; override what you need. Progress bars and loggers are callbacks."""

    def on_start(self, max_iterations: int) -> None:
        """Training begins."""

    def on_record(self, iteration: int, loss: float, active: int) -> None:
        """A history record was taken."""

    def on_history(self, iteration: int, values: dict[str, float]) -> None:
        """The record's values by name: losses and normalised coefficients (``coef/u_t/u_xx``)."""

    def on_end(self, status: Status) -> None:
        """Training ended."""


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


__all__ = ["STATUSES", "Callback", "RunControl", "Status"]
