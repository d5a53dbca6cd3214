"""Bad inputs to mimkit.JointRegressor: each gives a ValueError / TypeError naming the argument
(and the fix); parameters are checked before the data."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

import mimkit
from _bad_inputs import INF_Y, NAN_X, X, Y, case, check


def jr(X_=X, y_=Y, **params):
    return mimkit.JointRegressor(
        **{"n_hidden": 4, "max_iter": 2, "n_threads": 1, "random_state": 0, **params}
    ).fit(X_, y_)


JOINT_CASES = [
    case("n_hidden 0", lambda: jr(n_hidden=0), ValueError, "n_hidden must be an integer >= 1"),
    case("activation", lambda: jr(activation="relu"), ValueError, "unknown activation 'relu'"),
    case("loss", lambda: jr(loss="hinge"), ValueError, "unknown loss 'hinge'"),
    case("solver", lambda: jr(solver="sgd"), ValueError, "unknown solver 'sgd'.*adam"),
    case("huber_delta", lambda: jr(huber_delta=np.nan), ValueError, "huber_delta must be a finite"),
    case("max_iter", lambda: jr(max_iter=2.5), ValueError, "max_iter must be an integer"),
    case("tol", lambda: jr(tol=-1.0), ValueError, "tol must be >= 0"),
    case(
        "validation_fraction",
        lambda: jr(validation_fraction=1.0),
        ValueError,
        r"validation_fraction must be in \[0, 1\)",
    ),
    case("patience", lambda: jr(n_iter_no_change=0), ValueError, "n_iter_no_change must be"),
    case("batch_size", lambda: jr(batch_size=0), ValueError, "batch_size must be an integer >= 1"),
    case("learning_rate", lambda: jr(learning_rate=0.0), ValueError, "learning_rate must be > 0"),
    case("l2", lambda: jr(l2=-1.0), ValueError, "l2 must be >= 0"),
    case("callback", lambda: jr(callback=3), TypeError, "callback=3; pass a callable"),
    case("before data", lambda: jr(NAN_X, solver="sgd"), ValueError, "unknown solver"),
    case("X nan", lambda: jr(NAN_X), ValueError, "Input X contains NaN"),
    case("y inf", lambda: jr(X, INF_Y), ValueError, "Input y contains infinity"),
    case("y length", lambda: jr(X, Y[:3]), ValueError, "inconsistent numbers of samples"),
    case("n=1", lambda: jr(X[:1], Y[:1]), ValueError, "n_samples = 1"),
    case("predict d", lambda: jr().predict(X[:, :3]), ValueError, "X has 3 features"),
    case("unfitted", lambda: mimkit.JointRegressor().predict(X), NotFittedError, "not fitted"),
]


@pytest.mark.parametrize("fn, exc, match", JOINT_CASES)
def test_joint_regressor_errors(fn, exc, match):
    check(fn, exc, match)
