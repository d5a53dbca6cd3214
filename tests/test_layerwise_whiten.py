"""LayerwiseRegressor(whiten=True): training on centred, whitened inputs and reporting the
subspace in the original coordinates of X."""

import numpy as np
import pytest

from mimkit.data import MultiIndexModel, make_multi_index
from mimkit.estimators import LayerwiseRegressor
from mimkit.metrics import subspace_distance


@pytest.fixture(scope="module")
def affine_data():
    """x = A z + mu with z ~ N(0, I): y depends on x through the rows of U A^{-1}, i.e. the
    index subspace in x's coordinates is span(A^{-T} U^T)."""
    d, n = 20, 8000
    Z, y, U = make_multi_index(n, d, "he2_sum", random_state=0, return_subspace=True)
    rng = np.random.default_rng(1)
    A = np.eye(d) + 0.5 * rng.standard_normal((d, d))
    X = Z @ A.T + 3.0 * rng.standard_normal(d)
    subspace = np.linalg.qr(np.linalg.solve(A.T, U.T))[0].T
    return X, y, subspace


def test_whitening_recovers_the_subspace_in_original_coordinates(affine_data):
    X, y, subspace = affine_data
    white = LayerwiseRegressor(whiten=True, random_state=0).fit(X, y)
    plain = LayerwiseRegressor(random_state=0).fit(X, y)
    # Whitened, the inputs are z up to a rotation: he2_sum at alpha = 400 is recovered
    # almost exactly; raw, the mean and covariance of x swamp the local Hessian.
    assert subspace_distance(white.subspace(3), subspace) < 0.05
    assert subspace_distance(plain.subspace(3), subspace) > 0.5
    V = white.subspace(3)
    np.testing.assert_allclose(V @ V.T, np.eye(3), atol=1e-12)
    assert white.score(X, y) > 0.9
    assert white.whitener_ is not None and plain.whitener_ is None


def test_whitening_maps_every_later_input(affine_data):
    X, y, _ = affine_data
    est = LayerwiseRegressor(n_hidden=8, n_steps=5, whiten=True, random_state=0).fit(X, y)
    Z = est.whitener_.transform(X[:50])
    Zall = est.whitener_.transform(X)
    np.testing.assert_allclose(Zall.T @ Zall / X.shape[0], np.eye(X.shape[1]), atol=1e-10)
    np.testing.assert_allclose(est.transform(X[:50]), est._network.hidden(Z), rtol=1e-12)
    np.testing.assert_allclose(
        est.predict(X[:50]), est.y_scale_ * est._network.predict(Z), rtol=1e-12
    )
    assert est.transform(X[:5].astype(np.float32)).dtype == np.float32


def test_whitening_refuses_streams():
    stream = MultiIndexModel(3, "z1z2", random_state=0).stream(10)
    with pytest.raises(ValueError, match="whiten=True needs the covariance of X in memory"):
        LayerwiseRegressor(whiten=True).fit(stream)
