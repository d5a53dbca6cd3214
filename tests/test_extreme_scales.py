"""Numbers at extreme scales: an error naming the argument to change, or the right answer."""

import warnings

import numpy as np
import pytest

import mimkit
from mimkit import core, reference
from mimkit.cli import main
from mimkit.estimators import LayerwiseRegressor
from mimkit.training import run_phase2, train_layerwise


@pytest.fixture(scope="module")
def problem():
    model = mimkit.MultiIndexModel(16, "z1z2", random_state=0)
    X, y = model.sample(600, random_state=1)
    Xt, yt = model.sample(400, random_state=2)
    return model, X, y, Xt, yt


def _pair_directions(model):
    # z1 z2 = ((z1 + z2)^2 - (z1 - z2)^2) / 4: neurons on these two directions fit it.
    U = model.U
    return np.repeat([U[0] + U[1], U[0] - U[1]], 8, axis=0)


@pytest.mark.parametrize("exponent", [0, 512, 830, -660])  # 1, 1.3e154, 7e249, 2e-199
def test_ridge_is_equivariant_in_the_labels(problem, exponent):
    # y -> s y must give a -> s a and the same GCV choice: with a power of two s every number
    # scales exactly, so predictions agree bit for bit; R^2 is the unscaled one (not ~0, as
    # when y @ y overflowed and GCV was NaN for every ridge).
    model, X, y, Xt, yt = problem
    W = _pair_directions(model)
    base = run_phase2(X, y, W, random_state=3)
    s = 2.0**exponent
    scaled = run_phase2(X, y * s, W, random_state=3)
    assert scaled.ridge == base.ridge
    np.testing.assert_array_equal(scaled.network.predict(Xt), s * base.network.predict(Xt))
    r2 = 1 - np.mean((base.network.predict(Xt) - yt) ** 2) / np.var(yt)
    assert r2 > 0.5  # z1 z2 from its own subspace: far above chance


def test_labels_near_the_float64_limit_keep_their_fit(problem):
    model, X, y, Xt, yt = problem
    W = _pair_directions(model)
    base = run_phase2(X, y, W, random_state=3)
    big = run_phase2(X, y * 1e300, W, random_state=3)
    np.testing.assert_allclose(
        big.network.predict(Xt) / 1e300, base.network.predict(Xt), rtol=1e-10, atol=1e-10
    )


_FIT_CASES = {
    "lr 1e160": (dict(lr=1e160), 1.0, "lr = 1e\\+160 is far above 1: lower lr"),
    "weight_decay 1e160": (dict(weight_decay=1e160), 1.0, "lower weight_decay"),
    "huber_delta 1e-300": (dict(huber_delta=1e-300), 1.0, "raise huber_delta"),
    "init_scale 1e300": (dict(init_scale=1e300), 1.0, "lower init_scale"),
}


@pytest.mark.parametrize("case", list(_FIT_CASES))
def test_a_breakdown_names_the_argument_to_change(problem, case):
    settings, x_factor, message = _FIT_CASES[case]
    _, X, y, _, _ = problem
    with pytest.raises(FloatingPointError, match=message) as info:
        LayerwiseRegressor(n_hidden=8, random_state=0, **settings).fit(X * x_factor, y)
    # keep_scale is no option of the estimator: never advised there.
    assert "keep_scale" not in str(info.value)


@pytest.mark.parametrize(
    "x_factor, message",
    [
        (1e154, r"root-mean-square \S+e\+15[34], .* standardise X"),
        (1e-150, r"root-mean-square \S+e-15[01], .* standardise X"),
    ],
)
def test_train_layerwise_names_x_scale_it_cannot_handle(problem, x_factor, message):
    # The function trains on X as given (the estimators rescale it first: see
    # test_regressors_are_scale_equivariant).
    _, X, y, _, _ = problem
    Xs = X * x_factor
    with pytest.raises(FloatingPointError, match=message):
        train_layerwise(Xs[:300], y[:300], Xs[300:], y[300:], n_hidden=8, random_state=0)


def test_all_zero_inputs_are_refused_up_front(problem):
    _, X, y, _, _ = problem
    with pytest.raises(ValueError, match="X is all zeros"):
        LayerwiseRegressor(n_hidden=8, random_state=0).fit(np.zeros_like(X), y)


def test_cli_names_init_scale(capsys):
    args = "run --d 16 --alpha 4 --n-test 64 --width 8 --no-baseline --init-scale 1e300"
    assert main(args.split()) == 2
    err = capsys.readouterr().err
    assert "lower init_scale" in err and "raise init_scale" not in err and "keep_scale" not in err


@pytest.mark.parametrize("run", [core.phase1_run, reference.phase1_run])
def test_an_overflowing_rescale_is_a_divergence(problem, run):
    # lr = 1e300 keeps every entry finite but the norm of W overflows; rescaling by 1/inf
    # used to return W = 0, log_scale [0, inf, nan, ...] and no error.
    _, X, y, _, _ = problem
    W0 = np.full((2, 16), 1e-7)
    W0[1] *= -1
    args = (X, y, W0, np.zeros(2), np.array([1.0, -1.0]))
    kw = dict(activation="logcosh", loss="squared", weight_decay=0.0, n_steps=4, keep_scale=True)
    with pytest.raises(FloatingPointError, match="diverged at step 0.*lower lr"):
        run(*args, lr=1e300, **kw)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = run(*args, lr=1e300, on_divergence="warn", record_steps=[0, 2], **kw)
    assert len(caught) == 1 and issubclass(caught[0].category, RuntimeWarning)
    assert res.diverged_at == 0
    np.testing.assert_array_equal(res.W, W0)  # the last finite weights: W_0
    assert res.log_scale[0] == 0 and np.isnan(res.log_scale[1:]).all()
    assert np.isfinite(res.loss[0]) and np.isnan(res.loss[1:]).all()
    np.testing.assert_array_equal(res.recorded[0], W0)
    assert np.isnan(res.recorded[1]).all()
    # Large but representable: rescaling keeps W's norm and records the factor.
    fine = run(*args, lr=1e150, **kw)
    assert fine.diverged_at is None and np.isfinite(fine.log_scale).all()
    np.testing.assert_allclose(np.linalg.norm(fine.W), np.linalg.norm(W0), rtol=1e-12)
