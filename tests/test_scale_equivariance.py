"""The regressors are equivariant in the scale of X and y (they divide both by a power of two
near their RMS first), refuse scales they cannot represent, and score huge labels."""

import numpy as np
import pytest

import mimkit
from mimkit import core, reference
from mimkit._scale import nearest_power_of_two, root_mean_square
from mimkit.estimators import JointRegressor, LayerwiseRegressor
from mimkit.network import symmetric_init

_REGRESSORS = {
    "layerwise": lambda: LayerwiseRegressor(n_hidden=16, random_state=0),
    # A few L-BFGS iterations: equivariance is per operation, not a property of convergence.
    "joint": lambda: JointRegressor(n_hidden=16, solver="lbfgs", max_iter=8, random_state=0),
}


@pytest.fixture(scope="module")
def problem():
    model = mimkit.MultiIndexModel(16, "z1z2", random_state=0)
    X, y = model.sample(1200, random_state=1)
    Xt, yt = model.sample(400, random_state=2)
    return X, y, Xt, yt


@pytest.fixture(scope="module")
def unscaled(problem):
    X, y, Xt, _ = problem
    return {name: make().fit(X, y).predict(Xt) for name, make in _REGRESSORS.items()}


@pytest.mark.parametrize("name", list(_REGRESSORS))
@pytest.mark.parametrize("exponent", [-300, -1, 1, 300])
def test_powers_of_two_give_the_same_predictions(problem, unscaled, name, exponent):
    # Dividing by a power of two is exact: the fit on (c X, y) computes the numbers of the
    # fit on (X, y), and the fit on (X, c y) c times them (bit for bit).
    X, y, Xt, _ = problem
    c = 2.0**exponent
    on_x = _REGRESSORS[name]().fit(X * c, y)
    np.testing.assert_array_equal(on_x.predict(Xt * c), unscaled[name])
    on_y = _REGRESSORS[name]().fit(X, y * c)
    np.testing.assert_array_equal(on_y.predict(Xt), c * unscaled[name])
    assert on_y.y_scale_ == c and on_x.x_scale_ == c


@pytest.mark.parametrize("name", list(_REGRESSORS))
@pytest.mark.parametrize("side", ["X", "y"])
@pytest.mark.parametrize("factor", [1e-100, 1e-15, 1e-5, 1e5, 1e100])
def test_other_factors_fit_the_data_at_a_residual_factor(problem, name, side, factor):
    # Any c is a power of two times a residual r in [0.71, 1.41]: the fit on c-scaled data
    # is exactly the fit on r-scaled data (multiplying by c rounds once; the power of two is
    # exact). Before the rescaling these fits learnt nothing (R^2 ~ 0) or took minutes.
    X, y, Xt, _ = problem
    if side == "X":
        scaled = _REGRESSORS[name]().fit(X * factor, y)
        residual = factor / scaled.x_scale_
        plain = _REGRESSORS[name]().fit(X * residual, y)
        got, want = scaled.predict(Xt * factor), plain.predict(Xt * residual)
    else:
        scaled = _REGRESSORS[name]().fit(X, y * factor)
        residual = factor / scaled.y_scale_
        plain = _REGRESSORS[name]().fit(X, y * residual)
        got, want = scaled.predict(Xt), plain.predict(Xt) * scaled.y_scale_
    assert 0.5 < residual < 2.0 and plain.x_scale_ == plain.y_scale_ == 1.0
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("factor", [1e-100, 1e-15, 1e-5, 1e5, 1e100])
def test_other_factors_fit_as_well(problem, factor):
    # The residual factor in [0.71, 1.41] is seen by the Huber delta only: z1 z2 is learnt
    # far above chance (R^2 0.73-0.76 at every factor; before the rescaling -0.01 to 0.02).
    X, y, Xt, yt = problem
    assert _REGRESSORS["layerwise"]().fit(X * factor, y).score(Xt * factor, yt) > 0.5
    assert _REGRESSORS["layerwise"]().fit(X, y * factor).score(Xt, yt * factor) > 0.5


@pytest.mark.parametrize("name", list(_REGRESSORS))
def test_score_of_huge_labels_is_finite(problem, name):
    # The squared errors of labels >= 1e154 overflow; R^2 is scale-free and computed so.
    X, y, Xt, yt = problem
    c = 2.0**700  # 5e210
    small = _REGRESSORS[name]().fit(X, y)
    big = _REGRESSORS[name]().fit(X, y * c)
    assert big.score(Xt, yt * c) == small.score(Xt, yt)
    assert small.score(Xt, yt) > 0.0


@pytest.mark.parametrize("name", list(_REGRESSORS))
@pytest.mark.parametrize("side, factor", [("X", 1e300), ("X", 1e-300), ("y", 1e300)])
def test_unusable_scales_are_named(problem, name, side, factor):
    X, y, _, _ = problem
    data = (X * factor, y) if side == "X" else (X, y * factor)
    with pytest.raises(ValueError, match=rf"^{side} has .* outside the usable range \[1e-289"):
        _REGRESSORS[name]().fit(*data)


def test_float32_inputs_refuse_labels_beyond_float32(problem):
    X, y, _, _ = problem
    with pytest.raises(ValueError, match="pass X as float64"):
        LayerwiseRegressor(n_hidden=4).fit(X.astype(np.float32), y * 1e60)


def test_a_streamed_fit_rescales_its_labels_like_an_array_fit():
    # he2_sum labels have standard deviation ~2.5: both fits divide them by 2.
    stream = mimkit.MultiIndexModel(8, "he2_sum", random_state=0).stream(
        400, dtype=np.float64, random_state=3
    )
    X, y = stream.rows(), stream.labels
    make = lambda: LayerwiseRegressor(n_hidden=8, phase2_data="reuse", random_state=0)  # noqa: E731
    on_rows, on_stream = make().fit(X, y), make().fit(stream)
    assert on_rows.y_scale_ == on_stream.y_scale_ == 2.0
    np.testing.assert_allclose(on_stream.predict(X[:50]), on_rows.predict(X[:50]), rtol=1e-9)


@pytest.mark.parametrize("exponent", [-1074, -1030, -600, -1, 0, 3, 600, 1020])
def test_root_mean_square_is_exact_under_powers_of_two(exponent):
    A = np.random.default_rng(0).standard_normal((300, 7))
    scaled = np.ldexp(A, exponent) if exponent > -1000 else A * 2.0**exponent
    if exponent > -1000:
        assert root_mean_square(scaled) == np.ldexp(root_mean_square(A), exponent)
    reference_rms = np.sqrt(np.mean(A**2))
    np.testing.assert_allclose(root_mean_square(A), reference_rms, rtol=1e-13)


@pytest.mark.parametrize(
    "value, expected",
    [(1.0, 1.0), (0.71, 1.0), (0.70, 0.5), (1.41, 1.0), (1.42, 2.0), (3e-5, 2.0**-15)],
)
def test_nearest_power_of_two(value, expected):
    assert nearest_power_of_two(value) == expected


@pytest.mark.parametrize("run", [core.phase1_run, reference.phase1_run])
@pytest.mark.parametrize("y_factor, a_factor", [(1e-150, 1.0), (1.0, 1e-200)])
def test_weights_that_underflow_to_zero_raise(run, y_factor, a_factor):
    # keep_scale used to return W == 0 here with no error: the gradient (labels times outer
    # weights times X) underflowed, though the labels carry a signal.
    X, y = mimkit.MultiIndexModel(16, "z1z2", random_state=0).sample(300, random_state=1)
    W0, b, a = symmetric_init(8, 16, 1e-6, 1.0, np.random.default_rng(0), np.float64)
    kw = dict(activation="logcosh", loss="huber", lr=1.0, weight_decay=1.0, n_steps=4)
    with pytest.raises(FloatingPointError, match="underflowed to exactly zero at step 0.*rescale"):
        run(X, y * y_factor, W0, b, a * a_factor, keep_scale=True, **kw)


def test_explicit_phase2_sets_and_refinement_are_rescaled_too(problem):
    X, y, Xt, _ = problem
    c = 2.0**40
    make = lambda **kw: LayerwiseRegressor(n_hidden=8, random_state=0, **kw)  # noqa: E731
    split = dict(X2=X[600:], y2=y[600:])
    base = make().fit(X[:600], y[:600], **split).predict(Xt)
    scaled = make().fit(X[:600] * c, y[:600] * c, X2=X[600:] * c, y2=y[600:] * c)
    np.testing.assert_array_equal(scaled.predict(Xt * c), base * c)
    refined = make(refine="lbfgs", refine_max_iter=3).fit(X, y).predict(Xt)
    np.testing.assert_array_equal(
        make(refine="lbfgs", refine_max_iter=3).fit(X * c, y / c).predict(Xt * c), refined / c
    )
