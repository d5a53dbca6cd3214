"""Overlaps above the threshold: a quadrature closed form, limits, and simulations.

Finite-size margins: the predicted overlap is a smooth functional of expectations over the
label distribution; a matrix built from n = alpha d samples evaluates those expectations on n
samples, so its fluctuation is the Monte Carlo standard error rescaled to n samples,
``se_n = stderr * sqrt(n_samples / n)``. Single runs are checked within 4 se_n at alpha >= 2
alpha_c (the O(1/d) bias is far below that there; near the threshold an outlier within
Tracy–Widom distance d^(-2/3) of the edge is not yet separated at finite d).
"""

import numpy as np
import pytest
from scipy import integrate, optimize

from mimkit import core
from mimkit.links import get_link
from mimkit.metrics import subspace_distance
from mimkit.preprocessing import optimal_preprocessing
from mimkit.spectral import spectral_subspace
from mimkit.theory import network_overlap, spectral_overlap


def _phase_retrieval_quadrature(alpha: float) -> tuple[float, float]:
    """(overlap, outlier) of T = 1 - 1/y for y = z^2 by 1-D quadrature (module docstring of
    mimkit.theory.overlap): tau = 1, H(1+) = E[(y - 1)^2] = 2, so lambda_bar > 1 iff alpha > 1/2."""

    def expect(f):
        def integrand(z):
            y = z * z
            return f(1.0 - 1.0 / y, y) * np.exp(-0.5 * y) * np.sqrt(2.0 / np.pi)

        return integrate.quad(integrand, 0.0, 14.0, limit=400, points=[0.05, 1.0, 4.0])[0]

    inv = 1.0 / alpha
    H = lambda lam: expect(lambda t, y: t * t / (lam - t) ** 2)  # noqa: E731
    F = lambda lam: expect(lambda t, y: t * (y - 1.0) / (lam - t))  # noqa: E731
    lam_bar = optimize.brentq(lambda lam: H(lam) - inv, 1.0 + 1e-9, 1e6)
    lam = optimize.brentq(lambda lam: F(lam) - inv, lam_bar, 1e6)
    B = expect(lambda t, y: t * (y - 1.0) / (lam - t) ** 2)
    outlier = lam * (inv + expect(lambda t, y: t / (lam - t)))
    return (inv - H(lam)) / (lam * B), outlier


def test_optimal_phase_retrieval_matches_quadrature_and_limits():
    alphas = np.array([0.3, 0.45, 1.0, 2.0, 4.0, 1e4])
    res = spectral_overlap("norm2", "optimal", alphas, r=1, n_samples=100_000, random_state=0)
    # Below alpha_c = 1/2 the optimal preprocessing has no outlier: overlap exactly 0.
    assert np.all(res.overlap[:2] == 0) and np.all(np.isnan(res.eigenvalue[:2]))
    for i in (2, 3, 4):
        overlap, outlier = _phase_retrieval_quadrature(alphas[i])
        assert abs(res.overlap[i, 0] - overlap) < 4 * res.overlap_stderr[i, 0] + 1e-3
        assert abs(res.eigenvalue[i, 0] - outlier) < 4 * res.eigenvalue_stderr[i, 0] + 1e-3
        # The outlier lies above the bulk.
        assert res.eigenvalue[i, 0] > res.bulk_edges[i, 1]
    # The overlap increases with alpha and tends to 1 (1 - overlap = O(1/alpha)).
    assert np.all(np.diff(res.overlap[:, 0]) >= 0)
    assert res.overlap[-1, 0] > 0.999
    np.testing.assert_allclose(res.subspace_overlap, res.overlap[:, 0])


def _measured(link, r, prep, alpha, d, seed, **kw) -> float:
    L = get_link(link, r)
    rng = np.random.default_rng(seed)
    U = np.linalg.qr(rng.standard_normal((d, L.r)))[0].T
    X = rng.standard_normal((int(alpha * d), d))
    V, _ = spectral_subspace(X, L(X @ U.T), L.r, prep, link=L, random_state=rng, **kw)
    return 1.0 - subspace_distance(V, U)


def _check(res, measured, alpha, d):
    se_n = res.subspace_stderr[0] * np.sqrt(res.n_samples / (alpha * d))
    assert abs(measured - res.subspace_overlap[0]) < 4 * se_n, (measured, res.subspace_overlap)


def test_phase_retrieval_simulation_small():
    prep = optimal_preprocessing("norm2", 1, random_state=0)
    # Monte Carlo: its standard error, rescaled to n samples, is the finite-n spread.
    res = spectral_overlap(
        "norm2", prep, 2.0, r=1, n_samples=50_000, method="monte_carlo", random_state=1
    )
    _check(res, _measured("norm2", 1, prep, 2.0, 600, seed=3), 2.0, 600)


@pytest.mark.slow
@pytest.mark.parametrize(
    "link, prep, alpha",
    [("he2_sum", "optimal", 3.0), ("z1z2", "sign", 6.0), ("z1z2", "optimal", 3.0)],
)
def test_spectral_overlap_matches_simulation_at_d_2000(link, prep, alpha):
    if prep == "optimal":
        prep = optimal_preprocessing(link, random_state=0)
    res = spectral_overlap(link, prep, alpha, random_state=1)
    _check(res, _measured(link, None, prep, alpha, 2000, seed=7), alpha, 2000)


@pytest.mark.slow
def test_network_overlap_matches_the_converged_phase1_matrix():
    # Phase 1's matrix for the Huber loss: T(y) = clip(y - c, -1, 1), c the Huber location of y.
    link, alpha, d = get_link("z1z2"), 4.0, 2000
    res = network_overlap(link, "huber", alpha, random_state=1)
    rng = np.random.default_rng(11)
    U = np.linalg.qr(rng.standard_normal((d, 2)))[0].T
    X = rng.standard_normal((int(alpha * d), d))
    y = link(X @ U.T)
    from mimkit.preprocessing import loss_location

    t = np.clip(y - loss_location("huber", y), -1.0, 1.0)
    vals, vecs = np.linalg.eigh(core.local_hessian(X, t))
    top = vecs[:, np.argsort(-np.abs(vals))[:2]].T
    _check(res, 1.0 - subspace_distance(top, U), alpha, d)


def test_unbounded_preprocessing_recovers_nothing_and_bad_input():
    # T(y) = y - c for y = z1 z2 has Gaussian-like tails: the top of D is a few extreme samples.
    res = network_overlap("z1z2", "squared", [2.0, 8.0], n_samples=20_000, random_state=0)
    assert np.all(res.subspace_overlap == 0) and np.all(np.isinf(res.bulk_edges))
    with pytest.raises(ValueError, match="alpha"):
        spectral_overlap("z1z2", "sign", [1.0, -2.0], n_samples=20_000)
    with pytest.raises(ValueError, match="loss"):
        network_overlap("z1z2", "hinge", 1.0)


def test_decreasing_root_stops_once_newton_has_converged():
    # A root found to rounding puts Newton's next step on the bracket end just moved there;
    # a strict in-bracket test once sent it to bisection: ~30 more passes over the sample.
    from mimkit.theory.overlap import _decreasing_root

    calls = []

    def fun(x, idx):
        calls.append(x.size)
        return 2.0 - x, -np.ones_like(x)

    root = _decreasing_root(fun, np.array([0.0, 1.0]), np.array([5.0, 3.0]), np.arange(2))
    np.testing.assert_array_equal(root, 2.0)
    assert len(calls) <= 3


def test_grouped_preprocessing_counts_each_direction_once():
    # sq_sign3's optimal preprocessing by Monte Carlo has a second group (z2, z3) whose
    # weighting is sampling noise; its matrix's outlier points along e1 again (overlap ~0.5),
    # which the union of the groups' eigenvectors holds only once. Summing every group's
    # outliers gave a subspace overlap of 0.496, above the 1/3 that one direction of three can give.
    res = spectral_overlap("sq_sign3", "optimal", 16.0, method="monte_carlo", random_state=0)
    assert res.overlap[0, 0] > 0.95 and np.all(res.overlap[0, 1:] == 0)
    assert res.subspace_overlap[0] == pytest.approx(res.overlap[0].sum() / 3, rel=1e-12)
