"""A tqdm progress bar as a training callback (shown on a terminal only)."""

from __future__ import annotations

import sys
from typing import Any

from deepmod.neural.training import Callback


class ProgressBar(Callback):
    """Shows iterations, loss and the number of active terms; silent when stderr is not a terminal."""

    def __init__(self, force: bool = False) -> None:
        self.force = force
        self._bar: Any = None
        self._last = 0

    def on_start(self, max_iterations: int) -> None:
        from tqdm.auto import tqdm

        self._bar = tqdm(
            total=max_iterations,
            desc="training",
            unit="it",
            leave=False,
            disable=not (self.force or sys.stderr.isatty()),
        )
        self._last = 0

    def on_record(self, iteration: int, loss: float, active: int) -> None:
        if self._bar is not None:
            self._bar.update(iteration - self._last)
            self._bar.set_postfix(loss=f"{loss:.2e}", terms=active)
            self._last = iteration

    def on_end(self, status: str) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
