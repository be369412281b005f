"""Read data files into a :class:`~deepmod.data.dataset.Dataset`.

Formats: ``.npz`` (never with pickles), ``.mat`` (scipy.io), netCDF/HDF5 (``.nc``, ``.h5``, ``.hdf5``,
``.cdf``, via xarray), ``.csv`` with a header row (lines starting with ``#`` are comments; spaces after the
separators are ignored). Real-world quirks handled: complex arrays whose imaginary part is zero, row/column
vectors, space-major layouts, per-file array names.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import warnings
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from deepmod.data.csv_files import WIDE, name_wide, read_csv
from deepmod.data.dataset import Dataset
from deepmod.errors import DeepmodWarning, InputError, require

NameSpec = Sequence[str] | Mapping[str, str]
TIME_NAMES = {"t", "time"}
"""Coordinate names (either the alias or the file's name, any case) that can only be time."""

_NETCDF = {".nc", ".nc4", ".cdf", ".h5", ".hdf5", ".he5", ".netcdf"}


def parse_names(spec: NameSpec, what: str) -> dict[str, str]:
    """Turn ``["u=usol", "v"]`` or ``{"u": "usol"}`` into ``{alias: array name}``."""
    if isinstance(spec, Mapping):
        pairs = dict(spec)
    else:
        pairs = {}
        for item in spec:
            alias, sep, name = item.strip().partition("=")
            alias, name = alias.strip(), (name.strip() if sep else alias.strip())
            if not alias or not name:
                raise InputError(f"cannot read {what} '{item}': write NAME or ALIAS=NAME, e.g. u=usol")
            if alias in pairs:
                raise InputError(f"{what} '{alias}' is named twice: give each name once")
            pairs[alias] = name
    if not pairs:
        example = "t,x" if what == "coord" else "u"
        raise InputError(f"no {what}s given: name them, e.g. {example}", options=(f"{what}s",))
    return pairs


def read_arrays(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """All named numeric arrays in a data file, by format from the file extension."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"data file '{p}' does not exist: check the path")
    if p.is_dir():
        raise InputError(f"'{p}' is a directory: give the path of a data file")
    if not os.access(p, os.R_OK):
        raise InputError(f"data file '{p}' cannot be read: check its permissions")
    ext = p.suffix.lower()
    readers = {".npz": _read_npz, ".mat": _read_mat, ".csv": read_csv}
    reader = readers.get(ext, _read_netcdf if ext in _NETCDF else None)
    if reader is None:
        raise InputError(f"unknown file type '{ext}' for '{p.name}': use .npz, .mat, .nc/.h5 (netCDF/HDF5) or .csv")
    return reader(p)


def _read_npz(p: Path) -> dict[str, np.ndarray]:
    if not zipfile.is_zipfile(p):
        raise InputError(f"'{p.name}' is not a readable .npz file (not a zip archive): save it with numpy.savez")
    try:
        with np.load(p, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise InputError(
                f"'{p.name}' stores Python objects (pickles), which are never loaded: save plain numeric arrays"
            ) from exc
        raise InputError(f"'{p.name}' is not a readable .npz file: {exc}") from exc
    except Exception as exc:
        raise InputError(
            f"'{p.name}' is not a readable .npz file ({type(exc).__name__}): re-save it with numpy.savez"
        ) from exc


def _read_mat(p: Path) -> dict[str, np.ndarray]:
    import scipy.io

    try:
        raw = scipy.io.loadmat(p)
    except NotImplementedError:
        return _read_netcdf(p)
    except Exception as exc:
        raise InputError(
            f"'{p.name}' is not a readable MATLAB file ({type(exc).__name__}): re-save it with -v7"
        ) from exc
    return {k: v for k, v in raw.items() if not k.startswith("__") and isinstance(v, np.ndarray)}


def _read_netcdf(p: Path) -> dict[str, np.ndarray]:
    xr = require("xarray", "netcdf")
    errors = []
    for engine, kwargs in (("h5netcdf", {"phony_dims": "sort"}), ("scipy", {})):
        try:
            with xr.open_dataset(p, engine=engine, **kwargs) as ds:
                out = {str(k): np.asarray(v.values) for k, v in ds.variables.items()}
            return out
        except Exception as exc:
            errors.append(f"{engine}: {type(exc).__name__}")
    raise InputError(f"'{p.name}' is not a readable netCDF/HDF5 file ({'; '.join(errors)})")


IMAGINARY_TOLERANCE = 1e-4
"""Imaginary parts below this fraction of the largest real value are round-off (spectral solvers leave
~1e-6 in the PDE-FIND files) and are dropped; anything larger is real information and an error."""


def _as_real(name: str, a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype.kind == "c":
        scale = float(np.max(np.abs(a.real))) if a.size else 0.0
        if np.any(np.abs(a.imag) > IMAGINARY_TOLERANCE * max(scale, 1e-300)):
            raise InputError(
                f"array '{name}' is complex with a non-zero imaginary part: select its parts as fields, "
                f"a={name}.real,b={name}.imag (or m={name}.abs for the magnitude)",
                options=("fields",),
            )
        a = a.real
    if a.dtype.kind == "b" or a.dtype.kind not in "iuf":
        raise InputError(f"array '{name}' is not numeric (dtype {a.dtype}): store numbers")
    return np.ascontiguousarray(a, dtype=np.float64)


PARTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"real": np.real, "imag": np.imag, "abs": np.abs}
"""Selectors of a part of an array, written ``name.part`` (``u.real``): complex fields as real fields."""


def _pick(arrays: Mapping[str, np.ndarray], name: str, what: str, source: str) -> np.ndarray:
    base, dot, part = name.rpartition(".")
    if name not in arrays and dot and part in PARTS and base in arrays:
        return _as_real(name, PARTS[part](np.asarray(arrays[base])))
    if name not in arrays:
        known = ", ".join(sorted(arrays)) or "none"
        raise InputError(f"no array named '{name}' in '{source}' (arrays: {known}): check the {what} names")
    return _as_real(name, arrays[name])


def from_arrays(
    arrays: Mapping[str, np.ndarray],
    coords: NameSpec,
    fields: NameSpec,
    dims: Sequence[str] | None = None,
    source: str = "arrays",
    mask_nan: bool = False,
) -> Dataset:
    """Assemble a :class:`Dataset` from named arrays.

    Args:
        arrays: array name -> values, as read from a file.
        coords: coordinate names, time first; ``alias=name`` renames.
        fields: field names; ``alias=name`` renames.
        dims: the axis order of grid fields as coordinate aliases, only needed when coordinate lengths
            are equal and the layout cannot be inferred.
        mask_nan: leave out the points where a field is NaN (never filled): a grid with gaps becomes
            scattered samples, a time series a shorter, unevenly spaced one. Without it NaN is an error.
    """
    cmap, fmap = parse_names(coords, "coord"), parse_names(fields, "field")
    dotted = [a for a in [*cmap, *fmap] if "." in a]
    if dotted:
        raise InputError(f"'{dotted[0]}' is no name for an equation: name the part, e.g. a={dotted[0]}")
    late = [a for k, (a, n) in enumerate(cmap.items()) if k > 0 and {a.lower(), n.lower()} & TIME_NAMES]
    if late:
        fixed = ",".join([late[0], *(a for a in cmap if a != late[0])])
        raise InputError(
            f"coordinate '{late[0]}' looks like time but is not first: time comes first (--coords {fixed})",
            options=("coords",),
        )
    if set(cmap) & set(fmap):
        raise InputError(f"names {sorted(set(cmap) & set(fmap))} are used for both a coordinate and a field")
    cs = {a: np.atleast_1d(_pick(arrays, n, "coordinate", source).squeeze()) for a, n in cmap.items()}
    fs = {a: _pick(arrays, n, "field", source) for a, n in fmap.items()}
    for a, c in cs.items():
        if c.ndim != 1:
            raise InputError(f"coordinate '{cmap[a]}' has shape {c.shape}: coordinates must be vectors")
    lengths = {a: len(c) for a, c in cs.items()}
    first = next(iter(fs.values())).squeeze()
    scattered = (
        len(cs) > 1
        and first.ndim == 1
        and len(set(lengths.values())) == 1
        and len(first) == len(next(iter(cs.values())))
    )
    if scattered:
        if mask_nan:
            return _without_nan(cs, {a: f.squeeze() for a, f in fs.items()}, False, source)
        return Dataset(cs, {a: f.squeeze() for a, f in fs.items()}, grid=False, source=source)
    for a, n in lengths.items():
        if n == 0:
            raise InputError(f"coordinate '{cmap[a]}' is empty: give at least a few samples")
        if n < 3:
            raise InputError(f"coordinate '{cmap[a]}' has {n} value(s): at least 3 are needed to differentiate")
    order = None if dims is None else list(dims)
    grid_fields = {a: _to_grid_layout(a, fmap[a], f, lengths, order) for a, f in fs.items()}
    if mask_nan:
        return _without_nan(cs, grid_fields, True, source)
    return Dataset(cs, grid_fields, grid=True, source=source)


def _without_nan(coords: dict[str, np.ndarray], fields: dict[str, np.ndarray], grid: bool, source: str) -> Dataset:
    """The points where no field is NaN: the grid as it is when there are none; a time series without those
    times; otherwise scattered samples."""
    gaps = np.zeros(next(iter(fields.values())).shape, dtype=bool)
    for f in fields.values():
        gaps |= np.isnan(f)
    if not gaps.any():
        return Dataset(coords, fields, grid=grid, source=source)
    keep = ~gaps
    if keep.sum() == 0:
        raise InputError("every point has a NaN in some field: nothing is left to fit")
    if grid and len(coords) > 1:
        mesh = np.meshgrid(*coords.values(), indexing="ij")
        coords = {n: m[keep] for n, m in zip(coords, mesh, strict=True)}
        grid = False
    else:
        coords = {n: c[keep] for n, c in coords.items()}
    described = f"{source}, {int(gaps.sum())} NaN points left out"
    return Dataset(coords, {n: f[keep] for n, f in fields.items()}, grid=grid, source=described)


def _to_grid_layout(
    alias: str, name: str, f: np.ndarray, lengths: dict[str, int], dims: list[str] | None
) -> np.ndarray:
    names = list(lengths)
    target = tuple(lengths.values())
    squeezed = f.squeeze()  # valid grids have >= 3 values per axis, so only stray singleton axes go
    if dims is not None:
        if sorted(dims) != sorted(names):
            raise InputError(
                f"the axis order must list each coordinate once ({','.join(names)}), got {','.join(dims)}",
                options=("dims",),
            )
        if squeezed.shape != tuple(lengths[d] for d in dims):
            raise InputError(
                f"field '{name}' has shape {squeezed.shape}, which does not match the axis order {','.join(dims)}",
                options=("dims",),
            )
        return np.transpose(squeezed, [dims.index(n) for n in names])
    if squeezed.ndim != len(names):
        raise InputError(
            f"field '{name}' has shape {f.shape} but the coordinates {names} have lengths {target}: "
            "a grid field needs one axis per coordinate, scattered data 1-D arrays of equal length"
        )
    perms = [p for p in itertools.permutations(range(len(names))) if tuple(squeezed.shape[i] for i in p) == target]
    if not perms:
        raise InputError(
            f"field '{name}' has shape {squeezed.shape}, which does not match the coordinate lengths "
            f"{dict(lengths)}: check the coordinate names",
            options=("coords",),
        )
    if len(perms) > 1:
        identity = tuple(range(len(names)))
        if identity not in perms or _time_is_ambiguous(perms):
            raise InputError(
                f"the axis order of field '{name}' {squeezed.shape} is ambiguous because coordinates have equal "
                f"lengths: give the axis order, e.g. {','.join(names)}",
                options=("dims",),
            )
        equal = [names[i] for i in range(len(names)) if any(p[i] != i for p in perms)]
        message = (
            f"field '{name}': {' and '.join(equal)} have equal lengths, so the axis order cannot be read from the "
            f"shape; taken as the coordinates' order {','.join(names)}: give the axis order if the file's differs"
        )
        warnings.warn(DeepmodWarning(message, options=("dims",)), stacklevel=3)
        return squeezed
    return np.transpose(squeezed, perms[0])


def _time_is_ambiguous(perms: list[tuple[int, ...]]) -> bool:
    """Whether time's axis is in doubt: a space axis as long as time. Swapping time and space changes the
    equation's meaning, so it is never guessed; equal space axes are taken in the coordinates' order."""
    return len({p[0] for p in perms}) > 1


def load(
    path: str | os.PathLike[str],
    coords: NameSpec,
    fields: NameSpec,
    dims: Sequence[str] | None = None,
    mask_nan: bool = False,
    inputs: NameSpec = (),
    trajectory: str | None = None,
) -> Dataset:
    """Load a data file as a :class:`Dataset` (``mask_nan``: see :func:`from_arrays`).

    ``trajectory`` names an array that labels each sample of a time series with its run (a column of a long
    CSV, ``run = 0, 0, ..., 1, 1, ...``): each label's samples, in time order, are one trajectory, and the
    data set holds the others as its :attr:`~Dataset.runs`.

    ``inputs`` (named as ``fields``) are loaded as the last fields and marked as the data set's
    :attr:`~Dataset.inputs`: used in terms, with no equation of their own.

    Example:
        >>> ds = load("burgers.mat", coords=["t", "x"], fields=["u=usol"])  # doctest: +SKIP

    CSV files hold one sample per row; when the rows cover a full tensor grid the data set is a grid. A wide
    CSV (a header row of numbers after a corner cell) is one field on a grid: the header row one coordinate's
    values, the first column the other's.
    """
    arrays = read_arrays(path)
    given = parse_names(inputs, "field") if inputs else {}
    named = parse_names(fields, "field")
    if set(given) & set(named):
        raise InputError(f"{', '.join(set(given) & set(named))} is named as a field and as an input: name it once")
    every = {**named, **given}
    if f"{WIDE}values" in arrays:
        arrays = name_wide(arrays, parse_names(coords, "coord"), every, Path(path).name)
    if trajectory is not None:
        runs = split_runs(arrays, trajectory, parse_names(coords, "coord"), Path(path).name)
        loaded = [from_arrays(a, coords, every, source=f"{Path(path).name}, {trajectory} {k}") for k, a in runs]
        ds = dataclasses.replace(loaded[0], runs=tuple(loaded[1:]))
    else:
        ds = from_arrays(arrays, coords, every, dims=dims, source=Path(path).name, mask_nan=mask_nan)
        if Path(path).suffix.lower() == ".csv" and not ds.grid:
            ds = scattered_to_grid(ds) or ds
    return ds.with_inputs(list(given)) if given else ds


def split_runs(
    arrays: Mapping[str, np.ndarray], label: str, coords: Mapping[str, str], source: str
) -> list[tuple[str, dict[str, np.ndarray]]]:
    """Per value of the array ``label`` (in order of first appearance): that run's samples of every array of
    the samples' length, sorted by time (the first coordinate).

    Raises:
        InputError: when ``label`` is missing, the data are not a time series, or a run has under 3 samples.
    """
    if label not in arrays:
        raise InputError(
            f"no array named '{label}' in '{source}' to tell the trajectories apart", options=("trajectory",)
        )
    if len(coords) != 1:
        raise InputError(
            "several trajectories are read for time series (t the only coordinate)", options=("trajectory",)
        )
    labels = np.asarray(arrays[label]).ravel()
    time = np.asarray(arrays[next(iter(coords.values()))], dtype=np.float64).ravel()
    if time.shape != labels.shape:
        raise InputError(f"'{label}' has {labels.size} values, the time {time.size}: one label per sample")
    values, first = np.unique(labels, return_index=True)
    out = []
    for value in values[np.argsort(first)]:
        rows = np.flatnonzero(labels == value)
        if len(rows) < 3:
            raise InputError(f"trajectory {value} has {len(rows)} sample(s): each needs at least 3")
        rows = rows[np.argsort(time[rows], kind="stable")]
        out.append((str(value), {k: np.asarray(a)[rows] for k, a in arrays.items() if np.size(a) == labels.size}))
    return out


def scattered_to_grid(ds: Dataset) -> Dataset | None:
    """The grid form of scattered samples that cover a full tensor grid exactly once, else ``None``."""
    axes = [np.unique(c) for c in ds.coords.values()]
    if int(np.prod([len(a) for a in axes])) != ds.n_points or min(len(a) for a in axes) < 3:
        return None
    idx = tuple(np.searchsorted(a, c) for a, c in zip(axes, ds.coords.values(), strict=True))
    fields = {}
    for name, f in ds.fields.items():
        g = np.full(tuple(len(a) for a in axes), np.nan)
        g[idx] = f
        if np.isnan(g).any():
            return None
        fields[name] = g
    return Dataset(dict(zip(ds.coords, axes, strict=True)), fields, grid=True, source=ds.source)


def save_npz(ds: Dataset, path: str | os.PathLike[str]) -> None:
    """Write a data set as ``.npz`` (plain arrays, atomically) in the layout :func:`load` reads back."""
    from deepmod._io import atomic_write

    def _write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, **{**ds.coords, **ds.fields})  # type: ignore[arg-type]

    atomic_write(path, _write)
