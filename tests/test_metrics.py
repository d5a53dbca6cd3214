"""Subspace, neuron and prediction metrics against closed forms."""

import numpy as np
import pytest

from mimkit.metrics import (
    coverage,
    gradient_subspace,
    neuron_alignment,
    neuron_overlaps,
    principal_angles,
    recovery,
    relative_test_error,
    subspace_distance,
)
from mimkit.network import TwoLayerNetwork


def _basis(rng, r, d):
    return np.linalg.qr(rng.standard_normal((d, r)))[0].T


def test_principal_angles_known():
    e = np.eye(4)
    A = e[:2]
    B = np.vstack([e[0], np.cos(0.3) * e[1] + np.sin(0.3) * e[2]])
    np.testing.assert_allclose(principal_angles(A, B), [0.0, 0.3], atol=1e-7)
    np.testing.assert_allclose(principal_angles(A, e[2:]), [np.pi / 2] * 2)


def test_distance_basis_free_and_matches_projectors():
    rng = np.random.default_rng(1)
    U = _basis(rng, 3, 20)
    mix = rng.standard_normal((3, 3))
    assert subspace_distance(mix @ U * 7.0, U) == pytest.approx(0.0, abs=1e-12)
    Uh = rng.standard_normal((2, 20))  # non-orthonormal, different k
    Q = np.linalg.qr(Uh.T)[0]
    expected = np.sum((Q @ Q.T - U.T @ U) ** 2) / (2 * 3)
    assert subspace_distance(Uh, U) == pytest.approx(expected, rel=1e-10)
    assert subspace_distance(np.eye(20)[:3], np.eye(20)[3:6]) == pytest.approx(1.0)


def test_distance_of_random_subspace_is_one_minus_r_over_d():
    # E = 1 - r/d exactly; over 200 draws the sd of the mean is < 0.01 at d = 50.
    rng = np.random.default_rng(2)
    U = _basis(rng, 2, 50)
    mean = np.mean([subspace_distance(_basis(rng, 2, 50), U) for _ in range(200)])
    assert mean == pytest.approx(1 - 2 / 50, abs=0.01)


def test_overlaps_alignment_coverage():
    e = np.eye(5)
    U = e[:2]
    W = np.vstack([3 * e[0], (e[0] + e[1]), -2 * e[1], e[4], 0 * e[4]])
    overlaps = neuron_overlaps(W, U)
    s = 1 / np.sqrt(2)
    np.testing.assert_allclose(overlaps, [[1, 0], [s, s], [0, -1], [0, 0], [0, 0]], atol=1e-12)
    np.testing.assert_allclose(neuron_alignment(W, 2 * U), [1, 1, 1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(coverage(W, U), [2 / 5, 2 / 5])
    np.testing.assert_allclose(coverage(W, U, threshold=0.9), [1 / 5, 1 / 5])
    with pytest.raises(ValueError, match="orthonormal"):
        neuron_overlaps(W, 2 * U)
    with pytest.raises(ValueError, match="threshold"):
        coverage(W, U, threshold=0)


def test_relative_error_and_recovery():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    assert relative_test_error(np.full(4, 2.5), y) == pytest.approx(1.0)
    assert relative_test_error(y, y) == 0.0
    with pytest.raises(ValueError, match="constant"):
        relative_test_error(y, np.ones(4))
    e = np.eye(10)
    rec = recovery(np.vstack([e[0], e[5]]), e[:2])
    assert rec.weak and not rec.strong and rec.distance == pytest.approx(0.5)
    assert recovery(e[:2], e[:2]).strong


def test_metric_errors():
    with pytest.raises(ValueError, match="linearly dependent"):
        subspace_distance(np.ones((2, 4)), np.eye(4)[:2])
    with pytest.raises(ValueError, match="different dimensions"):
        subspace_distance(np.eye(4)[:2], np.eye(5)[:2])
    with pytest.raises(ValueError, match="NaN"):
        principal_angles(np.full((1, 3), np.nan), np.eye(3)[:1])


def test_gradient_subspace_is_the_span_a_network_varies_along():
    rng = np.random.default_rng(0)
    d, m = 12, 6
    U = np.linalg.qr(rng.standard_normal((d, 2)))[0].T  # (2, d) orthonormal
    # Neurons inside span(U) with weight, plus neurons at random directions with outer weight
    # 0: the function depends on span(U) only, whatever W's other rows are.
    W = np.vstack([rng.standard_normal((m, 2)) @ U, rng.standard_normal((m, d))])
    a = np.concatenate([rng.standard_normal(m), np.zeros(m)])
    net = TwoLayerNetwork(W, rng.standard_normal(2 * m), a, 0.3, "logcosh")
    X = rng.standard_normal((500, d))
    G = net.input_gradients(X)
    assert subspace_distance(gradient_subspace(G, 2), U) < 1e-20
    # W's own top singular vectors see the random rows instead.
    assert subspace_distance(np.linalg.svd(W)[2][:2], U) > 0.1
    # The gradients are f's: central differences of predict, O(h^2) truncation ~ 1e-10.
    h, x = 1e-5, X[:3]
    for k in range(d):
        e = np.zeros(d)
        e[k] = h
        numeric = (net.predict(x + e) - net.predict(x - e)) / (2 * h)
        np.testing.assert_allclose(G[:3, k], numeric, atol=1e-8)
