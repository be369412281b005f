"""A tqdm progress bar as a training callback (shown on a terminal only)."""

from __future__ import annotations

import sys
from typing import Any

from deepmod.control import Callback, Status, Step


class ProgressBar(Callback):
    """Shows iterations, loss and the number of active terms (steps alone where the loss is NaN: a method
    that has none, such as fd's derivatives); silent when stderr is not a terminal."""

    def __init__(self, force: bool = False, desc: str = "training") -> None:
        self.force, self.desc = force, desc
        self._bar: Any = None
        self._last = 0

    def on_start(self, max_iterations: int) -> None:
        from tqdm.auto import tqdm

        self._bar = tqdm(
            total=max_iterations,
            desc=self.desc,
            unit="it",
            leave=False,
            disable=not (self.force or sys.stderr.isatty()),
        )
        self._last = 0

    def on_step(self, step: Step) -> None:
        if self._bar is not None:
            self._bar.update(step.iteration - self._last)
            if step.loss == step.loss:  # not NaN
                self._bar.set_postfix(loss=f"{step.loss:.2e}", terms=step.active)
            self._last = step.iteration

    def on_end(self, status: Status) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class TimeProgress(Callback):
    """A progress bar over a time span, fed the integrator's current time (``Step.values["t"]``, as a
    simulation reports it); silent off a terminal."""

    def __init__(self, t0: float, t1: float, desc: str = "simulating", force: bool = False) -> None:
        from tqdm.auto import tqdm

        self.t0, self.span = t0, max(t1 - t0, 1e-300)
        self.done = 0
        self._bar = tqdm(total=1000, desc=desc, leave=False, disable=not (force or sys.stderr.isatty()))

    def on_step(self, step: Step) -> None:
        t = step.values.get("t", self.t0)
        reached = int(1000 * min(max((t - self.t0) / self.span, 0.0), 1.0))
        if reached > self.done:
            self._bar.update(reached - self.done)
            self.done = reached

    def close(self) -> None:
        self._bar.close()


class TensorBoardLogger(Callback):
    """Writes the losses and the number of active terms at every history record to a TensorBoard log folder.

    Needs the ``tensorboard`` package (``pip install "deepmod[tensorboard]"``).
    """

    def __init__(self, logdir: str) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as exc:  # tensorboard missing
            from deepmod.errors import InputError

            raise InputError(
                'TensorBoard logging needs the tensorboard package: pip install "deepmod[tensorboard]"'
            ) from exc
        self._writer = SummaryWriter(log_dir=logdir)

    def on_start(self, max_iterations: int) -> None:
        """Nothing to set up: the log folder was opened with the logger."""

    def on_step(self, step: Step) -> None:
        self._writer.add_scalar("loss/total", step.loss, step.iteration)
        self._writer.add_scalar("terms/active", step.active, step.iteration)
        for key, value in step.values.items():
            self._writer.add_scalar(key, value, step.iteration)

    def on_end(self, status: Status) -> None:
        self._writer.add_text("status", status)
        self._writer.flush()
        self._writer.close()
