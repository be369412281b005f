"""The result every discovery method returns, and the whole hand-off to what comes after: a record of the
equations in physical units, the symbols and names they are written in, typed evidence of how they were found;
saved and loaded as JSON (never pickled). It is judged in :mod:`deepmod.diagnostics`, drawn by
:func:`deepmod.report.write` and integrated by :func:`deepmod.simulate.simulate` (:meth:`Result.simulate`
hands it there)."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np

from deepmod._io import atomic_write_text
from deepmod._version import __version__
from deepmod.control import STATUSES, RunControl, Status
from deepmod.data.dataset import Dataset
from deepmod.equation import Equation
from deepmod.errors import InputError
from deepmod.library import symbols_for
from deepmod.simulate import Simulation, simulate, state_series, with_times
from deepmod.terms import Symbols

if TYPE_CHECKING:
    from deepmod.regression.system import FittedEquation, RegressionSystem


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

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> History:
        """The inverse of ``asdict`` after a JSON round trip (``null`` back to NaN, mask records to tuples)."""

        def floats(key: str) -> list[float]:
            return _floats(d.get(key) or [])

        return History(
            iterations=[int(i) for i in d.get("iterations") or []],
            loss=floats("loss"),
            data_loss=floats("data_loss"),
            regression_loss=floats("regression_loss"),
            validation_loss=floats("validation_loss"),
            coefficients=[{str(k): _floats(vs) for k, vs in c.items()} for c in d.get("coefficients") or []],
            masks=[(int(it), {str(k): [str(n) for n in v] for k, v in m.items()}) for it, m in d.get("masks") or []],
        )


@dataclass(frozen=True)
class SelectionEvidence:
    """How a selection along a sparsity path chose the model (weak and fd methods).

    Attributes:
        columns: per left-hand side, the names of the regression system's columns.
        paths: per left-hand side, the candidates in the regressor's order: ``{"terms": [column indices],
            "cv_error": held-out error / mean square of the target, "cv_se": its standard error}``; ``None``
            where the regressor keeps no path.
    """

    columns: dict[str, list[str]]
    paths: dict[str, list[dict[str, Any]] | None]
    kind: ClassVar[str] = "selection"

    @classmethod
    def of(cls, systems: Sequence[RegressionSystem], fits: Sequence[FittedEquation]) -> Self:
        """The evidence of :func:`~deepmod.regression.fit_equations` on these systems."""
        return cls({s.lhs: list(s.names) for s in systems}, {s.lhs: f.path for s, f in zip(systems, fits, strict=True)})


@dataclass(frozen=True)
class WeakSelectionEvidence(SelectionEvidence):
    """A selection along a sparsity path on weak systems (the weak method): the same record, and the model is
    judged on the weak form too (:func:`deepmod.diagnostics.weak_residual`)."""

    kind: ClassVar[str] = "weak selection"


@dataclass(frozen=True)
class SolutionEvidence:
    """A network trained to solve given equations (the PINN), not to choose terms: the mean square of the
    equations' residual at its collocation points after training."""

    residual: float
    kind: ClassVar[str] = "solution"


@dataclass(frozen=True)
class CandidateEvidence:
    """Candidate models refitted against the data and ranked (universal ODE): per candidate, its terms per
    state and its Bayesian information criterion, best first."""

    candidates: list[dict[str, Any]]
    kind: ClassVar[str] = "candidates"


@dataclass(frozen=True)
class TermUncertainty:
    """How sure an ensemble is of one term (:mod:`deepmod.ensemble`): the fraction of its members that kept
    the term, the median of their coefficients and a 95 % interval (physical units)."""

    inclusion: float
    median: float
    interval: tuple[float, float]

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> TermUncertainty:
        low, high = _floats(d["interval"])
        return TermUncertainty(float(d["inclusion"]), float(d["median"]), (low, high))


Evidence = SelectionEvidence | CandidateEvidence | SolutionEvidence
_EVIDENCE: dict[str, Callable[..., Evidence]] = {
    e.kind: e for e in (SelectionEvidence, WeakSelectionEvidence, CandidateEvidence, SolutionEvidence)
}


@dataclass
class Result:
    """Discovered equations and how they were found.

    Attributes:
        equations: one :class:`Equation` per field, physical units, active terms only.
        method: the method's name (``"deepmod"``, ...).
        library: all candidate term names.
        status: ``"converged"``, ``"max_iterations"`` or ``"interrupted"``.
        iterations: training iterations run (0 for non-iterative methods).
        seconds: wall time of the discovery (not saved: the same seed and data give identical files).
        history: training history (empty for non-iterative methods).
        settings: the settings used, for reproduction (plain JSON values).
        evidence: how the terms were chosen, where the method keeps a record beside ``history``.
        symbols: the symbols the equations are written in (fields, space and time letters).
        coords: the data's coordinate names, time first.
        warnings: what the user should know before trusting the equations (a fit far above the data's noise,
            training stopped by its iteration cap), one sentence each.
        uncertainty: an ensemble's account of each term that entered any member, per left-hand side; empty for
            a single run.
    """

    equations: list[Equation]
    method: str
    library: list[str]
    status: Status = "converged"
    iterations: int = 0
    seconds: float = field(default=0.0, compare=False)
    history: History = field(default_factory=History)
    settings: dict[str, Any] = field(default_factory=dict)
    evidence: Evidence | None = None
    symbols: Symbols | None = None
    coords: tuple[str, ...] = ()
    warnings: list[str] = field(default_factory=list)
    uncertainty: dict[str, dict[str, TermUncertainty]] = field(default_factory=dict)

    def __str__(self) -> str:
        return "\n".join(e.text() for e in self.equations)

    @property
    def coefficients(self) -> dict[str, dict[str, float]]:
        """``{lhs: {term: coefficient}}`` of the active terms, physical units."""
        return {e.lhs: dict(e.coefficients) for e in self.equations}

    @property
    def fields(self) -> tuple[str, ...]:
        """The field names, in the data's order."""
        if self.symbols is not None:
            return self.symbols.fields
        return tuple(e.lhs.rsplit("_", 1)[0] for e in self.equations)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary: ``{"equations": {"u_t": {"u_xx": 0.1, ...}}, ...}``.

        Wall time is left out (it is :attr:`seconds`), so the same seed and data give byte-identical files.
        """
        out = {
            "equations": self.coefficients,
            "text": [e.text() for e in self.equations],
            "method": self.method,
            "status": self.status,
            "library": self.library,
            "iterations": self.iterations,
            "settings": self.settings,
            "history": _finite(asdict(self.history)),
            "deepmod_version": __version__,
            "coords": list(self.coords),
            "warnings": list(self.warnings),
        }
        if self.symbols is not None:
            s = self.symbols
            out["symbols"] = {
                "fields": list(s.fields),
                "space": list(s.space),
                "time": s.time,
                "inputs": list(s.inputs),
            }
        if self.evidence is not None:
            out["evidence"] = {"kind": self.evidence.kind, **_finite(asdict(self.evidence))}
        if self.uncertainty:
            out["uncertainty"] = {
                lhs: {t: _finite(asdict(u)) for t, u in terms.items()} for lhs, terms in self.uncertainty.items()
            }
        return out

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> Result:
        """The result of :meth:`to_dict` (also a JSON object with only ``"equations"``, as written by hand)."""
        equations = [
            Equation(str(lhs), {str(k): float(v) for k, v in terms.items()}) for lhs, terms in d["equations"].items()
        ]
        symbols = d.get("symbols")
        evidence = d.get("evidence")
        return Result(
            equations,
            str(d.get("method", "")),
            [str(n) for n in d.get("library") or []],
            _status(d.get("status", "converged")),
            int(d.get("iterations", 0)),
            history=History.from_dict(d.get("history") or {}),
            settings=dict(d.get("settings") or {}),
            evidence=None if evidence is None else _evidence(evidence, str(d.get("method", ""))),
            symbols=None
            if symbols is None
            else Symbols(
                tuple(symbols["fields"]),
                tuple(symbols["space"]),
                str(symbols["time"]),
                tuple(symbols.get("inputs") or ()),
            ),
            coords=tuple(str(c) for c in d.get("coords") or ()),
            warnings=[str(w) for w in d.get("warnings") or []],
            uncertainty={
                str(lhs): {str(t): TermUncertainty.from_dict(u) for t, u in terms.items()}
                for lhs, terms in (d.get("uncertainty") or {}).items()
            },
        )

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_dict` as JSON, atomically."""
        atomic_write_text(path, json.dumps(self.to_dict(), indent=1) + "\n")

    @staticmethod
    def load(path: str | os.PathLike[str]) -> Result:
        """Read a result saved by :meth:`save` (or any JSON object with an ``"equations"`` table).

        Raises:
            InputError: if the file is missing or is not a deepmod result.
        """
        try:
            stored = json.loads(Path(path).read_text())
            if not isinstance(stored, dict):
                raise TypeError("not an object")
            return Result.from_dict(stored)
        except FileNotFoundError as exc:
            raise InputError(f"the result file '{path}' does not exist") from exc
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise InputError(f"'{path}' is not a deepmod result (JSON with an 'equations' table)") from exc

    def symbols_for(self, data: Dataset) -> Symbols:
        """The symbols to read the equations on ``data`` with: the result's own, checked against the data's
        fields and dimension (the data's, for a result that carries none)."""
        if self.symbols is None:
            return symbols_for(data)
        if tuple(data.field_names) != self.symbols.fields or data.n_space != len(self.symbols.space):
            inputs = self.symbols.inputs
            given = f", with the input(s) {', '.join(inputs)} named as inputs" if inputs else ""
            raise InputError(
                f"the result is for fields {', '.join(self.symbols.fields)} over {len(self.symbols.space)} space "
                f"coordinate(s); the data have {', '.join(data.field_names)} over {data.n_space}: name the "
                f"data's arrays as in the result (alias=name){given}",
                options=("fields", "inputs", "coords") if inputs else ("fields", "coords"),
            )
        return self.symbols

    def simulate(
        self,
        data: Dataset | None = None,
        *,
        initial: Mapping[str, Any] | None = None,
        times: Sequence[float] | np.ndarray | None = None,
        boundary: str = "auto",
        denoise: bool = True,
        max_seconds: float | None = None,
        control: RunControl | None = None,
    ) -> Simulation:
        """Integrate the equations (:func:`deepmod.simulate.simulate`): the trajectory as a
        :class:`~deepmod.simulate.Simulation`, a :class:`~deepmod.data.Dataset` that also says how the
        integration went (``status``).

        Args:
            data: grid data: its grid, times, initial state (the first snapshot) and boundary values. For an
                ODE result it may be left out when ``initial`` and ``times`` are given.
            initial: field name -> initial values (a number per state for ODEs), instead of the data's first
                snapshot.
            times: output times, instead of the data's.
            boundary: ``"periodic"``, ``"data"`` or ``"auto"`` (PDEs).
            denoise: on noisy PDE data start from the first snapshot low-passed at its noise floor
                (:func:`deepmod.simulate.denoised_start`; the simulation's ``start`` says which).
            max_seconds: a time budget for the integration (``None``: none).
            control: callbacks that see the integrator's time (``Step.values["t"]``), a stop request that ends
                the integration (status ``"interrupted"``).
        """
        if data is None:
            if initial is None or times is None or self.symbols is None or self.symbols.space:
                raise InputError("give grid data, or for an ODE result an initial state and times")
            data = state_series(self.coords[0] if self.coords else self.symbols.time, times, initial)
        elif times is not None:
            data = with_times(data, times)
        symbols = self.symbols_for(data)
        return simulate(
            self.equations,
            data,
            symbols,
            initial=initial,
            boundary=boundary,
            denoise=denoise,
            max_seconds=max_seconds,
            control=control,
        )


def _status(stored: Any) -> Status:
    """A saved status back to its type.

    Raises:
        ValueError: for a status no run ends with (the loader says the file is no deepmod result).
    """
    for status in STATUSES:
        if stored == status:
            return status
    raise ValueError(f"unknown status {stored!r}")


def _evidence(stored: Mapping[str, Any], method: str) -> Evidence:
    """Saved evidence back to its type; a weak method's selection saved before it had a type of its own (as
    ``"selection"``) is a weak selection."""
    kind = str(stored["kind"])
    if kind == SelectionEvidence.kind and method == "weak":
        kind = WeakSelectionEvidence.kind
    return _EVIDENCE[kind](**{k: v for k, v in stored.items() if k != "kind"})


def _floats(values: Sequence[Any]) -> list[float]:
    """JSON numbers back to floats, ``null`` (a non-finite value when saved) to NaN."""
    return [math.nan if v is None else float(v) for v in values]


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj
