"""LayerwiseRegressor: scikit-learn compliance, learning, reproducibility, parameter errors."""

import inspect

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from mimkit import LayerwiseRegressor, MultiIndexModel
from mimkit.estimators.layerwise import TRAINING_PARAMETERS
from mimkit.metrics import subspace_distance
from mimkit.training import train_layerwise

#: No scikit-learn check is expected to fail. The estimator declares the ``poor_score``
#: regressor tag: phase 1 cannot see a linear target (sigma'(0) = 0 and the symmetric init
#: leave only the local Hessian), and check_regressors_train's data is linear.
EXPECTED_FAILED_CHECKS: dict = {}


@parametrize_with_checks(
    [
        LayerwiseRegressor(random_state=0),
        LayerwiseRegressor(
            refine="lbfgs", refine_max_iter=5, phase2_data="reuse", n_threads=1, random_state=0
        ),
    ],
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def problem():
    model = MultiIndexModel(64, "z1z2", random_state=0)
    X, y = model.sample(64 * 64)
    Xt, yt = model.sample(2000)
    return model, X, y, Xt, yt


def test_learns_a_multi_index_model(problem):
    # n = 64 d split in half: n1 = n2 = 32 d, the regime of the acceptance tests (distance
    # ~0.07 at d = 512); at d = 64 finite-d effects add a little, measured 0.08 / R^2 0.8.
    model, X, y, Xt, yt = problem
    est = LayerwiseRegressor(random_state=0).fit(X, y)
    assert subspace_distance(est.subspace(2), model.U) < 0.15
    assert est.score(Xt, yt) > 0.7
    assert est.W_.shape == (64, 64) and est.a_.shape == est.b_.shape == (64,)
    assert est.history_["n1"] == est.history_["n2"] == 2048
    assert est.history_["phase1_loss"].shape == (est.history_["n_steps"],)
    np.testing.assert_allclose(est.subspace(2) @ est.subspace(2).T, np.eye(2), atol=1e-10)


def test_reproducible_with_random_state(problem):
    _, X, y, Xt, _ = problem
    p = [
        LayerwiseRegressor(random_state=s).fit(X[:500], y[:500]).predict(Xt[:50]) for s in (1, 1, 2)
    ]
    np.testing.assert_array_equal(p[0], p[1])
    assert not np.allclose(p[0], p[2])
    gen = np.random.default_rng(3)
    LayerwiseRegressor(random_state=gen).fit(X[:100], y[:100])  # a Generator is accepted


def test_explicit_phase2_data_and_dtypes(problem):
    _, X, y, Xt, _ = problem
    est = LayerwiseRegressor(n_hidden=8, random_state=0).fit(
        X[:300], y[:300], X2=X[300:500], y2=y[300:500]
    )
    assert (est.history_["n1"], est.history_["n2"]) == (300, 200)
    X32 = Xt[:20].astype(np.float32)
    assert est.transform(X32).dtype == np.float32 and est.transform(X32).shape == (20, 8)
    est32 = LayerwiseRegressor(n_hidden=8, random_state=0).fit(X[:300].astype(np.float32), y[:300])
    assert est32.predict(X32).dtype == np.float32
    with pytest.raises(ValueError, match="X2 and y2"):
        est.fit(X[:300], y[:300], X2=X[:10])
    with pytest.raises(ValueError, match="features"):
        est.fit(X[:300], y[:300], X2=X[:10, :5], y2=y[:10])


@pytest.mark.parametrize(
    "params, exc, match",
    [
        (dict(n_hidden=7), ValueError, "n_hidden"),
        (dict(activation="relu"), ValueError, "activation"),
        (dict(loss="hinge"), ValueError, "loss"),
        (dict(huber_delta=-1.0), ValueError, "huber_delta"),
        (dict(label_transform="abs"), TypeError, "label_transform"),
        (dict(lr=0.0), ValueError, "lr"),
        (dict(weight_decay=-1.0), ValueError, "weight_decay"),
        (dict(n_steps=-2), ValueError, "n_steps"),
        (dict(init_scale=0.0), ValueError, "init_scale"),
        (dict(ridge="loo"), ValueError, "ridge"),
        (dict(phase2_fraction=1.0), ValueError, "phase2_fraction"),
        (dict(n_threads=0), ValueError, "n_threads"),
        (dict(random_state="x"), TypeError, "random_state"),
    ],
)
def test_bad_parameters_raise_at_fit(problem, params, exc, match):
    _, X, y, _, _ = problem
    est = LayerwiseRegressor(**params)  # construction never validates (scikit-learn rule)
    with pytest.raises(exc, match=match):
        est.fit(X[:40], y[:40])


def test_fits_a_stream_like_its_rows():
    """A StreamedData is split into its first and last rows and trained on like the same rows
    as arrays: equal unit directions (up to the init scale, rms 1 by construction vs measured,
    which keep_scale makes irrelevant in the linear regime) and equal predictions."""
    model = MultiIndexModel(64, "z1z2", random_state=0)
    S = model.stream(4096, dtype=np.float64, random_state=1)
    T = model.stream(500, dtype=np.float64, random_state=2)
    est = LayerwiseRegressor(random_state=0).fit(S)
    X, y = S.rows(), S.labels
    ref = LayerwiseRegressor(random_state=0).fit(X[:2048], y[:2048], X2=X[2048:], y2=y[2048:])
    unit = [W / np.linalg.norm(W, axis=1, keepdims=True) for W in (est.W_, ref.W_)]
    np.testing.assert_allclose(unit[0], unit[1], atol=1e-9)
    np.testing.assert_allclose(est.predict(T), ref.predict(T.rows()), rtol=1e-7, atol=1e-9)
    assert est.score(T) == pytest.approx(ref.score(T.rows(), T.labels), rel=1e-7)
    assert (est.history_["n1"], est.history_["n2"]) == (2048, 2048)
    with pytest.raises(ValueError, match="own labels"):
        LayerwiseRegressor().fit(S, y)
    with pytest.raises(TypeError, match="StreamedData too"):
        LayerwiseRegressor().fit(S, X2=X)
    with pytest.raises(ValueError, match="features"):
        est.predict(MultiIndexModel(32, "z1z2", random_state=0).stream(10))


def test_reuse_trains_phase_1_on_every_sample(problem):
    _, X, y, Xt, _ = problem
    est = LayerwiseRegressor(n_hidden=8, phase2_data="reuse", random_state=0).fit(X, y)
    assert est.history_["n1"] == est.history_["n2"] == X.shape[0]
    same = LayerwiseRegressor(n_hidden=8, random_state=0).fit(X, y, X2=X, y2=y)
    np.testing.assert_array_equal(est.predict(Xt), same.predict(Xt))
    assert est.refinement_ is None


def test_refine_keeps_what_the_joint_training_did(problem):
    model, X, y, Xt, yt = problem
    base = LayerwiseRegressor(random_state=0).fit(X, y)
    est = LayerwiseRegressor(refine="lbfgs", refine_max_iter=10, random_state=0).fit(X, y)
    fit = est.refinement_
    assert (fit.n_iter, fit.stop_reason) == (10, "max_iter")
    assert fit.n_train + fit.n_validation == X.shape[0]
    # Same split, phase 1 and phase 2 as without refine; the refined network predicts better
    # (0.11 -> 0.02 measured; see tests/test_training_refine.py).
    np.testing.assert_array_equal(est.history_["phase1_weights"], base.history_["phase1_weights"])
    assert est.score(Xt, yt) > base.score(Xt, yt) + 0.05


def test_every_shared_parameter_reaches_train_layerwise():
    # The estimator passes TRAINING_PARAMETERS on by name; a parameter of both that is missing
    # from it would be silently ignored.
    ours = set(LayerwiseRegressor().get_params())
    theirs = set(inspect.signature(train_layerwise).parameters)
    passed_otherwise = {"n_steps", "random_state"}  # resolved in fit ("auto", one generator)
    assert set(TRAINING_PARAMETERS) == (ours & theirs) - passed_otherwise
