"""The conditional-Gaussian channel's moments in the core (cpp/amp_channel.hpp) against the numpy
rule they replace (tests/_amp_reference.py), on random and extreme inputs, on 1 and 2 threads."""

import numpy as np
import pytest
from _amp_reference import NumpyConditionalGaussian
from scipy import special

from mimkit._native import native
from mimkit.amp._quadrature import _NEGLIGIBLE, _TABLE_EDGE, _TABLE_STEP, half_line_rule
from mimkit.amp.closed_forms import ConditionalGaussianChannel

#: Both sides sum ~100 node terms of size up to M (the largest |moment| involved) in a different
#: order, and the numpy rule subtracts mean^2 from the summed second moment: rounding ~ 1e2 eps M
#: each, so 1e-12 M separates rounding from a wrong formula (an error in any node or weight moves
#: the moments by far more).
RTOL = 1e-12


def _random_V(rng):
    """A random 2 x 2 prior covariance with eigenvalues in (0.05, 1)."""
    Q, _ = np.linalg.qr(rng.standard_normal((2, 2)))
    return (Q * rng.uniform(0.05, 1.0, 2)) @ Q.T


def _assert_matches_reference(channel, omega, V, y):
    mean, cov = channel.moments(omega, V, y)
    ref_mean, ref_cov = NumpyConditionalGaussian(channel).moments(omega, V, y)
    assert np.all(np.isfinite(mean)) and np.all(np.isfinite(cov))
    scale = 1.0 + np.abs(ref_mean).max() + np.abs(omega).max()
    np.testing.assert_allclose(mean, ref_mean, rtol=RTOL, atol=RTOL * scale)
    second = ref_cov + ref_mean.T @ ref_mean  # the summed second moment the reference rounds
    np.testing.assert_allclose(cov, ref_cov, rtol=0, atol=RTOL * np.trace(second))


@pytest.mark.parametrize("a0", [0.0, 1.0])
@pytest.mark.parametrize("noise", [0.0, 0.3])
@pytest.mark.parametrize("refined", [False, True])
def test_core_channel_matches_numpy_rule(a0, noise, refined):
    rng = np.random.default_rng(7)
    channel = ConditionalGaussianChannel(a0, noise)
    if refined:
        channel = channel.refined()
        assert channel.side_nodes == 2 * ConditionalGaussianChannel(a0, noise).side_nodes
    for _ in range(4):
        V = _random_V(rng)
        n = 600  # more than two of the core's row chunks
        omega = rng.standard_normal((n, 2)) * rng.uniform(0.2, 2.0)
        z = omega + rng.standard_normal((n, 2)) @ np.linalg.cholesky(V).T
        y = z[:, 0] * (z[:, 1] + a0) + noise * rng.standard_normal(n)
        _assert_matches_reference(channel, omega, V, y)
        # labels the prior finds unlikely: posteriors pulled far from omega
        _assert_matches_reference(channel, omega, V, 5.0 * rng.standard_normal(n))


@pytest.mark.parametrize("a0", [0.0, 1.0])
@pytest.mark.parametrize("noise", [0.0, 0.3])
def test_core_channel_matches_numpy_rule_at_extreme_omega(a0, noise):
    # a = (split - omega2) / sd2 across the tails of log Phi (-1, -20) and the table's edge
    # (+-37): beyond it a side is dead (weight 0, its nodes on the split, where a noiseless
    # likelihood is singular); tiny and huge omega1; a peaked prior (small V).
    rng = np.random.default_rng(3)
    sd2 = 0.5
    a = np.array([-45.0, -37.5, -36.9, -30.0, -20.5, -19.5, -6.0, -1.0, 0.0, 1e-9, 2.0, 6.5])
    a = np.concatenate([a, -a])
    omega2 = -a0 - a * sd2
    for V in (np.array([[0.6, 0.1], [0.1, sd2**2]]), np.array([[1e-4, 2e-5], [2e-5, sd2**2]])):
        for omega1 in (0.0, 1e-8, 3.0, -40.0):
            omega = np.stack([np.full_like(a, omega1), omega2], axis=1)
            y = rng.standard_normal(len(a)) * np.abs(omega2 + a0).clip(1.0)
            _assert_matches_reference(ConditionalGaussianChannel(a0, noise), omega, V, y)


def test_core_channel_is_the_same_bits_on_one_and_two_threads():
    rng = np.random.default_rng(11)
    channel = ConditionalGaussianChannel(0.0, 0.0)
    table, log_w = half_line_rule(channel.side_nodes)
    V, n = _random_V(rng), 1000
    omega, y = rng.standard_normal((n, 2)), rng.standard_normal(n)
    runs = [
        native.conditional_gaussian_moments(
            omega, V, y, table, log_w, _TABLE_EDGE, _TABLE_STEP, 0.0, 0.0, _NEGLIGIBLE, threads
        )
        for threads in (1, 2)
    ]
    for one, two in zip(*runs):
        assert np.array_equal(one, two)
    # and a row's mean does not depend on which rows come with it
    part = channel.moments(omega[3:5], V, y[3:5])[0]
    assert np.array_equal(part, runs[0][0][3:5])


def test_core_log_ndtr_matches_scipy_in_both_tails():
    x = np.concatenate([np.linspace(-60.0, 40.0, 4001), [-20.0, -1.0, 0.0, 1e-300]])
    ref = special.log_ndtr(x)
    # It enters the channel as a log weight: an absolute error e is a relative error e of the
    # weight; relative 1e-14 where log Phi is large (the lower tail's asymptotic series).
    np.testing.assert_allclose(native.log_ndtr(x), ref, rtol=1e-14, atol=1e-16)


def test_core_channel_rejects_bad_shapes():
    channel = ConditionalGaussianChannel(0.0, 0.1)
    with pytest.raises(ValueError, match="omega must have shape"):
        channel.moments(np.zeros((3, 3)), np.eye(2), np.zeros(3))
    with pytest.raises(ValueError, match="y must have length"):
        channel.moments(np.zeros((3, 2)), np.eye(2), np.zeros(4))
    with pytest.raises(ValueError, match="V must have shape"):
        channel.moments(np.zeros((3, 2)), np.eye(3), np.zeros(3))
