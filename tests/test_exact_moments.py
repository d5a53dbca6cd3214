"""The one-dimensional conditional laws of sq_sign3, z1z2z3, he2_sum and norm2
(mimkit.preprocessing._exact_moments) against independent computations, and the theory that
uses them: deterministic, converged at half the nodes, equal to closed forms."""

import warnings

import numpy as np
import pytest
from scipy import integrate, special

from mimkit.links import get_link
from mimkit.preprocessing._exact_moments import conditional_rule, exact_moments
from mimkit.theory import learning_stages, spectral_overlap, weak_recovery_threshold

LAWS = [("sq_sign3", None), ("z1z2z3", None), ("he2_sum", 3), ("he2_sum", 1), ("norm2", 2)]


def test_only_noiseless_library_links_have_a_one_dimensional_law():
    assert exact_moments(get_link("z1z2z3"), 0.1) is None
    assert exact_moments(get_link("z1z2"), 0.0) is None
    # a callable that borrows a library name is not the library's link
    assert exact_moments(get_link(lambda z: z[:, 0] * z[:, 1] * z[:, 2], r=3), 0.0) is None


def test_z1z2z3_density_and_moment_match_adaptive_quadrature():
    # p(y) E[z1^(2m) | y] = (2/pi) int_0^inf x^(2m) phi(x) K0(|y| / x) dx / x, by scipy's quad
    levels = np.array([1e-9, 1e-3, 0.3, 1.0, 4.0, 30.0])
    moments, density = exact_moments(get_link("z1z2z3"), 0.0).at(levels)

    def reference(y, power):
        def f(s):  # x = e^s: dx / x = ds
            x = np.exp(s)
            return x**power * np.exp(-(x**2) / 2) * special.k0(y / x)

        # K0(e^8) ~ 1e-1296 below, phi(e^3) ~ 1e-88 above
        total = integrate.quad(f, np.log(y) - 8, 3, limit=400, epsrel=1e-12)[0]
        return 2 / np.pi * total / np.sqrt(2 * np.pi)

    for y, p, m in zip(levels, density, moments):
        assert p == pytest.approx(reference(y, 0), rel=1e-9)
        np.testing.assert_allclose(np.diag(m), reference(y, 2), rtol=1e-9)
        assert np.all(m[~np.eye(3, dtype=bool)] == 0)
    # no density at y = 0 (infinite there): tables skip it
    assert exact_moments(get_link("z1z2z3"), 0.0).at(np.zeros(1))[1][0] == 0


@pytest.mark.parametrize("name, r", LAWS)
def test_conditional_rule_integrates_exact_moments(name, r):
    # Polynomial moments of (y, z) that E[f(y) q(z)] with q of degree 2 covers, in closed form:
    # E[y^2], E[y z1^2], E[y^2 z_r^2] (Isserlis; sign(z1 z2 z3) is independent of |z|).
    link = get_link(name, r)
    k = link.r
    exact = {
        "sq_sign3": (4.0, 3.0, 4.0),  # y^2 = z1^4 + 2 s z1^2 + 1, s = +-1 with mean 0
        "z1z2z3": (1.0, 0.0, 3.0),
        "he2_sum": (2.0 * k, 2.0, 2.0 * k + 8.0),  # y = |z|^2 - k: E[y z1^2] = Var(z1^2) = 2
        "norm2": (1.0 + 2.0 / k, 1.0 + 2.0 / k, (k + 2.0) * (k + 4.0) / k**2),
    }[name]
    # The full rule to ~1e-8 without any cuts (the theory's tolerance is 1e-2), the half rule
    # of the convergence check within 1e-3.
    for fraction, tol in [(1.0, 1e-7), (0.5, 1e-3)]:
        rule = conditional_rule(exact_moments(link, 0.0), np.zeros(0), fraction, np.zeros(0))
        got = [
            rule.mean(rule.y**2),
            rule.mean(rule.y * rule.z[:, 0] ** 2),
            rule.mean(rule.y**2 * rule.z[:, -1] ** 2),
        ]
        np.testing.assert_allclose(got, exact, rtol=tol, atol=tol)
        assert abs(rule.mean(rule.y * rule.z[:, 0])) < 1e-12  # E[z | y] = 0
        assert rule.weights.sum() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("name, r", LAWS)
def test_conditional_rule_agrees_with_monte_carlo_in_label_bins(name, r):
    # E[1{y in bin} z_i z_j] on the rule cut at the bins against 400 000 draws; 4 standard
    # errors over the 4 x r(r+1)/2 comparisons per link: a false failure has probability < 1%.
    link = get_link(name, r)
    z = np.random.default_rng(0).standard_normal((400_000, link.r))
    y = link(z)
    edges = np.quantile(y, [0.1, 0.4, 0.7])
    rule = conditional_rule(exact_moments(link, 0.0), edges, 1.0, np.zeros(0))
    rows, cols = np.triu_indices(link.r)
    for b in range(edges.size + 1):
        in_rule = np.searchsorted(edges, rule.y) == b
        in_draws = np.searchsorted(edges, y) == b
        for i, j in zip(rows, cols):
            draws = in_draws * z[:, i] * z[:, j]
            se = draws.std() / np.sqrt(draws.size)
            assert abs(rule.mean(in_rule * rule.z[:, i] * rule.z[:, j]) - draws.mean()) <= 4 * se


def test_sq_sign3_optimal_threshold_is_deterministic_and_exact():
    # 1 / E[lambda_1(y)^2] with lambda_1 = E[z1^2 | y] - 1 in closed form (y = z1^2 +- 1), by
    # scipy's quad; z2 and z3 are invisible to every preprocessing. Before, this table fell
    # back to Monte Carlo (0.59 at 200 000 draws: the binned table's bias).
    def chi1(u):
        return np.exp(-u / 2) / np.sqrt(2 * np.pi * u)

    def integrand(y):
        roots = [y - s for s in (1, -1) if y - s > 0]
        p = sum(0.5 * chi1(u) for u in roots)
        return p * (sum(0.5 * u * chi1(u) for u in roots) / p - 1) ** 2

    rho = sum(integrate.quad(integrand, a, b, limit=200)[0] for a, b in [(-1, 1), (1, 3), (3, 60)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the half-node check passes
        res = weak_recovery_threshold("sq_sign3", "optimal", method="quadrature")
    assert res.method == "quadrature"
    assert res.alpha_c[0] == pytest.approx(1 / rho, rel=1e-3)
    assert abs(res.directions[0, 0]) > 1 - 1e-9 and np.all(np.isinf(res.alpha_c[1:]))


def test_z1z2z3_optimal_thresholds_are_deterministic_and_equal():
    # The three directions are equivalent: one threshold, 1 / E[lambda^2] (the slow test
    # below has its value; Monte Carlo put the three 4% apart), and the first stage of the
    # learning order is the same number by another path (label bins, extrapolated).
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the half-node check passes
        th = weak_recovery_threshold("z1z2z3", "optimal", method="quadrature")
        res = spectral_overlap("z1z2z3", "optimal", [3.0, 5.0], method="quadrature")
    assert th.method == res.method == "quadrature"
    assert np.ptp(th.alpha_c) < 1e-9 * th.alpha_c[0]
    (stage,) = learning_stages("z1z2z3").stages
    assert th.alpha_c[0] == pytest.approx(stage.alpha_c, rel=1e-2)
    assert np.all(res.overlap[0] < res.overlap[1])


@pytest.mark.slow
def test_z1z2z3_optimal_threshold_and_learning_stage_are_its_integral():
    # 1 / E[(E[z1^2 | y] - 1)^2], with p(y, z1) = phi(z1) K0(|y / z1|) / (pi |z1|), by nested
    # adaptive quadrature.
    def inner(y, power):
        def f(s):  # z1 = e^s > 0, dz1 / z1 = ds; both signs of z1 give the same
            z1 = np.exp(s)
            return z1**power * np.exp(-(z1**2) / 2) * special.k0(y / z1)

        return integrate.quad(f, -40, 5, limit=400, epsrel=1e-11)[0]

    def integrand(t):  # y = e^t > 0; the law is symmetric in y
        y = np.exp(t)
        p = inner(y, 0)
        return p * (inner(y, 2) / p - 1) ** 2 * y

    norm = integrate.quad(lambda t: inner(np.exp(t), 0) * np.exp(t), -60, 4, limit=400)[0]
    rho = integrate.quad(integrand, -60, 4, limit=400, epsrel=1e-9)[0] / norm
    th = weak_recovery_threshold("z1z2z3", "optimal")
    assert th.method == "quadrature"
    np.testing.assert_allclose(th.alpha_c, 1 / rho, rtol=1e-3)
    # G(y) = (E[z1^2 | y] - 1) I: the learning order is one easy stage at the same threshold.
    (stage,) = learning_stages("z1z2z3").stages
    assert stage.kind == "easy" and stage.directions.shape == (3, 3)
    assert stage.alpha_c == pytest.approx(1 / rho, rel=1e-2)


def test_he2_sum_first_stage_is_at_its_closed_form():
    # lambda(y) = y / r, E[lambda^2] = Var(|z|^2) / r^2 = 2 / r: alpha_c = r / 2.
    (stage,) = learning_stages("he2_sum").stages
    assert stage.kind == "easy" and stage.alpha_c == pytest.approx(1.5, rel=1e-2)
