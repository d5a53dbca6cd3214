"""State evolution of Bayes-optimal GAMP: thresholds, phase retrieval, test error."""

import numpy as np
import pytest

from mimkit.amp import amp_overlap, amp_threshold, bayes_test_error, state_evolution
from mimkit.theory import weak_recovery_threshold


@pytest.mark.parametrize(
    "name, r",
    [
        ("he2_sum", 1),
        pytest.param("z1z2", None, marks=pytest.mark.slow),
        pytest.param("sign_z1z2", None, marks=pytest.mark.slow),
    ],
)
def test_threshold_equals_optimal_spectral(name, r):
    # The linearised SE map at Q = 0 is M -> E[G M G], G = E[z z^T - I | y]: the optimal
    # spectral threshold. Both are Monte Carlo estimates: agree within 4 joint std errors.
    amp = amp_threshold(name, r, n_samples=100_000, random_state=0)
    spec = weak_recovery_threshold(name, "optimal", r, n_samples=100_000, random_state=1)
    se = np.hypot(amp.stderr, spec.stderr[0])
    assert abs(amp.alpha_c - spec.alpha_c[0]) < 4 * se


def test_sign_product_threshold_closed_form():
    # sign(z1 z2): G(y) = y (2/pi) [[0, 1], [1, 0]], so alpha_c = (pi/2)^2 with no Monte Carlo
    # error (G^2 does not depend on y); the channel's quadrature must give it to 1e-4.
    amp = amp_threshold("sign_z1z2", n_samples=2000, random_state=0)
    assert amp.alpha_c == pytest.approx(np.pi**2 / 4, rel=1e-4)


def test_phase_retrieval():
    # y = z^2 (real, Gaussian prior, noiseless): weak recovery at 1/2; AMP jumps to perfect
    # recovery near 1.13 (Barbier et al., PNAS 2019). Overlap error ~ 1/sqrt(n_samples) ~ 0.01.
    thr = amp_threshold("norm2", 1)
    assert thr.method == "quadrature" and thr.alpha_c == pytest.approx(0.5, rel=1e-9)
    below = amp_overlap("norm2", 0.45, 1, n_samples=10_000, random_state=0)
    above = amp_overlap("norm2", 0.7, 1, n_samples=10_000, random_state=0)
    before_jump = amp_overlap("norm2", 1.09, 1, n_samples=10_000, random_state=0)
    after_jump = amp_overlap("norm2", 1.18, 1, n_samples=10_000, random_state=0)
    assert below.overlaps[0] < 1e-3 and below.converged
    assert 0.03 < above.overlaps[0] < 0.5
    assert before_jump.overlaps[0] < 0.8
    assert after_jump.overlaps[0] > 0.999
    assert after_jump.test_error < 1e-2
    assert below.test_error == pytest.approx(1.0, abs=1e-6)


@pytest.mark.slow
def test_z1z2_leaves_zero_at_threshold():
    alpha_c = amp_threshold("z1z2", n_samples=100_000, random_state=0).alpha_c
    below = amp_overlap("z1z2", 0.85 * alpha_c, n_samples=10_000, random_state=0)
    above = amp_overlap("z1z2", 1.3 * alpha_c, n_samples=10_000, random_state=0)
    assert below.subspace_overlap < 1e-3
    assert above.subspace_overlap > 0.05
    assert above.test_error < below.test_error


def test_bayes_test_error_limits():
    # Q = 0: nothing known, error 1. Q = I: y known up to the noise, error noise^2 / Var(y)
    # (Var(z1 z2) = 1), up to the variance floor 1e-6 kept on I - Q (Var(z1 z2 | omega) is
    # then ~ |omega|^2 1e-6).
    zero = bayes_test_error("z1z2", np.zeros((2, 2)), n_samples=2000, random_state=0)
    assert zero == pytest.approx(1.0)
    assert bayes_test_error("z1z2", np.eye(2), n_samples=2000, random_state=0) < 1e-5
    noisy = bayes_test_error("z1z2", np.eye(2), noise=0.5, n_samples=20_000, random_state=0)
    assert noisy == pytest.approx(0.25 / 1.25, rel=0.05)
    # Monotone in the overlap.
    errs = [
        bayes_test_error("z1z2", q * np.eye(2), n_samples=2000, random_state=0)
        for q in (0.2, 0.5, 0.8)
    ]
    assert errs[0] > errs[1] > errs[2]


def test_bad_input():
    with pytest.raises(ValueError, match="unknown link"):
        amp_overlap("nope", 1.0)
    with pytest.raises(ValueError, match="r = 2"):
        amp_overlap("z1z2", 1.0, r=3)
    with pytest.raises(ValueError, match="noise"):
        amp_overlap("z1z2", 1.0, noise=-0.1)
    with pytest.raises(ValueError, match="alpha"):
        amp_overlap("z1z2", 0.0)


def test_non_convergence_warns_and_returns_last_iterate():
    with pytest.warns(RuntimeWarning, match="did not converge in 3 iterations"):
        res = amp_overlap("norm2", 0.8, 1, n_samples=1000, max_iter=3, random_state=0)
    assert res.n_iter == 3 and not res.converged and res.history.shape == (4, 1)


def test_he2_sum_r3_threshold_is_the_optimal_spectral_one():
    # y = |z|^2 - 3 at Q = 0: J = E[z z^T | y] - I = (|z|^2 / 3 - 1) I, so the linearised map
    # is M -> E[(chi2_3 / 3 - 1)^2] M = (2/3) M: alpha_c = 3/2 exactly, every symmetric M
    # alike (the direction returned is the identity's share). It returned 0.035 after minutes.
    amp = amp_threshold("he2_sum", r=3)
    assert amp.method == "quadrature" and amp.alpha_c == pytest.approx(1.5, rel=1e-9)
    np.testing.assert_allclose(amp.direction, np.eye(3) / np.sqrt(3), atol=1e-9)
    spec = weak_recovery_threshold("he2_sum", "optimal", r=3, n_samples=50_000, random_state=1)
    assert abs(amp.alpha_c - spec.alpha_c[0]) < 4 * spec.stderr[0]
    assert abs(amp.alpha_c - spec.alpha_c[0]) < 0.03 * amp.alpha_c + 4 * spec.stderr[0]


def test_he2_sum_r3_overlap_below_threshold_is_zero_and_symmetric():
    # alpha = 0.5 < 3/2: Q = 0 is stable, so the SE decays from Q_0 = 1e-3 I towards 0 in
    # every direction alike (it stopped at 0.0098, on one axis).
    res = amp_overlap("he2_sum", 0.5, r=3, n_samples=2000, random_state=0)
    assert res.converged and np.all(res.overlaps < 1e-4)
    assert res.channel.startswith("closed form (sphere")


@pytest.mark.parametrize(
    "name, r, exact",
    [
        ("he2_sum", 1, 0.5),
        ("he2_sum", 2, 1.0),
        ("norm2", 3, 1.5),
        ("sign_z1z2", None, np.pi**2 / 4),
    ],
)
def test_quadrature_threshold_closed_forms(name, r, exact):
    # he2_sum / norm2: alpha_c = r / 2 (Var(chi2_r) / r^2 = 2 / r); sign(z1 z2): (pi / 2)^2.
    # The error estimate (the change when all nodes double) bounds the true error and meets the
    # stated accuracy THRESHOLD_RTOL = 1e-3.
    amp = amp_threshold(name, r)
    assert abs(amp.alpha_c - exact) <= amp.stderr + 1e-8 * exact
    assert amp.stderr < 1e-3 * exact


@pytest.mark.parametrize(
    "name, n_samples",
    [("z1z2", 20_000), pytest.param("sign_z1z2", 100_000, marks=pytest.mark.slow)],
)
def test_quadrature_threshold_agrees_with_monte_carlo(name, n_samples):
    quad = amp_threshold(name)
    mc = amp_threshold(name, method="monte_carlo", n_samples=n_samples, random_state=3)
    assert mc.method == "monte_carlo" and quad.method == "quadrature"
    # Both use the channel's Jacobian by extrapolated differences, whose error the Monte Carlo
    # stderr leaves out (sign_z1z2: y^2 = 1, so the sampling error is ~1e-6 while the derivative
    # is good to ~1e-4); the quadrature's doubling estimate covers it.
    assert abs(quad.alpha_c - mc.alpha_c) < 4 * mc.stderr + 2 * quad.stderr
    # The doubling check's estimate, and the stated accuracy THRESHOLD_RTOL.
    assert quad.stderr < 1e-3 * quad.alpha_c


def test_threshold_is_zero_with_a_linear_part():
    # z1_plus_z1z2 = z1 + z1 z2: E[z | y] != 0, so Q = 0 is not a fixed point.
    assert amp_threshold("z1_plus_z1z2").alpha_c == 0.0


def test_generic_r3_channel_is_refused_clearly():
    with pytest.raises(ValueError, match="z1z2z3.*r = 3.*no closed-form channel"):
        amp_threshold("z1z2z3")
    with pytest.raises(ValueError, match="amp_overlap: link 'z1z2z3'"):
        amp_overlap("z1z2z3", 1.0)


def test_amp_overlap_reports_each_iteration_to_its_progress():
    seen = []
    res = amp_overlap("norm2", 2.0, n_samples=2000, random_state=0, progress=seen.append)
    assert seen == list(range(1, res.n_iter + 1))


def test_iteration_does_not_stop_while_a_tiny_block_takes_off(monkeypatch):
    # Q22 starts at 1e-12 and grows 1.5x per iteration (a later stage leaving its unstable
    # Q = 0 block); every move is below tol for the first ~40 iterations, but the fixed point
    # is Q22 = 1/3 (q = 1.5 q / (1 + 1.5 q)).
    monkeypatch.setattr(state_evolution, "_EPS", 1e-12)
    Q, _, converged = state_evolution._iterate(
        lambda Q: np.diag([1e3, 1.5 * Q[1, 1]]), 2, 1.0, 400, 1e-6, False
    )
    assert converged
    assert Q[1, 1] == pytest.approx(1 / 3, abs=1e-5)


@pytest.mark.slow
def test_sq_sign3_state_evolution_climbs_its_staircase():
    # stage 2 given z1 is the sign(z2 z3) problem, threshold pi^2 / 4 = 2.47 (z1 is recovered
    # exactly from alpha ~1.4): below it span(e2, e3) stays at 0, at alpha = 4 it is learned
    # (GAMP at d = 256: 0.65)
    # tol 1e-4: with fixed draws a discrete label's map jumps by ~1 / n_samples (5e-5)
    below, above = (
        np.sort(np.linalg.eigvalsh(amp_overlap("sq_sign3", a, tol=1e-4, random_state=0).Q))
        for a in (2.0, 4.0)
    )
    assert below[-1] > 0.999 and below[1] < 0.01
    assert above[-1] > 0.999 and above[0] > 0.5
