"""The result every discovery method returns: equations in physical units plus the evidence behind them."""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from typing import Any

from deepmod import __version__
from deepmod._io import atomic_write_text
from deepmod.equation import Equation


@dataclass
class History:
    """What happened during training, sampled every few iterations.

    ``coefficients[k]`` maps each left-hand side to its full coefficient vector (physical units, zeros for
    inactive terms) at ``iterations[k]``; ``masks`` records each sparsity estimate as
    ``(iteration, {lhs: [active term names]})``.
    """

    iterations: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    data_loss: list[float] = field(default_factory=list)
    regression_loss: list[float] = field(default_factory=list)
    validation_loss: list[float] = field(default_factory=list)
    coefficients: list[dict[str, list[float]]] = field(default_factory=list)
    masks: list[tuple[int, dict[str, list[str]]]] = field(default_factory=list)


@dataclass
class Result:
    """Discovered equations and how they were found.

    Attributes:
        equations: one :class:`Equation` per field, physical units, active terms only.
        method: the method's name (``"deepmod"``, ...).
        library: all candidate term names.
        status: ``"converged"``, ``"max_iterations"`` or ``"interrupted"``.
        iterations: training iterations run (0 for non-iterative methods).
        seconds: wall time of the discovery.
        history: training history (empty for non-iterative methods).
        settings: the settings used, for reproduction.
    """

    equations: list[Equation]
    method: str
    library: list[str]
    status: str = "converged"
    iterations: int = 0
    seconds: float = 0.0
    history: History = field(default_factory=History)
    settings: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return "\n".join(e.text() for e in self.equations)

    @property
    def coefficients(self) -> dict[str, dict[str, float]]:
        """``{lhs: {term: coefficient}}`` of the active terms, physical units."""
        return {e.lhs: dict(e.coefficients) for e in self.equations}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary: ``{"equations": {"u_t": {"u_xx": 0.1, ...}}, ...}``.

        Wall time is left out (it is :attr:`seconds`), so the same seed and data give byte-identical files.
        """
        return {
            "equations": self.coefficients,
            "text": [e.text() for e in self.equations],
            "method": self.method,
            "status": self.status,
            "library": self.library,
            "iterations": self.iterations,
            "settings": self.settings,
            "history": _finite(asdict(self.history)),
            "deepmod_version": __version__,
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_dict` as JSON, atomically."""
        atomic_write_text(path, json.dumps(self.to_dict(), indent=1) + "\n")


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj
