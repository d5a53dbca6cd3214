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
        ("staircase", [3.0, -0.75]),
        ("parity3", [-1.0, -1.0]),
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
    assert not LINKS["staircase"].theory_covers and not LINKS["parity3"].theory_covers
    assert LINKS["z1z2"].theory_covers and LINKS["he2_sum"].theory_covers


def test_theory_flag_matches_linear_component():
    # Criterion (i) of links.py: covered links have no linear Hermite part E[g(z) z] = 0.
    # With n = 200k the Monte-Carlo error of each entry is <= sd(g z)/sqrt(n) ~ 0.01 (sd <= 4
    # for these links), so 0.05 separates zero from the nonzero ones (>= E[tanh'] ~ 0.6).
    z = np.random.default_rng(0).standard_normal((200_000, 3))
    for name, link in LINKS.items():
        if name == "parity3":
            continue  # outside for the generative exponent, not a linear part
        zr = z[:, : link.r]
        lin = np.abs(zr.T @ link(zr) / len(zr)).max()
        assert (lin < 0.05) == bool(link.theory_covers), (name, lin)


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
