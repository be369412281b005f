"""Property-based tests: random files and random term names only ever give the documented errors.

The default run tries a few dozen examples per property; the slow suite tries thousands.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from deepmod.data import Dataset, load
from deepmod.errors import InputError
from deepmod.terms import Factor, Symbols, Term

SYMBOLS = Symbols(fields=("u", "v"), space=("x", "y"), time="t")
FEW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MANY = settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _load_or_input_error(suffix: str, write: Callable[[Path], None]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"data{suffix}"
        write(path)
        try:
            ds = load(path, ["t", "x"], ["u"])
        except InputError as exc:
            assert str(exc) and "\n" not in str(exc)
        else:
            assert isinstance(ds, Dataset) and np.all(np.isfinite(ds.fields["u"]))


def _random_bytes(suffix: str, blob: bytes) -> None:
    _load_or_input_error(suffix, lambda p: p.write_bytes(blob))


_arrays = hnp.arrays(
    dtype=st.sampled_from([np.float64, np.float32, np.int64, np.complex128, np.bool_, np.dtype("U3")]),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6),
)
_npz_contents = st.dictionaries(st.sampled_from(["t", "x", "u", "y", "w"]), _arrays, max_size=4)


def _npz(contents: dict[str, np.ndarray]) -> None:
    def write(p: Path) -> None:
        buffer = io.BytesIO()
        np.savez(buffer, **contents)
        p.write_bytes(buffer.getvalue())

    _load_or_input_error(".npz", write)


_csv_text = st.text(alphabet=st.sampled_from(list("tux,0123456789.-e\n nan")), max_size=200)


def _term_name(name: str) -> None:
    try:
        term = SYMBOLS.parse(name)
    except ValueError as exc:
        assert str(exc)
    else:
        assert SYMBOLS.parse(SYMBOLS.name(term)) == term


_factors = st.builds(
    Factor,
    st.integers(0, 1),
    st.tuples(st.integers(0, 4), st.integers(0, 4)),
    st.integers(1, 5),
)


def _round_trip(factors: list[Factor]) -> None:
    term = Term.of(factors)
    assert SYMBOLS.parse(SYMBOLS.name(term)) == term


@pytest.mark.parametrize("suffix", [".npz", ".mat", ".csv", ".nc"])
@FEW
@given(blob=st.binary(max_size=300))
def test_random_bytes_give_input_errors(suffix: str, blob: bytes) -> None:
    _random_bytes(suffix, blob)


@FEW
@given(contents=_npz_contents)
def test_random_npz_arrays_give_input_errors(contents: dict[str, np.ndarray]) -> None:
    _npz(contents)


@FEW
@given(text=_csv_text)
def test_random_csv_text_gives_input_errors(text: str) -> None:
    _load_or_input_error(".csv", lambda p: p.write_text("t,x,u\n" + text))


@FEW
@given(name=st.text(max_size=30))
def test_term_parser_accepts_names_or_raises_value_error(name: str) -> None:
    _term_name(name)


@FEW
@given(factors=st.lists(_factors, max_size=4))
def test_term_names_round_trip(factors: list[Factor]) -> None:
    _round_trip(factors)


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".npz", ".mat", ".csv", ".nc"])
@MANY
@given(blob=st.binary(max_size=2000))
def test_many_random_bytes(suffix: str, blob: bytes) -> None:
    _random_bytes(suffix, blob)


@pytest.mark.slow
@MANY
@given(contents=_npz_contents)
def test_many_random_npz_arrays(contents: dict[str, np.ndarray]) -> None:
    _npz(contents)


@pytest.mark.slow
@MANY
@given(text=_csv_text)
def test_many_random_csv_texts(text: str) -> None:
    _load_or_input_error(".csv", lambda p: p.write_text("t,x,u\n" + text))


@pytest.mark.slow
@MANY
@given(name=st.text(max_size=40), factors=st.lists(_factors, max_size=4))
def test_many_term_names(name: str, factors: list[Factor]) -> None:
    _term_name(name)
    _round_trip(factors)
