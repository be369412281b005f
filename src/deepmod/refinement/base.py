"""The refinement contract: once the terms are chosen, a :class:`Refinement` estimates their coefficients
again from the data, field by field where it can; a field it cannot refine keeps the coefficients it came with.
DeepMoD and the sparse-regression methods share the refinements."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from deepmod.data.dataset import Dataset
from deepmod.equation import Equation
from deepmod.library import CandidateLibrary
from deepmod.systems.base import Bootstrap


@dataclass(frozen=True)
class Refined:
    """What a refinement made of the equations: per field, the refined equation or ``None`` (that field keeps
    its coefficients), and how (plain JSON values; ``{"skipped": why}`` where it refined none)."""

    equations: list[Equation | None]
    how: dict[str, Any] = field(default_factory=dict)

    @property
    def complete(self) -> list[Equation] | None:
        """Every field's refined equation, or ``None`` unless every field was refined."""
        if any(eq is None for eq in self.equations):
            return None
        return [eq for eq in self.equations if eq is not None]


class Refinement(abc.ABC):
    """Estimates chosen terms' coefficients again. Contract: :meth:`refine` keeps every equation's terms, in
    physical units, and returns one entry per equation given (``None`` where it cannot refine that field)."""

    @abc.abstractmethod
    def refine(
        self, data: Dataset, library: CandidateLibrary, equations: Sequence[Equation], rows: Bootstrap | None = None
    ) -> Refined:
        """The equations' terms refitted on ``data`` (an ensemble member's draw of its rows with ``rows``)."""


__all__ = ["Refined", "Refinement"]
