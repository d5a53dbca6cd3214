"""n_directions="auto" for spectral methods: bulk edges from the observed weights, the
Tracy–Widom margin, and the count of outliers (mimkit.bulk_edges)."""

import numpy as np
import pytest

from mimkit.bulk_edges import TRACY_WIDOM_MARGIN, leading_outliers, predict_bulk_edges
from mimkit.data import make_multi_index
from mimkit.estimators import SpectralEstimator
from mimkit.spectral import spectral_subspace
from mimkit.theory.bulk import edge_law

#: Tracy–Widom (beta = 1) mean and standard deviation.
TW1_MEAN, TW1_SD = -1.21, 1.27


@pytest.mark.parametrize("alpha", [2.0, 4.0, 16.0])
def test_edge_law_is_marchenko_pastur_for_unit_weights(alpha):
    # t = 1: edges (1 -+ sqrt(g))^2, g = 1 / alpha, and rho ~ sqrt(|E - x|) / (2 pi g E) *
    # sqrt(E_+ - E_-), i.e. c = g^{-3/4} / E at both edges.
    g = 1.0 / alpha
    want = np.array([(1 - np.sqrt(g)) ** 2, (1 + np.sqrt(g)) ** 2])
    edges, c = edge_law(np.ones(50), alpha)
    np.testing.assert_allclose(edges, want, rtol=1e-9)
    np.testing.assert_allclose(c, g ** (-0.75) / want, rtol=1e-6)


WEIGHTS = {
    "gaussian": lambda rng, n: rng.standard_normal(n),
    "chi-square": lambda rng, n: rng.standard_normal(n) ** 2 - 1,
    "sign": lambda rng, n: np.sign(rng.standard_normal(n)),
    "product": lambda rng, n: rng.standard_normal(n) * rng.standard_normal(n),
}


def _edge_fluctuations(weights, d, alpha, seeds):
    """(E_- - lambda_min) / scale and (lambda_max - E_+) / scale of null matrices."""
    out = []
    n = alpha * d
    for seed in seeds:
        rng = np.random.default_rng(seed)
        X, t = rng.standard_normal((n, d)), WEIGHTS[weights](rng, n)
        vals = np.linalg.eigvalsh((X * t[:, None]).T @ X / n)
        edges = predict_bulk_edges(t, 0.0, d)
        out.append(
            [
                (edges.edges[0] - vals[0]) / edges.scales[0],
                (vals[-1] - edges.edges[1]) / edges.scales[1],
            ]
        )
    return np.array(out)


def _assert_tracy_widom(z):
    """Mean within 3 standard errors plus a finite-d allowance of 0.5 (corrections of order
    d^{-1/3} ~ 0.2 at d = 100, and the plug-in of t); spread within a factor 1.6; beyond
    the margin at most as often as a 3-sigma binomial excess over P(TW1 > 3) ~ 0.002."""
    z = z.ravel()
    assert abs(z.mean() - TW1_MEAN) < 3 * TW1_SD / np.sqrt(z.size) + 0.5, z.mean()
    assert TW1_SD / 1.6 < z.std() < TW1_SD * 1.6, z.std()
    assert np.mean(z > TRACY_WIDOM_MARGIN) <= 0.002 + 3 * np.sqrt(0.002 / z.size)


def test_extreme_eigenvalues_on_the_tracy_widom_scale_quick():
    # Heavy-tailed weights, where a few samples set the edge (the case compress() got wrong).
    _assert_tracy_widom(_edge_fluctuations("product", 100, 8, range(12)))


@pytest.mark.slow
@pytest.mark.parametrize("weights", list(WEIGHTS))
def test_extreme_eigenvalues_on_the_tracy_widom_scale(weights):
    _assert_tracy_widom(_edge_fluctuations(weights, 400, 4, range(100, 160)))


def test_leading_outliers_counts_until_the_first_inside():
    assert leading_outliers(np.array([3.0, 2.0, 0.5, 2.5]), 1.0, "upper") == 2
    assert leading_outliers(np.array([-3.0, -2.0]), -1.0, "lower") == 2
    assert leading_outliers(np.array([0.0]), 1.0, "upper") == 0


def test_zero_weights_have_no_bulk_and_no_outlier():
    edges = predict_bulk_edges(np.zeros(10), 0.5, 4)
    np.testing.assert_array_equal(edges.bounds, [-0.5, -0.5])


def _auto_count(link, preprocessing, d, alpha, seed):
    X, y = make_multi_index(alpha * d, d, link, random_state=seed)
    D, _, edges = spectral_subspace(
        X, y, "auto", preprocessing, link=link, return_edges=True, random_state=seed
    )
    return D.shape[0], edges


@pytest.mark.parametrize(
    "link, preprocessing, r",
    [("z1z2", "identity", 2), ("he2_sum", "optimal", 3)],
)
def test_auto_recovers_r_quick(link, preprocessing, r):
    count, edges = _auto_count(link, preprocessing, 200, 16, 0)
    assert count == r
    assert all(e.edges[0] < e.edges[1] for e in edges)


@pytest.mark.slow
@pytest.mark.parametrize("preprocessing", ["identity", "optimal"])
@pytest.mark.parametrize("link, r", [("z1z2", 2), ("he2_sum", 3)])
def test_auto_recovers_r_at_d_1000(link, r, preprocessing):
    for seed in range(2):
        assert _auto_count(link, preprocessing, 1000, 16, seed)[0] == r


def _noise_count(labels, d, alpha, seed):
    rng = np.random.default_rng(seed)
    n = alpha * d
    X = rng.standard_normal((n, d))
    y = WEIGHTS[labels](rng, n)
    return spectral_subspace(X, y, "auto", "identity")[0].shape[0]


@pytest.mark.parametrize("labels", ["gaussian", "product"])
def test_auto_keeps_nothing_for_pure_noise_quick(labels):
    assert _noise_count(labels, 200, 16, 0) == 0


@pytest.mark.slow
@pytest.mark.parametrize("labels", ["gaussian", "product", "chi-square"])
def test_auto_keeps_nothing_for_pure_noise_at_d_1000(labels):
    for seed in range(2):
        assert _noise_count(labels, 1000, 16, seed) == 0


def test_spectral_estimator_auto_reports_edges():
    X, y = make_multi_index(16 * 200, 200, "z1z2", random_state=0)
    est = SpectralEstimator("auto").fit(X, y)
    assert est.n_directions_ == 2 and est.directions_.shape == (2, 200)
    assert est.bulk_edges_.shape == est.outlier_bounds_.shape == (1, 2)
    lo, hi = est.outlier_bounds_[0]
    assert np.all((est.eigenvalues_ > hi) | (est.eigenvalues_ < lo))
    with pytest.raises(ValueError, match="does not hold after whitening. Pass whiten=False"):
        SpectralEstimator("auto", whiten=True).fit(X, y)
    with pytest.raises(ValueError, match='return_edges=True needs n_directions="auto"'):
        spectral_subspace(X, y, 2, "identity", return_edges=True)
