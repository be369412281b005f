"""Loaders (every format round-trips, PDE-FIND quirks), the Dataset checks, synthetic systems' truth."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from conftest import shared_file
from deepmod.data import Dataset, add_noise, load, save_npz, subsample
from deepmod.data.synthetic import EXAMPLES
from deepmod.derivatives import differentiate
from deepmod.errors import InputError
from deepmod.terms import Symbols


def _grid() -> Dataset:
    t = np.linspace(0, 1, 5)
    x = np.linspace(-1, 1, 7)
    u = np.sin(t[:, None] + x[None, :])
    return Dataset({"t": t, "x": x}, {"u": u}, grid=True)


def _same(a: Dataset, b: Dataset) -> None:
    assert a.grid == b.grid and a.coord_names == b.coord_names and a.field_names == b.field_names
    for k in a.coords:
        np.testing.assert_array_equal(a.coords[k], b.coords[k])
    for k in a.fields:
        np.testing.assert_array_equal(a.fields[k], b.fields[k])


def test_npz_round_trip(tmp_path: Path) -> None:
    ds = _grid()
    save_npz(ds, tmp_path / "d.npz")
    _same(ds, load(tmp_path / "d.npz", ["t", "x"], ["u"]))


def test_mat_round_trip_with_pdefind_quirks(tmp_path: Path) -> None:
    """Space-major layout, row and column vectors, complex with round-off imaginary part, odd names."""
    ds = _grid()
    u = ds.fields["u"].T.astype(complex) + 1e-9j
    scipy.io.savemat(tmp_path / "d.mat", {"usol": u, "x": ds.coords["x"][None, :], "tt": ds.coords["t"][:, None]})
    _same(ds, load(tmp_path / "d.mat", ["t=tt", "x"], ["u=usol"]))


def test_complex_with_real_imaginary_part_is_an_error(tmp_path: Path) -> None:
    ds = _grid()
    scipy.io.savemat(tmp_path / "d.mat", {"u": ds.fields["u"] * (1 + 0.5j), "t": ds.coords["t"], "x": ds.coords["x"]})
    with pytest.raises(InputError, match="imaginary") as raised:
        load(tmp_path / "d.mat", ["t", "x"], ["u"])
    assert "a=u.real,b=u.imag" in str(raised.value) and raised.value.options == ("fields",)
    parts = load(tmp_path / "d.mat", ["t", "x"], ["a=u.real", "b=u.imag", "m=u.abs"])
    np.testing.assert_allclose(parts.fields["a"], ds.fields["u"])
    np.testing.assert_allclose(parts.fields["b"], 0.5 * ds.fields["u"])
    np.testing.assert_allclose(parts.fields["m"], np.abs(ds.fields["u"]) * np.sqrt(1.25))
    with pytest.raises(InputError, match="name the part"):
        load(tmp_path / "d.mat", ["t", "x"], ["u.real"])


def test_netcdf_round_trip(tmp_path: Path) -> None:
    xr = pytest.importorskip("xarray")
    ds = _grid()
    xr.Dataset({"u": (("x", "t"), ds.fields["u"].T)}, coords={"t": ds.coords["t"], "x": ds.coords["x"]}).to_netcdf(
        tmp_path / "d.nc", engine="h5netcdf"
    )
    _same(ds, load(tmp_path / "d.nc", ["t", "x"], ["u"]))


def test_csv_round_trip_as_grid_and_scattered(tmp_path: Path) -> None:
    ds = _grid()
    x, u = ds.points()
    with open(tmp_path / "g.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["t", "x", "u"])
        w.writerows(np.column_stack([x, u])[::-1].tolist())  # row order must not matter
    _same(ds, load(tmp_path / "g.csv", ["t", "x"], ["u"]))
    keep = np.random.default_rng(0).choice(len(x), 20, replace=False)
    with open(tmp_path / "s.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["t", "x", "u"])
        w.writerows(np.column_stack([x, u])[keep].tolist())
    s = load(tmp_path / "s.csv", ["t", "x"], ["u"])
    assert not s.grid and s.n_points == 20
    np.testing.assert_allclose(s.fields["u"], u[keep, 0])


def test_scattered_npz(tmp_path: Path) -> None:
    sc = subsample(_grid(), 15, seed=1)
    save_npz(sc, tmp_path / "s.npz")
    _same(sc, load(tmp_path / "s.npz", ["t", "x"], ["u"]))


def test_csv_with_comment_lines_and_spaces_after_the_separators(tmp_path: Path) -> None:
    """A published record's layout: ``#`` lines before the header, ``Year, Lynx, Hare`` with spaces."""
    text = "# Hudson's Bay Company pelts (thousands)\n# source: a textbook\nYear, Lynx, Hare\n"
    years = np.arange(1900, 1921)
    lynx, hare = 10 + np.sin(years / 3.0), 30 + np.cos(years / 3.0)
    text += "".join(f"{y}, {a:.6f},  {b:.6f}\n" for y, a, b in zip(years, lynx, hare, strict=True))
    (tmp_path / "pelts.csv").write_text(text)
    ds = load(tmp_path / "pelts.csv", ["t=Year"], ["x=Hare", "y=Lynx"])
    assert ds.grid and ds.n_space == 0 and ds.field_names == ("x", "y")
    np.testing.assert_array_equal(ds.coords["t"], years)
    np.testing.assert_allclose(ds.fields["y"], lynx, atol=1e-6)


def test_mask_nan_leaves_the_gaps_out_never_fills_them(tmp_path: Path) -> None:
    """A grid with NaN points becomes the other points, scattered; a time series loses those times; without
    the option NaN stays an error that names it."""
    t, x = np.linspace(0, 1, 20), np.linspace(0, 1, 30)
    u = np.sin(np.add.outer(t, x))
    gaps = np.random.default_rng(0).random(u.shape) < 0.05
    np.savez(tmp_path / "g.npz", t=t, x=x, u=np.where(gaps, np.nan, u), w=np.where(gaps[:, 0], np.nan, t))
    ds = load(tmp_path / "g.npz", ["t", "x"], ["u"], mask_nan=True)
    assert not ds.grid and ds.n_points == (~gaps).sum()
    np.testing.assert_array_equal(ds.fields["u"], u[~gaps])
    np.testing.assert_array_equal(ds.coords["x"], np.broadcast_to(x, u.shape)[~gaps])
    series = load(tmp_path / "g.npz", ["t"], ["w"], mask_nan=True)
    assert series.grid and len(series.coords["t"]) == (~gaps[:, 0]).sum()
    with pytest.raises(InputError, match="NaN") as raised:
        load(tmp_path / "g.npz", ["t", "x"], ["u"])
    assert raised.value.options == ("mask_nan",)


@pytest.mark.slow
def test_mask_nan_on_burgers_gives_the_same_equation(tmp_path: Path) -> None:
    """The built-in Burgers grid with 5 % of its points NaN, their gaps left out: DeepMoD's defaults give the
    full grid's equation within 2 % (measured: -1.000 u*u_x + 0.0990 u_xx against -1 u*u_x + 0.1 u_xx)."""
    import deepmod
    from deepmod.data.synthetic import burgers_delta

    data = burgers_delta().data
    u = data.fields["u"]
    gaps = np.random.default_rng(0).random(u.shape) < 0.05
    np.savez(tmp_path / "b.npz", t=data.coords["t"], x=data.coords["x"], u=np.where(gaps, np.nan, u))
    masked = deepmod.discover(load(tmp_path / "b.npz", ["t", "x"], ["u"], mask_nan=True), seed=0).coefficients
    full = deepmod.discover(data, seed=0).coefficients
    assert set(masked["u_t"]) == set(full["u_t"]) == {"u*u_x", "u_xx"}
    for term, c in full["u_t"].items():
        assert masked["u_t"][term] == pytest.approx(c, rel=0.02)


@pytest.mark.parametrize("corner", ["t", "t\\x", "", "x"])
def test_wide_csv_is_a_field_on_a_grid(corner: str, tmp_path: Path) -> None:
    """One column per x: the header row holds x after a corner cell, each row a time and the values (the
    corner may name the rows' coordinate; ``x`` there means the table holds one row per x)."""
    t, x = np.linspace(0, 1, 6), np.linspace(-1, 1, 9)
    u = np.sin(np.add.outer(2 * t, x))
    rows, columns, table = (x, t, u.T) if corner == "x" else (t, x, u)
    lines = [",".join([corner, *(f"{c:.17g}" for c in columns)])]
    lines += [",".join(f"{v:.17g}" for v in [r, *row]) for r, row in zip(rows, table, strict=True)]
    (tmp_path / "wide.csv").write_text("# one column per x\n" + "\n".join(lines) + "\n")
    ds = load(tmp_path / "wide.csv", ["t", "x"], ["u"])
    assert ds.grid and ds.coord_names == ("t", "x")
    np.testing.assert_allclose(ds.coords["t"], t)
    np.testing.assert_allclose(ds.fields["u"], u)
    with pytest.raises(InputError, match="wide table"):
        load(tmp_path / "wide.csv", ["t", "x"], ["u", "v"])


@pytest.mark.parametrize("coords", [["x", "t"], ["x", "time=t"], ["x", "s=T"]])
def test_time_must_be_the_first_coordinate(coords: list[str], tmp_path: Path) -> None:
    t, x = np.linspace(0, 1, 6), np.linspace(0, 1, 9)
    np.savez(tmp_path / "a.npz", t=t, T=t, x=x, u=np.add.outer(t, x))
    with pytest.raises(InputError, match="time comes first") as raised:
        load(tmp_path / "a.npz", coords, ["u"])
    assert raised.value.options == ("coords",)


def test_ambiguous_layout_asks_for_dims(tmp_path: Path) -> None:
    t = np.linspace(0, 1, 6)
    x = np.linspace(0, 1, 6)
    u = np.add.outer(t, 2 * x)
    np.savez(tmp_path / "a.npz", t=t, x=x, u=u.T)
    with pytest.raises(InputError, match="axis order") as raised:
        load(tmp_path / "a.npz", ["t", "x"], ["u"])
    assert raised.value.options == ("dims",)
    ds = load(tmp_path / "a.npz", ["t", "x"], ["u"], dims=["x", "t"])
    np.testing.assert_array_equal(ds.fields["u"], u)


def test_equal_space_axes_follow_the_coordinates_order_with_a_warning(tmp_path: Path) -> None:
    from deepmod.errors import DeepmodWarning

    t, x, y = np.linspace(0, 1, 7), np.linspace(0, 1, 9), np.linspace(0, 3, 9)
    u = np.add.outer(np.add.outer(t, 2 * x), 5 * y)
    np.savez(tmp_path / "a.npz", t=t, x=x, y=y, u=u)
    with pytest.warns(DeepmodWarning, match="x and y have equal lengths") as caught:
        ds = load(tmp_path / "a.npz", ["t", "x", "y"], ["u"])
    assert caught[0].message.options == ("dims",)  # type: ignore[union-attr]
    np.testing.assert_array_equal(ds.fields["u"], u)
    swapped = load(tmp_path / "a.npz", ["t", "x", "y"], ["u"], dims=["t", "y", "x"])
    np.testing.assert_array_equal(swapped.fields["u"], u.transpose(0, 2, 1))


@pytest.mark.parametrize(
    ("file", "coords", "fields", "shape"),
    [
        ("burgers.mat", ["t", "x"], ["u=usol"], (101, 256)),
        ("kdv.mat", ["t", "x"], ["u=usol"], (201, 512)),
        ("kuramoto_sivishinky.mat", ["tt", "x"], ["u=uu"], (251, 1024)),
    ],
)
def test_reference_files_load_with_inferred_layout(
    file: str, coords: list[str], fields: list[str], shape: tuple
) -> None:
    ds = load(shared_file(file), coords, fields)
    assert ds.grid and ds.shape == shape
    assert np.all(np.diff(ds.coords[coords[0]]) > 0)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Dataset({"t": np.arange(5.0), "x": np.arange(4.0)}, {"u": np.ones((5, 3))}, True), "shape"),
        (
            lambda: Dataset({"t": np.arange(5.0), "x": np.array([0, 2, 1, 3.0])}, {"u": np.ones((5, 4))}, True),
            "sorted",
        ),
        (
            lambda: Dataset({"t": np.arange(5.0), "x": np.array([0, 1, 1, 3.0])}, {"u": np.ones((5, 4))}, True),
            "duplicate",
        ),
        (
            lambda: Dataset({"t": np.arange(5.0), "x": np.arange(4.0)}, {"u": np.full((5, 4), np.nan)}, True),
            "NaN",
        ),
        (
            lambda: Dataset({"t": np.arange(5.0), "x": np.arange(4.0)}, {"u": np.full((5, 4), "a")}, True),
            "numeric",
        ),
        (
            lambda: Dataset({"t": np.arange(2.0), "x": np.arange(4.0)}, {"u": np.ones((2, 4))}, True),
            "at least 3",
        ),
        (
            lambda: Dataset({"t": np.arange(5.0), "x": np.arange(5.0)}, {"u": np.ones(5)}, False),
            "at least 10",
        ),
        (
            lambda: Dataset({"t": np.zeros(12), "x": np.zeros(12)}, {"u": np.ones(12)}, False),
            "share the same",
        ),
        (
            lambda: Dataset({"t": np.arange(12.0), "x": np.arange(11.0)}, {"u": np.ones(12)}, False),
            "one length",
        ),
        (lambda: Dataset({"t": np.array([])}, {"u": np.array([])}, True), "empty"),
    ],
)
def test_dataset_rejects_bad_input(make, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=message):
        make()


def test_noise_has_the_conventional_level() -> None:
    ds = EXAMPLES["burgers"]().data
    noisy = add_noise(ds, 0.1, seed=3)
    resid = noisy.fields["u"] - ds.fields["u"]
    # 5000 samples: the sample std of the noise is within 4 % of 0.1 * std(u) with overwhelming probability
    assert abs(resid.std() / (0.1 * ds.fields["u"].std()) - 1) < 0.04
    np.testing.assert_array_equal(add_noise(ds, 0.1, seed=3).fields["u"], noisy.fields["u"])


def _residual(name: str) -> float:
    """Max |u_t - truth rhs| relative to max |u_t| with 6th-order finite differences, away from edges."""
    system = EXAMPLES[name]()
    ds = system.data
    coords = list(ds.coords.values())
    sym = Symbols(ds.field_names, tuple("xyz"[: ds.n_space]), "t", ds.inputs)
    worst = 0.0
    for lhs, terms in system.truth.items():
        field = sym.fields.index(lhs.split("_")[0])
        u_t = differentiate(ds.fields[sym.fields[field]], coords[0], 1, axis=0, accuracy=6)
        rhs = np.zeros_like(u_t)
        for name_, c in terms.items():
            col = np.ones_like(u_t)
            for f in sym.parse(name_).factors:  # a coordinate factor (negative index) is the grid's mesh
                v = np.meshgrid(*coords, indexing="ij")[-1 - f.field] if f.field < 0 else ds.fields[sym.fields[f.field]]
                for axis, k in enumerate(f.derivative, start=1):
                    if k:
                        v = differentiate(v, coords[axis], k, axis=axis, accuracy=6)
                col = col * v**f.power
            rhs += c * col
        inner = tuple(slice(4, -4) for _ in u_t.shape)
        worst = max(worst, float(np.max(np.abs(u_t - rhs)[inner]) / np.max(np.abs(u_t))))
    return worst


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_synthetic_systems_satisfy_their_equations(name: str) -> None:
    """Truncation error of 6th-order differences on these grids is below 1 % of max |u_t| (measured: at most
    0.4 %); a wrong coefficient or sign in a generator gives errors of order 10 % or more."""
    assert _residual(name) < 0.01
