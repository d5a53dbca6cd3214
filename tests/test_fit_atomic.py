"""A fit is atomic: Ctrl-C (or any error) in the middle of it leaves the estimator as it was,
fitted before or not at all, never half-set (n_features_in_ of the new data, old weights)."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

import mimkit
import mimkit.estimators.joint
from mimkit import core
from mimkit.estimators import JointRegressor, LayerwiseRegressor


@pytest.fixture(scope="module")
def data():
    X, y = mimkit.MultiIndexModel(8, "z1z2", random_state=0).sample(300, random_state=1)
    return X, y


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


def _interrupt_layerwise(monkeypatch):
    # Phase 2's core pass: after phase 1 ran and the estimator had taken the new data's shape.
    monkeypatch.setattr(core, "hidden_statistics", _interrupt)


def _interrupt_joint(monkeypatch):
    monkeypatch.setattr(mimkit.estimators.joint, "train_joint", _interrupt)


_CASES = {
    "layerwise": (
        lambda: LayerwiseRegressor(n_hidden=4, whiten=True, random_state=0),
        _interrupt_layerwise,
    ),
    "joint": (lambda: JointRegressor(n_hidden=4, max_iter=2, random_state=0), _interrupt_joint),
}


@pytest.mark.parametrize("name", list(_CASES))
def test_an_interrupted_first_fit_leaves_the_estimator_unfitted(data, monkeypatch, name):
    make, interrupt = _CASES[name]
    X, y = data
    est = make()
    with monkeypatch.context() as patch:
        interrupt(patch)
        with pytest.raises(KeyboardInterrupt):
            est.fit(X, y)
    assert vars(est) == vars(make())  # only the constructor's parameters
    with pytest.raises(NotFittedError):
        est.predict(X)


@pytest.mark.parametrize("name", list(_CASES))
def test_an_interrupted_refit_keeps_the_previous_fit(data, monkeypatch, name):
    make, interrupt = _CASES[name]
    X, y = data
    est = make().fit(X, y)
    before = est.predict(X)
    with monkeypatch.context() as patch:
        interrupt(patch)
        with pytest.raises(KeyboardInterrupt):
            est.fit(X[:, :5] * 3.0, y * 5.0)  # other shape and scales
    np.testing.assert_array_equal(est.predict(X), before)
    assert est.n_features_in_ == 8 and est.x_scale_ == est.y_scale_ == 1.0
