"""Weak-recovery thresholds: closed-form values, the capped-loss divergence, and simulation."""

import numpy as np
import pytest

from mimkit import spectral as sp
from mimkit.preprocessing import make_preprocessing
from mimkit.theory import network_threshold, weak_recovery_threshold


def PHASE_RETRIEVAL(z):
    return z[:, 0] ** 2


def test_phase_retrieval_optimal_is_one_half():
    # alpha_c = 1 / E[(E[z^2 - 1 | y])^2] = 1 / Var(z^2) = 1/2 (module docstring).
    for link, kw in ((PHASE_RETRIEVAL, {"r": 1}), ("norm2", {"r": 1})):
        res = weak_recovery_threshold(link, "optimal", n_samples=100_000, random_state=0, **kw)
        assert res.side[0] == 1
        # 4 standard errors plus the binning bias of the Monte Carlo T* (<1%).
        assert abs(res.alpha_c[0] - 0.5) < 4 * res.stderr[0] + 0.005


def test_capped_squared_loss_threshold_grows_without_bound():
    caps = (4.0, 8.0, 16.0)
    alphas = [
        weak_recovery_threshold(
            PHASE_RETRIEVAL,
            make_preprocessing("capped", cap=c),
            r=1,
            n_samples=200_000,
            random_state=1,
        ).alpha_c[0]
        for c in caps
    ]
    assert alphas[0] < alphas[1] < alphas[2]
    assert alphas[2] > 4 * alphas[0]
    # Uncapped T(y) = y is unbounded: no finite threshold.
    assert (
        weak_recovery_threshold(
            PHASE_RETRIEVAL, "identity", r=1, n_samples=20_000, random_state=0
        ).alpha_c[0]
        == np.inf
    )


def test_invisible_and_two_sided_directions():
    # sign(y) of y = z^2 > 0 is constant: nothing to see.
    res = weak_recovery_threshold(PHASE_RETRIEVAL, "sign", r=1, n_samples=20_000, random_state=0)
    assert res.alpha_c[0] == np.inf and res.side[0] == 0
    # z1 z2 with sign(y): E[T (z z^T - I)] = (2/pi) [[0, 1], [1, 0]]: u at the top, v at the bottom,
    # with equal thresholds by the symmetry y -> -y.
    res = weak_recovery_threshold("z1z2", "sign", n_samples=100_000, random_state=0)
    assert sorted(res.side) == [-1, 1]
    assert abs(res.alpha_c[0] - res.alpha_c[1]) < 4 * np.hypot(*res.stderr)
    np.testing.assert_allclose(np.abs(res.directions), np.sqrt(0.5), atol=0.02)
    # Odd preprocessings cannot see z1 z2 z3.
    res = weak_recovery_threshold("z1z2z3", "sign", n_samples=20_000, random_state=0)
    assert np.all(np.isinf(res.alpha_c)) and res.overall == np.inf


def test_network_threshold_uses_the_loss_preprocessing():
    # He2 labels: squared loss gives T = y - 1, unbounded; Huber is bounded and finite.
    assert (
        network_threshold("he2_sum", "squared", r=1, n_samples=20_000, random_state=0).overall
        == np.inf
    )
    huber = network_threshold("he2_sum", "huber", r=1, n_samples=100_000, random_state=0)
    assert np.isfinite(huber.overall) and huber.overall > 0.5  # above the optimal 1/2
    with pytest.raises(ValueError, match="loss"):
        network_threshold("he2_sum", "hinge", r=1)


def _overlap(prep, alpha, d, seed):
    rng = np.random.default_rng(seed)
    n = int(alpha * d)
    X = rng.standard_normal((n, d))
    y = X[:, 0] ** 2 - 1
    D, _ = sp.spectral_subspace(
        X, y, 1, prep, link="he2_sum", r=1, which="largest", random_state=seed
    )
    return D[0, 0] ** 2


def _transition_check(d, low, high, seeds):
    for prep in ("optimal", "sign"):
        alpha_c = weak_recovery_threshold(
            "he2_sum", prep, r=1, n_samples=100_000, random_state=0
        ).alpha_c[0]
        below = max(_overlap(prep, low * alpha_c, d, s) for s in seeds)
        above = min(_overlap(prep, high * alpha_c, d, s) for s in seeds)
        assert below < 0.05, (prep, alpha_c, below)
        assert above > 0.3, (prep, alpha_c, above)


def test_transition_moves_with_threshold_small():
    # y = He2(z): optimal alpha_c = 1/2, centred sign alpha_c ~ 1.09 (measured: overlap^2 at
    # d = 1000 is ~0.002 at 0.4 alpha_c and 0.5-0.85 at 3 alpha_c).
    _transition_check(d=300, low=0.3, high=4.0, seeds=(0,))


@pytest.mark.slow
def test_transition_moves_with_threshold_d1000():
    _transition_check(d=1000, low=0.4, high=3.0, seeds=(0, 1, 2))
    # Between the two thresholds only the optimal preprocessing sees the direction.
    assert _overlap("optimal", 1.0, 1000, 5) > 0.1
    assert _overlap("sign", 0.6, 1000, 5) < 0.05
