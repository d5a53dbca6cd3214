"""Dimension tests of SIR, SAVE and pHd and n_directions="auto".

Null (y independent of X): every asymptotic test's p-value of "0D vs >= 1D" is uniform
(Kolmogorov–Smirnov over fixed seeds, rejected only at 0.001 so a correct test fails once in a
thousand seed sets); the permutation p-value, randomised within its atom of width
1 / (B + 1), is exactly uniform. Power: with two directions at n = 2000, p = 10 the sequential
rule at level 0.05 picks 2 unless a true null "2D" is rejected (probability ~ level) or the
weaker direction is missed, so >= 90% of seeds.
"""

import numpy as np
import pytest
from scipy import stats

from mimkit.estimators import PHD, SAVE, SIR
from mimkit.estimators.dimension_tests import _centred_moment_traces, bentler_xie_pvalue

#: (label, estimator, p-value column) of every asymptotic test.
NULL_TESTS = [
    ("SIR", SIR, "p_value"),
    ("SAVE normal", SAVE, "p_value"),
    ("SAVE general", SAVE, "p_value_general"),
    ("pHd normal", PHD, "p_value"),
    ("pHd general", PHD, "p_value_general"),
    ("pHd residuals general", lambda: PHD(resid=True), "p_value_general"),
]


def _null_pvalues(make, column, n, p, seeds):
    out = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        X, y = rng.standard_normal((n, p)), rng.standard_normal(n)
        out.append(make().fit(X, y).dimension_tests_[column][0])
    return np.array(out)


def _assert_uniform(pvalues):
    ks = stats.kstest(pvalues, "uniform")
    assert ks.pvalue > 1e-3, f"KS statistic {ks.statistic:.3f} over {pvalues.size} draws"


@pytest.mark.parametrize("label, make, column", NULL_TESTS, ids=[t[0] for t in NULL_TESTS])
def test_null_pvalues_uniform_quick(label, make, column):
    _assert_uniform(_null_pvalues(make, column, 400, 3, range(40)))


@pytest.mark.slow
@pytest.mark.parametrize("label, make, column", NULL_TESTS, ids=[t[0] for t in NULL_TESTS])
def test_null_pvalues_uniform(label, make, column):
    _assert_uniform(_null_pvalues(make, column, 1000, 4, range(100, 300)))


def _randomised_permutation_pvalues(make, n_permutations, n, p, seeds):
    out = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        X, y = rng.standard_normal((n, p)), rng.standard_normal(n)
        est = make(dimension_test="permutation", n_permutations=n_permutations, random_state=seed)
        pvalue = est.fit(X, y).dimension_tests_["p_value_permutation"][0]
        out.append(pvalue - rng.uniform() / (n_permutations + 1))
    return np.array(out)


@pytest.mark.slow
@pytest.mark.parametrize("make", [SIR, PHD], ids=["SIR", "pHd"])
def test_permutation_pvalues_uniform_under_the_null(make):
    _assert_uniform(_randomised_permutation_pvalues(make, 19, 200, 3, range(100)))


def _two_direction_data(method, seed, n=2000, p=10):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    noise = 0.2 * rng.standard_normal(n)
    if method is SIR:
        # Li (1991)'s model: both directions move the inverse mean E[x | y].
        return X, X[:, 0] / (0.5 + (X[:, 1] + 1.5) ** 2) + noise
    # Even in both directions: SAVE's slice variances and pHd's Hessian see both.
    return X, X[:, 0] ** 2 + 0.5 * X[:, 1] ** 2 + noise


@pytest.mark.parametrize("method", [SIR, SAVE, PHD], ids=["SIR", "SAVE", "pHd"])
def test_auto_picks_two_directions_quick(method):
    est = method(n_directions="auto").fit(*_two_direction_data(method, 0))
    assert est.n_directions_ == 2
    assert est.directions_.shape == (2, 10)
    assert est.dimension_tests_.hypothesis[2] == "2D vs >= 3D"


@pytest.mark.slow
@pytest.mark.parametrize("method", [SIR, SAVE, PHD], ids=["SIR", "SAVE", "pHd"])
def test_auto_picks_two_directions_in_90_percent_of_seeds(method):
    picks = [
        method(n_directions="auto").fit(*_two_direction_data(method, seed)).n_directions_
        for seed in range(100)
    ]
    assert np.mean(np.array(picks) == 2) >= 0.9, np.bincount(picks)


def test_permutation_test_picks_two_directions():
    X, y = _two_direction_data(SIR, 1, n=600, p=4)
    est = SIR(
        n_directions="auto", dimension_test="permutation", n_permutations=19, random_state=0
    ).fit(X, y)
    table = est.dimension_tests_
    # The two real directions: no permutation reaches the observed statistic. (Whether the
    # third row is rejected is a 1-in-20 event for a seed: the slow test above counts those.)
    np.testing.assert_allclose(table.p_value_permutation[:2], 1 / 20)
    assert est.n_directions_ >= 2
    assert est.n_directions_ == int(np.argmax(table.p_value_permutation > 0.05))


def test_auto_keeps_zero_directions_for_pure_noise():
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((500, 4)), rng.standard_normal(500)
    est = SIR(n_directions="auto").fit(X, y)
    assert est.dimension_tests_.p_value[0] > 0.05
    assert est.n_directions_ == 0 and est.transform(X).shape == (500, 0)


def test_rows_run_to_the_first_non_rejection_and_at_least_four():
    X, y = _two_direction_data(SIR, 2, n=2000, p=10)
    for level in (0.05, 0.5):
        table = SIR(level=level).fit(X, y).dimension_tests_
        rejected = (table.p_value <= level).to_numpy()
        first_accepted = int(np.argmin(rejected))
        assert not rejected.all() and len(table) == max(4, first_accepted + 1)


def test_moment_traces_from_gram_equal_direct():
    """The general tests' trace and Frobenius norm: q^2 x q^2 route (q^3 <= n) and n x n Gram
    route give the same numbers (the same non-zero spectrum)."""
    rng = np.random.default_rng(6)
    H, c = rng.standard_normal((30, 3)), rng.standard_normal(30)
    direct = _centred_moment_traces(H, c)  # 27 <= 30
    gram = _centred_moment_traces(H[:26], c[:26])  # 27 > 26
    W = (H[:26, :, None] * H[:26, None, :]).reshape(26, 9) - np.eye(3).ravel()
    W = c[:26, None] * W
    W -= W.mean(axis=0)
    C = W.T @ W
    np.testing.assert_allclose(gram, (np.trace(C), np.sum(C * C)), rtol=1e-12)
    W = c[:, None] * ((H[:, :, None] * H[:, None, :]).reshape(30, 9) - np.eye(3).ravel())
    W -= W.mean(axis=0)
    C = W.T @ W
    np.testing.assert_allclose(direct, (np.trace(C), np.sum(C * C)), rtol=1e-12)


def test_bentler_xie_is_exact_for_equal_weights():
    # sum of k equal weights c times chi2_1 is c chi2_k: the moment match is exact.
    c, k, f = 0.7, 5, 4.2
    assert bentler_xie_pvalue(f, k * c, k * c**2) == pytest.approx(stats.chi2.sf(f / c, k))
