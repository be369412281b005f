"""Candidate libraries: build the columns of Theta from derivative values, for any derivative source.

A library knows its terms and names; :meth:`CandidateLibrary.evaluate` multiplies derivative values
(from a network's jets, from stencils, ...) into the matrix Theta of shape ``(n_points, n_terms)``.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence

import torch

from deepmod.terms import Symbols, Term, default_terms, required_derivatives

DerivativeKey = tuple[int, tuple[int, ...]]
"""(field index, spatial multi-index): ``(0, (2,))`` is u_xx."""


class CandidateLibrary(abc.ABC):
    """The candidate terms of the right-hand side.

    Contract: :attr:`terms` is fixed after construction; :meth:`evaluate` returns one column per term, in
    that order, from a mapping of the derivatives listed by :meth:`required`.
    """

    symbols: Symbols

    @property
    @abc.abstractmethod
    def terms(self) -> list[Term]:
        """The candidate terms, in column order."""

    @property
    def names(self) -> list[str]:
        """Term names in column order, e.g. ``['1', 'u_x', 'u*u_x']``."""
        return [self.symbols.name(t) for t in self.terms]

    def required(self) -> set[DerivativeKey]:
        """The derivative values :meth:`evaluate` needs."""
        return required_derivatives(self.terms)

    def evaluate(self, derivatives: Mapping[DerivativeKey, torch.Tensor]) -> torch.Tensor:
        """Theta of shape ``(n_points, n_terms)`` from derivative values of shape ``(n_points,)``."""
        some = next(iter(derivatives.values()))
        cache: dict[tuple[int, tuple[int, ...], int], torch.Tensor] = {}
        columns = []
        for term in self.terms:
            col: torch.Tensor | None = None
            for f in term.factors:
                key = (f.field, f.derivative, f.power)
                if key not in cache:
                    cache[key] = derivatives[(f.field, f.derivative)] ** f.power
                col = cache[key] if col is None else col * cache[key]
            columns.append(torch.ones_like(some) if col is None else col)
        return torch.stack(columns, dim=1)

    def scales(self, field_scales: Sequence[float], coord_scales: Sequence[float]) -> torch.Tensor:
        """How much each column grows when fields and spatial coordinates are scaled.

        If every field ``k`` is multiplied by ``field_scales[k]`` and every spatial coordinate by
        ``coord_scales[i]``, column ``j`` is multiplied by the returned ``scales[j]``; used to map
        coefficients between normalised and physical units.
        """
        out = []
        for term in self.terms:
            s = 1.0
            for f in term.factors:
                d = 1.0
                for c, k in zip(coord_scales, f.derivative, strict=True):
                    d *= c**k
                s *= (field_scales[f.field] / d) ** f.power
            out.append(s)
        return torch.tensor(out, dtype=torch.float64)


class PolynomialLibrary(CandidateLibrary):
    """Products of field powers (up to ``poly_order``) with one spatial derivative (up to ``diff_order``).

    With several fields the monomials include cross terms (``u*v``); in 2-D the derivatives include mixed
    ones (``u_xy``). For ODE data (no spatial coordinate) the terms are the monomials of the states.
    ``extra_terms`` adds user terms by name (``"u_x^2"``, ``"u*u_xxx"``); duplicates are dropped.
    """

    def __init__(
        self, symbols: Symbols, poly_order: int = 2, diff_order: int = 3, extra_terms: Sequence[str] = ()
    ) -> None:
        if poly_order < 0 or poly_order > 6:
            raise ValueError(f"poly_order must be between 0 and 6, got {poly_order}")
        if symbols.space and not 0 <= diff_order <= 5:
            raise ValueError(f"diff_order must be between 0 and 5, got {diff_order}")
        self.symbols = symbols
        self.poly_order, self.diff_order = poly_order, diff_order
        terms = default_terms(len(symbols.fields), len(symbols.space), poly_order, diff_order if symbols.space else 0)
        for name in extra_terms:
            t = symbols.parse(name)
            if t not in terms:
                terms.append(t)
        self._terms = terms

    @property
    def terms(self) -> list[Term]:
        return list(self._terms)
