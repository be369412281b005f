"""The method contract: every discovery method turns a Dataset and a library into a Result."""

from __future__ import annotations

import abc

from deepmod.data.dataset import Dataset
from deepmod.errors import InputError
from deepmod.library import CandidateLibrary
from deepmod.result import Result
from deepmod.terms import Symbols


class Method(abc.ABC):
    """A discovery method. Contract: :meth:`run` returns a :class:`Result` with equations in the data's
    physical units, one per field, listing only active terms.
    """

    name: str

    @abc.abstractmethod
    def run(self, data: Dataset, library: CandidateLibrary, seed: int = 0, device: str = "cpu") -> Result:
        """Discover the equations of ``data`` among the terms of ``library``."""


def symbols_for(data: Dataset) -> Symbols:
    """Printing symbols for a data set: coordinate names where they are single letters, else t, x, y, z."""
    names = list(data.coord_names)
    fields = tuple(data.field_names)
    defaults = ["t", "x", "y", "z"]
    if len(names) > len(defaults):
        raise InputError(f"at most {len(defaults) - 1} spatial coordinates are supported, got {len(names) - 1}")
    chosen = [n if len(n) == 1 and n.isalpha() else defaults[i] for i, n in enumerate(names)]
    if len(set(chosen)) != len(chosen) or set(chosen) & set(fields):
        chosen = defaults[: len(names)]
    try:
        return Symbols(fields=fields, space=tuple(chosen[1:]), time=chosen[0])
    except ValueError as exc:
        raise InputError(f"{exc}; rename with alias=name, e.g. --fields u=usol") from exc


def check_library_size(n_points: int, n_terms: int) -> None:
    """Refuse libraries with more terms than data points."""
    if n_terms >= n_points:
        raise InputError(
            f"the library has {n_terms} terms but the data have only {n_points} points: lower "
            "--poly-order/--diff-order or give more data"
        )
