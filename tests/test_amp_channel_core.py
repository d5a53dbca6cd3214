"""The split-rule channels' moments and their fused GAMP pass in the core (cpp/amp_channel.hpp):
conditional-Gaussian (z1z2, z1_plus_z1z2) and sign product (sign_z1z2), against the numpy rules
they replace (tests/_amp_reference.py) and numpy's products, on random and extreme inputs, on 1
and 2 threads."""

import numpy as np
import pytest
from scipy import special

from _amp_reference import NumpyConditionalGaussian, NumpySignProduct
from mimkit._native import native
from mimkit.amp.channel import back_project, precision_of, project
from mimkit.amp.closed_forms import ConditionalGaussianChannel, SignProductChannel
from mimkit.amp.gamp import gamp_step

#: Both sides sum ~100 node terms of size up to M (the largest |moment| involved) in a different
#: order, and the numpy rule subtracts mean^2 from the summed second moment: rounding ~ 1e2 eps M
#: each, so 1e-12 M separates rounding from a wrong formula (an error in any node or weight moves
#: the moments by far more).
RTOL = 1e-12

#: The links of the split-rule channels.
LINKS = ["z1z2", "z1_plus_z1z2", "sign_z1z2"]


def _channel(link, noise):
    if link == "sign_z1z2":
        return SignProductChannel(noise)
    return ConditionalGaussianChannel({"z1z2": 0.0, "z1_plus_z1z2": 1.0}[link], noise)


def _reference(channel):
    """The channel's numpy twin."""
    if isinstance(channel, SignProductChannel):
        return NumpySignProduct(channel)
    return NumpyConditionalGaussian(channel)


def _labels(channel, z, rng):
    """y of the channel's link for rows z (n, 2), with its noise."""
    if isinstance(channel, SignProductChannel):
        clean = np.where(z[:, 0] * z[:, 1] >= 0, 1.0, -1.0)
    else:
        clean = z[:, 0] * (z[:, 1] + channel.a0)
    return clean + channel.noise * rng.standard_normal(len(z))


def _random_V(rng):
    """A random 2 x 2 prior covariance with eigenvalues in (0.05, 1)."""
    Q, _ = np.linalg.qr(rng.standard_normal((2, 2)))
    return (Q * rng.uniform(0.05, 1.0, 2)) @ Q.T


def _assert_matches_reference(channel, omega, V, y):
    mean, cov = channel.moments(omega, V, y)
    ref_mean, ref_cov = _reference(channel).moments(omega, V, y)
    assert np.all(np.isfinite(mean)) and np.all(np.isfinite(cov))
    scale = 1.0 + np.abs(ref_mean).max() + np.abs(omega).max()
    np.testing.assert_allclose(mean, ref_mean, rtol=RTOL, atol=RTOL * scale)
    second = ref_cov + ref_mean.T @ ref_mean  # the summed second moment the reference rounds
    np.testing.assert_allclose(cov, ref_cov, rtol=0, atol=RTOL * np.trace(second))


@pytest.mark.parametrize("link", LINKS)
@pytest.mark.parametrize("noise", [0.0, 0.3])
@pytest.mark.parametrize("refined", [False, True])
def test_core_channel_matches_numpy_rule(link, noise, refined):
    rng = np.random.default_rng(7)
    channel = _channel(link, noise)
    if refined:
        channel = channel.refined()
        assert channel.side_nodes == 2 * _channel(link, noise).side_nodes
    for _ in range(4):
        V = _random_V(rng)
        n = 600  # more than two of the core's row chunks
        omega = rng.standard_normal((n, 2)) * rng.uniform(0.2, 2.0)
        z = omega + rng.standard_normal((n, 2)) @ np.linalg.cholesky(V).T
        _assert_matches_reference(channel, omega, V, _labels(channel, z, rng))
        # labels the prior finds unlikely: posteriors pulled far from omega
        _assert_matches_reference(channel, omega, V, 5.0 * rng.standard_normal(n))


@pytest.mark.parametrize("link", LINKS)
@pytest.mark.parametrize("noise", [0.0, 0.3])
def test_core_channel_matches_numpy_rule_at_extreme_omega(link, noise):
    # a = (split - omega2) / sd2 across the tails of log Phi (-1, -20) and the table's edge
    # (+-37): beyond it a side is dead (weight 0, its nodes on the split, where a noiseless
    # likelihood is singular); tiny and huge omega1 (for the sign product: masses of a sign of
    # z1 deep in log Phi's lower tail); a peaked prior (small V).
    rng = np.random.default_rng(3)
    channel = _channel(link, noise)
    sd2 = 0.5
    a = np.array([-45.0, -37.5, -36.9, -30.0, -20.5, -19.5, -6.0, -1.0, 0.0, 1e-9, 2.0, 6.5])
    a = np.concatenate([a, -a])
    omega2 = channel.split - a * sd2
    for V in (np.array([[0.6, 0.1], [0.1, sd2**2]]), np.array([[1e-4, 2e-5], [2e-5, sd2**2]])):
        # The sign product's z1 is a normal truncated at 0, whose mean m + sd1 lambda(m / sd1)
        # and variance cancel to ~eps |a|^3 and eps |a|^4 (a = m / sd1) in any double
        # evaluation, the reference's as well: there omega1 is in units of sd1, up to 40 sd1.
        sd1 = np.sqrt(V[0, 0] - V[0, 1] ** 2 / V[1, 1]) if link == "sign_z1z2" else 1.0
        for omega1 in (0.0, 1e-8 * sd1, 3.0 * sd1, -25.0 * sd1, -40.0 * sd1):
            omega = np.stack([np.full_like(a, omega1), omega2], axis=1)
            y = rng.standard_normal(len(a)) * np.abs(omega2 - channel.split).clip(1.0)
            _assert_matches_reference(channel, omega, V, y)


@pytest.mark.parametrize("link", ["z1z2", "sign_z1z2"])
def test_core_channel_is_the_same_bits_on_one_and_two_threads(link):
    rng = np.random.default_rng(11)
    channel = _channel(link, 0.0)
    moments = getattr(native, channel._core_name + "_moments")
    V, n = _random_V(rng), 1000
    omega, y = rng.standard_normal((n, 2)), rng.standard_normal(n)
    runs = [moments(omega, V, y, *channel._rule(), threads) for threads in (1, 2)]
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


@pytest.mark.parametrize("link", ["z1z2", "sign_z1z2"])
def test_core_channel_rejects_bad_shapes(link):
    channel = _channel(link, 0.1)
    with pytest.raises(ValueError, match="omega must have shape"):
        channel.moments(np.zeros((3, 3)), np.eye(2), np.zeros(3))
    with pytest.raises(ValueError, match="y must have length"):
        channel.moments(np.zeros((3, 2)), np.eye(2), np.zeros(4))
    with pytest.raises(ValueError, match="V must have shape"):
        channel.moments(np.zeros((3, 2)), np.eye(3), np.zeros(3))


def _gamp_problem(channel, n=700, d=90, seed=5):
    """A data set of the channel's link and a mid-run GAMP state (W, C, g, A)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    U = np.linalg.qr(rng.standard_normal((d, 2)))[0].T
    y = _labels(channel, X @ U.T, rng)
    W = np.sqrt(d) * (0.5 * U.T + 0.3 * rng.standard_normal((d, 2)) / np.sqrt(d))
    state = (W, _random_V(rng), 0.1 * rng.standard_normal((n, 2)), np.eye(2))
    return X, y, state


@pytest.mark.parametrize("link", LINKS)
@pytest.mark.parametrize("noise", [0.0, 0.3])
def test_fused_pass_matches_products_around_numpy_channel(link, noise):
    channel = _channel(link, noise)
    X, y, (W, C, g, _) = _gamp_problem(channel)
    fused = channel.gamp_pass(X, y, W, C, g, 0.3)
    omega = project(X, W) / np.sqrt(X.shape[1]) - g @ C
    g_new, dg = _reference(channel).g_out(omega, C, y)
    g_damped = 0.7 * g_new + 0.3 * g
    expected = (g_damped, back_project(X, g_damped), dg, float(np.sum(g_new**2)))
    for got, want in zip(fused, expected):
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=RTOL * np.abs(want).max())


@pytest.mark.parametrize("link", LINKS)
@pytest.mark.parametrize("noise", [0.0, 0.3])
def test_gamp_steps_with_fused_pass_follow_the_numpy_steps(link, noise):
    # gamp_step takes the fused pass for the core channel, the two BLAS products around g_out
    # for its numpy twin: the iterates agree to rounding, amplified by the iteration (~10x here)
    channel = _channel(link, noise)
    X, y, state = _gamp_problem(channel)
    reference = _reference(channel)
    ref_state = state
    for _ in range(8):
        *state, excess = gamp_step(X, y, channel, *state, 0.5)
        *ref_state, ref_excess = gamp_step(X, y, reference, *ref_state, 0.5)
        for got, want in zip(state, ref_state):
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-10 * np.abs(want).max())
        assert excess == pytest.approx(ref_excess, rel=1e-10)


@pytest.mark.parametrize("link", ["z1z2", "sign_z1z2"])
def test_fused_pass_is_the_same_bits_on_one_and_two_threads_and_any_chunks(link):
    channel = _channel(link, 0.0)
    X, y, (W, C, g, _) = _gamp_problem(channel, n=1500, d=64)
    P = precision_of(C)
    gamp_pass = getattr(native, channel._core_name + "_gamp_pass")

    def run(threads, chunk_rows):
        return gamp_pass(X, W, g, y, C, P, 0.5, *channel._rule(), threads, chunk_rows)

    one, two = run(1, 0), run(2, 0)
    for a, b in zip(one, two):
        assert np.array_equal(a, b)
    # chunks of 7 rows sum in another order: the same to rounding
    for a, b in zip(one, run(2, 7)):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=RTOL * np.abs(b).max())


@pytest.mark.parametrize("link", ["z1z2", "sign_z1z2"])
def test_fused_pass_rejects_bad_shapes(link):
    channel = _channel(link, 0.0)
    X, y, (W, C, g, _) = _gamp_problem(channel, n=50, d=10)
    with pytest.raises(ValueError, match="W must have shape"):
        channel.gamp_pass(X, y, W[:5], C, g, 0.5)
    with pytest.raises(ValueError, match="g_prev must have shape"):
        channel.gamp_pass(X, y, W, C, g[:5], 0.5)
    with pytest.raises(ValueError, match="y must have length"):
        channel.gamp_pass(X, y[:5], W, C, g, 0.5)
