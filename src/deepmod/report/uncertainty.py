"""The report's ensemble section: how sure an ensemble is of each term (inclusion probabilities) and of each
coefficient (the members' median and 95 % interval), beside the one model it reports."""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from deepmod.report.figures import Report, image, subplots
from deepmod.result import Result, TermUncertainty


def inclusion_figure(lhs: str, terms: dict[str, TermUncertainty], threshold: float) -> object:
    """Bars of each term's inclusion, the threshold as a line, the model's terms in a darker colour."""
    names = sorted(terms, key=lambda t: -terms[t].inclusion)
    values = [terms[t].inclusion for t in names]
    fig, ax = subplots(figsize=(max(4.0, 0.55 * len(names) + 1.5), 3.0))
    colours = ["#1f5fa6" if v >= threshold else "#9bbbe0" for v in values]
    ax.bar(np.arange(len(names)), values, color=colours)
    ax.axhline(threshold, color="#c33", lw=1, ls="--", label=f"threshold {threshold:g}")
    ax.set_xticks(np.arange(len(names)), names, rotation=45, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("inclusion probability")
    ax.set_title(f"{lhs}: the fraction of members that kept each term")
    ax.legend(loc="upper right")
    return fig


def refit_sentence(how: Any) -> str:
    """How an ensemble's reported coefficients were found, from its ``settings["ensemble"]["refit"]``."""
    if not isinstance(how, dict) or "by" not in how:
        return "the model's coefficients are refitted on all the data where the method can (else the members' medians)"
    if how["by"] == "simulation":
        misfit = how["misfit_in_noise_units"]["fitted"]
        return (
            "the model's coefficients are fitted by simulating it against every sample (maximum likelihood over "
            f"the coefficients and the initial state; the misfit is {misfit:.3g} times the noise variance)"
        )
    skipped = f"; no fit by simulation: {how['simulation']}" if "simulation" in how else ""
    return f"the model's coefficients are refitted on all the data ({how['by']}{skipped})"


def uncertainty_section(report: Report, result: Result) -> None:
    """Inclusion bars and the coefficient table of an ensemble's result (nothing for a single run)."""
    if not result.uncertainty:
        return
    settings = result.settings.get("ensemble", {})
    threshold = float(settings.get("threshold", 0.5))
    body = (
        f"<p>{settings.get('with_model', '?')} of {settings.get('members', '?')} members found a model on "
        f"bootstrap draws of the data; a term is in the reported model when at least {threshold:g} of them kept "
        f"it, and {html.escape(refit_sentence(settings.get('refit')))}.</p>"
    )
    for lhs, terms in result.uncertainty.items():
        body += image(inclusion_figure(lhs, terms, threshold), f"{lhs}: inclusion probabilities")
        model = result.coefficients.get(lhs, {})
        rows = "".join(
            f"<tr><th>{html.escape(t)}</th><td>{u.inclusion:.2f}</td><td>{u.median:.4g}</td>"
            f"<td>[{u.interval[0]:.4g}, {u.interval[1]:.4g}]</td>"
            f"<td>{'' if t not in model else f'{model[t]:.4g}'}</td></tr>"
            for t, u in sorted(terms.items(), key=lambda item: -item[1].inclusion)
        )
        body += (
            f"<table><tr><th>{html.escape(lhs)}</th><th>inclusion</th><th>median</th><th>95 % interval</th>"
            f"<th>in the model</th></tr>{rows}</table>"
        )
    report.add("Ensemble: how sure each term and coefficient is", body)
