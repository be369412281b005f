"""The single entry point for discovery: :func:`discover`."""

from __future__ import annotations

from collections.abc import Sequence

from deepmod.data.dataset import Dataset
from deepmod.errors import InputError
from deepmod.library import CandidateLibrary, PolynomialLibrary
from deepmod.method import Method, symbols_for
from deepmod.neural.deepmod import DeepMoD
from deepmod.result import Result


def make_library(
    data: Dataset, poly_order: int = 2, diff_order: int = 3, extra_terms: Sequence[str] = ()
) -> CandidateLibrary:
    """The default polynomial library for ``data`` (see :class:`~deepmod.library.PolynomialLibrary`)."""
    try:
        return PolynomialLibrary(symbols_for(data), poly_order, diff_order, extra_terms)
    except ValueError as exc:
        raise InputError(str(exc)) from exc


def discover(
    data: Dataset,
    method: Method | None = None,
    library: CandidateLibrary | None = None,
    *,
    poly_order: int = 2,
    diff_order: int = 3,
    extra_terms: Sequence[str] = (),
    seed: int = 0,
    device: str = "cpu",
) -> Result:
    """Find the equations behind ``data``.

    Args:
        data: the samples.
        method: a :class:`~deepmod.method.Method`; :class:`~deepmod.neural.DeepMoD` by default.
        library: candidate terms; by default :func:`make_library` with ``poly_order``, ``diff_order`` and
            ``extra_terms``.
        seed: seeds every random choice; the same seed gives the same result on a CPU.
        device: ``"cpu"`` or ``"cuda"``.

    Returns:
        A :class:`~deepmod.result.Result` with the equations in physical units.
    """
    method = DeepMoD() if method is None else method
    library = make_library(data, poly_order, diff_order, extra_terms) if library is None else library
    return method.run(data, library, seed=seed, device=device)
