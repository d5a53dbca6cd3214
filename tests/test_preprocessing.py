"""Label transforms, loss-induced preprocessings and the optimal preprocessing."""

import numpy as np
import pytest

from mimkit.preprocessing import (
    apply_preprocessing,
    loss_location,
    loss_preprocessing,
    make_preprocessing,
    optimal_preprocessing,
)


def test_named_transforms():
    y = np.array([-3.0, -0.5, 0.0, 0.5, 3.0])
    assert np.array_equal(make_preprocessing("identity")(y), y)
    assert np.array_equal(make_preprocessing("sign")(y), [-1, -1, 0, 1, 1])
    assert np.array_equal(make_preprocessing("huber", delta=1.0)(y), [-1, -0.5, 0, 0.5, 1])
    assert np.array_equal(make_preprocessing("capped", cap=1.0)(y), [-3, -0.5, 0, 0.5, 1])
    assert np.array_equal(make_preprocessing("modulus")(y), np.abs(y))


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="unknown preprocessing"):
        make_preprocessing("cube")
    with pytest.raises(ValueError, match="link"):
        make_preprocessing("optimal")
    with pytest.raises(ValueError, match="delta"):
        make_preprocessing("huber", delta=-1.0)
    with pytest.raises(TypeError, match="preprocessing"):
        apply_preprocessing(3, np.zeros(3))
    with pytest.raises(ValueError, match="NaN or inf"), np.errstate(divide="ignore"):
        apply_preprocessing(np.log, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="n_samples"):
        optimal_preprocessing("z1z2", n_samples=10)


def test_loss_preprocessing_is_minus_loss_derivative_at_location():
    y = np.random.default_rng(0).standard_normal(1001) ** 2
    for loss in ("squared", "absolute", "huber"):
        T, c = loss_preprocessing(loss, y, huber_delta=0.5)
        # c is the loss's location: the weights sum to zero (odd n: the median is a sample).
        assert abs(np.sum(T(y))) < 1e-8 * y.size
    assert loss_location("squared", y) == pytest.approx(y.mean())
    assert loss_location("absolute", y) == pytest.approx(np.median(y))


def test_phase_retrieval_optimal_matches_closed_form():
    # y = z^2: E[z^2 - 1 | y] = y - 1, so T*(y) = (y - 1) / y and E[G^2] = Var(z^2) = 2.
    op = optimal_preprocessing(lambda z: z[:, 0] ** 2, r=1, n_samples=200_000, random_state=0)
    y = np.array([0.2, 0.5, 1.0, 2.0, 4.0])
    np.testing.assert_allclose(op(y), (y - 1) / y, atol=0.03)
    assert op.strength[0] == pytest.approx(2.0, rel=0.05)
    exact = optimal_preprocessing("norm2", r=1, n_samples=10_000, random_state=0)
    assert exact.exact
    np.testing.assert_allclose(exact(y), (y - 1) / y, rtol=1e-12)


def test_z1z2_is_diagonal_in_the_rotated_basis():
    # z1 z2 = (u^2 - v^2) / 2 with u, v = (z1 +- z2)/sqrt 2: two directions, two weightings.
    op = optimal_preprocessing("z1z2", n_samples=200_000, random_state=1)
    assert op.jointly_diagonalisable
    assert len(op.groups) == 2
    np.testing.assert_allclose(np.abs(op.basis), np.sqrt(0.5), atol=0.02)
    y = np.array([-2.0, 2.0])
    lam = op.eigenvalues(y)
    # lambda_v(y) = lambda_u(-y): the two weightings are mirror images.
    np.testing.assert_allclose(lam[:, 0], lam[::-1, 1], atol=0.05)
    w = op.weights(y)
    np.testing.assert_allclose(w, lam / (1 + lam), rtol=1e-12)
    M = op.matrix(y)
    np.testing.assert_allclose(op.basis @ M[0] @ op.basis.T, np.diag(w[0]), atol=0.05)


def test_z1_plus_z1z2_is_not_jointly_diagonalisable():
    op = optimal_preprocessing("z1_plus_z1z2", n_samples=200_000, random_state=0)
    assert not op.jointly_diagonalisable


def test_discrete_labels_use_levels():
    # sign(z1 z2): G(+1) = (2/pi) [[0, 1], [1, 0]], exactly.
    op = optimal_preprocessing("sign_z1z2", n_samples=200_000, random_state=0)
    G = op.conditional_covariance(np.array([1.0, -1.0]))
    np.testing.assert_allclose(G[0], 2 / np.pi * np.array([[0, 1], [1, 0]]), atol=0.01)
    np.testing.assert_allclose(G[1], -G[0], atol=0.01)
