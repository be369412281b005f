"""When DeepMoD selects, applies and stops (:class:`Schedule`, :class:`SelectionTracker`), and the affine maps
between physical and network units (:class:`Normalisation`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Schedule:
    """When to estimate sparsity, when to apply it and when to stop.

    Every ``check_every`` iterations (from ``min_iterations`` on) the sparsity estimator selects terms from
    the current library. A selection seen ``apply_after`` times in a row becomes the mask of the loss;
    training stops when the applied mask has been selected ``stable_checks`` times in a row and no active
    coefficient moved by more than ``coef_tol`` (relative) between consecutive checks.

    Attributes:
        max_iterations: hard cap on training iterations.
        check_every: iterations between selections (and history records).
        min_iterations: no selection before this many iterations (the fit is still rough).
        apply_after: repeated identical selections before the mask is applied.
        stable_checks: repeated selections of the applied mask, with stable coefficients, that end training.
        coef_tol: largest relative coefficient change between checks that counts as stable.
        plateau: no selection while the validation loss still falls by more than this fraction within three
            checks: an underfitted network explains a soliton as pure advection, say. 0 disables the gate.
    """

    max_iterations: int = 10000
    check_every: int = 100
    min_iterations: int = 300
    plateau: float = 0.5
    apply_after: int = 4
    stable_checks: int = 3
    coef_tol: float = 0.01

    def __post_init__(self) -> None:
        if min(self.max_iterations, self.check_every, self.apply_after, self.stable_checks) < 1:
            raise ValueError("schedule counts must be positive")
        if self.coef_tol <= 0:
            raise ValueError("coef_tol must be positive")


@dataclass
class Normalisation:
    """Affine maps between physical and network units.

    Coordinates map to [-1, 1] (``(x - centre) / half_width``); fields are divided by their RMS (never
    shifted: a shift would change the equation).
    """

    centre: np.ndarray
    half_width: np.ndarray
    field_scale: np.ndarray

    @staticmethod
    def fit(x: np.ndarray, u: np.ndarray) -> Normalisation:
        lo, hi = x.min(0), x.max(0)
        rms = np.sqrt(np.mean(u**2, axis=0))
        return Normalisation((lo + hi) / 2, np.where(hi > lo, (hi - lo) / 2, 1.0), np.where(rms > 0, rms, 1.0))


class SelectionTracker:
    """Counts repeated selections and coefficient stability for :class:`Schedule`."""

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        self.last: list[np.ndarray] | None = None
        self.repeats = 0
        self.stable = 0
        self.previous_coefs: list[np.ndarray] | None = None
        self.mask_applied = False

    def update(
        self, selection: list[np.ndarray], masks: list[np.ndarray], coefs: list[np.ndarray]
    ) -> tuple[list[np.ndarray] | None, bool]:
        """Record a selection; return (the mask to apply now or None, whether training is done)."""
        same = self.last is not None and _same(self.last, selection)
        self.repeats = self.repeats + 1 if same else 1
        self.last = selection
        if self.repeats >= self.schedule.apply_after and not _same(selection, masks):
            self.mask_applied, self.stable, self.previous_coefs = True, 0, None
            return [m.copy() for m in selection], False
        if not (self.mask_applied and _same(selection, masks)):
            self.stable, self.previous_coefs = 0, None
            return None, False
        if self.previous_coefs is not None and _close(self.previous_coefs, coefs, masks, self.schedule.coef_tol):
            self.stable += 1
        elif self.previous_coefs is not None:
            self.stable = 0
        self.previous_coefs = coefs
        return None, self.stable >= self.schedule.stable_checks - 1

    def state_dict(self) -> dict[str, Any]:
        def lists(masks: list[np.ndarray] | None) -> list[list[Any]] | None:
            return None if masks is None else [m.tolist() for m in masks]

        return {
            "last": lists(self.last),
            "repeats": self.repeats,
            "stable": self.stable,
            "previous_coefs": lists(self.previous_coefs),
            "mask_applied": self.mask_applied,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        last, previous = state["last"], state["previous_coefs"]
        self.last = None if last is None else [np.array(m, dtype=bool) for m in last]
        self.previous_coefs = None if previous is None else [np.array(c, dtype=np.float64) for c in previous]
        self.repeats, self.stable = int(state["repeats"]), int(state["stable"])
        self.mask_applied = bool(state["mask_applied"])


def plateaued(validation: list[float], schedule: Schedule) -> bool:
    """Whether the validation loss improved by less than ``plateau`` (relative) over the last 3 checks."""
    if schedule.plateau <= 0:
        return True
    if len(validation) < 4:
        return False
    return validation[-1] > (1 - schedule.plateau) * min(validation[:-3])


def _same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def _close(previous: list[np.ndarray], current: list[np.ndarray], masks: list[np.ndarray], tol: float) -> bool:
    for p, c, m in zip(previous, current, masks, strict=True):
        if m.any() and np.max(np.abs(c[m] - p[m]) / np.maximum(np.abs(p[m]), 1e-12)) > tol:
            return False
    return True
