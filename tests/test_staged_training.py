"""The staged network (mimkit.staged_training, LayerwiseRegressor(stages=...)): the gate and the
conditional local Hessian against closed forms, the first-order stage against its predicted
overlap, stopping, bookkeeping and errors. Full-size acceptance runs are slow tests."""

import numpy as np
import pytest
from scipy import integrate

from mimkit.data import MultiIndexModel
from mimkit.estimators import LayerwiseRegressor
from mimkit.links import get_link
from mimkit.staged_training import stage_gate, stage_weights, train_staged


def sech2(z):
    return 1.0 / np.cosh(z) ** 2


def overlap(V, U):
    """Mean squared cosine ``|U Q|_F^2 / rank U`` of U's rows with the row space of V."""
    Q = np.linalg.qr(np.atleast_2d(V).T)[0]
    U = np.atleast_2d(U)
    return float(np.sum((U @ Q) ** 2) / U.shape[0])


def data(link, d, n, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    link = get_link(link)
    return X, link(X[:, : link.r])


def committee_directions(d):
    u = np.zeros(d)
    u[:3] = 1 / np.sqrt(3)
    complement = np.linalg.qr(np.c_[u, np.eye(d)[:, :3]])[0][:, 1:3].T
    return u, complement


def test_gate_is_the_odd_part_of_sigma_second_derivative():
    H = np.random.default_rng(0).standard_normal((50, 2))
    got = stage_gate(H, "logcosh", 1.5, 1.0)
    want = sum(sech2(1.5 * h + 1.0) - sech2(-1.5 * h + 1.0) for h in H.T)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(stage_gate(-H, "logcosh", 1.5, 1.0), -got, rtol=1e-13)
    np.testing.assert_allclose(
        stage_gate(H[:, :1], "cos", 1.0, 0.5),
        np.cos(H[:, 0] + 0.5) - np.cos(-H[:, 0] + 0.5),
        rtol=1e-13,
        atol=1e-15,
    )
    assert np.array_equal(stage_gate(H[:, :0], "logcosh", 1.0, 1.0), np.ones(50))
    # no bias, no odd part: the gate vanishes (why gate_bias defaults to 1)
    assert np.max(np.abs(stage_gate(H, "logcosh", 1.0, 0.0))) == 0.0
    with pytest.raises(ValueError, match="activation='quadratic'"):
        stage_gate(H, "quadratic", 1.0, 1.0)


def test_conditional_hessian_of_sq_sign3_given_z1_matches_its_closed_form():
    # Given z1 exactly and the fit f = z1^2, the residual is sign(z1 z2 z3) and the gated S on
    # (z2, z3) is [[0, k], [k, 0]] with k = E[sign(z1) g(z1)] E[|z2|] E[|z3|] =
    # (2/pi) E[sign(z1) g(z1)] (docs/theory.md, "Hierarchies"); the diagonal and every entry
    # with a fourth coordinate vanish. Monte Carlo: each entry's standard error is
    # <= sd(g) sd(z z') / sqrt(n) ~ 0.35 / 1000 ~ 4e-4 at n = 1e6; tolerance 5e-3 (the
    # integral stops at 12, where phi < 1e-31).
    rng = np.random.default_rng(1)
    z = rng.standard_normal((1_000_000, 4))
    y = get_link("sq_sign3")(z[:, :3])
    gate, labels, weights = stage_weights(
        y - z[:, 0] ** 2, z[:, :1], "logcosh", "huber", 1.0, 1.0, 1.0
    )
    S = (z[:, 1:] * weights[:, None]).T @ z[:, 1:] / len(z)
    density = lambda h: np.exp(-h * h / 2) / np.sqrt(2 * np.pi)  # noqa: E731
    odd = integrate.quad(lambda h: (sech2(h + 1) - sech2(-h + 1)) * density(h), 0, 12)[0]
    kappa = (2 / np.pi) * 2 * odd  # E[sign(h) g(h)] = 2 int_0^inf g(h) phi(h) dh (g odd)
    assert abs(kappa) > 0.1  # the gate sees the stage: nonzero
    want = np.zeros((3, 3))
    want[0, 1] = want[1, 0] = kappa
    np.testing.assert_allclose(S, want, atol=5e-3)
    # the core's labels are the residual minus one offset (the Huber location, ~0 here)
    shift = (y - z[:, 0] ** 2) - labels
    assert np.ptp(shift) < 1e-12 and abs(shift[0]) < 0.01


def test_first_order_stage_of_sign_committee_has_its_predicted_overlap():
    # T(y) = clip(y - c, -1, 1) = sign(y) (y in {-3, -1, 1, 3}, c ~ 0), so m = X^T T / n is
    # mu + N(0, I/n) outside U, with mu_k = E[sign(y) z_k] = E|z_k| / 2 = 1 / sqrt(2 pi).
    # Its squared cosine with u = (1,1,1)/sqrt(3) is |mu|^2 / (|mu|^2 + (d - 3) / n1):
    # 0.9386 at n1 = 32 d; the noise term fluctuates by sqrt(2/d) of itself (~0.004 here).
    d = 128
    X, y = data("sign_committee", d, 64 * d, seed=2)
    est = LayerwiseRegressor(stages="auto", random_state=0, n_threads=2).fit(X, y)
    first = est.stages_[0]
    mu2 = 3 / (2 * np.pi)
    predicted = mu2 / (mu2 + (d - 3) / (32 * d))
    u, complement = committee_directions(d)
    assert first.kind == "trivial" and first.n_steps == 0 and first.n_samples == 32 * d
    assert abs(overlap(first.directions, u) - predicted) < 0.02
    # then the complement, conditionally easy: two directions, well above a random pair's
    # overlap 2/d (measured 0.8 at this size)
    assert [s.kind for s in est.stages_] == ["trivial", "easy"]
    assert est.stages_[1].directions.shape[0] == 2
    assert overlap(est.subspace(3), complement) > 0.5


def test_sq_sign3_stages_reach_z2_z3_where_the_paper_network_cannot():
    # Stage 1 is the paper's phase 1 (z1 only: every T gives a rank-1 Hessian); stage 2 the
    # gated one on (z2, z3). A network blind to (z2, z3) has overlap ~ 3/d ~ 0.02 with them.
    d = 128
    X, y = data("sq_sign3", d, 64 * d, seed=3)
    e = np.eye(d)
    one = LayerwiseRegressor(random_state=0, n_threads=2).fit(X, y)
    assert overlap(one.subspace(3), e[1:3]) < 0.1
    est = LayerwiseRegressor(stages="auto", random_state=0, n_threads=2).fit(X, y)
    assert [(s.kind, s.directions.shape[0]) for s in est.stages_] == [("easy", 1), ("easy", 2)]
    assert overlap(est.subspace(1), e[0]) > 0.8
    assert overlap(est.subspace(3), e[1:3]) > 0.5
    stopped = est.history_["stopped"]
    assert stopped is not None and stopped.directions.shape == (0, d)
    # the staged network fits part of sign(z1 z2 z3), which the paper's cannot
    Xt, yt = data("sq_sign3", d, 5000, seed=4)
    assert est.score(Xt, yt) > one.score(Xt, yt)


def test_auto_stops_after_one_stage_on_z1z2():
    # z1z2 is all "easy" at stage 1; the residual is then independent of the rest of x, so the
    # gated S has no outlier (a false one has probability ~ 0.2% per edge, bulk_edges.py).
    d = 96
    X, y = data("z1z2", d, 64 * d, seed=5)
    est = LayerwiseRegressor(stages="auto", random_state=0, n_threads=2).fit(X, y)
    assert len(est.stages_) == 1 and est.stages_[0].directions.shape[0] == 2


def test_auto_on_a_hard_target_keeps_one_leading_direction_and_stops():
    # parity3 has no first-order part and no Hessian outlier: the first stage still gives the
    # network a direction (the leading one, with no statistic), and the second finds nothing.
    X, y = data("parity3", 32, 2048, seed=10)
    est = LayerwiseRegressor(stages="auto", random_state=0).fit(X, y)
    assert len(est.stages_) == 1 and est.stages_[0].statistic.size == 0
    assert est.stages_[0].directions.shape == (1, 32)


def test_fixed_stage_count_fresh_parts_subspace_and_refine():
    d = 48
    X, y = data("sq_sign3", d, 40 * d, seed=6)
    n1 = 20 * d
    fit = train_staged(
        X[:n1], y[:n1], X[n1:], y[n1:], stages=3, stage_data="fresh", random_state=0,
        n_threads=1,
    )  # fmt: skip
    assert len(fit.stages) == 3 and fit.stopped is None
    assert [s.n_samples for s in fit.stages] == [n1 // 3] * 3
    D = fit.directions
    np.testing.assert_allclose(D @ D.T, np.eye(D.shape[0]), atol=1e-10)
    assert fit.network.n_hidden == 64
    est = LayerwiseRegressor(stages=2, refine="lbfgs", refine_max_iter=3, random_state=0)
    est.fit(X, y)
    assert est.refinement_ is not None and len(est.stages_) == 2
    V = est.subspace(6)
    np.testing.assert_allclose(V @ V.T, np.eye(6), atol=1e-10)
    k = sum(s.directions.shape[0] for s in est.stages_)
    np.testing.assert_allclose(V[:k], np.concatenate([s.directions for s in est.stages_]))


def test_same_seed_same_staged_network():
    X, y = data("sign_committee", 32, 2048, seed=7)
    fits = [LayerwiseRegressor(stages="auto", random_state=3).fit(X, y) for _ in range(2)]
    assert np.array_equal(fits[0].W_, fits[1].W_) and np.array_equal(fits[0].a_, fits[1].a_)


@pytest.mark.parametrize(
    "params, error, match",
    [
        (dict(stages=0), ValueError, "stages"),
        (dict(stages="all"), ValueError, "stages"),
        (dict(stages=2, stage_data="new"), ValueError, "stage_data"),
        (dict(stages=2, activation="quadratic"), ValueError, "activation='quadratic'"),
        (dict(stages="auto", label_transform=np.abs), ValueError, "label_transform"),
    ],
)
def test_bad_stage_parameters_are_named(params, error, match):
    X, y = data("z1z2", 8, 64, seed=8)
    with pytest.raises(error, match=match):
        LayerwiseRegressor(**params).fit(X, y)


def test_staged_network_needs_arrays():
    stream = MultiIndexModel(8, "z1z2", random_state=0).stream(64)
    with pytest.raises(ValueError, match="stages != 1 needs X as an array"):
        LayerwiseRegressor(stages=2).fit(stream)
    X, y = data("z1z2", 8, 64, seed=9)
    with pytest.raises(ValueError, match="stage_data='fresh' cuts D1"):
        train_staged(X[:3], y[:3], X, y, stages=4, stage_data="fresh")
    with pytest.raises(ValueError, match="y1 has length 10"):
        train_staged(X, y[:10], X, y)
    with pytest.raises(TypeError, match="not a StreamedData"):
        train_staged(stream, stream.labels, X, y)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_full_size_sq_sign3(seed):
    # Issue's acceptance at d = 512, n = 64 d in total (half for the stages), width 64.
    # Measured with three other data seeds: e1 0.93 / 0.91 / 0.92, span(e2, e3) 0.88 / 0.84 /
    # 0.86, test MSE/Var 0.35 against the one-shot network's 0.43.
    d = 512
    X, y = data("sq_sign3", d, 64 * d, seed=100 + seed)
    Xt, yt = data("sq_sign3", d, 20_000, seed=200 + seed)
    e = np.eye(d)
    one = LayerwiseRegressor(random_state=seed).fit(X, y)
    est = LayerwiseRegressor(stages="auto", random_state=seed).fit(X, y)
    assert overlap(one.subspace(3), e[1:3]) < 0.1
    assert overlap(est.subspace(1), e[0]) >= 0.9
    assert overlap(est.subspace(3), e[1:3]) >= 0.5
    assert est.score(Xt, yt) > one.score(Xt, yt)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_full_size_sign_committee(seed):
    # First the first-order direction (predicted squared cosine 0.9386, see above), then its
    # complement (measured 0.80 with three other data seeds).
    d = 512
    X, y = data("sign_committee", d, 64 * d, seed=100 + seed)
    u, complement = committee_directions(d)
    est = LayerwiseRegressor(stages="auto", random_state=seed).fit(X, y)
    assert est.stages_[0].kind == "trivial"
    assert overlap(est.subspace(1), u) >= 0.9
    assert overlap(est.subspace(3), complement) >= 0.5


@pytest.mark.slow
def test_full_size_z1z2_stops_after_one_stage():
    d = 512
    X, y = data("z1z2", d, 64 * d, seed=100)
    est = LayerwiseRegressor(stages="auto", random_state=0).fit(X, y)
    assert len(est.stages_) == 1
