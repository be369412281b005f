"""A self-contained HTML report of a discovered model: the equation, the data, how well the equation fits the
data's time derivative, the training history, and the simulated model against the data.

Every plot is a PNG made with matplotlib (Agg backend) and embedded as a ``data:`` URI, and the equation is
typeset with matplotlib's mathtext, so the file needs nothing else: no network, no scripts.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from deepmod.data.dataset import Dataset
from deepmod.equation import Equation
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
    """``<img>`` with the figure embedded as PNG; closes the figure."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}">'


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
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(9, 0.55 * len(equations) + 0.3))
    for i, eq in enumerate(equations):
        fig.text(0.02, 1 - (i + 0.7) / (len(equations) + 0.4), f"${equation_latex(eq, symbols)}$", fontsize=16)
    return fig


def field_panels(grids: Sequence[tuple[str, np.ndarray]], data: Dataset, cmap: str = "viridis") -> Any:
    """One panel per (title, values) pair: t-x images for 1-D space, three snapshots for 2-D, lines for ODEs."""
    import matplotlib.pyplot as plt

    t = np.asarray(data.coords[data.coord_names[0]])
    if data.n_space == 0:
        fig, axes = plt.subplots(1, len(grids), figsize=(4.2 * len(grids), 3.2), squeeze=False)
        for ax, (title, values) in zip(axes[0], grids, strict=True):
            ax.plot(t[: len(values)], values)
            ax.set_title(title)
            ax.set_xlabel(data.coord_names[0])
        return fig
    if data.n_space == 1:
        x = np.asarray(data.coords[data.coord_names[1]])
        fig, axes = plt.subplots(1, len(grids), figsize=(4.2 * len(grids), 3.4), squeeze=False)
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
    fig, axes = plt.subplots(len(grids), len(picks), figsize=(3.4 * len(picks), 3.0 * len(grids)), squeeze=False)
    for row, (title, values) in zip(axes, grids, strict=True):
        for ax, k in zip(row, picks, strict=True):
            if k < values.shape[0]:
                im = ax.imshow(values[k].T, origin="lower", aspect="auto", cmap=cmap)
                fig.colorbar(im, ax=ax)
            ax.set_title(f"{title}, t = {t[min(k, len(t) - 1)]:.3g}")
    return fig


def history_figures(history: Mapping[str, Any], library: Sequence[str]) -> list[tuple[str, Any]]:
    """Loss curves and coefficient paths from a result's ``history`` (empty for non-iterative methods)."""
    import matplotlib.pyplot as plt

    iterations = history.get("iterations") or []
    if not iterations:
        return []
    out = []
    fig, ax = plt.subplots(figsize=(7, 3.4))
    for key in ("loss", "data_loss", "regression_loss", "validation_loss"):
        values = [np.nan if v is None else v for v in history.get(key) or []]
        if len(values) == len(iterations):
            ax.semilogy(iterations, values, label=key.replace("_", " "))
    for it, _ in history.get("masks") or []:
        ax.axvline(it, color="#bbb", lw=0.8)
    ax.set_xlabel("iteration")
    ax.legend()
    ax.set_title("losses (grey lines: sparsity masks applied)")
    out.append(("loss history", fig))
    coefficients = history.get("coefficients") or []
    if coefficients:
        lhs_names = list(coefficients[0])
        fig, axes = plt.subplots(1, len(lhs_names), figsize=(5.5 * len(lhs_names), 3.6), squeeze=False)
        for ax, lhs in zip(axes[0], lhs_names, strict=True):
            paths = np.array([[np.nan if v is None else v for v in c[lhs]] for c in coefficients])
            for j, name in enumerate(library[: paths.shape[1]]):
                if np.any(np.abs(np.nan_to_num(paths[:, j])) > 0):
                    ax.plot(iterations[: len(paths)], paths[:, j], label=name)
            ax.set_title(f"coefficients of {lhs} (physical units)")
            ax.set_xlabel("iteration")
            ax.legend(fontsize=7, ncol=2)
        out.append(("coefficient history", fig))
    return out


def selection_figure(settings: Mapping[str, Any]) -> Any | None:
    """Held-out error against the number of terms, for methods that select by cross-validation."""
    import matplotlib.pyplot as plt

    selection = settings.get("selection")
    if not isinstance(selection, Mapping):
        return None
    paths: dict[str, list[dict[str, Any]]] = {}
    for lhs, value in selection.items():
        path = value.get("path") if isinstance(value, Mapping) else value
        if isinstance(path, list) and path:
            paths[str(lhs)] = path
    if not paths:
        return None
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
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
    """Per field: the data's time derivative, the equation's right-hand side and their difference, from
    Savitzky-Golay derivatives whose windows follow the noise floor (interior of the grid), with the
    relative L2 size of the residual. ``None`` for scattered data."""
    from deepmod.classical.finite_differences import SmoothingPlan

    if not data.grid:
        return None
    names = list(data.field_names)
    fields = [np.asarray(data.fields[n], dtype=np.float64) for n in names]
    coords = [np.asarray(data.coords[c], dtype=np.float64) for c in data.coord_names]
    parsed = {eq.lhs: [(c, symbols.parse(n)) for n, c in eq.coefficients.items()] for eq in equations}
    n_space = data.n_space
    max_orders = [1] + [
        max((f.derivative[k] for terms in parsed.values() for _, t in terms for f in t.factors), default=0)
        for k in range(n_space)
    ]
    plan = SmoothingPlan.fit(fields, coords, max_orders)
    inner = plan.interior
    cache: dict[tuple[int, tuple[int, ...]], np.ndarray] = {}

    def value(field_index: int, orders: tuple[int, ...]) -> np.ndarray:
        key = (field_index, orders)
        if key not in cache:
            cache[key] = plan.derivative(fields[field_index], orders)[inner]
        return cache[key]

    panels, residuals, totals = [], 0.0, 0.0
    for i in range(len(names)):
        lhs = symbols.lhs(i)
        u_t = value(i, (1,) + (0,) * n_space)
        rhs = np.zeros_like(u_t)
        for c, term in parsed.get(lhs, []):
            part = np.full_like(u_t, c)
            for f in term.factors:
                part = part * value(f.field, (0, *f.derivative)) ** f.power
            rhs += part
        panels += [(f"{lhs} from the data", u_t), ("right-hand side", rhs), ("residual", u_t - rhs)]
        residuals += float(np.sum((u_t - rhs) ** 2))
        totals += float(np.sum(u_t**2))
    trimmed = Dataset(
        {c: coords[k][inner[k]] for k, c in enumerate(data.coord_names)},
        {n: fields[k][inner] for k, n in enumerate(names)},
        grid=True,
    )
    return panels, trimmed, math.sqrt(residuals / totals) if totals > 0 else math.nan


def build_report(
    result: Mapping[str, Any],
    data: Dataset,
    symbols: Symbols,
    simulation: Simulation | None,
    *,
    reference: Dataset | None = None,
) -> Report:
    """The report for a result dictionary (as written by ``--output``) on ``data``.

    Args:
        result: the JSON result.
        data: the data the result was discovered from (or a copy on the same grid).
        symbols: the term symbols of ``data``.
        simulation: the model simulated over the data's span, or ``None`` (not simulable).
        reference: what the simulation is compared with; default ``data``.
    """
    import matplotlib

    matplotlib.use("Agg")
    equations = [Equation(lhs, dict(terms)) for lhs, terms in result["equations"].items()]
    report = Report(f"deepmod report: {data.source or 'data'}")
    text = "<br>".join(html.escape(e.text()) for e in equations)
    report.add(
        "Discovered equation",
        image(equations_figure(equations, symbols), "the discovered equation")
        + f"<pre>{text}</pre><p>method <b>{html.escape(str(result.get('method', '?')))}</b>, status "
        f"{html.escape(str(result.get('status', '?')))}, {result.get('iterations', 0)} iterations</p>",
    )
    grids = [(name, np.asarray(data.fields[name])) for name in data.field_names]
    if data.grid:
        report.add("Data", image(field_panels(grids, data), "the data"))
    else:
        report.add("Data", f"<p class='note'>{data.n_points} scattered samples (no grid to draw as images).</p>")
    fit = time_derivative_fit(data, equations, symbols) if data.n_space > 0 else None
    if fit is not None:
        panels, trimmed, size = fit
        report.add(
            "Fit: the equation against the data's time derivative",
            image(field_panels(panels, trimmed, cmap="RdBu_r"), "time derivative, right-hand side and residual")
            + f"<p>Relative L2 size of the residual: <b>{size:.3g}</b>. Derivatives of the data by "
            "Savitzky-Golay filters whose windows follow the noise floor; edges left out.</p>",
        )
    history = result.get("history") or {}
    figures = history_figures(history, result.get("library") or [])
    if figures:
        report.add("Training history", "".join(image(fig, title) for title, fig in figures))
    else:
        selection = selection_figure(result.get("settings") or {})
        body = (
            image(selection, "model selection path")
            if selection is not None
            else "<p class='note'>No training history: the method is not iterative.</p>"
        )
        report.add("Model selection", body)
    if simulation is not None:
        reference = data if reference is None else reference
        error = simulation.relative_error(reference)
        sim_grids = []
        for name in reference.field_names:
            ref = np.asarray(reference.fields[name])
            sim = np.asarray(simulation.data.fields[name])
            steps = min(len(sim), len(ref))
            sim_grids += [(f"{name} simulated", sim[:steps]), (f"{name} data", ref[:steps])]
            sim_grids.append((f"{name} simulated - data", sim[:steps] - ref[:steps]))
        body = image(field_panels(sim_grids, reference), "simulation against the data")
        if reference.n_space == 1:
            body += image(_snapshots(simulation.data, reference), "snapshots")
        boundary = ", ".join("periodic" if p else "data" for p in simulation.periodic) or "none (ODE)"
        body += (
            f"<p>Relative L2 error over the data's span: <b>{error:.4g}</b>; integrator status "
            f"{html.escape(simulation.status)}; boundaries per axis: {boundary}; {simulation.seconds:.1f} s.</p>"
        )
        report.add("Simulation against the data", body)
    settings = json.dumps(result.get("settings") or {}, indent=1, default=str)
    report.add("Settings", f"<pre>{html.escape(settings[:20000])}</pre>")
    return report


def _snapshots(sim: Dataset, ref: Dataset) -> Any:
    import matplotlib.pyplot as plt

    t = np.asarray(ref.coords[ref.coord_names[0]])
    x = np.asarray(ref.coords[ref.coord_names[1]])
    picks = sorted({0, len(t) // 3, 2 * len(t) // 3, len(t) - 1})
    names = list(ref.field_names)
    fig, axes = plt.subplots(1, len(names), figsize=(6 * len(names), 3.4), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        s, r = np.asarray(sim.fields[name]), np.asarray(ref.fields[name])
        for k, colour in zip(picks, ("C0", "C1", "C2", "C3"), strict=False):
            ax.plot(x, r[k], ".", color=colour, ms=2.5, label=f"data t={t[k]:.3g}")
            if k < len(s):
                ax.plot(x, s[k], "-", color=colour, lw=1.2)
        ax.set_title(f"{name}: data (dots) and simulation (lines)")
        ax.legend(fontsize=7)
    return fig
