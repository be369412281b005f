"""Report sections that set a model's solution beside the data: a simulation's, a PINN's."""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from deepmod.data.dataset import Dataset
from deepmod.report.figures import Report, field_panels, image, subplots
from deepmod.simulate import Simulation


def simulation_section(report: Report, simulation: Simulation, reference: Dataset) -> None:
    error = simulation.relative_error(reference)
    sim_grids = []
    for name in reference.field_names:
        ref = np.asarray(reference.fields[name])
        sim = np.asarray(simulation.fields[name])
        steps = min(len(sim), len(ref))
        sim_grids += [(f"{name} simulated", sim[:steps]), (f"{name} data", ref[:steps])]
        sim_grids.append((f"{name} simulated - data", sim[:steps] - ref[:steps]))
    body = image(field_panels(sim_grids, reference), "simulation against the data")
    if reference.n_space == 1:
        body += image(snapshots(simulation, reference), "snapshots")
    boundary = ", ".join("periodic" if p else "data" for p in simulation.periodic) or "none (ODE)"
    body += (
        f"<p>Relative L2 error over the data's span: <b>{error:.4g}</b>; integrator status "
        f"{html.escape(simulation.status)}; boundaries per axis: {boundary}; {simulation.seconds:.1f} s; "
        f"started from {html.escape(simulation.start or 'the first snapshot')}.</p>"
    )
    report.add("Simulation against the data", body)


def against_data_section(report: Report, solution: Dataset, reference: Dataset) -> None:
    """A PINN's solution against the data: the difference maps and the relative L2 error, on the data's grid."""
    if not reference.grid or solution.shape != reference.shape:
        report.add(
            "Solution against the data",
            "<p class='note'>The data are not on the solution's grid: write the solution on the data's grid "
            "(deepmod pinn --data DATA --solution SOL.npz) to compare them here.</p>",
        )
        return
    panels, squares, total = [], 0.0, 0.0
    for name in reference.field_names:
        got, want = np.asarray(solution.fields[name]), np.asarray(reference.fields[name])
        panels += [(f"{name} data", want), (f"{name} solution - data", got - want)]
        squares, total = squares + float(np.sum((got - want) ** 2)), total + float(np.sum(want**2))
    error = np.sqrt(squares / total) if total > 0 else float("nan")
    report.add(
        "Solution against the data",
        image(field_panels(panels, reference), "the data and the solution's difference from it")
        + f"<p>Relative L2 error of the solution over the data's grid: <b>{error:.4g}</b>.</p>",
    )


def snapshots(sim: Dataset, ref: Dataset) -> Any:
    t = np.asarray(ref.coords[ref.coord_names[0]])
    x = np.asarray(ref.coords[ref.coord_names[1]])
    picks = sorted({0, len(t) // 3, 2 * len(t) // 3, len(t) - 1})
    names = list(ref.field_names)
    fig, axes = subplots(1, len(names), figsize=(6 * len(names), 3.4), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        s, r = np.asarray(sim.fields[name]), np.asarray(ref.fields[name])
        for k, colour in zip(picks, ("C0", "C1", "C2", "C3"), strict=False):
            ax.plot(x, r[k], ".", color=colour, ms=2.5, label=f"data t={t[k]:.3g}")
            if k < len(s):
                ax.plot(x, s[k], "-", color=colour, lw=1.2)
        ax.set_title(f"{name}: data (dots) and simulation (lines)")
        ax.legend(fontsize=7)
    return fig


__all__ = ["against_data_section", "simulation_section", "snapshots"]
