"""PHD, SIR, SAVE against statsmodels (the correspondence of mimkit.estimators.sdr's docstring);
SpectralEstimator; scikit-learn conformance. R dr's numbers: test_sdr_reference.py."""

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from mimkit.estimators import PHD, SAVE, SIR, SpectralEstimator
from mimkit.metrics import subspace_distance

dimred = pytest.importorskip("statsmodels.regression.dimred")


@pytest.fixture(scope="module")
def correlated_data():
    rng = np.random.default_rng(0)
    n, d = 1000, 6
    X = rng.standard_normal((n, d)) @ rng.standard_normal((d, d)) + 1.0  # non-isotropic, off-centre
    b1, b2 = rng.standard_normal(d), rng.standard_normal(d)
    y = (X @ b1) * (X @ b2) / 10 + np.sin(X @ b1) + 0.1 * rng.standard_normal(n)
    return X, y


def _top(params, k):
    return np.real(np.asarray(params)[:, :k]).T


@pytest.mark.parametrize("resid", [False, True])
def test_phd_matches_statsmodels(correlated_data, resid):
    X, y = correlated_data
    ref = dimred.PrincipalHessianDirections(y, X).fit(resid=resid)
    est = PHD(2, resid=resid).fit(X, y)
    assert subspace_distance(est.directions_, _top(ref.params, 2)) < 1e-6
    # statsmodels whitens by the 1/(n - 1) covariance, dr (and mimkit) by the 1/n one.
    n = X.shape[0]
    np.testing.assert_allclose(est.eigenvalues_ * (n - 1) / n, np.real(ref.eigs[:2]), rtol=1e-8)


def test_sir_matches_statsmodels(correlated_data):
    X, y = correlated_data
    ref = dimred.SlicedInverseReg(y, X).fit(slice_n=20)
    est = SIR(2, n_slices=X.shape[0] // 20, slicing="equal").fit(X, y)
    assert subspace_distance(est.directions_, _top(ref.params, 2)) < 1e-6
    np.testing.assert_allclose(est.eigenvalues_, ref.eigs[:2], rtol=1e-8)


def test_csave_matches_statsmodels(correlated_data):
    X, y = correlated_data
    n = X.shape[0]
    ref = dimred.SlicedAverageVarianceEstimation(y, X, bc=True).fit(slice_n=50)
    est = SAVE(2, n_slices=n // 50, slicing="equal", bias_correction=True).fit(X, y)
    assert subspace_distance(est.directions_, _top(ref.params, 2)) < 1e-6
    np.testing.assert_allclose(est.eigenvalues_, ref.eigs[:2], rtol=1e-8)


def test_save_differs_from_statsmodels_by_its_slice_covariances(correlated_data):
    """statsmodels' SAVE is sum_s (I - V_s)^2 / H with 1/(n_s - 1) covariances V_s; dr's is
    sum_s (n_s / n) (I - V_s)^2 with 1/n_s ones. With equal slices of c = 50 the two matrices
    are (I - V)^2 vs (I - (1 - 1/c) V)^2 slice by slice: their directions agree to O(1/c)."""
    X, y = correlated_data
    n = X.shape[0]
    ref = dimred.SlicedAverageVarianceEstimation(y, X).fit(slice_n=50)
    est = SAVE(2, n_slices=n // 50, slicing="equal").fit(X, y)
    assert subspace_distance(est.directions_, _top(ref.params, 2)) < 1 / 50


def test_transform_and_shapes(correlated_data):
    X, y = correlated_data
    est = SIR(2).fit(X, y)
    assert est.directions_.shape == (2, X.shape[1])
    np.testing.assert_allclose(np.linalg.norm(est.directions_, axis=1), 1.0)
    np.testing.assert_allclose(est.transform(X), (X - X.mean(0)) @ est.directions_.T)
    with pytest.raises(ValueError, match="n_directions"):
        SIR(7).fit(X, y)
    with pytest.raises(ValueError, match="n_slices"):
        SIR(n_slices=0).fit(X, y)
    with pytest.raises(ValueError, match="singular"):
        PHD().fit(np.c_[X, X[:, 0]], y)


def test_spectral_estimator_optimal_recovers_phase_retrieval():
    rng = np.random.default_rng(1)
    n, d = 1500, 200
    X = rng.standard_normal((n, d))
    y = X[:, 0] ** 2
    est = SpectralEstimator(preprocessing="optimal", link="norm2", r=1).fit(X, y)
    assert est.directions_.shape == (1, d)
    # alpha = 7.5 >> 1/2: predicted overlap is large.
    assert est.directions_[0, 0] ** 2 > 0.7
    with pytest.raises(ValueError, match="link"):
        SpectralEstimator(preprocessing="optimal").fit(X, y)


@parametrize_with_checks([PHD(), SIR(), SAVE(), SpectralEstimator()])
def test_sklearn_compatible(estimator, check):
    check(estimator)
