"""The link library: values, r handling, metadata, and the theory flag's first criterion."""

import dataclasses

import numpy as np
import pytest

from mimkit.links import LINKS, Link, get_link, he2

Z = np.array([[1.0, 2.0, -3.0], [-0.5, 0.5, 2.0]])


@pytest.mark.parametrize(
    "name, expected",
    [
        ("z1z2", [2.0, -0.25]),
        ("sign_z1z2", [1.0, -1.0]),
        ("z1z2z3", [-6.0, -0.5]),
        ("z1_plus_z1z2", [3.0, -0.75]),
        ("parity3", [-1.0, -1.0]),
        ("sq_sign3", [1.0 - 1.0, 0.25 - 1.0]),
        ("sign_committee", [1.0 + 1.0 - 1.0, -1.0 + 1.0 + 1.0]),
        ("tanh_committee", [np.tanh(1) + np.tanh(2), 0.0]),
    ],
)
def test_library_values(name, expected):
    link = get_link(name)
    np.testing.assert_allclose(link(Z[:, : link.r]), expected, rtol=1e-12, atol=1e-12)


def test_sized_links_follow_r():
    link = get_link("he2_sum", r=2)
    assert link.r == 2 and "He2(z2)" in link.description
    np.testing.assert_allclose(link(Z[:, :2]), [0.0 + 3.0, -0.75 - 0.75])
    assert get_link("he2_sum").r == 3
    np.testing.assert_allclose(get_link("norm2", r=3)(Z), np.sum(Z**2, axis=1) / 3)
    assert get_link("tanh_committee", r=3).r == 3


def test_registry_metadata():
    for name, link in LINKS.items():
        assert link.name == name and link.r >= 1
        assert link.description and "\n" not in link.description
        assert isinstance(link.theory_covers, bool)
    for name in ("z1_plus_z1z2", "parity3", "sq_sign3", "sign_committee"):
        assert not LINKS[name].theory_covers, name
    assert LINKS["z1z2"].theory_covers and LINKS["he2_sum"].theory_covers


def test_theory_flag_matches_linear_component():
    # Criterion (i) of links.py: covered links have no linear Hermite part E[g(z) z] = 0.
    # With n = 200k the Monte-Carlo error of each entry is <= sd(g z)/sqrt(n) ~ 0.01 (sd <= 4
    # for these links), so 0.05 separates zero from the nonzero ones (>= E[tanh'] ~ 0.6).
    z = np.random.default_rng(0).standard_normal((200_000, 3))
    for name, link in LINKS.items():
        if name in ("parity3", "sq_sign3"):
            continue  # outside for criterion (ii) (no full-rank Hessian), not a linear part
        zr = z[:, : link.r]
        lin = np.abs(zr.T @ link(zr) / len(zr)).max()
        assert (lin < 0.05) == bool(link.theory_covers), (name, lin)


def test_new_links_match_numpy_formulas():
    # The core's formulas (cpp/links.hpp) against numpy on Gaussian rows.
    z = np.random.default_rng(1).standard_normal((1000, 3))
    sign = np.where(z >= 0, 1.0, -1.0)
    np.testing.assert_array_equal(get_link("sq_sign3")(z), z[:, 0] ** 2 + np.prod(sign, axis=1))
    np.testing.assert_array_equal(get_link("sign_committee")(z), sign.sum(axis=1))


def test_sq_sign3_hessian_sees_only_z1():
    # Links docstring: for every T, E[T(y)(zz^T - I)] = diag(c, 0, 0) for sq_sign3; checked for
    # two transforms by Monte Carlo (entries' standard error <= 3 / sqrt(n) ~ 0.005 at 400k).
    z = np.random.default_rng(2).standard_normal((400_000, 3))
    y = get_link("sq_sign3")(z)
    for t in (np.clip(y - 1.0, -1.0, 1.0), np.abs(y)):
        H = (z * t[:, None]).T @ z / len(z) - np.mean(t) * np.eye(3)
        assert abs(H[0, 0]) > 0.2
        off = H.copy()
        off[0, 0] = 0.0
        assert np.max(np.abs(off)) < 0.03


def test_staircase_is_a_deprecated_name_of_z1_plus_z1z2():
    with pytest.warns(DeprecationWarning, match="z1_plus_z1z2"):
        link = get_link("staircase")
    assert link == get_link("z1_plus_z1z2") and "staircase" not in LINKS
    # E[z2 y^2] = E[z2 z1^2 (1 + z2)^2] = 2: z2 has a first-order part, as the description says
    assert "E[z2 y^2] = 2" in link.description


def test_callable_link():
    link = get_link(lambda z: he2(z[:, 0]) + 0.5 * he2(z[:, 1]), r=2)
    assert link.r == 2 and link.theory_covers is None
    np.testing.assert_allclose(link(Z[:, :2]), [0.0 + 1.5, -0.75 - 0.375])
    assert get_link(link) is link


def test_errors():
    with pytest.raises(ValueError, match="r"):
        get_link(lambda z: z[:, 0])
    with pytest.raises(ValueError, match="unknown link"):
        get_link("z1z3")
    with pytest.raises(ValueError, match="r = 2"):
        get_link("z1z2", r=3)
    with pytest.raises(ValueError, match="r must be an integer >= 1"):
        get_link("he2_sum", r=0)
    with pytest.raises(TypeError):
        get_link(3.0)
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        LINKS["z1z2"](Z)
    bad = get_link(lambda z: z, r=2)
    with pytest.raises(ValueError, match="one value per row"):
        bad(Z[:, :2])
    with pytest.raises(dataclasses.FrozenInstanceError):
        LINKS["z1z2"].r = 5
    assert isinstance(LINKS["z1z2"], Link)
