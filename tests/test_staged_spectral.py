"""The sequential spectral method (mimkit.staged_spectral, SpectralEstimator(stages=...)):
its conditional label kernel, its first-order stage against the predicted overlap, its stages
on the staircase and committee links, stopping and errors."""

import numpy as np
import pytest

from mimkit.estimators import SpectralEstimator
from mimkit.spectral import label_weights
from mimkit.staged_spectral import conditional_weights, quadratic_features
from test_staged_training import committee_directions, data, overlap


def test_quadratic_features_and_the_kernel_removes_what_h_explains():
    H = np.random.default_rng(0).standard_normal((200, 2))
    Q = quadratic_features(H)
    want = np.column_stack(
        [np.ones(200), H[:, 0], H[:, 1], H[:, 0] ** 2, H[:, 0] * H[:, 1], H[:, 1] ** 2]
    )
    np.testing.assert_array_equal(Q, want)
    # a label that is a quadratic in h leaves no residual: T(0) = 0 after the fit
    y = 1.0 + 2.0 * H[:, 0] - H[:, 0] * H[:, 1] + 3.0 * H[:, 1] ** 2
    assert np.max(np.abs(conditional_weights(y, H, "identity", "none"))) < 1e-10
    # nothing found yet: the plain preprocessing
    np.testing.assert_array_equal(
        conditional_weights(y, H[:, :0], "huber", None), label_weights(y, "huber")[0]
    )
    # the gate is sum_l sign(h_l): an odd kernel in each h
    z = np.random.default_rng(1).standard_normal(200)
    w = conditional_weights(z, H, "identity", "none")
    np.testing.assert_allclose(conditional_weights(z, -H, "identity", "none"), -w, atol=1e-12)


def test_first_order_stage_of_sign_committee_has_its_predicted_overlap():
    # T(y) = y - mean: mu_k = E[sign(z_k) z_k] = sqrt(2/pi), E[T^2] = Var(y) = 3, so the squared
    # cosine is |mu|^2 / (|mu|^2 + 3 (d - 3) / n) = 0.954 at n = 32 d
    # (docs/theory.md, "Hierarchies"); its fluctuation is ~sqrt(2/d) of the noise term (~0.006).
    d = 128
    X, y = data("sign_committee", d, 32 * d, seed=11)
    est = SpectralEstimator("auto", stages="auto").fit(X, y)
    mu2 = 6 / np.pi
    predicted = mu2 / (mu2 + 3 * (d - 3) / (32 * d))
    u, complement = committee_directions(d)
    assert est.stages_[0].kind == "trivial"
    assert abs(overlap(est.directions_[:1], u) - predicted) < 0.02
    assert overlap(est.directions_, complement) > 0.5


def test_sq_sign3_second_stage_and_z1z2_stops():
    d = 128
    X, y = data("sq_sign3", d, 32 * d, seed=12)
    e = np.eye(d)
    plain = SpectralEstimator("auto", preprocessing="huber").fit(X, y)
    assert plain.n_directions_ == 1  # every T: a rank-1 Hessian
    est = SpectralEstimator("auto", preprocessing="huber", stages="auto").fit(X, y)
    assert [(s.kind, s.directions.shape[0]) for s in est.stages_] == [("easy", 1), ("easy", 2)]
    assert overlap(est.directions_[:1], e[0]) > 0.8
    assert overlap(est.directions_, e[1:3]) > 0.5
    np.testing.assert_allclose(est.directions_ @ est.directions_.T, np.eye(3), atol=1e-10)
    X, y = data("z1z2", d, 32 * d, seed=13)
    assert len(SpectralEstimator("auto", stages="auto").fit(X, y).stages_) == 1
    X, y = data("z1z2", 48, 32 * 48, seed=13)
    fixed = SpectralEstimator("auto", stages=3).fit(X, y)
    assert len(fixed.stages_) == 3 and np.isnan(fixed.eigenvalues_[-1])


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(n_directions=2, stages=2), "n_directions"),
        (dict(n_directions="auto", stages=2, whiten=True), "whiten"),
        (dict(n_directions="auto", stages=0), "stages"),
        (dict(n_directions="auto", stages=2, preprocessing="optimal", link="z1z2"), "optimal"),
    ],
)
def test_bad_stage_parameters_are_named(params, match):
    X, y = data("z1z2", 8, 64, seed=14)
    with pytest.raises(ValueError, match=match):
        SpectralEstimator(**params).fit(X, y)
