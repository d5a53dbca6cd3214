"""The second stage's overlap (mimkit.theory.staged): against closed forms, quadrature against
Monte Carlo, against simulations of the stage at fixed stage-1 overlap, and (slow) against the
sequential spectral method and the staged network end to end."""

import numpy as np
import pytest

from mimkit.estimators import LayerwiseRegressor, SpectralEstimator
from mimkit.links import get_link
from mimkit.staged_spectral import conditional_weights
from mimkit.theory import staged_network_overlap, staged_spectral_overlap
from test_staged_training import committee_directions, data, overlap

A = 2.0 / np.pi  # E|z2| E|z3| = E[z2 z3 | sign(z2 z3) = 1]


def sign_product_closed_form(alpha):
    """Lu–Li for ``t = sign(z2 z3)``: F = (A lambda / (lambda^2 - 1)) [[0, 1], [1, 0]],
    H = (lambda^2 + 1) / (lambda^2 - 1)^2. Threshold where A lambda (lambda^2 - 1) = lambda^2 + 1
    (alpha_c = (lambda^2 - 1) / (A lambda)); above it ``mu(lambda*) = 1 / alpha`` gives
    ``lambda* = (A alpha + sqrt(A^2 alpha^2 + 4)) / 2`` and the overlap of each outlier
    ``(1/alpha - H) / (lambda* B)``, ``B = -mu' = A (lambda^2 + 1) / (lambda^2 - 1)^2``."""
    roots = np.roots([A, -1.0, -A, -1.0])
    lam_c = roots[np.abs(roots.imag) < 1e-12].real.max()
    threshold = (lam_c**2 - 1) / (A * lam_c)
    lam = (A * alpha + np.sqrt(A**2 * alpha**2 + 4)) / 2
    H = (lam**2 + 1) / (lam**2 - 1) ** 2
    overlap_ = (1 / alpha - H) / (lam * A * H)
    return threshold, np.where(alpha > threshold, overlap_, 0.0)


def test_given_z1_exactly_sq_sign3_stage_two_is_the_sign_z2z3_problem():
    # The quadratic fit in h = z1 removes E[y | z1] = z1^2, leaving sign(z1) sign(z2 z3); the
    # sign gate turns it into t = sign(z2 z3): both outliers (top (e2 + e3), bottom (e2 - e3))
    # have the closed-form overlap, so the complement's mean squared cosine is that overlap.
    alphas = np.array([2.0, 4.0, 8.0, 32.0])
    threshold, want = sign_product_closed_form(alphas)
    assert threshold == pytest.approx(2.9331, abs=1e-4)
    got = staged_spectral_overlap(
        "sq_sign3", alphas, stage_1_overlap=1.0, learned=[[1, 0, 0]], n_samples=200_000,
        random_state=0,
    )  # fmt: skip
    assert got.method == "quadrature"  # q1 = 1: the link's own rule, converged
    # the quadratic fit is exact on the rule, so the weights are exactly +-1
    assert got.threshold[0] == pytest.approx(threshold, rel=1e-6)
    np.testing.assert_allclose(got.overlap, want, atol=1e-6)
    np.testing.assert_array_equal(got.n_outliers, [0, 2, 2, 2])
    assert np.all(got.residual_overlap < 1e-3)  # q1 = 1: no residual direction


def test_quadrature_and_monte_carlo_agree_where_the_rule_converges():
    # A bounded smooth link with a stage 2 given z1: t = sign(z1) (tanh z1 tanh^2 z2 - q(z1))
    # has E[t (z2^2 - 1)] = E|tanh z1| Cov(tanh^2 z2, z2^2) != 0.
    def link(z):
        return np.tanh(z[:, 0]) * np.tanh(z[:, 1]) ** 2

    kwargs = dict(r=2, stage_1_overlap=1.0, learned=[[1.0, 0.0]], random_state=0)
    rule = staged_spectral_overlap(link, [1.5, 3.0, 40.0], method="quadrature", **kwargs)
    draws = staged_spectral_overlap(
        link, [1.5, 3.0, 40.0], method="monte_carlo", n_samples=200_000, **kwargs
    )
    assert rule.method == "quadrature" and draws.method == "monte_carlo"
    bound = rule.overlap_stderr + 4 * draws.overlap_stderr
    assert np.all(np.abs(rule.overlap - draws.overlap) <= bound)
    assert rule.overlap[-1] > 0.9


def simulated_stage_two(link, learned, q1, d, alpha, edges, preprocessing, seed):
    """Stage 2 on fresh data with an estimate of exact overlap q1: ``u_hat = sqrt(q1) u +
    sqrt(1 - q1) e_d``; keeps the eigenvectors of D2 beyond the predicted bulk edges and returns
    their mean squared cosine with the complement of u."""
    link = get_link(link)
    r = link.r
    rng = np.random.default_rng(seed)
    n = int(alpha * d)
    X = rng.standard_normal((n, d))
    y = link(X[:, :r])
    u_hat = np.zeros(d)
    u_hat[:r] = np.sqrt(q1) * learned
    u_hat[-1] = np.sqrt(1 - q1)
    h = X @ u_hat
    t = conditional_weights(y, h[:, None], preprocessing, None)
    Xp = X - np.outer(h, u_hat)
    values, vectors = np.linalg.eigh(Xp.T @ (t[:, None] * Xp) / n)
    kept = vectors[:, (values < edges[0]) | (values > edges[1])]
    complement = np.zeros((r - 1, d))
    complement[:, :r] = np.linalg.svd(np.eye(r) - np.outer(learned, learned))[0][:, : r - 1].T
    return overlap(kept.T, complement) if kept.size else 0.0


@pytest.mark.parametrize(
    "link, learned, preprocessing, q1, alpha",
    [
        ("sq_sign3", np.eye(3)[0], "huber", 0.9, 16.0),
        pytest.param(
            "sign_committee",
            np.ones(3) / np.sqrt(3),
            "identity",
            0.95,
            32.0,
            marks=pytest.mark.slow,
        ),
    ],  # fmt: skip
)
def test_stage_two_matches_its_simulation_at_a_given_stage_one_overlap(
    link, learned, preprocessing, q1, alpha
):
    # d = 256, three seeds: an outlier eigenvector's squared overlap fluctuates by
    # O(d^-1/2) ~ 0.06 per run (measured spread 0.01-0.04), so the mean of three sits within
    # 0.05 of the d -> inf prediction.
    predicted = staged_spectral_overlap(
        link, alpha, preprocessing=preprocessing, stage_1_overlap=q1, learned=learned[None],
        n_samples=100_000, random_state=0,
    )  # fmt: skip
    assert predicted.n_outliers[0] == 2 and predicted.overlap[0] > 0.6
    runs = [
        simulated_stage_two(
            link, learned, q1, 256, alpha, predicted.bulk_edges[0], preprocessing, seed
        )
        for seed in range(3)
    ]
    assert abs(np.mean(runs) - predicted.overlap[0]) < 0.05


def test_no_stage_one_overlap_leaves_stage_two_blind():
    # q1 = 0: h is independent of z, so E[t | z'] = 0 for the odd gate and D2 has no outlier.
    got = staged_spectral_overlap(
        "sq_sign3", [8.0, 64.0], preprocessing="huber", stage_1_overlap=0.0,
        learned=[[1, 0, 0]], n_samples=100_000, random_state=0,
    )  # fmt: skip
    np.testing.assert_array_equal(got.overlap, 0.0)
    np.testing.assert_array_equal(got.n_outliers, 0)


def test_first_order_stage_one_is_predicted():
    # sign_committee with T(y) = y - mean: mu = sqrt(2/pi) (1, 1, 1), E[T^2] = 3, so the
    # first-order cos^2 is (6/pi) / (6/pi + 3/alpha) along (1, 1, 1)/sqrt(3)
    # (docs/theory.md, "Hierarchies"). A link without a first-order part (sq_sign3) takes the
    # spectral stage 1: checked end to end in the slow tests below.
    got = staged_spectral_overlap("sign_committee", [32.0], n_samples=100_000, random_state=0)
    mu2 = 6 / np.pi
    assert got.stage_1_overlap[0] == pytest.approx(mu2 / (mu2 + 3 / 32), rel=2e-3)
    np.testing.assert_allclose(np.abs(got.learned), np.full((1, 3), 3**-0.5), atol=2e-3)
    assert got.learned.sum() > 0  # oriented along E[T(y) z]
    assert got.stage_1_kind == "trivial" and got.stage_1_threshold == 0.0


@pytest.mark.parametrize(
    "y_scale, mu2, power",
    [
        # LayerwiseRegressor divides y by 2 (the power of two nearest sqrt(3)): T = clip(y/2, 1)
        # is +-1/2 on |y| = 1 and +-1 on |y| = 3, E[T^2] = 7/16; E[T s_1] = 1/4 + 1/2 * 1/2 -
        # 1/4 * 1/2 = 3/8 (s_k the signs), so |mu|^2 = 3 (2/pi) (3/8)^2.
        (None, 3 * (2 / np.pi) * (3 / 8) ** 2, 7 / 16),
        # unscaled: T = sign(y), E[T s_1] = 1/2, E[T^2] = 1 (docs/theory.md, "Hierarchies")
        (1.0, 3 * (2 / np.pi) / 4, 1.0),
    ],
)
def test_network_first_order_stage_sees_y_as_the_network_scales_it(y_scale, mu2, power):
    got = staged_network_overlap(
        "sign_committee", [8.0, 32.0], y_scale=y_scale, n_samples=100_000, random_state=0
    )
    assert got.stage_1_kind == "trivial"
    want = mu2 / (mu2 + power / np.array([8.0, 32.0]))
    np.testing.assert_allclose(got.stage_1_overlap, want, rtol=3e-3)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(stage_1_overlap=1.5, learned=[[1, 0, 0]]), "stage_1_overlap"),
        (dict(stage_1_overlap=[0.5, 0.5, 0.5], learned=[[1, 0, 0]]), "stage_1_overlap"),
        (dict(stage_1_overlap=0.9, learned=[[1, 0]]), "learned"),
        (dict(stage_1_overlap=0.9, learned=np.eye(3)), "learned"),
        (dict(stage_1_overlap=0.9, learned=[[1, 0, 0], [2, 0, 0]]), "independent"),
        (dict(stage_1_overlap=0.9, learned=[[1, 0, 0]], method="quadrature"), "quadrature"),
        (dict(preprocessing="optimal"), "optimal"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        staged_spectral_overlap("sq_sign3", [4.0, 8.0], n_samples=1000, **kwargs)


def test_network_kernel_needs_one_learned_direction_and_a_gated_activation():
    with pytest.raises(ValueError, match="one learned direction"):
        staged_network_overlap(
            "sq_sign3", 8.0, stage_1_overlap=0.9, learned=[[1, 0, 0], [0, 1, 0]], n_samples=1000
        )
    with pytest.raises(ValueError, match="activation"):
        staged_network_overlap("sq_sign3", 8.0, activation="quadratic", n_samples=1000)


@pytest.mark.slow
@pytest.mark.parametrize("link, preprocessing", [("sq_sign3", "huber"), ("sign_committee", None)])
def test_sequential_spectral_method_matches_its_prediction(link, preprocessing):
    # SpectralEstimator(stages=2) reuses all n = 32 d samples in both stages; the theory takes
    # fresh samples per stage at the same alpha. d = 256, three seeds, margin 0.05 as above.
    d, alpha = 256, 32.0
    prep = preprocessing or "identity"
    predicted = staged_spectral_overlap(
        link, alpha, preprocessing=prep, n_samples=200_000, random_state=0
    )
    first, second = [], []
    for seed in range(3):
        X, y = data(link, d, int(alpha * d), seed=seed)
        est = SpectralEstimator("auto", preprocessing=prep, stages=2).fit(X, y)
        learned, complement = (
            (np.eye(d)[0], np.eye(d)[1:3]) if link == "sq_sign3" else committee_directions(d)
        )
        first.append(overlap(est.directions_[:1], learned))
        second.append(overlap(est.directions_, complement))
    assert abs(np.mean(first) - predicted.stage_1_overlap[0]) < 0.05
    assert abs(np.mean(second) - predicted.overlap[0]) < 0.05
    if link == "sq_sign3":  # no first-order part: stage 1 is the spectral method's e1
        assert predicted.stage_1_kind == "easy"
        assert 0 < predicted.stage_1_threshold < alpha


@pytest.mark.slow
def test_staged_network_matches_its_prediction_on_sign_committee():
    # n = 64 d: the stages see n1 = 32 d (reused), phase 2 the other half. The network's
    # kernel (Huber residual of E[y | h], logcosh gate) at alpha = 32; d = 256, three seeds.
    d = 256
    predicted = staged_network_overlap("sign_committee", 32.0, n_samples=200_000, random_state=0)
    u, complement = committee_directions(d)
    first, second = [], []
    for seed in range(3):
        X, y = data("sign_committee", d, 64 * d, seed=seed)
        net = LayerwiseRegressor(stages="auto", random_state=seed).fit(X, y)
        first.append(overlap(net.subspace(1), u))
        second.append(overlap(net.subspace(3), complement))
    assert abs(np.mean(first) - predicted.stage_1_overlap[0]) < 0.05
    assert abs(np.mean(second) - predicted.overlap[0]) < 0.05
