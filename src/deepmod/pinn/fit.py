"""A trained physics-informed network: its solution on a grid or at points, its residual, its error against
data, and its :class:`~deepmod.result.Result`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from deepmod.approximators import Approximator
from deepmod.control import Status
from deepmod.data.dataset import Dataset
from deepmod.errors import InputError
from deepmod.method import assemble
from deepmod.pinn.problem import PinnProblem
from deepmod.result import History, Result, SolutionEvidence

if TYPE_CHECKING:
    from deepmod.pinn.solver import Losses


@dataclass
class PinnFit:
    """A trained PINN: the network, its problem and losses, and what :meth:`result` reports."""

    problem: PinnProblem
    model: Approximator
    losses: Losses
    status: Status
    history: History
    seconds: float
    stds: np.ndarray

    def parameters(self) -> dict[str, dict[str, float]]:
        """Each unknown's value and standard deviation (:func:`deepmod.pinn.uncertainty.bootstrap_std`)."""
        values = self.losses.unknowns.detach().cpu().numpy()
        return {
            n: {"value": float(v), "std": float(s)}
            for n, v, s in zip(self.losses.unknown_names, values, self.stds, strict=True)
        }

    def on_grid(self, coords: dict[str, np.ndarray]) -> Dataset:
        """The solution on the grid of ``coords`` (time first), shaped ``(n_t, n_x[, n_y])`` per field."""
        axes = [np.asarray(coords[n], dtype=np.float64) for n in self.problem.box.names]
        mesh = np.meshgrid(*axes, indexing="ij")
        x = np.stack([m.ravel() for m in mesh], axis=1)
        values = self.predict(x)
        shape = mesh[0].shape
        names = self.problem.symbols.fields
        fields = {n: values[:, i].reshape(shape) for i, n in enumerate(names)}
        return Dataset(dict(zip(self.problem.box.names, axes, strict=True)), fields, grid=True, source="pinn solution")

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The fields ``(n, F)`` at physical points ``x`` ``(n, n_coords)``."""
        param = next(self.model.parameters())
        z = torch.as_tensor((x - self.losses.box_centre) / self.losses.half, dtype=param.dtype, device=param.device)
        with torch.no_grad():
            out = [self.model(chunk) for chunk in z.split(20_000)]
        return (torch.cat(out).cpu().numpy()) * self.losses.scale

    def residual(self) -> float:
        """RMS of the dimensionless residual at the collocation points."""
        return float(torch.sqrt(torch.mean(self.losses.residuals(self.losses.points.collocation) ** 2)).detach())

    def data_error(self, reference: Dataset | None = None) -> float | None:
        """Relative L2 error of the solution against ``reference`` (the problem's data by default), over all
        fields (``None``: no data)."""
        data = self.problem.data if reference is None else reference
        if data is None:
            return None
        x, u = data.points()
        got = self.predict(x)[:, : u.shape[1]]
        return float(np.linalg.norm(got - u) / np.linalg.norm(u))

    def result(self, reference: Dataset | None = None) -> Result:
        """The equations with the unknowns filled in, as a :class:`~deepmod.result.Result` whose settings
        hold the parameters, the final residual and the error against the data (``reference``, or the
        problem's)."""
        params = self.parameters()
        values = {n: p["value"] for n, p in params.items()}
        equations = [eq.resolve(values) for eq in self.losses.equations]
        residual = self.residual()
        if not math.isfinite(residual):
            raise InputError("the PINN's training blew up (the residual is not finite): check the equation and values")
        settings: dict[str, object] = {
            "parameters": params,
            "residual": residual,
            "domain": self.problem.box.describe(),
            "loss_weights": dict(self.losses.weights),
        }
        error = self.data_error(reference)
        if error is not None:
            settings["data_error"] = error
        iterations = self.history.iterations[-1] if self.history.iterations else 0
        return assemble(
            "pinn",
            self.problem.symbols,
            self.problem.box.names,
            equations,
            sorted({n for eq in self.losses.equations for n in eq.terms}),
            seconds=self.seconds,
            status=self.status,
            iterations=iterations,
            history=self.history,
            settings=settings,
            evidence=SolutionEvidence(residual),
        )


__all__ = ["PinnFit"]
