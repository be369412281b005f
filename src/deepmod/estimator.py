"""A scikit-learn style estimator over :func:`deepmod.discover`, for Python users with plain arrays.

``deepmod.Model(method=deepmod.WeakForm()).fit(u, t=t, x=x)`` takes numpy arrays (coordinates as keywords,
time first), a mapping of fields, an xarray ``DataArray`` or ``Dataset``, or a :class:`~deepmod.data.Dataset`;
then ``result_``, ``equations_``, :meth:`Model.print`, :meth:`Model.predict` (the model's time derivatives on
data), :meth:`Model.score` (R^2 of those against the data's) and :meth:`Model.simulate`. Settings live in
``__init__`` only, so ``get_params``, ``set_params`` and ``sklearn.base.clone`` work.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import IO, Any

import numpy as np
from sklearn.base import BaseEstimator

from deepmod.api import discover
from deepmod.data.dataset import Dataset
from deepmod.data.loaders import from_arrays
from deepmod.diagnostics import equation_rates
from deepmod.equation import Equation
from deepmod.errors import InputError
from deepmod.method import Method
from deepmod.result import Result
from deepmod.simulate import Simulation

TIME_NAMES = ("t", "time")


class Model(BaseEstimator):
    """Find the equations behind data, scikit-learn style.

    Args:
        method: a :class:`~deepmod.method.Method` object (:class:`~deepmod.neural.DeepMoD` when ``None``).
        terms: extra candidate terms by name (``"u_x^2"``).
        poly_order, diff_order: the library's orders; ``None`` takes the method's own.
        seed: seeds every random choice.
        device: ``"cpu"`` or ``"cuda"``.
        inputs: names of fields that are inputs: in the terms, with no equation of their own.

    Attributes set by :meth:`fit`: ``result_`` (the :class:`~deepmod.result.Result`), ``equations_``.
    """

    def __init__(
        self,
        method: Method | None = None,
        terms: Sequence[str] = (),
        poly_order: int | None = None,
        diff_order: int | None = None,
        seed: int = 0,
        device: str = "cpu",
        inputs: Sequence[str] = (),
    ) -> None:
        self.method = method
        self.terms = terms
        self.poly_order = poly_order
        self.diff_order = diff_order
        self.seed = seed
        self.device = device
        self.inputs = inputs

    def fit(self, X: Any, y: None = None, **coords: Any) -> Model:
        """Discover the equations of ``X`` (see :func:`as_dataset`); coordinates as keywords, time first."""
        orders: dict[str, Any] = {
            "poly_order": self.poly_order,
            "diff_order": self.diff_order,
            "extra_terms": tuple(self.terms),
        }
        self.result_ = discover(self._data(X, coords), self.method, **orders, seed=self.seed, device=self.device)
        self.equations_: list[Equation] = self.result_.equations
        return self

    def print(self, file: IO[str] | None = None) -> None:
        """Print the equations, one per line."""
        print(str(self._result()), file=sys.stdout if file is None else file)

    def predict(self, X: Any, **coords: Any) -> dict[str, np.ndarray]:
        """The model's time derivatives on grid data, ``{lhs: values}`` at the grid's interior points, from
        Savitzky-Golay derivatives of the data whose windows follow its noise floor (for ODE data, along t)."""
        return dict(zip(self._lhs(), self._rates(X, coords).predicted, strict=True))

    def score(self, X: Any, y: None = None, **coords: Any) -> float:
        """Coefficient of determination R^2 of the predicted against the data's time derivatives, over all
        fields and interior points (1 is perfect)."""
        rates = self._rates(X, coords)
        observed = np.concatenate([a.ravel() for a in rates.observed])
        predicted = np.concatenate([a.ravel() for a in rates.predicted])
        total = float(np.sum((observed - observed.mean()) ** 2))
        return 1.0 - float(np.sum((observed - predicted) ** 2)) / total if total > 0 else float("nan")

    def simulate(self, X: Any = None, **options: Any) -> Simulation:
        """Integrate the discovered equations (:meth:`deepmod.result.Result.simulate`): ``X`` grid data (any
        input :meth:`fit` takes, coordinates among ``options``), or ``initial=`` and ``times=`` for ODEs."""
        keys = ("initial", "times", "boundary", "progress")
        settings = {k: options.pop(k) for k in keys if k in options}
        data = None if X is None else self._data(X, options)
        return self._result().simulate(data, **settings)

    def _result(self) -> Result:
        result: Result | None = getattr(self, "result_", None)
        if result is None:
            raise InputError("the model is not fitted yet: call fit first")
        return result

    def _data(self, X: Any, coords: Mapping[str, Any]) -> Dataset:
        data = as_dataset(X, coords)
        return data.with_inputs(list(self.inputs)) if self.inputs else data

    def _lhs(self) -> list[str]:
        return [e.lhs for e in self._result().equations]

    def _rates(self, X: Any, coords: Mapping[str, Any]) -> Any:
        data = self._data(X, coords)
        result = self._result()
        return equation_rates(data, result.equations, result.symbols_for(data))


def as_dataset(X: Any, coords: Mapping[str, Any] | None = None) -> Dataset:
    """A :class:`~deepmod.data.Dataset` from what :meth:`Model.fit` takes.

    - a ``Dataset``: as it is;
    - an xarray ``DataArray`` (one field, its name or ``u``) or ``Dataset`` (its data variables): dimensions
      and their coordinate values, a dimension named ``t`` or ``time`` first;
    - a numpy array or a mapping ``{field name: array}`` with the coordinates as keyword arrays, time first
      (``fit(u, t=t, x=x)``): a grid field has one axis per coordinate in any order, a scattered one is 1-D
      like each coordinate; with ``t`` the only coordinate, a 2-D array ``(n_t, n_states)`` holds the states
      ``x0, x1, ...``.
    """
    coords = dict(coords or {})
    if isinstance(X, Dataset):
        if coords:
            raise InputError("a Dataset carries its coordinates: give no coordinate arrays with it")
        return X
    if type(X).__module__.startswith("xarray"):
        return _from_xarray(X)
    if not coords:
        raise InputError("give the coordinates as keyword arrays, time first, e.g. fit(u, t=t, x=x)")
    fields = dict(X) if isinstance(X, Mapping) else _unnamed_fields(np.asarray(X), len(coords))
    arrays = {**{k: np.asarray(v) for k, v in coords.items()}, **{k: np.asarray(v) for k, v in fields.items()}}
    return from_arrays(arrays, list(coords), list(fields))


def _unnamed_fields(values: np.ndarray, n_coords: int) -> dict[str, np.ndarray]:
    """One field ``u``; for a time series with several columns, the states ``x0, x1, ...``."""
    if n_coords == 1 and values.ndim == 2 and values.shape[1] > 1:
        return {f"x{k}": values[:, k] for k in range(values.shape[1])}
    return {"u": values}


def _from_xarray(obj: Any) -> Dataset:
    variables = {str(obj.name or "u"): obj} if hasattr(obj, "dims") and not hasattr(obj, "data_vars") else None
    if variables is None:
        variables = {str(k): v for k, v in obj.data_vars.items()}
    first = next(iter(variables.values()))
    dims = [str(d) for d in first.dims]
    missing = [d for d in dims if d not in first.coords]
    if missing:
        raise InputError(f"the xarray object has no coordinate values for {', '.join(missing)}: assign them")
    ordered = sorted(dims, key=lambda d: d not in TIME_NAMES)
    arrays = {d: np.asarray(first.coords[d].values, dtype=np.float64) for d in ordered}
    for name, var in variables.items():
        arrays[name] = np.asarray(var.transpose(*ordered).values)
    return from_arrays(arrays, ordered, list(variables), dims=ordered)


__all__ = ["Model", "as_dataset"]
