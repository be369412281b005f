"""The report's drawing blocks: the page (:class:`Report`), embedded PNG images, figures of fields, equations,
training histories and selection paths. Every plot is a bare matplotlib :class:`~matplotlib.figure.Figure`
(Agg), embedded as a ``data:`` URI."""

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
from deepmod.result import History, SelectionEvidence
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


def subplots(rows: int = 1, cols: int = 1, *, figsize: tuple[float, float], squeeze: bool = True) -> tuple[Any, Any]:
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
        fig, axes = subplots(1, len(grids), figsize=(4.2 * len(grids), 3.2), squeeze=False)
        for ax, (title, values) in zip(axes[0], grids, strict=True):
            ax.plot(t[: len(values)], values)
            ax.set_title(title)
            ax.set_xlabel(data.coord_names[0])
        return fig
    if data.n_space == 1:
        x = np.asarray(data.coords[data.coord_names[1]])
        fig, axes = subplots(1, len(grids), figsize=(4.2 * len(grids), 3.4), squeeze=False)
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
    fig, axes = subplots(len(grids), len(picks), figsize=(3.4 * len(picks), 3.0 * len(grids)), squeeze=False)
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
    fig, ax = subplots(figsize=(7, 3.4))
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
        fig, axes = subplots(1, len(lhs_names), figsize=(5.5 * len(lhs_names), 3.6), squeeze=False)
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
    fig, ax = subplots(figsize=(6.5, 3.4))
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


__all__ = [
    "Report",
    "equation_latex",
    "equations_figure",
    "field_panels",
    "history_figures",
    "image",
    "selection_figure",
    "subplots",
    "term_latex",
]
