"""A self-contained HTML report of a discovered model: the equation, the data, how well the equation fits the
data's time derivative, the training history, and the simulated model against the data.

Every plot is a PNG made with matplotlib (Agg backend) and embedded as a ``data:`` URI, and the equation is
typeset with matplotlib's mathtext, so the file needs nothing else: no network, no scripts.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from deepmod.data.dataset import Dataset
from deepmod.equation import Equation
from deepmod.result import History, Result, SelectionEvidence
from deepmod.simulate import Simulation
from deepmod.terms import Symbols, Term


@dataclass
class Report:
    """Sections of the report: ``(title, html body)`` pairs, rendered by :meth:`html`."""

    title: str
    sections: list[tuple[str, str]] = field(default_factory=list)

    def add(self, title: str, body: str) -> None:
        self.sections.append((title, body))

    def html(self) -> str:
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{html.escape(self.title)}</title>",
            "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
            "img{max-width:100%;height:auto;display:block;margin:0.5em 0}"
            "table.settings th{text-align:left;font-weight:normal;color:#555;padding-right:1em;vertical-align:top}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:0.2em 0.6em;text-align:right}"
            "pre{background:#f6f6f6;padding:0.6em;overflow-x:auto}.note{color:#666}</style>",
            "</head><body>",
            f"<h1>{html.escape(self.title)}</h1>",
        ]
        for title, body in self.sections:
            parts.append(f"<section><h2>{html.escape(title)}</h2>{body}</section>")
        parts.append("</body></html>")
        return "\n".join(parts)


def image(fig: Any, alt: str) -> str:
    """``<img>`` with the figure embedded as PNG."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}">'


def _subplots(rows: int = 1, cols: int = 1, *, figsize: tuple[float, float], squeeze: bool = True) -> tuple[Any, Any]:
    """A figure and its axes through matplotlib's object API: no pyplot state, no backend switched (a bare
    :class:`~matplotlib.figure.Figure` renders PNG with Agg)."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(rows, cols, squeeze=squeeze)


def term_latex(term: Term, symbols: Symbols) -> str:
    """``u^2*u_xx`` as ``u^{2} u_{xx}``."""
    if not term.factors:
        return "1"
    parts = []
    for f in term.factors:
        base = symbols.fields[f.field]
        axes = "".join(symbols.space[k] * n for k, n in enumerate(f.derivative))
        text = f"{base}_{{{axes}}}" if axes else base
        parts.append(text if f.power == 1 else f"{text}^{{{f.power}}}")
    return r"\,".join(parts)


def equation_latex(eq: Equation, symbols: Symbols, digits: int = 4) -> str:
    """Mathtext for one equation, e.g. ``u_{t} = 0.1\\,u_{xx} - u\\,u_{x}``."""
    lhs_field = eq.lhs.rsplit("_", 1)[0]
    rhs = []
    for i, (name, c) in enumerate(eq.coefficients.items()):
        term = term_latex(symbols.parse(name), symbols)
        magnitude = f"{abs(c):.{digits}g}"
        body = magnitude if term == "1" else f"{magnitude}\\,{term}"
        sign = ("-" if c < 0 else "") if i == 0 else (" - " if c < 0 else " + ")
        rhs.append(f"{sign}{body}")
    return f"{lhs_field}_{{{symbols.time}}} = " + ("".join(rhs) if rhs else "0")


def equations_figure(equations: Sequence[Equation], symbols: Symbols) -> Any:
    fig = Figure(figsize=(9, 0.55 * len(equations) + 0.3))
    for i, eq in enumerate(equations):
        fig.text(0.02, 1 - (i + 0.7) / (len(equations) + 0.4), f"${equation_latex(eq, symbols)}$", fontsize=16)
    return fig


def field_panels(grids: Sequence[tuple[str, np.ndarray]], data: Dataset, cmap: str = "viridis") -> Any:
    """One panel per (title, values) pair: t-x images for 1-D space, three snapshots for 2-D, lines for ODEs."""
    t = np.asarray(data.coords[data.coord_names[0]])
    if data.n_space == 0:
        fig, axes = _subplots(1, len(grids), figsize=(4.2 * len(grids), 3.2), squeeze=False)
        for ax, (title, values) in zip(axes[0], grids, strict=True):
            ax.plot(t[: len(values)], values)
            ax.set_title(title)
            ax.set_xlabel(data.coord_names[0])
        return fig
    if data.n_space == 1:
        x = np.asarray(data.coords[data.coord_names[1]])
        fig, axes = _subplots(1, len(grids), figsize=(4.2 * len(grids), 3.4), squeeze=False)
        for ax, (title, values) in zip(axes[0], grids, strict=True):
            tt = t[: values.shape[0]]
            im = ax.imshow(
                values.T,
                origin="lower",
                aspect="auto",
                cmap=cmap,
                extent=(float(tt[0]), float(tt[-1]), float(x[0]), float(x[-1])),
            )
            fig.colorbar(im, ax=ax)
            ax.set_title(title)
            ax.set_xlabel(data.coord_names[0])
            ax.set_ylabel(data.coord_names[1])
        return fig
    picks = sorted({0, len(t) // 2, len(t) - 1})
    fig, axes = _subplots(len(grids), len(picks), figsize=(3.4 * len(picks), 3.0 * len(grids)), squeeze=False)
    for row, (title, values) in zip(axes, grids, strict=True):
        for ax, k in zip(row, picks, strict=True):
            if k < values.shape[0]:
                im = ax.imshow(values[k].T, origin="lower", aspect="auto", cmap=cmap)
                fig.colorbar(im, ax=ax)
            ax.set_title(f"{title}, t = {t[min(k, len(t) - 1)]:.3g}")
    return fig


def history_figures(history: History, library: Sequence[str]) -> list[tuple[str, Any]]:
    """Loss curves and coefficient paths from a training history (empty for non-iterative methods)."""
    iterations = history.iterations
    if not iterations:
        return []
    out = []
    fig, ax = _subplots(figsize=(7, 3.4))
    for key in ("loss", "data_loss", "regression_loss", "validation_loss"):
        values = getattr(history, key)
        if len(values) == len(iterations):
            ax.semilogy(iterations, values, label=key.replace("_", " "))
    for it, _ in history.masks:
        ax.axvline(it, color="#bbb", lw=0.8)
    ax.set_xlabel("iteration")
    ax.legend()
    ax.set_title("losses (grey lines: sparsity masks applied)")
    out.append(("loss history", fig))
    if history.coefficients:
        lhs_names = list(history.coefficients[0])
        fig, axes = _subplots(1, len(lhs_names), figsize=(5.5 * len(lhs_names), 3.6), squeeze=False)
        for ax, lhs in zip(axes[0], lhs_names, strict=True):
            paths = np.array([c[lhs] for c in history.coefficients], dtype=np.float64)
            for j, name in enumerate(library[: paths.shape[1]]):
                path = np.nan_to_num(paths[:, j])
                largest = float(np.max(np.abs(path)))
                if largest > 0:  # each on its own scale: a 0.03 term beside a 6 would sit flat at zero
                    ax.plot(iterations[: len(paths)], path / largest, label=f"{name} ({path[-1]:.3g})")
            ax.set_title(f"coefficients of {lhs}, each over its largest magnitude (final value)")
            ax.set_xlabel("iteration")
            ax.legend(fontsize=7, ncol=2)
        out.append(("coefficient history", fig))
    return out


def selection_figure(evidence: SelectionEvidence) -> Any | None:
    """Held-out error against the number of terms, for methods that select by cross-validation."""
    paths = {lhs: path for lhs, path in evidence.paths.items() if path}
    if not paths:
        return None
    fig, ax = _subplots(figsize=(6.5, 3.4))
    for lhs, path in paths.items():
        sizes = [len(p["terms"]) for p in path]
        errors = [p["cv_error"] for p in path]
        se = [p["cv_se"] for p in path]
        ax.errorbar(sizes, errors, yerr=se, marker="o", capsize=3, label=lhs)
    ax.set_yscale("log")
    ax.set_xlabel("number of terms (best subset of each size)")
    ax.set_ylabel("held-out error / mean square of target")
    ax.set_title("model selection: cross-validated error along the path")
    ax.legend()
    return fig


def time_derivative_fit(
    data: Dataset, equations: Sequence[Equation], symbols: Symbols
) -> tuple[list[tuple[str, np.ndarray]], Dataset, float] | None:
    """Per field: the data's time derivative, the equation's right-hand side and their difference
    (:func:`~deepmod.classical.finite_differences.equation_rates`, interior of the grid), with the relative L2
    size of the residual. ``None`` for scattered data."""
    from deepmod.classical.finite_differences import equation_rates

    if not data.grid:
        return None
    rates = equation_rates(data, equations, symbols)
    panels: list[tuple[str, np.ndarray]] = []
    for i, (u_t, rhs) in enumerate(zip(rates.observed, rates.predicted, strict=True)):
        panels += [(f"{symbols.lhs(i)} from the data", u_t), ("right-hand side", rhs), ("residual", u_t - rhs)]
    return panels, rates.interior, rates.relative_residual


def weak_fit(data: Dataset, equations: Sequence[Equation], symbols: Symbols) -> tuple[Any, float] | None:
    """The model judged on the weak form, the weak method's own residual: per field, ``-int psi_t u`` against
    the right-hand side integrated against the same test functions (the weak method's rule; no derivative
    of the data), one point per test function, with the relative L2 size of the residual. ``None`` where a
    term is no derivative of a monomial, or the data are not a PDE grid."""
    from deepmod.classical.weak import as_weak_term, expand_derivative, grid_arrays, monomial_values
    from deepmod.derivatives.bumps import BumpRule

    if not data.grid or data.n_space == 0:
        return None
    fields, coords = grid_arrays(data)
    weak = []
    for eq in equations:
        parts = []
        for name, c in eq.coefficients.items():
            term = symbols.parse(name)
            w = as_weak_term(term, len(fields), data.n_space)
            if w is None:
                return None
            parts.append((w, c / expand_derivative(w.monomial, w.alpha)[term]))
        weak.append(parts)
    order = max([1, *(max(w.alpha, default=0) for parts in weak for w, _ in parts)])
    bumps = BumpRule().build(fields[: len(weak)], coords, order, max(1, max(len(p) for p in weak)))
    lhs_orders = (1,) + (0,) * data.n_space
    fig, axes = _subplots(1, len(weak), figsize=(4.2 * len(weak), 3.6), squeeze=False)
    residual = total = 0.0
    for f, (ax, parts) in enumerate(zip(axes[0], weak, strict=True)):
        target = bumps.integrate(fields[f], lhs_orders)
        model = sum(
            (c * bumps.integrate(monomial_values(w.monomial, fields, coords), (0, *w.alpha)) for w, c in parts),
            np.zeros_like(target),
        )
        residual, total = residual + float(np.sum((target - model) ** 2)), total + float(np.sum(target**2))
        ax.plot(target, model, ".", ms=3)
        lo, hi = float(min(target.min(), model.min())), float(max(target.max(), model.max()))
        ax.plot([lo, hi], [lo, hi], color="#999", lw=0.8)
        ax.set_xlabel(f"data: -int psi_t {data.field_names[f]}")
        ax.set_ylabel("model: int psi (right-hand side)")
        ax.set_title(f"{symbols.lhs(f)}, {bumps.n_rows} test functions")
    return fig, float(np.sqrt(residual / total)) if total > 0 else float("nan")


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
    from deepmod.report.comparison import against_data_section, simulation_section

    symbols = result.symbols_for(data)
    report = Report(f"deepmod report: {data.source or 'data'}")
    _equation_section(report, result, symbols)
    grids = [(name, np.asarray(data.fields[name])) for name in data.field_names]
    pinn = result.method == "pinn"
    if data.grid:
        title = "Solution (the PINN's, on its grid)" if pinn else "Data"
        report.add(title, image(field_panels(grids, data), "the data"))
    else:
        report.add("Data", f"<p class='note'>{data.n_points} scattered samples (no grid to draw as images).</p>")
    judged = weak_fit(data, result.equations, symbols) if result.method == "weak" else None
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
        from deepmod.report.uncertainty import uncertainty_section

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
