"""Bad and odd inputs to mimkit.LayerwiseRegressor (errors at fit): each bad input gives a
ValueError / TypeError whose message names the argument (and the fix); odd but valid inputs
(int, read-only, strided, memory-mapped arrays) give the same result as a plain C-ordered
float64 array."""

import numpy as np
import pytest

import mimkit
from _bad_inputs import INF_Y, NAN_X, X, Y, case, check


def lw(X_=X, y_=Y, **params):
    return mimkit.LayerwiseRegressor(
        **{"n_hidden": 4, "n_steps": 2, "random_state": 0, **params}
    ).fit(X_, y_)


LAYERWISE_CASES = [
    case("odd width", lambda: lw(n_hidden=3), ValueError, "n_hidden must be an even integer"),
    case("lr nan", lambda: lw(lr=np.nan), ValueError, "lr must be a finite"),
    case("lr<0", lambda: lw(lr=-1.0), ValueError, "lr must be > 0"),
    case(
        "weight_decay inf",
        lambda: lw(weight_decay=np.inf),
        ValueError,
        "weight_decay must be a finite",
    ),
    case("n_steps float", lambda: lw(n_steps=2.5), ValueError, "n_steps must be .* Or pass 'auto'"),
    case(
        "huber_delta nan",
        lambda: lw(huber_delta=np.nan),
        ValueError,
        "huber_delta must be a finite",
    ),
    case("activation", lambda: lw(activation="relu"), ValueError, "unknown activation 'relu'"),
    case("phase2_fraction", lambda: lw(phase2_fraction=0.0), ValueError, "phase2_fraction=0.0"),
    case("X 1-D", lambda: lw(X[:, 0]), ValueError, "Expected 2D array"),
    case("X empty", lambda: lw(np.zeros((0, 5)), np.zeros(0)), ValueError, "0 sample"),
    case("d=0", lambda: lw(np.zeros((60, 0))), ValueError, "0 feature"),
    case("y length", lambda: lw(X, Y[:3]), ValueError, "inconsistent numbers of samples"),
    case("X nan", lambda: lw(NAN_X), ValueError, "Input X contains NaN"),
    case("y inf", lambda: lw(X, INF_Y), ValueError, "Input y contains infinity"),
    case("n=2", lambda: lw(X[:2], Y[:2]), ValueError, "need at least 3 samples"),
    case(
        "X2 without y2",
        lambda: mimkit.LayerwiseRegressor().fit(X, Y, X2=X),
        ValueError,
        "X2 and y2",
    ),
    case(
        "X2 d mismatch",
        lambda: mimkit.LayerwiseRegressor(n_hidden=4).fit(X, Y, X2=X[:, :3], y2=Y),
        ValueError,
        "X has 3 features",
    ),
    case(
        "X2 n=1",
        lambda: mimkit.LayerwiseRegressor(n_hidden=4, n_steps=2).fit(X, Y, X2=X[:1], y2=Y[:1]),
        ValueError,
        "phase 2 needs n_samples >= 2",
    ),
    case("subspace k=0", lambda: lw().subspace(0), ValueError, "k must be an integer >= 1"),
    case("phase2_data", lambda: lw(phase2_data="both"), ValueError, "unknown phase2_data 'both'"),
    case("refine", lambda: lw(refine="sgd"), ValueError, "unknown refine 'sgd'"),
    case(
        "refine_max_iter",
        lambda: lw(refine="adam", refine_max_iter=1.5),
        ValueError,
        "max_iter must be an integer >= 0",
    ),
    case(
        "reuse with X2",
        lambda: mimkit.LayerwiseRegressor(phase2_data="reuse").fit(X, Y, X2=X, y2=Y),
        ValueError,
        "phase2_data='reuse' fits phase 2 on X itself: pass no X2, y2",
    ),
]


@pytest.mark.parametrize("fn, exc, match", LAYERWISE_CASES)
def test_layerwise_regressor_errors(fn, exc, match):
    check(fn, exc, match)


def test_layerwise_regressor_accepts_int_and_memory_mapped_X(tmp_path):
    Xi = np.round(3 * X)
    want = lw(Xi).predict(Xi)
    np.save(tmp_path / "X.npy", Xi)
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    np.testing.assert_array_equal(lw(mapped).predict(mapped), want)
    np.testing.assert_array_equal(lw(Xi.astype(np.int64)).predict(Xi.astype(np.int64)), want)
