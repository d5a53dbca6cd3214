"""r = 3 closed-form channels (sq_sign3, sign_committee): against independent integrals."""

import warnings

import numpy as np
import pytest
from scipy import integrate, special

from mimkit.amp import amp_overlap, amp_threshold, gamp, make_channel
from mimkit.amp.closed_forms3 import (
    SignCommitteeChannel,
    SqSign3Channel,
    quadrant_log_probs,
    quadrant_moments,
)
from mimkit.data import MultiIndexModel
from mimkit.links import get_link

QUADRANTS = [(1, 1), (1, -1), (-1, 1), (-1, -1)]


def _quadrant_integrals(t2, t3, rho, q2, q3):
    """P, E[u2 1], E[u3 1], E[u2^2 1], E[u2 u3 1], E[u3^2 1] over ``sign(u_a + t_a) = q_a``,
    u standard bivariate normal with correlation rho: u2 by adaptive quadrature, u3 given u2
    by the closed-form moments of a one-sided normal (no Owen T, no Tallis)."""
    tau = np.sqrt(1.0 - rho**2)

    def inner(x, power2, power3):
        # v3 = q3 u3 | u2 = x ~ N(q3 rho x, tau^2), kept where v3 > -q3 t3 =: h.
        mu, h = q3 * rho * x, -q3 * t3
        c = (mu - h) / tau
        tail, dens = special.ndtr(c), np.exp(-0.5 * c * c) / np.sqrt(2 * np.pi)
        moment = [tail, mu * tail + tau * dens, (mu**2 + tau**2) * tail + tau * (mu + h) * dens]
        return np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi) * x**power2 * q3**power3 * moment[power3]

    lo, hi = (-t2, np.inf) if q2 > 0 else (-np.inf, -t2)
    out = []
    for p2, p3 in [(0, 0), (1, 0), (0, 1), (2, 0), (1, 1), (0, 2)]:
        # Moments near 0 need an absolute tolerance: 1e-11 of the probability.
        floor = 1e-11 * out[0] if out else 0.0
        val = integrate.quad(inner, lo, hi, args=(p2, p3), epsabs=floor, epsrel=1e-10, limit=200)
        out.append(val[0])
    return np.array(out)


@pytest.mark.parametrize("rho", [0.0, 0.35, -0.8, 0.97])
def test_quadrant_probabilities_and_moments_match_integrals(rho):
    # Owen's T formula (or the exact product at rho = 0) and Tallis' moments against adaptive
    # quadrature to 1e-12: the same numbers to ~1e-9 (Owen's T is exact to rounding), also
    # where a quadrant is far less probable than its margins (the log-space tail rule, 1e-3).
    points = [(0.3, -1.2), (0.0, 0.0), (1e-3, 2.5), (4.0, 3.5), (-5.0, 4.5)]
    t2, t3 = np.array(points).T
    S = np.array([[0.7, rho * np.sqrt(0.7 * 1.8)], [rho * np.sqrt(0.7 * 1.8), 1.8]])
    sd = np.sqrt(np.diag(S))
    log_p, mean, cov = quadrant_moments(t2 * sd[0], t3 * sd[1], S)
    np.testing.assert_allclose(log_p, quadrant_log_probs(t2, t3, rho), rtol=0, atol=1e-12)
    for i, (q2, q3) in enumerate(QUADRANTS):
        for j in range(len(points)):
            p, e2, e3, s22, s23, s33 = _quadrant_integrals(t2[j], t3[j], rho, q2, q3)
            if p < 1e-200:  # beyond the reference's resolution: only "negligible" is checked
                assert log_p[i, j] < np.log(1e-150)
                continue
            margins = (special.ndtr(q2 * t2[j]) + special.ndtr(q3 * t3[j])) / 2
            tol = 1e-3 if p < 1e-7 * margins else 1e-8
            assert np.exp(log_p[i, j]) == pytest.approx(p, rel=tol, abs=1e-300)
            # Standardised moments of u given the quadrant, back to z = sd (t + u).
            m_u = np.array([e2, e3]) / p
            c_u = np.array([[s22, s23], [s23, s33]]) / p - np.outer(m_u, m_u)
            expected_mean = sd * (np.array([t2[j], t3[j]]) + m_u)
            expected_cov = np.outer(sd, sd) * c_u
            np.testing.assert_allclose(mean[i, j], expected_mean, rtol=0, atol=50 * tol)
            np.testing.assert_allclose(
                cov[i, j], expected_cov[[0, 0, 1], [0, 1, 1]], rtol=0, atol=50 * tol
            )


def _random_prior(rng, scale=1.0):
    A = rng.standard_normal((3, 3))
    V = scale * (0.3 * A @ A.T + 0.2 * np.eye(3))
    return rng.uniform(-1.0, 1.0, (1, 3)), V


def _grid_moments(points, log_w):
    """Mean and covariance of a weighted point set (log weights)."""
    p = np.exp(log_w - log_w.max())
    p /= p.sum()
    mean = p @ points
    return mean, (points * p[:, None]).T @ points - np.outer(mean, mean)


def _edge_aligned_axis(center, half_width, h):
    """Midpoints (k + 1/2) h covering center +- half_width: 0 is a cell edge."""
    k = np.arange(np.floor((center - half_width) / h), np.ceil((center + half_width) / h))
    return (k + 0.5) * h


def _sq_sign3_brute_force(omega, V, y, h=0.02, lim=7.0):
    """The atoms z1 = +-sqrt(y - s) (weights N(a; omega1, V11) / |a|), and (z2, z3) | z1 on a
    midpoint grid with cell edges on the axes (the region's boundary): O(h^2) accurate."""
    c = V[1:, 0] / V[0, 0]
    S = V[1:, 1:] - np.outer(V[1:, 0], V[0, 1:]) / V[0, 0]
    sd = np.sqrt(np.diag(S))
    points, log_w = [], []
    atoms = [(np.sqrt(y + 1), -1.0), (-np.sqrt(y + 1), -1.0)]
    if y >= 1:
        atoms += [(np.sqrt(y - 1), 1.0), (-np.sqrt(y - 1), 1.0)]
    for a, s in atoms:
        m = omega[1:] + c * (a - omega[0])
        axes = [_edge_aligned_axis(m[k], lim * sd[k], h) for k in range(2)]
        A, B = np.meshgrid(axes[0], axes[1], indexing="ij")
        w = np.stack([A.ravel(), B.ravel()], axis=1)
        keep = np.where(w[:, 0] * w[:, 1] >= 0, 1.0, -1.0) == s * (1.0 if a >= 0 else -1.0)
        diff = w[keep] - m
        log_dens = -0.5 * np.einsum("ni,ij,nj->n", diff, np.linalg.inv(S), diff)
        log_atom = -0.5 * (a - omega[0]) ** 2 / V[0, 0] - np.log(abs(a))
        points.append(np.column_stack([np.full(keep.sum(), a), w[keep]]))
        log_w.append(log_atom + log_dens)
    return _grid_moments(np.concatenate(points), np.concatenate(log_w))


def test_sq_sign3_matches_brute_force():
    rng = np.random.default_rng(0)
    channel = make_channel("sq_sign3")
    assert isinstance(channel, SqSign3Channel)
    for y in (-0.6, 0.9, 1.3, 4.2):
        omega, V = _random_prior(rng)
        mean, cov = channel.moments(omega, V, np.array([y]))
        ref_mean, ref_cov = _sq_sign3_brute_force(omega[0], V, y)
        # Midpoint rule at h = 0.02: error ~ h^2 / (24 min eig S) ~ 1e-4 (S >~ 0.2 here).
        np.testing.assert_allclose(mean[0], ref_mean, rtol=0, atol=5e-4)
        np.testing.assert_allclose(cov, ref_cov, rtol=0, atol=5e-4)


def _committee_brute_force(omega, V, y, noise, h=0.05, lim=6.0):
    """3-d midpoint grid with cell edges on the axes (where the label jumps): exact region."""
    sd = np.sqrt(np.diag(V))
    axes = [_edge_aligned_axis(omega[k], lim * sd[k], h) for k in range(3)]
    grids = np.meshgrid(*axes, indexing="ij")
    z = np.stack([g.ravel() for g in grids], axis=1)
    diff = z - omega
    log_w = -0.5 * np.einsum("ni,ij,nj->n", diff, np.linalg.inv(V), diff)
    label = np.where(z >= 0, 1.0, -1.0).sum(axis=1)
    if noise == 0:
        keep = label == y
        return _grid_moments(z[keep], log_w[keep])
    return _grid_moments(z, log_w - (y - label) ** 2 / (2 * noise**2))


@pytest.mark.parametrize("noise", [0.0, 0.5])
def test_sign_committee_matches_brute_force(noise):
    rng = np.random.default_rng(1)
    channel = make_channel("sign_committee", noise)
    assert isinstance(channel, SignCommitteeChannel) and channel.noise == noise
    for y in (-1.0, 3.0):
        omega, V = _random_prior(rng, scale=0.4)
        label = y + noise * rng.standard_normal()
        mean, cov = channel.moments(omega, V, np.array([label]))
        fine_mean, fine_cov = channel.refined().moments(omega, V, np.array([label]))
        ref_mean, ref_cov = _committee_brute_force(omega[0], V, label, noise)
        # The z1 rule converges like 1 / nodes^2 (module docstring): its error is ~4/3 of the
        # change on doubling the nodes; plus the grid's ~h^2 / (24 min eig V) ~ 5e-4.
        tol_mean = 2 * np.abs(fine_mean - mean).max() + 5e-4
        tol_cov = 2 * np.abs(fine_cov - cov).max() + 5e-4
        assert np.abs(fine_mean - mean).max() < 5e-3  # the rule is close to converged
        np.testing.assert_allclose(mean[0], ref_mean, rtol=0, atol=tol_mean)
        np.testing.assert_allclose(cov, ref_cov, rtol=0, atol=tol_cov)


def _draw(name, noise, Q, n, rng):
    """(omega, V, y) from the channel's own model: omega ~ N(0, Q), z ~ N(omega, I - Q)."""
    V = np.eye(3) - Q
    omega = rng.standard_normal((n, 3)) @ np.linalg.cholesky(Q).T
    z = omega + rng.standard_normal((n, 3)) @ np.linalg.cholesky(V).T
    return omega, V, get_link(name)(z) + noise * rng.standard_normal(n)


Q3 = np.array([[0.5, 0.1, -0.05], [0.1, 0.4, 0.15], [-0.05, 0.15, 0.3]])


@pytest.mark.parametrize(
    "name, noise", [("sq_sign3", 0.0), ("sign_committee", 0.0), ("sign_committee", 0.4)]
)
def test_nishimori_identity_and_bayes_consistency(name, noise):
    rng = np.random.default_rng(4)
    channel = make_channel(name, noise)
    # For an exact posterior and data from its own model, E[g g^T] = -E[d g / d omega]:
    # Monte Carlo means over n draws, within 6 standard errors of the left side.
    omega, V, y = _draw(name, noise, Q3, 4000, rng)
    g, dg = channel.g_out(omega, V, y)
    outer = np.einsum("ni,nj->nij", g, g)
    se = outer.std(axis=0) / np.sqrt(len(y))
    assert np.all(np.abs(outer.mean(axis=0) + dg) < 6 * se + 1e-3)
    # Bayes consistency: at a fixed omega, the posterior mean averages to omega over
    # z ~ N(omega, V), y = g(z) + noise (6 standard errors).
    omega0 = np.array([[0.4, -0.7, 0.2]])
    L = np.linalg.cholesky(V)
    z = omega0 + rng.standard_normal((4000, 3)) @ L.T
    labels = get_link(name)(z) + noise * rng.standard_normal(len(z))
    means, _ = channel.moments(np.repeat(omega0, len(z), axis=0), V, labels)
    se = means.std(axis=0) / np.sqrt(len(z))
    assert np.all(np.abs(means.mean(axis=0) - omega0[0]) < 6 * se)


def _sq_sign3_conditional_second_moment(y):
    """E[z1^2 | y] from the math: y = z1^2 + s, s = +-1 fair and independent of |z1|, so the
    atoms z1^2 = y - s have weights ~ chi2_1 density at y - s."""
    if y <= 1:
        return y + 1.0
    a, b = np.sqrt(y - 1), np.sqrt(y + 1)
    return (a + b * np.exp(-1)) / (1 / a + np.exp(-1) / b)


def test_sq_sign3_threshold_is_the_first_stage_formula():
    # At omega = 0, V = I the channel's Jacobian is G(y) = diag(E[z1^2 | y] - 1, 0, 0), and
    # alpha_c = 1 / E[(E[z1^2 | y] - 1)^2] (0.575166: adaptive quadrature over z1, split
    # where the atoms +-sqrt(y - 1) appear).
    channel = make_channel("sq_sign3")
    ys = np.array([-0.5, 0.3, 1.0 + 1e-4, 1.5, 3.0, 7.0])
    h = 1e-4
    for k in range(3):
        e = np.zeros((len(ys), 3))
        e[:, k] = h
        J = (channel.g_out(e, np.eye(3), ys)[0] - channel.g_out(-e, np.eye(3), ys)[0]) / (2 * h)
        expected = np.zeros((len(ys), 3))
        if k == 0:
            expected[:, 0] = [_sq_sign3_conditional_second_moment(y) - 1 for y in ys]
        np.testing.assert_allclose(J, expected, rtol=0, atol=1e-6)

    def integrand(z):
        lam = [_sq_sign3_conditional_second_moment(z * z + s) - 1 for s in (1.0, -1.0)]
        return np.exp(-0.5 * z * z) * np.sqrt(2 / np.pi) * 0.5 * (lam[0] ** 2 + lam[1] ** 2)

    moment = sum(
        integrate.quad(integrand, lo, hi, epsabs=1e-13, epsrel=1e-12, limit=200)[0]
        for lo, hi in ((0.0, np.sqrt(2.0)), (np.sqrt(2.0), np.inf))
    )
    assert 1 / moment == pytest.approx(0.575166, abs=1e-6)
    res = amp_threshold("sq_sign3", method="monte_carlo", n_samples=20_000, random_state=0)
    assert abs(res.alpha_c - 1 / moment) < 4 * res.stderr
    np.testing.assert_allclose(res.direction, np.diag([1.0, 0.0, 0.0]), atol=1e-6)


def test_sign_committee_threshold_is_zero_along_the_mean_direction():
    # E[z | y] = E[sign(z1) | y] (1, 1, 1)-symmetric and nonzero: a trivial direction.
    res = amp_threshold("sign_committee")
    assert res.alpha_c == 0.0
    np.testing.assert_allclose(res.direction, np.full((3, 3), 1 / 3), atol=1e-9)


def test_state_evolution_runs_on_both_links():
    # Short alpha grid, few draws: seconds. sq_sign3 at alpha = 1.8 is between its stage
    # thresholds (z1 at 0.575, z2 and z3 given z1 at pi^2 / 4 = 2.47): e1 only.
    for alpha in (0.3, 1.8):
        se = amp_overlap("sq_sign3", alpha, n_samples=2000, random_state=0, progress=False)
        assert se.converged and se.overlaps[1] < 0.02
        assert (se.overlaps[0] > 0.9) == (alpha > 0.575166)
    # sign_committee: the first-order direction (1, 1, 1) / sqrt(3) at any alpha > 0; its
    # complement not yet at alpha = 1.8. Its labels are discrete, so the Monte Carlo map
    # (fixed base draws) jumps by ~1 / n_samples where a label flips: tol above that.
    se = amp_overlap(
        "sign_committee", 1.8, n_samples=2000, tol=5e-3, random_state=0, progress=False
    )
    top = np.linalg.eigh(se.Q)[1][:, -1]
    assert se.overlaps[0] > 0.2 and se.overlaps[1] < 0.02
    assert abs(top @ np.full(3, 1 / np.sqrt(3))) > 0.999


def _per_direction_overlaps(W, U):
    """Squared cosine of column 1 with u1, and those of span(u2, u3) with span(W[:, 1:])."""
    e1 = (W[:, 0] @ U[0]) ** 2 / (W[:, 0] @ W[:, 0])
    basis = np.linalg.qr(W[:, 1:])[0]
    return e1, np.linalg.svd(basis.T @ U[1:].T, compute_uv=False) ** 2


def test_gamp_on_small_sq_sign3_data():
    # d = 300, alpha = 1.8: e1 recovered (SE: 1), z2, z3 not (SE: 0). At finite d an
    # unlearned direction keeps a squared cosine ~ 1 / (d (1 - alpha / alpha_2)), amplified
    # near stage 2's threshold alpha_2 = pi^2 / 4: ~0.01, fluctuating by as much again
    # (0.006 at d = 1000, the slow test); 0.25 leaves room for that at d = 300.
    model = MultiIndexModel(300, "sq_sign3", random_state=0)
    X, y = model.sample(540, dtype=np.float64, random_state=1)
    # z2, z3 wander slowly on their plateau: stop at tol 1e-3 (the overlaps are checked).
    res = gamp(X, y, make_channel("sq_sign3"), max_iter=200, tol=1e-3, random_state=0)
    e1, rest = _per_direction_overlaps(res.W, model.U)
    assert e1 > 0.9 and rest.max() < 0.25


def test_bad_labels_and_noisy_sq_sign3_are_refused():
    omega, V = np.zeros((1, 3)), np.eye(3)
    with pytest.raises(ValueError, match=">= -1"):
        SqSign3Channel().moments(omega, V, np.array([-1.5]))
    with pytest.raises(ValueError, match="-3, -1, 1 or 3"):
        SignCommitteeChannel().moments(omega, V, np.array([0.5]))
    # Label noise smears sq_sign3's atoms: no closed form; the generic r = 3 rule is refused.
    with pytest.raises(ValueError, match="sq_sign3 \\(noiseless\\)"):
        amp_overlap("sq_sign3", 2.0, noise=0.1, progress=False)


@pytest.mark.slow
@pytest.mark.parametrize("alpha", [8.0, 1.8])
def test_gamp_climbs_the_sq_sign3_staircase_at_d_1000(alpha):
    # State evolution (20 000 draws): alpha = 8: e1 1.0, e2 and e3 0.95 (stage 2's
    # threshold given z1 is pi^2 / 4); alpha = 1.8: e1 1.0, e2 and e3 0. Finite-d squared
    # cosines fluctuate by ~1 / sqrt(d) ~ 0.03 around a learned direction's value and sit at
    # ~0.01 for an unlearned one (measured over seeds 0-2: 0.94 and 0.006), so the margins
    # 0.85 and 0.1 hold ~3 fluctuations. The overlaps settle by iteration ~50 (e2, e3 at
    # alpha = 8 drift by < 0.01 after that, without meeting tol): 100 iterations, no
    # convergence asked.
    model = MultiIndexModel(1000, "sq_sign3", random_state=0)
    X, y = model.sample(int(alpha * 1000), dtype=np.float64, random_state=100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = gamp(X, y, make_channel("sq_sign3"), max_iter=100, random_state=0)
    e1, rest = _per_direction_overlaps(res.W, model.U)
    if alpha == 8.0:
        assert e1 >= 0.85 and rest.min() >= 0.85
    else:
        assert e1 >= 0.9 and rest.max() < 0.1
