"""Bad inputs to full_gradient, in the core and its numpy reference: each gives a ValueError /
TypeError whose message names the argument; odd but valid layouts give the C-ordered result."""

import numpy as np
import pytest

from _bad_inputs import INF_Y, NAN_X, STR, W, X, Y, layouts
from mimkit import core, reference
from mimkit.data import MultiIndexModel
from mimkit.stream import StreamedData

B = np.zeros(W.shape[0])
A = np.ones(W.shape[0])
KW = dict(activation="logcosh", loss="huber", huber_delta=1.0)

BAD = [
    ("X empty", dict(X=np.zeros((0, 5))), ValueError, "X is empty"),
    ("X 1-D", dict(X=X[:, 0]), ValueError, "X must be a 2-D array"),
    ("X nan", dict(X=NAN_X), ValueError, "X contains NaN or inf"),
    ("X str", dict(X=STR), TypeError, "X has dtype <U1"),
    ("W columns", dict(W=W[:, :3]), ValueError, r"W has shape \(6, 3\); expected size 5"),
    ("W dtype", dict(W=W.astype(np.float32)), TypeError, "W has dtype float32 but the comp"),
    ("y length", dict(y=Y[:9]), ValueError, "y has length 9; expected 60"),
    ("y inf", dict(y=INF_Y), ValueError, "y contains NaN or inf"),
    ("b length", dict(b=B[:3]), ValueError, "b has length 3; expected 6"),
    ("a 2-D", dict(a=A[:, None]), ValueError, "a must be 1-D"),
    ("activation", dict(activation="relu"), ValueError, "unknown activation 'relu'"),
    ("loss", dict(loss="hinge"), ValueError, "unknown loss 'hinge'"),
    ("huber_delta", dict(huber_delta=0.0), ValueError, "huber_delta must be > 0"),
    ("n_threads", dict(n_threads=0), ValueError, "n_threads must be an integer >= 1"),
]


def full_gradient(module, **change):
    args = dict(X=X, y=Y, W=W, b=B, a=A, **KW)
    args.update(change)
    arrays = [args.pop(k) for k in ("X", "y", "W", "b", "a")]
    return module.full_gradient(*arrays, **args)


@pytest.mark.parametrize("module", [core, reference], ids=["core", "reference"])
@pytest.mark.parametrize("change, exc, match", [p[1:] for p in BAD], ids=[p[0] for p in BAD])
def test_full_gradient_rejects_bad_inputs(module, change, exc, match):
    with pytest.raises(exc, match=match):
        full_gradient(module, **change)


def test_full_gradient_on_a_stream_checks_the_labels_length():
    data = StreamedData(MultiIndexModel(5, "z1z2", random_state=0), 60, 1, np.float64)
    with pytest.raises(ValueError, match="y has length 9; expected 60"):
        full_gradient(core, X=data, y=Y[:9])


@pytest.mark.parametrize("layout", ["read-only", "F-order", "strided"])
def test_full_gradient_takes_odd_layouts(layout):
    want = full_gradient(core)
    for got, expected in zip(full_gradient(core, X=layouts(X)[layout], W=layouts(W)[layout]), want):
        np.testing.assert_array_equal(got, expected)
