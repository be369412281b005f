from __future__ import annotations

import pytest

from deepmod.terms import Factor, Symbols, Term, default_terms, derivative_indices, simpler_relatives

S1 = Symbols(fields=("u",), space=("x",))
S2 = Symbols(fields=("u", "v"), space=("x", "y"))


@pytest.mark.parametrize("name", ["1", "u", "u^2", "u_x", "u*u_x", "u^2*u_xx", "u_x^2", "u*u_xxx"])
def test_names_round_trip_1d(name: str) -> None:
    assert S1.name(S1.parse(name)) == name


@pytest.mark.parametrize("name", ["u*v", "u_xy", "v^2*u_yy", "u*v_x", "u^3"])
def test_names_round_trip_2d(name: str) -> None:
    assert S2.name(S2.parse(name)) == name


def test_products_merge_powers_and_sort() -> None:
    assert S1.name(S1.parse("u_x*u*u")) == "u^2*u_x"
    assert S1.parse("u") * S1.parse("u") == S1.parse("u^2")


@pytest.mark.parametrize("bad", ["w", "u_q", "u^0", "u**2", "", "u*"])
def test_parse_rejects_malformed(bad: str) -> None:
    with pytest.raises(ValueError):
        S1.parse(bad)


def test_default_library_matches_the_deepmod_layout() -> None:
    names = [S1.name(t) for t in default_terms(1, 1, 2, 3)]
    assert names == [
        "1",
        "u",
        "u^2",
        "u_x",
        "u*u_x",
        "u^2*u_x",
        "u_xx",
        "u*u_xx",
        "u^2*u_xx",
        "u_xxx",
        "u*u_xxx",
        "u^2*u_xxx",
    ]


def test_2d_derivatives_include_mixed() -> None:
    assert derivative_indices(2, 2) == [(1, 0), (0, 1), (2, 0), (1, 1), (0, 2)]
    names = {S2.name(t) for t in default_terms(2, 2, 1, 2)}
    assert {"u_xy", "v_yy", "u*v_x", "v*u_xx", "1"} <= names
    # 3 monomials (1, u, v) x (1 + 2 fields x 5 derivatives), no duplicates
    assert len(names) == 3 * 11


def test_ode_library_is_polynomials() -> None:
    s = Symbols(fields=("x", "y", "z"), space=())
    names = [s.name(t) for t in default_terms(3, 0, 2, 0)]
    assert names == ["1", "x", "y", "z", "x^2", "x*y", "x*z", "y^2", "y*z", "z^2"]


def test_factor_validation() -> None:
    with pytest.raises(ValueError):
        Factor(0, (1,), 0)
    assert Term().degree == 0 and S1.parse("u^2*u_xx").degree == 3


def test_simpler_relatives_drop_one_field_factor_of_derivative_terms() -> None:
    sym = Symbols(["u", "v"], ["x"])
    names = ["u", "u*v", "u_xx", "v*u_xx", "u*v*u_xx", "u^2*u_xx", "u*u_xx", "u_x^2"]
    rel = simpler_relatives([sym.parse(n) for n in names])
    got = {names[i]: sorted(names[j] for j in r) for i, r in enumerate(rel) if r}
    assert got == {
        "v*u_xx": ["u_xx"],
        "u*v*u_xx": ["u*u_xx", "v*u_xx"],
        "u^2*u_xx": ["u*u_xx"],
        "u*u_xx": ["u_xx"],
    }
