"""The sweep grid: points, keys and derived seeds."""

import numpy as np
import pytest

from mimkit.experiments.grid import Grid, derive_seed


def test_grid_enumerates_every_combination_and_seed_once():
    g = Grid({"d": [128, 256], "alpha": [0.5, 1.0, 2.0]}, fixed={"link": "z1*z2"}, seeds=3)
    points = list(g)
    assert len(g) == len(points) == 18
    combos = {(p.params["d"], p.params["alpha"], p.seed_index) for p in points}
    assert len(combos) == 18
    assert all(p.params["link"] == "z1*z2" for p in points)
    assert len({p.id for p in points}) == 18
    assert len({p.seed for p in points}) == 18


def test_seeds_do_not_depend_on_the_rest_of_the_grid():
    small = {p.key: p.seed for p in Grid({"d": [128], "alpha": [1.0]}, seeds=2)}
    large = {p.key: p.seed for p in Grid({"d": [64, 128], "alpha": [1.0, 4.0]}, seeds=5)}
    assert small.items() <= large.items()


def test_seed_depends_on_base_seed_seed_index_and_every_parameter():
    base = derive_seed({"d": 128, "alpha": 1.0}, 0, 0)
    assert derive_seed({"d": 128, "alpha": 1.0}, 0, 0) == base
    others = [
        derive_seed({"d": 128, "alpha": 1.0}, 1, 0),
        derive_seed({"d": 128, "alpha": 1.0}, 0, 1),
        derive_seed({"d": 128, "alpha": 2.0}, 0, 0),
        derive_seed({"d": 256, "alpha": 1.0}, 0, 0),
    ]
    assert base not in others and len(set(others)) == 4
    assert all(0 <= s < 2**63 for s in [base, *others])


def test_numpy_values_give_the_same_points_as_python_values():
    a = list(Grid({"d": np.array([128, 256]), "alpha": [np.float64(1.0)]}, seeds=1))
    b = list(Grid({"d": [128, 256], "alpha": [1.0]}, seeds=1))
    assert [p.key for p in a] == [p.key for p in b]
    assert type(a[0].params["d"]) is int


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"swept": {"d": [1, 1]}}, "repeated"),
        ({"swept": {"d": []}}, "no values"),
        ({"swept": {"d": [1]}, "fixed": {"d": 2}}, "both swept and fixed"),
        ({"swept": {"d": [1]}, "seeds": 0}, "seeds"),
        ({"swept": {"alpha": [float("nan")]}}, "not finite"),
    ],
)
def test_bad_grids_are_rejected_with_the_parameter_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Grid(**kwargs)


def test_non_scalar_values_are_rejected():
    with pytest.raises(TypeError, match="'d'"):
        Grid({"d": [[1, 2]]})
    with pytest.raises(TypeError, match="list of values"):
        Grid({"link": "z1*z2"})
