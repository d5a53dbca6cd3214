"""Inputs the estimators used to mishandle: each now works, or is refused in one line that
names the argument and the fix (never pybind's or numpy's internals, never in silence)."""

import warnings

import numpy as np
import pytest

import mimkit
from mimkit.estimators import SIR, JointRegressor, LayerwiseRegressor, SpectralEstimator
from mimkit.spectral import spectral_subspace
from mimkit.training import train_layerwise


@pytest.fixture(scope="module")
def data():
    model = mimkit.MultiIndexModel(8, "z1z2", random_state=0)
    X, y = model.sample(300, random_state=1)
    return model, X, y


_HUGE_THREADS = 10**30
_FITS = {
    "LayerwiseRegressor": lambda X, y: LayerwiseRegressor(n_hidden=4, n_threads=_HUGE_THREADS).fit(
        X, y
    ),
    "JointRegressor": lambda X, y: JointRegressor(n_hidden=4, n_threads=_HUGE_THREADS).fit(X, y),
    "train_layerwise": lambda X, y: train_layerwise(
        X[:150], y[:150], X[150:], y[150:], n_threads=_HUGE_THREADS
    ),
}


@pytest.mark.parametrize("fit", list(_FITS))
def test_absurd_thread_counts_are_named(data, fit):
    # Was pybind's "incompatible function arguments" (the count does not fit a C int).
    _, X, y = data
    with pytest.raises(
        ValueError, match=rf"^n_threads={_HUGE_THREADS} is above 4096, .* pass None"
    ):
        _FITS[fit](X, y)


def test_absurd_permutation_counts_are_named(data):
    # Used to run 1e30 permutations (forever).
    _, X, y = data
    sir = SIR(2, dimension_test="permutation", n_permutations=10**30)
    with pytest.raises(ValueError, match=rf"^n_permutations={10**30} is above 100000, the most"):
        sir.fit(X, y)


@pytest.mark.parametrize("make", [lambda: SIR(2), lambda: SpectralEstimator(2)])
def test_sdr_transform_takes_a_stream(data, make):
    model, X, y = data
    stream = model.stream(2500, dtype=np.float64, random_state=3)  # three chunks
    est = make().fit(X, y)
    np.testing.assert_allclose(est.transform(stream), est.transform(stream.rows()), rtol=1e-12)
    with pytest.raises(ValueError, match="X has 3 features, but .* expecting 8"):
        est.transform(mimkit.MultiIndexModel(3, "z1z2", random_state=0).stream(10))


def test_joint_regressor_predicts_a_stream(data):
    model, X, y = data
    stream = model.stream(500, dtype=np.float64, random_state=3)
    est = JointRegressor(n_hidden=4, max_iter=2, random_state=0).fit(X, y)
    np.testing.assert_array_equal(est.predict(stream), est.predict(stream.rows()))
    scaled = JointRegressor(n_hidden=4, max_iter=2, random_state=0).fit(X * 1e3, y)
    with pytest.raises(ValueError, match="fitted on X of scale 1.02e\\+03 .* pass X as an array"):
        scaled.predict(stream)
    with pytest.raises(TypeError, match=r"subspace needs X as an array.*X\.rows\(\)"):
        est.subspace(stream, 1)


@pytest.mark.parametrize("make", [LayerwiseRegressor, JointRegressor])
def test_string_labels_are_refused(data, make):
    _, X, y = data
    with pytest.raises(TypeError, match=r"^y has dtype <U\d+; a regressor fits real numbers"):
        make(n_hidden=4).fit(X, y.astype(str))


def test_a_link_returning_strings_is_named():
    model = mimkit.MultiIndexModel(4, lambda z: np.array(["a"] * len(z)), r=2, random_state=0)
    with pytest.raises(
        TypeError, match=r"^link '<lambda>' returned values of dtype <U1; a link must return real"
    ):
        model.sample(10, random_state=0)


def test_a_nan_label_transform_is_reported_as_nan_not_as_a_shape(data):
    # The message used to read "... of the same shape, got shape (150,)" for y of shape (150,).
    _, X, y = data
    est = LayerwiseRegressor(n_hidden=4, label_transform=lambda t: np.where(t > 0, t, np.nan))
    with pytest.raises(ValueError, match=r"^label_transform returned \d+ NaN or inf values"):
        est.fit(X, y)
    est = LayerwiseRegressor(n_hidden=4, label_transform=lambda t: t[:-1])
    with pytest.raises(ValueError, match=r"same shape, got shape \(149,\)"):
        est.fit(X, y)


def test_a_complex_preprocessing_is_refused_as_links_are(data):
    _, X, y = data
    with pytest.raises(TypeError, match="^preprocessing returned complex values"):
        SpectralEstimator(2, preprocessing=lambda t: t + 1j).fit(X, y)
    with pytest.raises(TypeError, match="^preprocessing returned values of dtype <U"):
        spectral_subspace(X, y, 2, preprocessing=lambda t: t.astype(str))


def test_spectral_estimator_refuses_constant_labels_like_sir(data):
    _, X, _ = data
    for make in (SIR, SpectralEstimator):
        with pytest.raises(ValueError, match=rf"^y has a single value \(2\.0\); {make.__name__}"):
            make(2).fit(X, np.full(X.shape[0], 2.0))


def test_spectral_estimator_refuses_r_without_a_link(data):
    _, X, y = data
    with pytest.raises(ValueError, match=r"^r=3 is the r of link, and there is no link"):
        SpectralEstimator(2, r=3).fit(X, y)


@pytest.mark.parametrize(
    "settings, named",
    [
        (dict(refine_max_iter=5), "refine_max_iter=5"),
        (dict(refine_tol=1e-3), "refine_tol=0.001"),
    ],
)
def test_refine_settings_without_refine_warn(data, settings, named):
    _, X, y = data
    with pytest.warns(UserWarning, match=rf"^{named} without refine: ignored"):
        LayerwiseRegressor(n_hidden=4, random_state=0, **settings).fit(X, y)
    with pytest.warns(UserWarning, match=rf"^{named} without refine: ignored"):
        train_layerwise(X[:150], y[:150], X[150:], y[150:], n_hidden=4, **settings)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # with refine: no warning
        LayerwiseRegressor(n_hidden=4, refine="lbfgs", random_state=0, **settings).fit(X, y)
