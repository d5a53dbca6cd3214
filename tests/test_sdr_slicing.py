"""slice_response (R dr's slicing rule) and the slices of SIR and SAVE: counts derived by hand,
ties never split, one slice per level of a discrete response, independence of the order of
tied rows."""

import numpy as np
import pytest

from mimkit.estimators import SAVE, SIR, slice_response
from mimkit.estimators.slicing import default_n_slices, equal_slices


@pytest.mark.parametrize(
    "n, h, sizes",
    [
        # m = floor(n / h); cut at m, 2m, ... while the running end is below n - 2; the last
        # slice takes the remainder.
        (12, 3, [4, 4, 4]),
        (10, 3, [3, 3, 4]),  # ends 3, 6, 9 >= 8: the last becomes 10
        (11, 3, [3, 3, 5]),  # ends 3, 6, 9 >= 9
        (10, 4, [2, 2, 2, 4]),  # ends 2, 4, 6, 8 >= 8: four slices
        (9, 4, [2, 2, 2, 3]),
        (20, 8, [2] * 8 + [4]),  # m = 2: ends 2..18 (9 cuts, the last >= 18 becomes 20)
    ],
)
def test_slice_counts_by_hand(n, h, sizes):
    labels = slice_response(np.arange(n, dtype=float)[::-1], h)
    np.testing.assert_array_equal(np.bincount(labels), sizes)
    # Slices are ordered by y: label 0 holds the smallest responses.
    assert labels[-1] == 0 and labels[0] == len(sizes) - 1


def test_a_run_of_ties_extends_its_slice():
    # n = 11, h = 3, m = 3: the first target 3 falls inside the run of four 1's, which ends at
    # 4; the next target 7 ends at 7; 7 < 9, so the next cut (10) ends the loop and becomes 11.
    y = np.array([1, 1, 1, 1, 2, 3, 4, 5, 6, 7, 8], dtype=float)
    np.testing.assert_array_equal(np.bincount(slice_response(y, 3)), [4, 3, 4])


def test_ties_are_never_split_and_slices_follow_y():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 30, size=500).astype(float)  # 30 values, ~17 ties each
    labels = slice_response(y, 8)
    for value in np.unique(y):
        assert np.unique(labels[y == value]).size == 1
    # Monotone: every response of slice s is below every response of slice s + 1.
    for s in range(labels.max()):
        assert y[labels == s].max() < y[labels == s + 1].min()


@pytest.mark.parametrize("levels", [2, 3])
def test_a_discrete_response_gets_one_slice_per_level(levels):
    rng = np.random.default_rng(1)
    y = rng.integers(0, levels, size=200) * 2.5 - 1.0
    labels = slice_response(y, 8)
    np.testing.assert_array_equal(np.bincount(labels), np.unique(y, return_counts=True)[1])
    X = rng.standard_normal((200, 4))
    for estimator in (SIR(), SAVE()):
        estimator.fit(X, y)
        assert estimator.n_slices_ == levels
        np.testing.assert_array_equal(estimator.slice_sizes_, np.bincount(labels))


def test_default_slices_are_drs():
    assert default_n_slices(3) == 8 and default_n_slices(10) == 13
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((260, 10)), rng.standard_normal(260)
    est = SIR().fit(X, y)
    # 13 asked, m = 20: ends 20, ..., 240 (12 cuts, 240 < 258), then 260: 13 slices of 20.
    assert est.n_slices_ == 13
    np.testing.assert_array_equal(est.slice_sizes_, [20] * 13)


@pytest.mark.parametrize("estimator", [SIR, SAVE], ids=["SIR", "SAVE"])
def test_tied_rows_in_any_order_give_the_same_fit(estimator):
    rng = np.random.default_rng(3)
    n, d = 400, 5
    X = rng.standard_normal((n, d))
    y = np.round(X[:, 0] + X[:, 1] ** 2)  # ~12 values, heavy ties
    perm = rng.permutation(n)
    a = estimator(2).fit(X, y)
    b = estimator(2).fit(X[perm], y[perm])
    np.testing.assert_allclose(b.eigenvalues_, a.eigenvalues_, rtol=1e-10)
    np.testing.assert_allclose(b.directions_, a.directions_, atol=1e-10)
    # Equal-count slicing splits runs of ties by row order: its fit depends on the order.
    assert not np.array_equal(equal_slices(y, 13)[perm], equal_slices(y[perm], 13))


def test_equal_slices_are_statsmodels_array_split():
    y = np.random.default_rng(4).standard_normal(23)
    labels = equal_slices(y, 4)
    np.testing.assert_array_equal(np.bincount(labels), [6, 6, 6, 5])
    for s, idx in enumerate(np.array_split(np.argsort(y), 4)):
        assert np.all(labels[idx] == s)


@pytest.mark.parametrize(
    "y, h, match",
    [
        (np.arange(5.0), 6, "n_slices = 6 exceeds n_samples = 5; pass at most 5"),
        (np.arange(5.0), 0, "n_slices must be an integer >= 1"),
        (np.arange(5.0), 2.0, "n_slices must be an integer >= 1"),
        (np.zeros((5, 2)), 2, "y must be 1-D"),
        (np.r_[np.arange(4.0), np.nan], 2, "y contains NaN or infinity"),
    ],
)
def test_slice_response_errors(y, h, match):
    with pytest.raises(ValueError, match=match):
        slice_response(y, h)
