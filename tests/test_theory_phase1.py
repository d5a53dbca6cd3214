"""Bulk law and the finite-d phase-1 curve against Marchenko–Pastur and direct power iteration.

Margins: the curve is built from outlier locations and overlaps that a matrix of n samples
only knows up to their Monte Carlo influence rescaled to n samples (``se_n = stderr *
sqrt(n_samples / n)``), and from means over m neurons (``*_spread``). Simulated values must lie
inside the envelope of curves with the outliers moved by 2 se_n, widened by 4 spreads.
"""

from math import comb

import numpy as np
import pytest

from mimkit import core
from mimkit.links import get_link
from mimkit.metrics import coverage, neuron_alignment
from mimkit.preprocessing import loss_location
from mimkit.theory import phase1_curve
from mimkit.theory.bulk import bulk_law
from mimkit.theory.phase1 import simulate_neurons

UNEQUAL = lambda z: (z[:, 0] ** 2 - 1.0) + 0.7 * (z[:, 1] ** 2 - 1.0)  # noqa: E731


@pytest.mark.parametrize("alpha", [0.5, 4.0])
def test_bulk_of_constant_weights_is_marchenko_pastur(alpha):
    c = 1.0 / alpha
    law = bulk_law(np.ones(100), alpha, 60)
    np.testing.assert_allclose(law.edges, [(1 - np.sqrt(c)) ** 2, (1 + np.sqrt(c)) ** 2])
    # Narayana moments of the Marchenko–Pastur law with ratio c.
    narayana = [1.0] + [
        sum(comb(k, j) * comb(k - 1, j) / (j + 1) * c**j for j in range(k)) for k in range(1, 61)
    ]
    np.testing.assert_allclose(law.scaled_moments * law.scale ** np.arange(61), narayana, rtol=1e-9)


def test_bulk_second_moment_of_signed_weights():
    # (1/d) E tr D^2 = E[t^2] / alpha + E[t]^2 for any weights.
    # Weights on a grid of 0.01 (few distinct values: a fast contour).
    t = np.clip(np.round(np.random.default_rng(0).standard_normal(20_000), 2), -1.0, 1.0)
    law = bulk_law(t, 3.0, 2)
    expected = np.mean(t**2) / 3.0 + np.mean(t) ** 2
    assert abs(law.scaled_moments[2] * law.scale**2 - expected) < 1e-3 * expected


def _simulate_power_iteration(link, alpha, d, steps, m, seed):
    rng = np.random.default_rng(seed)
    U = np.linalg.qr(rng.standard_normal((d, link.r)))[0].T
    X = rng.standard_normal((int(alpha * d), d))
    y = link(X @ U.T)
    S = core.local_hessian(X, np.clip(y - loss_location("huber", y), -1.0, 1.0)).astype(float)
    W = rng.standard_normal((m, d))
    align, cover = [], []
    for _ in range(steps + 1):
        align.append(np.mean(neuron_alignment(W, U) ** 2))
        cover.append(coverage(W, U))
        W = W @ S
        W /= np.linalg.norm(W, axis=1, keepdims=True)
    return np.array(align), np.array(cover)


def _envelope(curve, alpha, d):
    """Curves with the outliers moved by +-2 se_n (module docstring), element-wise min/max."""
    scale = 2 * np.sqrt(curve.n_samples / (alpha * d))
    lows, highs = [curve.alignment, curve.coverage], [curve.alignment, curve.coverage]
    zeta, rho = curve.eigenvalues, curve.overlaps
    for sign_zeta in (-1, 1):
        for sign_rho in (-1, 1):
            # Move the leading outlier alone (the ratio of the top two sets the collapse).
            moved = zeta.copy()
            moved[0] += sign_zeta * np.sign(zeta[0]) * scale * curve.eigenvalue_stderr[0]
            a, _, c, _ = simulate_neurons(
                moved,
                np.clip(rho + sign_rho * scale * curve.overlap_stderr, 0, 1),
                curve.directions,
                curve.bulk,
                d,
                len(curve.steps) - 1,
                curve.n_hidden,
                np.random.default_rng(1),
            )
            lows = [np.minimum(lows[0], a), np.minimum(lows[1], c)]
            highs = [np.maximum(highs[0], a), np.maximum(highs[1], c)]
    return lows, highs


@pytest.mark.parametrize(
    "link, d, steps, checks",
    [
        pytest.param(get_link("z1z2"), 256, 30, (3, 6, 10, 30), id="z1z2-d256"),
        pytest.param(
            get_link(UNEQUAL, 2), 1024, 80, (5, 10, 15, 40, 80), marks=pytest.mark.slow, id="he2"
        ),
        pytest.param(
            get_link("z1z2"), 1024, 40, (5, 10, 20, 40), marks=pytest.mark.slow, id="z1z2"
        ),
    ],
)
def test_phase1_curve_matches_power_iteration(link, d, steps, checks):
    alpha, m = 4.0, 512
    # Monte Carlo: its standard errors, rescaled to n samples, make the finite-n envelope.
    curve = phase1_curve(
        link,
        "huber",
        alpha,
        d,
        steps,
        n_hidden=m,
        n_samples=100_000,
        method="monte_carlo",
        random_state=0,
    )
    align, cover = _simulate_power_iteration(link, alpha, d, steps, m, seed=5)
    (a_lo, c_lo), (a_hi, c_hi) = _envelope(curve, alpha, d)
    for t in checks:
        tol_a = 4 * curve.alignment_spread[t]
        assert a_lo[t] - tol_a <= align[t] <= a_hi[t] + tol_a, (t, align[t], a_lo[t], a_hi[t])
        tol_c = 4 * curve.coverage_spread[t] + 1.0 / m
        assert np.all(c_lo[t] - tol_c <= cover[t]), (t, cover[t], c_lo[t])
        assert np.all(cover[t] <= c_hi[t] + tol_c), (t, cover[t], c_hi[t])


def test_phase1_curve_window_collapse_and_bad_input():
    curve = phase1_curve(UNEQUAL, "huber", 4.0, 1024, 120, r=2, n_samples=20_000, random_state=0)
    # Unequal outliers: the weaker direction is carried for a while, then lost (collapse).
    weak = curve.coverage[:, 1]
    assert weak.max() > 0.05 and weak[-1] < 0.2 * weak.max()
    assert curve.window(coverage=0.05) is not None
    # At larger d the signal beats the bulk later (~ log d steps) while the collapse keeps its
    # pace: the weak direction's best coverage drops.
    late = phase1_curve(UNEQUAL, "huber", 4.0, 16384, 120, r=2, n_samples=20_000, random_state=0)
    assert np.argmax(late.alignment >= 0.25) > np.argmax(curve.alignment >= 0.25)
    assert late.coverage[:, 1].max() < weak.max()
    with pytest.raises(ValueError, match="unbounded"):
        phase1_curve("z1z2", "squared", 4.0, 256, 10, n_samples=20_000)
    with pytest.raises(ValueError, match="d must"):
        phase1_curve("z1z2", "huber", 4.0, 0, 10, n_samples=20_000)
