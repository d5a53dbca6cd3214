"""Deterministic expectations (mimkit._quadrature, mimkit._label_law) against closed forms and
against Monte Carlo, and the theory's input limits (issue 25)."""

import warnings

import numpy as np
import pytest
from scipy import integrate, stats

from mimkit._quadrature import QuadratureWarning, RayRule, check_agreement
from mimkit.cli import main
from mimkit.links import LINKS, get_link
from mimkit.theory import (
    network_threshold,
    phase1_curve,
    spectral_overlap,
    weak_recovery_threshold,
)


def test_ray_rule_cut_at_a_level_integrates_the_step_exactly():
    link = get_link("z1z2")
    # P(z1 z2 > 0.3) = 2 int_0^inf phi(x) Q(0.3 / x) dx.
    exact = 2 * integrate.quad(lambda x: stats.norm.pdf(x) * stats.norm.sf(0.3 / x), 0, np.inf)[0]
    z, w = RayRule(link, 2, 16, 8).nodes([0.3])
    assert abs(w @ (link(z) > 0.3) - exact) < 1e-5
    assert abs(w.sum() - 1) < 1e-12 and abs(w @ (z[:, 0] ** 2 * z[:, 1] ** 2) - 1) < 1e-10
    # A sign link is constant on the rule's sectors: its moments are exact.
    s = get_link("sign_z1z2")
    z, w = RayRule(s, 2, 8, 8).nodes()
    assert abs(w @ (s(z) * z[:, 0] * z[:, 1]) - 2 / np.pi) < 1e-8


def test_crossings_are_found_to_rounding():
    # z1 z2 = 0.3 along theta at rho* = sqrt(0.3 / (theta_1 theta_2)) (the Illinois method);
    # sq_sign3's label jumps at the origin (sign(0) = 1): that crossing is cut at rho ~ 0.
    rule = RayRule(get_link("z1z2"), 2, 16, 8)
    ray, rho, _ = rule.crossings([0.3])
    theta = rule.directions[ray]
    np.testing.assert_allclose(rho, np.sqrt(0.3 / (theta[:, 0] * theta[:, 1])), rtol=1e-10)
    rule = RayRule(get_link("sq_sign3"), 3, 3, 3, 0)
    ray, rho, _ = rule.crossings([0.5])
    theta = rule.directions[ray]
    # only rays with sign(z1 z2 z3) = -1 cross 0.5: at the jump and at sqrt(1.5) / |theta_1|
    assert np.all(np.prod(theta, axis=1) < 0)
    at_jump = rho < 1e-6
    assert np.all(rho[at_jump] < 1e-10)
    np.testing.assert_allclose(rho[~at_jump], np.sqrt(1.5) / np.abs(theta[~at_jump, 0]), rtol=1e-10)


def test_level_set_gives_the_density_of_the_label():
    # y = z1 z2 has density K0(|y|) / pi.
    from scipy import special

    levels = np.array([0.5, 1.0, 2.0])
    _, density = RayRule(get_link("z1z2"), 2, 16, 8).level_set(levels, lambda z: z[:, :1])
    np.testing.assert_allclose(density, special.k0(levels) / np.pi, rtol=1e-5)


def test_check_agreement_warns_beyond_the_tolerance():
    assert check_agreement([(np.array([1.0]), np.array([1.005]))], 1e-2, 1e-3, "x")
    with pytest.warns(QuadratureWarning, match="half the nodes"):
        assert not check_agreement([(np.array([1.0]), np.array([1.1]))], 1e-2, 1e-3, "x")


def _agree(link, preprocessing, center, n_samples):
    # "auto": the rule, or Monte Carlo (another seed) where the rule does not converge
    q = weak_recovery_threshold(link, preprocessing, center=center, random_state=1)
    m = weak_recovery_threshold(
        link,
        preprocessing,
        center=center,
        n_samples=n_samples,
        method="monte_carlo",
        random_state=0,
    )
    # every library link's rule converges, its optimal table included (a continuous label at
    # r = 3 has its law in one dimension: preprocessing._exact_moments)
    assert q.method == "quadrature"
    finite = np.isfinite(m.alpha_c)
    # Monte Carlo cannot tell alpha_c > 1e4 (a signal below its standard error) from infinity.
    q_alpha = np.where(q.alpha_c > 1e4, np.inf, q.alpha_c)
    np.testing.assert_array_equal(np.isfinite(q_alpha), finite)
    qa, ma = np.sort(q_alpha[finite]), np.sort(m.alpha_c[finite])
    se = np.hypot(np.sort(m.stderr[finite]), np.sort(q.stderr[finite]))
    assert np.all(np.abs(qa - ma) <= 3 * se), (link, preprocessing, center, qa, ma, se)


def test_auto_gives_way_to_monte_carlo_where_the_rule_does_not_converge():
    # A label transform with a jump the rule is not told of (no `breaks`): the jump falls
    # inside radial pieces, so Gauss-Legendre converges like 1/nodes and the half-node check
    # fails; "auto" then answers by Monte Carlo. Told of the jump, the rule converges.
    def step(y):
        return np.sign(y - 0.37)

    def announced(y):
        return np.sign(y - 0.37)

    announced.breaks = (0.37,)
    with pytest.warns(QuadratureWarning, match="half the nodes"):
        weak_recovery_threshold("z1z2", step, center="none", method="quadrature")
    auto = weak_recovery_threshold("z1z2", step, center="none", n_samples=100_000, random_state=0)
    assert auto.method == "monte_carlo"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        told = weak_recovery_threshold("z1z2", announced, center="none")
    assert told.method == "quadrature"
    assert np.all(np.abs(told.alpha_c - auto.alpha_c) <= 3 * np.hypot(told.stderr, auto.stderr))


@pytest.mark.parametrize(
    "loss, delta", [("absolute", 1.0), ("huber", 0.5), ("huber", 1.0), ("huber", 2.0)]
)
def test_sq_sign3_sees_only_z1_by_quadrature(loss, delta):
    # y = z1^2 + sign(z1 z2 z3): sign(z1 z2 z3) is independent of |z2| and |z3|, so
    # E[T(y) (z2^2 - 1)] = E[T(y) (z3^2 - 1)] = 0 for every T: z2 and z3 are invisible. The
    # absolute loss's median c ~ 1.04 puts a level set |z1| = sqrt(c - 1) ~ 0.2 near the plane
    # z1 = 0, a boundary layer the rule must resolve (the old one gave 1e3-1e7, not inf).
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        q = network_threshold("sq_sign3", loss, huber_delta=delta)
    assert q.method == "quadrature"
    assert np.isfinite(q.alpha_c[0]) and np.all(np.isinf(q.alpha_c[1:]))
    assert abs(q.directions[0, 0]) > 1 - 1e-9
    if loss == "absolute":
        m = network_threshold(
            "sq_sign3", loss, n_samples=200_000, method="monte_carlo", random_state=0
        )
        assert abs(q.alpha_c[0] - m.alpha_c[0]) <= 3 * np.hypot(q.stderr[0], m.stderr[0])


def test_polar_rule_resolves_a_boundary_layer_at_its_equator():
    # E[sign(|z1| - a) (z2^2 - 1)] = 0 (independence) and E[sign(|z1| - a)] = 4 Q(a) - 1. The
    # crossing radius a / |theta_1| sweeps the bulk of the radius law as theta_1 -> 0: about
    # the pole z1 that layer lies at the graded equator, about z3 it cuts across the pieces.
    from mimkit._quadrature import best_pole

    def g(z):
        return z[:, 0] ** 2

    a = 0.2
    errors = []
    for pole in (0, 2):
        z, w = RayRule(g, 3, 6, 6, pole).nodes([a**2])
        t = np.sign(g(z) - a**2)
        assert abs(w @ t - (4 * stats.norm.sf(a) - 1)) < (1e-7 if pole == 0 else 1e-2)
        errors.append(abs(w @ (t * (z[:, 1] ** 2 - 1))))
    assert errors[0] < 1e-7 < 1e-4 < errors[1]
    assert best_pole(g, 6, 6) == 0
    assert best_pole(get_link("z1z2z3"), 6, 6) == 2  # symmetric: the default pole


@pytest.mark.parametrize("link", ["z1z2", "sign_z1z2"])
@pytest.mark.parametrize("center", ["mean", "none"])
def test_quadrature_agrees_with_monte_carlo(link, center):
    _agree(link, "huber", center, 100_000)


@pytest.mark.slow
@pytest.mark.parametrize("link", sorted(LINKS))
@pytest.mark.parametrize(
    "preprocessing, center",
    [("optimal", None), ("huber", "mean"), ("huber", "none"), ("sign", "mean")],
)
def test_quadrature_agrees_with_monte_carlo_on_every_library_link(link, preprocessing, center):
    _agree(link, preprocessing, center, 400_000)


def test_phase1_curve_refuses_tiny_alpha_and_huge_step_counts():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="alpha"):
            phase1_curve("z1z2", "huber", 1e-300, 100, 10)
    with pytest.raises(ValueError, match="n_steps"):
        phase1_curve("z1z2", "huber", 4.0, 100, 10**7)


@pytest.mark.filterwarnings("ignore::mimkit._quadrature.QuadratureWarning")
def test_theory_command_notes_links_outside_the_theory(capsys):
    assert main(["theory", "tanh_committee", "--alpha", "4"]) == 0
    assert "outside the theory" in capsys.readouterr().out
    assert main(["theory", "z1z2", "--alpha", "4"]) == 0
    assert "outside the theory" not in capsys.readouterr().out


@pytest.mark.parametrize("link", ["sign_z1z2", "norm2", "he2_sum", "z1z2"])
def test_optimal_outlier_sits_at_one_over_alpha(link):
    # For T = G / (1 + G) the outlier is at exactly 1 / alpha (to rounding where T is exact:
    # discrete labels, closed forms); z1z2's tabulated T needs the refined knots near y = 0,
    # without which it came out 4% low at alpha = 4. Equal outliers keep orthogonal
    # directions, so every direction gets its overlap.
    alphas = np.array([3.0, 5.0])
    res = spectral_overlap(link, "optimal", alphas)
    tol = 2e-3 if link == "z1z2" else 1e-10
    np.testing.assert_allclose(res.eigenvalue * alphas[:, None], 1.0, atol=tol)
    assert np.all(res.overlap > 0.1)


def test_noisy_labels_by_quadrature_agree_with_monte_carlo():
    # Label noise is one more coordinate of the rule (r = 1: a 2-dimensional rule).
    for preprocessing, center in [("huber", "mean"), ("optimal", None)]:
        q = weak_recovery_threshold("norm2", preprocessing, r=1, center=center, noise=0.3)
        m = weak_recovery_threshold(
            "norm2",
            preprocessing,
            r=1,
            center=center,
            noise=0.3,
            n_samples=200_000,
            method="monte_carlo",
            random_state=0,
        )
        assert q.method == "quadrature"
        assert abs(q.alpha_c[0] - m.alpha_c[0]) <= 3 * np.hypot(q.stderr[0], m.stderr[0])


def test_median_of_an_even_two_point_law_is_an_atom():
    # sign(z1 z2) is +-1 with probability 1/2 each: a sample's median is one of the atoms. With
    # c = -1, T = 1{z1 z2 > 0}: along (1, 1)/sqrt2, m = E[T ((v.z)^2 - 1)] = E|z1 z2| / 2 = 1/pi,
    # F = m / (lambda - 1) and H = (1/2) / (lambda - 1)^2 meet at lambda - 1 = pi / 2, so
    # alpha_c = (pi / 2) / m = pi^2 / 2; along (1, -1)/sqrt2 the signal is negative: unseen.
    q = network_threshold("sign_z1z2", "absolute")
    m = network_threshold(
        "sign_z1z2", "absolute", n_samples=100_000, method="monte_carlo", random_state=0
    )
    assert q.alpha_c[1] == np.inf and m.alpha_c[1] == np.inf
    assert abs(q.alpha_c[0] - np.pi**2 / 2) < 1e-3
    assert abs(q.alpha_c[0] - m.alpha_c[0]) <= 3 * np.hypot(q.stderr[0], m.stderr[0])


def test_gauss_hermite_integrates_gaussian_moments_exactly():
    from mimkit._quadrature import gauss_hermite

    nodes, weights = gauss_hermite(6, 2)
    assert abs(weights.sum() - 1) < 1e-14
    # E[u1^4 u2^2] = 3 and E[u1^3 u2] = 0: polynomials of degree <= 11 per coordinate are exact.
    assert abs(weights @ (nodes[:, 0] ** 4 * nodes[:, 1] ** 2) - 3) < 1e-12
    assert abs(weights @ (nodes[:, 0] ** 3 * nodes[:, 1])) < 1e-12


def test_equal_directions_get_one_overlap_each_without_a_quadrature_warning():
    """He2's directions share one eigenvalue, so the basis that names them is arbitrary: each
    outlier must still be matched to its own direction (two outliers once landed on the same
    one, leaving the other at 0 at one rule and not at the half rule: a false QuadratureWarning)."""
    from mimkit.preprocessing import loss_transform
    from mimkit.theory import spectral_overlap

    # The phase-1 transform of `mimkit run --link he2_sum --r 2 --d 96 --alpha 16 --seed 3`.
    T = loss_transform("huber", -0.6412731011491926, 1.0)
    for prep, center in (("huber", "mean"), (T, "none")):
        res = spectral_overlap("he2_sum", prep, 16.0, r=2, center=center)
        assert np.all(res.overlap > 0.3)
        np.testing.assert_allclose(res.overlap[:, 0], res.overlap[:, 1], rtol=1e-9)


@pytest.mark.parametrize("link", ["he2_sum", "z1z2", "sq_sign3"])
def test_huber_location_solves_its_equation_on_the_cut_rule(link):
    # Newton's method on E clip(y - c, -delta, delta) = 0, its slope -P(|y - c| < delta)
    # exact on the rule cut at c +- delta: the root to rounding, on that very rule.
    from mimkit._label_law import QuadratureLaw, quadrature_location

    law = QuadratureLaw(get_link(link), 0.0)
    for delta in (0.5, 2.0):
        c = quadrature_location(law, "huber", delta)
        s = law.sample((c - delta, c + delta))
        assert abs(s.mean(np.clip(s.y - c, -delta, delta))) < 1e-12
