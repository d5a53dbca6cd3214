"""Models, links and streams pickle; the estimator takes streams everywhere; complex callables
are refused."""

import pickle

import numpy as np
import pytest

import mimkit
from mimkit.estimators import LayerwiseRegressor
from mimkit.training import _rms, train_layerwise


@pytest.mark.parametrize("link", ["z1z2", "he2_sum", "tanh_committee"])
def test_models_links_and_streams_pickle(link):
    model = mimkit.MultiIndexModel(16, link, random_state=0)
    stream = model.stream(64, dtype=np.float64, random_state=1)
    model2, stream2, link2 = pickle.loads(pickle.dumps((model, stream, model.link)))
    np.testing.assert_array_equal(model2.U, model.U)
    X, y = model.sample(32, random_state=2)
    X2, y2 = model2.sample(32, random_state=2)
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(y2, y)
    np.testing.assert_array_equal(stream2.rows(), stream.rows())
    np.testing.assert_array_equal(stream2.labels, stream.labels)
    np.testing.assert_array_equal(link2(X[:, : link2.r]), model.link(X[:, : link2.r]))


@pytest.fixture(scope="module")
def streams():
    model = mimkit.MultiIndexModel(16, "z1z2", random_state=0)
    return model.stream(1500, np.float64, random_state=1), model.stream(
        500, np.float64, random_state=2
    )


def test_the_estimator_takes_streams_in_every_method(streams):
    S1, S2 = streams
    est = LayerwiseRegressor(n_hidden=8, random_state=0).fit(S1, X2=S2)
    rows = S2.rows()
    np.testing.assert_array_equal(est.transform(S2), est.transform(rows))
    np.testing.assert_array_equal(est.predict(S2), est.predict(rows))
    assert est.score(S2) == est.score(rows, S2.labels)
    whitened = LayerwiseRegressor(n_hidden=8, whiten=True, random_state=0)
    whitened.fit(S1.rows(), S1.labels, X2=rows, y2=S2.labels)
    with pytest.raises(ValueError, match="whiten=True: pass X as an array"):
        whitened.transform(S2)


def test_a_stream_fit_differs_from_its_rows_only_by_the_init_scale(streams):
    # rms(X) is measured on an array and 1 for a stream: the initial weights differ by that
    # factor, about 1/sqrt(2 n d) relative, and nothing else does.
    S1, S2 = streams
    X1, X2 = S1.rows(), S2.rows()
    fs = train_layerwise(S1, None, S2, None, n_hidden=8, random_state=0)
    fa = train_layerwise(X1, S1.labels, X2, S2.labels, n_hidden=8, random_state=0)
    rms = _rms(X1)
    assert abs(rms - 1) < 5 / np.sqrt(2 * X1.size)
    np.testing.assert_allclose(fa.phase1.W0 * rms, fs.phase1.W0, rtol=1e-14)
    assert fa.phase1.c == fs.phase1.c
    np.testing.assert_allclose(fs.network.predict(X2), fa.network.predict(X2), atol=1e-9)


def test_complex_links_and_transforms_are_refused():
    model = mimkit.MultiIndexModel(4, lambda z: z[:, 0] + 1j * z[:, 1], r=2, random_state=0)
    with pytest.raises(TypeError, match="returned complex values; a link must be real"):
        model.sample(10)
    X, y = mimkit.MultiIndexModel(8, "z1z2", random_state=0).sample(100, random_state=1)
    with pytest.raises(TypeError, match="label_transform returned complex values"):
        train_layerwise(X, y, X, y, n_hidden=4, label_transform=lambda v: v + 0j)
