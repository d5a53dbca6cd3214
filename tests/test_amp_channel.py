"""AMP output channels: exactness against brute-force posteriors and the Nishimori identity."""

import numpy as np
import pytest

from mimkit.amp import make_channel
from mimkit.amp.channel import QuadratureChannel
from mimkit.amp.closed_forms import (
    ConditionalGaussianChannel,
    RadialChannel,
    SignProductChannel,
)
from mimkit.links import get_link


def _draw(link, Q, n, noise, rng):
    """(omega, V, y) from the channel's own model: omega ~ N(0, Q), z ~ N(omega, I - Q)."""
    r = link.r
    V = np.eye(r) - Q
    omega = rng.standard_normal((n, r)) @ np.linalg.cholesky(Q).T
    z = omega + rng.standard_normal((n, r)) @ np.linalg.cholesky(V).T
    return omega, V, link(z) + noise * rng.standard_normal(n)


def _grid_posterior(link, omega, V, y, noise, h, lim=7.0):
    """Posterior mean and summed covariance by the midpoint rule on a uniform grid (cell edges
    on the axes, where sign-type links jump: the rule stays exact for them)."""
    axis = np.arange(-lim + h / 2, lim, h)
    if link.r == 1:
        Z = axis[:, None]
    else:
        A, B = np.meshgrid(axis, axis, indexing="ij")
        Z = np.stack([A.ravel(), B.ravel()], axis=1)
    P, gz = np.linalg.inv(V), link(Z)
    means, cov = [], np.zeros((link.r, link.r))
    for o, t in zip(omega, y):
        diff = Z - o
        logp = -0.5 * np.einsum("nr,rs,ns->n", diff, P, diff) - (t - gz) ** 2 / (2 * noise**2)
        p = np.exp(logp - logp.max())
        p /= p.sum()
        m = p @ Z
        means.append(m)
        cov += (Z * p[:, None]).T @ Z - np.outer(m, m)
    return np.array(means), cov


Q2 = np.array([[0.5, 0.1], [0.1, 0.4]])


@pytest.mark.parametrize(
    "name, noise, h, cls",
    [
        # Closed forms that hold at any noise: a grid of spacing well below the likelihood's
        # width in z is exact to ~1e-4 (smooth integrands: the trapezoid rule converges fast).
        ("z1z2", 0.2, 0.02, ConditionalGaussianChannel),
        ("z1_plus_z1z2", 0.2, 0.02, ConditionalGaussianChannel),
        ("sign_z1z2", 0.3, 0.02, SignProductChannel),
        ("tanh_committee", 0.2, 0.02, QuadratureChannel),
    ],
)
def test_channel_matches_grid_posterior(name, noise, h, cls):
    rng = np.random.default_rng(0)
    link = get_link(name)
    channel = make_channel(link, noise)
    assert isinstance(channel, cls)
    omega, V, y = _draw(link, Q2, 5, noise, rng)
    mean, cov = channel.moments(omega, V, y)
    ref_mean, ref_cov = _grid_posterior(link, omega, V, y, noise, h)
    np.testing.assert_allclose(mean, ref_mean, atol=2e-3)
    np.testing.assert_allclose(cov, ref_cov, atol=1e-2)


def test_phase_retrieval_channel_is_the_two_point_posterior():
    # y = z^2: the posterior is on {-sqrt(y), +sqrt(y)} with weights N(+-sqrt(y); omega, V).
    rng = np.random.default_rng(1)
    channel = make_channel("norm2", r=1)
    assert isinstance(channel, RadialChannel)
    omega, V = rng.standard_normal((50, 1)), np.array([[0.3]])
    y = rng.standard_normal(50) ** 2 * 2.0
    s = np.sqrt(y)
    w_plus = np.exp(-((s - omega[:, 0]) ** 2) / 0.6)
    w_minus = np.exp(-((s + omega[:, 0]) ** 2) / 0.6)
    expected = s * (w_plus - w_minus) / (w_plus + w_minus)
    mean, cov = channel.moments(omega, V, y)
    np.testing.assert_allclose(mean[:, 0], expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cov[0, 0], np.sum(y - expected**2), rtol=1e-12)
    # g_out and its mean Jacobian, from the same formulas: (E z - omega) / V, (Cov/V - 1)/V.
    g, dg = channel.g_out(omega, V, y)
    np.testing.assert_allclose(g[:, 0], (expected - omega[:, 0]) / 0.3, rtol=1e-12)
    np.testing.assert_allclose(dg[0, 0], (np.mean(y - expected**2) / 0.3 - 1) / 0.3, rtol=1e-12)


def test_circle_channel_symmetry():
    # he2_sum r = 2 with omega = 0, V = I: uniform on the circle |z|^2 = y + 2.
    channel = make_channel("he2_sum", r=2)
    y = np.array([0.5, -1.0, 3.0])
    mean, cov = channel.moments(np.zeros((3, 2)), np.eye(2), y)
    np.testing.assert_allclose(mean, 0.0, atol=1e-12)
    np.testing.assert_allclose(cov, np.eye(2) * np.sum(y + 2) / 2, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "name, r, noise",
    [
        ("norm2", 1, 0.0),
        ("he2_sum", 2, 0.0),
        ("z1z2", None, 0.0),
        ("sign_z1z2", None, 0.0),
        ("sign_z1z2", None, 0.5),
        pytest.param("tanh_committee", None, 0.3, marks=pytest.mark.slow),
    ],
)
def test_nishimori_identity(name, r, noise):
    # For an exact posterior and data from its own model, E[g g^T] = -E[d g / d omega]; the
    # two sides are Monte Carlo means over n draws: 6 standard errors of the left side.
    rng = np.random.default_rng(2)
    link = get_link(name, r)
    channel = make_channel(link, noise)
    Q = Q2[: link.r, : link.r]
    omega, V, y = _draw(link, Q, 5000, channel.noise, rng)
    g, dg = channel.g_out(omega, V, y)
    outer = np.einsum("ni,nj->nij", g, g)
    se = outer.std(axis=0) / np.sqrt(len(y))
    assert np.all(np.abs(outer.mean(axis=0) + dg) < 6 * se + 1e-3)


def test_noiseless_generic_link_gets_regularising_noise():
    channel = make_channel("tanh_committee")
    assert isinstance(channel, QuadratureChannel)
    assert 0 < channel.noise < 0.5
    assert make_channel("tanh_committee", min_noise=0.05).noise == 0.05
    assert make_channel("tanh_committee", 0.4).noise == 0.4


def _sphere_grid_posterior(omega, V, y, shift, n=300):
    """Posterior moments of z on the sphere |z|^2 = y - shift under N(omega, V), by
    Gauss-Legendre in cos(theta) x trapezoid in phi (n x 2n nodes): an independent rule."""
    x, w = np.polynomial.legendre.leggauss(n)
    phi = 2 * np.pi * (np.arange(2 * n) + 0.5) / (2 * n)
    T, F = np.meshgrid(x, phi, indexing="ij")
    s = np.sqrt(1 - T**2)
    U = np.stack([s * np.cos(F), s * np.sin(F), T], axis=-1).reshape(-1, 3)
    log_w, P = np.log(np.repeat(w, 2 * n)), np.linalg.inv(V)
    means, cov = [], np.zeros((3, 3))
    for o, t in zip(omega, y):
        Z = np.sqrt(max(t - shift, 0.0)) * U
        diff = Z - o
        logp = log_w - 0.5 * np.einsum("ni,ij,nj->n", diff, P, diff)
        p = np.exp(logp - logp.max())
        p /= p.sum()
        means.append(p @ Z)
        cov += (Z * p[:, None]).T @ Z - np.outer(means[-1], means[-1])
    return np.array(means), cov


@pytest.mark.parametrize("eigenvalues", [(0.3, 0.5, 0.8), (0.05, 0.06, 0.07)])
def test_sphere_channel_matches_fine_grid(eigenvalues):
    # he2_sum at r = 3: the posterior lives on the sphere |z|^2 = y + 3; an anisotropic V
    # makes the quadratic term matter (the von Mises-Fisher part alone would be exact).
    rng = np.random.default_rng(5)
    link = get_link("he2_sum", 3)
    channel = make_channel(link)
    assert isinstance(channel, RadialChannel) and channel.r == 3
    R = np.linalg.qr(rng.standard_normal((3, 3)))[0]
    V = R @ np.diag(eigenvalues) @ R.T
    omega, V, y = _draw(link, np.eye(3) - V, 6, 0.0, rng)
    mean, cov = channel.moments(omega, V, y)
    ref_mean, ref_cov = _sphere_grid_posterior(omega, V, y, -3.0)
    np.testing.assert_allclose(mean, ref_mean, atol=1e-5)
    np.testing.assert_allclose(cov, ref_cov, atol=1e-5)


def test_sphere_channel_isotropic_is_von_mises_fisher():
    # V = v I: u = z / rho is von Mises-Fisher with kappa = rho |omega| / v, mean direction
    # omega / |omega|: E[u] = A mu, E[u u^T] = (A / kappa) I + (1 - 3 A / kappa) mu mu^T with
    # A = coth(kappa) - 1 / kappa (closed forms), from weak (kappa ~ 1) to sharp (~ 1e4).
    rng = np.random.default_rng(1)
    channel = make_channel("norm2", r=3)  # y = |z|^2 / 3
    for v in (0.5, 0.05, 0.002):
        omega = rng.standard_normal((5, 3))
        y = rng.uniform(0.2, 2.0, 5)
        mean, cov = channel.moments(omega, v * np.eye(3), y)
        rho = np.sqrt(3 * y)
        kappa = rho * np.linalg.norm(omega, axis=1) / v
        A = 1 / np.tanh(kappa) - 1 / kappa
        mu = omega / np.linalg.norm(omega, axis=1)[:, None]
        ref_mean = (rho * A)[:, None] * mu
        ref_cov = sum(
            rho[i] ** 2
            * ((A[i] / kappa[i]) * np.eye(3) + (1 - 3 * A[i] / kappa[i]) * np.outer(mu[i], mu[i]))
            - np.outer(ref_mean[i], ref_mean[i])
            for i in range(5)
        )
        np.testing.assert_allclose(mean, ref_mean, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(cov, ref_cov, rtol=1e-9, atol=1e-12)


def test_split_normal_nodes_equal_direct_quantiles():
    # The tabulated quantiles (cubic pieces) against ndtri node by node; the weights are exact.
    from scipy import special

    from mimkit.amp._quadrature import split_normal_nodes, unit_legendre

    rng = np.random.default_rng(0)
    mean = np.concatenate([3 * rng.standard_normal(500), [0.0, 1e-9, 30.0, -30.0, 36.5]])
    u, w = unit_legendre(16)
    for sd in (1.0, 0.1):
        nodes, log_w = split_normal_nodes(mean, sd, 0.5, 16)
        a = (0.5 - mean)[:, None] / sd
        left = mean[:, None] + sd * special.ndtri(u * special.ndtr(a))
        right = mean[:, None] - sd * special.ndtri((1 - u) * special.ndtr(-a))
        live = np.abs(a[:, 0]) < 37
        ref = np.concatenate([left, right], axis=1)[live]
        np.testing.assert_allclose(nodes[live], ref, rtol=0, atol=1e-8 * sd)
        ref_w = np.concatenate(
            [special.log_ndtr(a) + np.log(w), special.log_ndtr(-a) + np.log(w)], 1
        )
        np.testing.assert_allclose(log_w[live], ref_w[live], rtol=1e-12)
