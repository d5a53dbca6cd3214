"""Bad inputs to mimkit.joint_training.train_joint: each gives a ValueError / TypeError whose
message names the argument (and the fix)."""

import numpy as np
import pytest

from _bad_inputs import NAN_X, NAN_Y, W, X, Y, case, check
from mimkit.data import MultiIndexModel
from mimkit.joint_training import train_joint

B, A = np.zeros(6), np.ones(6) / 6


def tj(**kw):
    return train_joint(
        kw.pop("X", X),
        kw.pop("y", Y),
        kw.pop("W", W),
        kw.pop("b", B),
        kw.pop("a", A),
        **{"activation": "logcosh", "max_iter": 2, "random_state": 0, **kw},
    )


JOINT_CASES = [
    case("X 1-D", lambda: tj(X=X[:, 0]), ValueError, "X must be a 2-D array"),
    case("X nan", lambda: tj(X=NAN_X), ValueError, "X contains NaN or inf"),
    case("y nan", lambda: tj(y=NAN_Y), ValueError, "y contains NaN or inf"),
    case("y length", lambda: tj(y=Y[:3]), ValueError, "y has length 3; expected 60"),
    case("W width", lambda: tj(W=W[:, :3]), ValueError, "W has shape \\(6, 3\\)"),
    case("b length", lambda: tj(b=B[:2]), ValueError, "b has length 2; expected 6"),
    case("a nan", lambda: tj(a=np.full(6, np.nan)), ValueError, "a contains NaN or inf"),
    case("activation", lambda: tj(activation="relu"), ValueError, "unknown activation 'relu'"),
    case("loss", lambda: tj(loss="hinge"), ValueError, "unknown loss 'hinge'"),
    case("method", lambda: tj(method="sgd"), ValueError, "unknown method 'sgd'; choose one of"),
    case("max_iter<0", lambda: tj(max_iter=-1), ValueError, "max_iter must be an integer >= 0"),
    case("max_iter float", lambda: tj(max_iter=2.5), ValueError, "max_iter must be an integer"),
    case("tol<0", lambda: tj(tol=-1e-3), ValueError, "tol must be >= 0"),
    case(
        "validation_fraction 1",
        lambda: tj(validation_fraction=1.0),
        ValueError,
        "validation_fraction must be in \\[0, 1\\)",
    ),
    case(
        "validation_fraction<0",
        lambda: tj(validation_fraction=-0.1),
        ValueError,
        "validation_fraction must be >= 0",
    ),
    case(
        "n_iter_no_change 0",
        lambda: tj(n_iter_no_change=0),
        ValueError,
        "n_iter_no_change must be an integer >= 1",
    ),
    case(
        "batch_size 0", lambda: tj(batch_size=0), ValueError, "batch_size must be an integer >= 1"
    ),
    case("learning_rate 0", lambda: tj(learning_rate=0.0), ValueError, "learning_rate must be > 0"),
    case("l2 nan", lambda: tj(l2=np.nan), ValueError, "l2 must be a finite"),
    case("n_threads 0", lambda: tj(n_threads=0), ValueError, "n_threads must be an integer >= 1"),
    case("random_state", lambda: tj(random_state="x"), TypeError, "random_state must be None"),
    case("callback", lambda: tj(callback=3), TypeError, "callback must be callable"),
    case("on_divergence", lambda: tj(on_divergence="ignore"), ValueError, "unknown on_divergence"),
    case(
        "one sample",
        lambda: tj(X=X[:1], y=Y[:1]),
        ValueError,
        "n_samples = 1: joint training needs .* 1 held-out sample",
    ),
    case(
        "stream",
        lambda: tj(X=MultiIndexModel(5, "z1z2", random_state=0).stream(60), y=Y),
        TypeError,
        "joint training needs X as an array",
    ),
    case(
        "tuple X, array y",
        lambda: tj(X=(X, X), y=Y),
        TypeError,
        "X is a tuple of data sets: pass y as a tuple",
    ),
    case(
        "tuple X disagrees",
        lambda: tj(X=(X, X[:, :3]), y=(Y, Y)),
        ValueError,
        "data set 1 of X has dtype float64 and 3 features but the first has float64 and 5",
    ),
]


@pytest.mark.parametrize("fn, exc, match", JOINT_CASES)
def test_joint_training_errors(fn, exc, match):
    check(fn, exc, match)


@pytest.mark.parametrize("method", ["lbfgs", "adam"])
def test_divergence_raises_or_warns_with_the_iteration(method):
    # Quadratic features of float32 data with a huge start overflow float32 (~3e38) at once.
    X32 = X.astype(np.float32)
    args = dict(activation="quadratic", method=method, max_iter=3, random_state=0)
    with pytest.raises(FloatingPointError, match="diverged at iteration 0"):
        train_joint(X32, Y, W * 1e10, B, A * 1e10, **args)
    with pytest.warns(RuntimeWarning, match="diverged at iteration 0.* best weights so far"):
        fit = train_joint(X32, Y, W * 1e10, B, A * 1e10, on_divergence="warn", **args)
    assert fit.stop_reason == "diverged"
    np.testing.assert_array_equal(fit.W, W * 1e10)
