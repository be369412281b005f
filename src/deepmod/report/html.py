"""A self-contained HTML report of a discovered model: the equation, the data, how well the equation fits the
data's time derivative (and, for a weak selection, its weak form), the training history or selection path, and
the simulated model against the data (:func:`write`).

The report only draws: the judgements come from :mod:`deepmod.diagnostics`, and the sections are chosen from
the result's evidence. Every plot is a PNG made with matplotlib (Agg backend) and embedded as a ``data:`` URI,
and the equation is typeset with matplotlib's mathtext, so the file needs nothing else: no network, no
scripts.
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from deepmod._io import atomic_write_text
from deepmod.data.dataset import Dataset
from deepmod.diagnostics import equation_rates, weak_residual
from deepmod.equation import Equation
from deepmod.report.comparison import against_data_section, simulation_section
from deepmod.report.figures import (
    Report,
    equations_figure,
    field_panels,
    history_figures,
    image,
    selection_figure,
    subplots,
)
from deepmod.report.uncertainty import uncertainty_section
from deepmod.result import Result, SelectionEvidence, SolutionEvidence, WeakSelectionEvidence
from deepmod.simulate import Simulation
from deepmod.terms import Symbols


def time_derivative_fit(
    data: Dataset, equations: Sequence[Equation], symbols: Symbols
) -> tuple[list[tuple[str, np.ndarray]], Dataset, float] | None:
    """Per field: the data's time derivative, the equation's right-hand side and their difference
    (:func:`~deepmod.diagnostics.equation_rates`, interior of the grid), with the relative L2 size of the
    residual. ``None`` for scattered data."""
    if not data.grid:
        return None
    rates = equation_rates(data, equations, symbols)
    panels: list[tuple[str, np.ndarray]] = []
    for i, (u_t, rhs) in enumerate(zip(rates.observed, rates.predicted, strict=True)):
        panels += [(f"{symbols.lhs(i)} from the data", u_t), ("right-hand side", rhs), ("residual", u_t - rhs)]
    return panels, rates.interior, rates.relative_residual


def weak_fit(data: Dataset, equations: Sequence[Equation], symbols: Symbols) -> tuple[Any, float] | None:
    """The model judged on the weak form (:func:`~deepmod.diagnostics.weak_residual`): per field, the data's
    integrals against the model's, one point per test function, with the relative L2 size of the residual.
    ``None`` where a term is no derivative of a monomial, or the data are not a PDE grid."""
    judged = weak_residual(data, equations, symbols)
    if judged is None:
        return None
    n = len(judged.target)
    fig, axes = subplots(1, n, figsize=(4.2 * n, 3.6), squeeze=False)
    for f, (ax, target, model) in enumerate(zip(axes[0], judged.target, judged.model, strict=True)):
        ax.plot(target, model, ".", ms=3)
        lo, hi = float(min(target.min(), model.min())), float(max(target.max(), model.max()))
        ax.plot([lo, hi], [lo, hi], color="#999", lw=0.8)
        ax.set_xlabel(f"data: -int psi_t {data.field_names[f]}")
        ax.set_ylabel("model: int psi (right-hand side)")
        ax.set_title(f"{symbols.lhs(f)}, {judged.n_rows} test functions")
    return fig, judged.relative_residual


def write(
    result: Result,
    data: Dataset,
    path: str | os.PathLike[str],
    *,
    reference: Dataset | None = None,
    simulation: bool = True,
    boundary: str = "auto",
    denoise: bool = True,
) -> None:
    """Write the self-contained HTML report of ``result`` on ``data`` to ``path``, atomically; the model is
    simulated against ``reference`` (default ``data``) unless ``simulation`` is False or the data are
    scattered."""
    reference = data if reference is None else reference
    sim = result.simulate(reference, boundary=boundary, denoise=denoise) if simulation and reference.grid else None
    atomic_write_text(path, build_report(result, data, sim, reference=reference).html())


def build_report(
    result: Result,
    data: Dataset,
    simulation: Simulation | None,
    *,
    reference: Dataset | None = None,
) -> Report:
    """The report of ``result`` on ``data``.

    Args:
        result: a result, fresh or loaded (:meth:`~deepmod.result.Result.load`).
        data: the data the result was discovered from (or a copy on the same grid).
        simulation: the model simulated over the data's span, or ``None`` (not simulable).
        reference: what the simulation is compared with; default ``data``.
    """
    symbols = result.symbols_for(data)
    report = Report(f"deepmod report: {data.source or 'data'}")
    _equation_section(report, result, symbols)
    grids = [(name, np.asarray(data.fields[name])) for name in data.field_names]
    pinn = isinstance(result.evidence, SolutionEvidence)
    if data.grid:
        title = "Solution (the PINN's, on its grid)" if pinn else "Data"
        report.add(title, image(field_panels(grids, data), "the data"))
    else:
        report.add("Data", f"<p class='note'>{data.n_points} scattered samples (no grid to draw as images).</p>")
    weak = isinstance(result.evidence, WeakSelectionEvidence)
    judged = weak_fit(data, result.equations, symbols) if weak else None
    if judged is not None:
        figure, size = judged
        report.add(
            "Fit on the weak form: the model against the data's integrals",
            image(figure, "weak-form target against the model, one point per test function")
            + f"<p>Relative L2 size of the weak residual: <b>{size:.3g}</b>: the weak method's own measure, "
            "no derivative of the data taken. The pointwise view below differentiates the noisy data and is "
            "secondary.</p>",
        )
    fit = time_derivative_fit(data, result.equations, symbols) if data.n_space > 0 else None
    if fit is not None:
        panels, trimmed, size = fit
        report.add(
            (
                "Residual map: the equation on the solution"
                if pinn
                else "Fit: the equation against the data's time derivative"
            )
            + (" (secondary)" if judged else ""),
            image(field_panels(panels, trimmed, cmap="RdBu_r"), "time derivative, right-hand side and residual")
            + f"<p>Relative L2 size of the residual: <b>{size:.3g}</b>. Derivatives of the data by "
            "Savitzky-Golay filters whose windows follow the noise floor; edges left out.</p>",
        )
    _evidence_section(report, result)
    if pinn and reference is not None and reference is not data:
        against_data_section(report, data, reference)
    if simulation is not None:
        simulation_section(report, simulation, data if reference is None else reference)
    report.add("Settings", settings_table(result.settings))
    return report


def settings_table(settings: dict[str, Any]) -> str:
    """The result's settings as a table a person reads: nested settings as ``outer / inner`` rows, long lists
    cut to their first items and their length (the JSON keeps them whole), numbers to four digits."""
    rows: list[tuple[str, str]] = []

    def value(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4g}"
        if isinstance(v, list | tuple):
            shown = ", ".join(value(x) for x in v[:6])
            return f"[{shown}, ... {len(v)} in all]" if len(v) > 6 else f"[{shown}]"
        if isinstance(v, dict):
            return (
                "{" + ", ".join(f"{k}: {value(x)}" for k, x in list(v.items())[:6]) + (", ...}" if len(v) > 6 else "}")
            )
        return str(v)

    for key, v in settings.items():
        if isinstance(v, dict) and v and all(not isinstance(x, dict | list) or len(x) <= 6 for x in v.values()):
            rows += [(f"{key} / {k}", value(x)) for k, x in v.items()]
        else:
            rows.append((key, value(v)))
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f"<table class='settings'>{body}</table><p class='note'>The result's JSON holds every setting in full.</p>"


def _equation_section(report: Report, result: Result, symbols: Symbols) -> None:
    text = "<br>".join(html.escape(e.text()) for e in result.equations)
    report.add(
        "Discovered equation",
        image(equations_figure(result.equations, symbols), "the discovered equation")
        + f"<pre>{text}</pre><p>method <b>{html.escape(result.method or '?')}</b>, status "
        f"{html.escape(result.status)}, {result.iterations} iterations</p>",
    )


def _evidence_section(report: Report, result: Result) -> None:
    """An ensemble's inclusion probabilities and intervals; else the training history where there is one,
    else the selection path."""
    if result.uncertainty:
        uncertainty_section(report, result)
        return
    figures = history_figures(result.history, result.library)
    if figures:
        report.add("Training history", "".join(image(fig, title) for title, fig in figures))
        return
    evidence = result.evidence
    selection = selection_figure(evidence) if isinstance(evidence, SelectionEvidence) else None
    body = (
        image(selection, "model selection path")
        if selection is not None
        else "<p class='note'>No training history: the method is not iterative.</p>"
    )
    report.add("Model selection", body)


__all__ = ["build_report", "settings_table", "time_derivative_fit", "weak_fit", "write"]
