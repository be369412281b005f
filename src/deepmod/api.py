"""The single entry point for discovery: :func:`discover`."""

from __future__ import annotations

from collections.abc import Sequence

from deepmod.data.dataset import Dataset
from deepmod.library import CandidateLibrary
from deepmod.method import Method, Problem, RunControl, make_library
from deepmod.neural.deepmod import DeepMoD
from deepmod.result import Result


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


__all__ = ["discover", "make_library"]
