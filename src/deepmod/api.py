"""The single entry point for discovery: :func:`discover`."""

from __future__ import annotations

from collections.abc import Sequence

from deepmod.data.dataset import Dataset
from deepmod.errors import InputError
from deepmod.library import CandidateLibrary, PolynomialLibrary
from deepmod.method import Method, Problem, RunControl, symbols_for
from deepmod.neural.deepmod import DeepMoD
from deepmod.result import Result


def make_library(
    data: Dataset, poly_order: int = 2, diff_order: int = 3, extra_terms: Sequence[str] = ()
) -> CandidateLibrary:
    """The polynomial library for ``data`` with these orders (see :class:`~deepmod.library.PolynomialLibrary`)."""
    try:
        return PolynomialLibrary(symbols_for(data), poly_order, diff_order, extra_terms)
    except ValueError as exc:
        raise InputError(str(exc), options=("poly_order", "diff_order", "terms")) from exc


def discover(
    data: Dataset,
    method: Method | None = None,
    library: CandidateLibrary | None = None,
    *,
    poly_order: int | None = None,
    diff_order: int | None = None,
    extra_terms: Sequence[str] = (),
    seed: int = 0,
    device: str = "cpu",
    control: RunControl | None = None,
) -> Result:
    """Find the equations behind ``data``.

    Args:
        data: the samples.
        method: a :class:`~deepmod.method.Method`; :class:`~deepmod.neural.DeepMoD` by default.
        library: candidate terms; by default the method's (:meth:`~deepmod.method.Method.default_library`)
            with ``poly_order``, ``diff_order`` (the method's own where ``None``) and ``extra_terms``.
        seed: seeds every random choice; the same seed gives the same result on a CPU.
        device: ``"cpu"`` or ``"cuda"``.
        control: callbacks, a stop event and checkpoints for iterative methods
            (:class:`~deepmod.method.RunControl`).

    Returns:
        A :class:`~deepmod.result.Result` with the equations in physical units.
    """
    method = DeepMoD() if method is None else method
    if library is None:
        library = method.default_library(data, poly_order, diff_order, extra_terms)
    return method.run(Problem(data, library, seed, device, RunControl() if control is None else control))
