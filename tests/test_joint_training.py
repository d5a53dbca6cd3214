"""Joint training of all of (W, b, a) (mimkit.joint_training)."""

import time

import numpy as np
import pytest

from mimkit import core, metrics
from mimkit.data import MultiIndexModel
from mimkit.joint_training import train_joint
from mimkit.training import run_phase2

D, M = 32, 16


@pytest.fixture(scope="module")
def problem():
    """z1*z2 at d = 32 with 64 d samples, and a start: random directions + phase 2."""
    model = MultiIndexModel(D, "z1z2", random_state=0)
    X, y = model.sample(64 * D)
    Xt, yt = model.sample(4000)
    W = np.random.default_rng(1).standard_normal((M, D))
    net = run_phase2(X, y, W, random_state=2).network
    return model, X, y - net.c, Xt, yt - net.c, net


def _error(W, b, a, Xt, yt):
    return metrics.relative_test_error(core.forward(Xt, W, b, a, "logcosh"), yt)


@pytest.mark.parametrize("method", ["lbfgs", "adam"])
def test_returns_the_best_validation_weights_and_calls_back_every_evaluation(problem, method):
    _, X, y, _, _, net = problem
    seen = {}

    def callback(iteration, W, b, a):
        seen[iteration] = (W, b, a)

    fit = train_joint(
        X, y, net.W, net.b, net.a, activation="logcosh", method=method, max_iter=15,
        n_iter_no_change=3, learning_rate=1e-2, random_state=0, callback=callback,
    )  # fmt: skip
    assert sorted(seen) == list(range(fit.n_iter + 1))
    assert fit.train_loss.shape == fit.validation_loss.shape == (fit.n_iter + 1,)
    # Iteration 0 is the start itself; the weights returned are those of the best evaluation.
    np.testing.assert_array_equal(seen[0][0], net.W)
    assert fit.best_iter == int(np.argmin(fit.validation_loss))
    for got, want in zip((fit.W, fit.b, fit.a), seen[fit.best_iter]):
        np.testing.assert_array_equal(got, want)
    assert fit.validation_loss[fit.best_iter] < fit.validation_loss[0]
    assert fit.stop_reason in ("converged", "no_improvement", "max_iter")
    assert fit.n_train + fit.n_validation == X.shape[0]
    assert fit.n_validation == round(0.1 * X.shape[0])


@pytest.mark.parametrize("method", ["lbfgs", "adam"])
def test_joint_training_lowers_the_test_error_of_random_features(problem, method):
    # Random directions + phase 2 only fit a function of 16 random projections of a d = 32
    # input: most of z1*z2 is out of reach (error near 1). Training W finds the index plane.
    _, X, y, Xt, yt, net = problem
    before = _error(net.W, net.b, net.a, Xt, yt)
    fit = train_joint(
        X, y, net.W, net.b, net.a, activation="logcosh", method=method, max_iter=60,
        learning_rate=1e-2, random_state=0,
    )  # fmt: skip
    after = _error(fit.W, fit.b, fit.a, Xt, yt)
    assert before > 0.5
    assert after < 0.5 * before


def test_stop_reasons_max_iter_and_no_validation(problem):
    _, X, y, _, _, net = problem
    args = dict(activation="logcosh", random_state=0)
    fit = train_joint(X, y, net.W, net.b, net.a, max_iter=0, **args)
    assert (fit.n_iter, fit.best_iter, fit.stop_reason) == (0, 0, "max_iter")
    np.testing.assert_array_equal(fit.W, net.W)
    fit = train_joint(X, y, net.W, net.b, net.a, max_iter=3, validation_fraction=0.0, **args)
    assert (fit.n_iter, fit.best_iter, fit.stop_reason) == (3, 3, "max_iter")
    assert fit.validation_loss.size == 0 and fit.n_train == X.shape[0]
    # Without early stopping L-BFGS decreases the training objective every iteration.
    assert np.all(np.diff(fit.train_loss) < 0)


@pytest.mark.parametrize("method", ["lbfgs", "adam"])
def test_a_fixed_seed_and_thread_count_reproduce_the_fit(problem, method):
    _, X, y, _, _, net = problem
    args = dict(activation="logcosh", method=method, max_iter=4, n_threads=2, random_state=5)
    one = train_joint(X, y, net.W, net.b, net.a, **args)
    two = train_joint(X, y, net.W, net.b, net.a, **args)
    for got, want in zip((one.W, one.b, one.a), (two.W, two.b, two.a)):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(one.validation_loss, two.validation_loss)


def test_float32_data_trains_in_float64_weights(problem):
    _, X, y, Xt, yt, net = problem
    fit = train_joint(
        X.astype(np.float32), y, net.W, net.b, net.a, activation="logcosh", max_iter=20,
        random_state=0, progress=True,
    )  # fmt: skip
    assert fit.W.dtype == fit.b.dtype == fit.a.dtype == np.float64
    assert _error(fit.W, fit.b, fit.a, Xt, yt) < _error(net.W, net.b, net.a, Xt, yt)


def test_ctrl_c_returns_the_best_weights_so_far(run_with_interrupts):
    lines = run_with_interrupts(
        """
        import warnings
        import numpy as np
        from mimkit.data import MultiIndexModel
        from mimkit.joint_training import train_joint

        model = MultiIndexModel(64, "z1z2", random_state=0)
        X, y = model.sample(4096)
        rng = np.random.default_rng(0)
        W, b, a = rng.standard_normal((32, 64)) / 8, rng.standard_normal(32), np.zeros(32)
        fits = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            print("latency", interrupted(lambda: fits.append(train_joint(
                X, y, W, b, a, activation="logcosh", method="adam", max_iter=10**6,
                n_iter_no_change=10**6, tol=0.0, learning_rate=1e-4, n_threads=1,
                random_state=0)), delay=0.5))
        fit = fits[0]
        print("reason", fit.stop_reason)
        print("best", int(fit.best_iter == np.argmin(fit.validation_loss)))
        print("iterations", fit.n_iter)
        print("warned", int(any("interrupted" in str(w.message) for w in caught)))
        """
    )
    # The fit catches the interrupt itself: the call returns normally.
    assert lines["latency"] == "finished"
    assert lines["reason"] == "interrupted"
    assert lines["best"] == "1" and int(lines["iterations"]) >= 1
    assert lines["warned"] == "1"


def test_a_tuple_of_data_sets_trains_like_their_concatenation(problem):
    # The union is gathered into the same training and held-out rows either way.
    _, X, y, _, _, net = problem
    args = dict(activation="logcosh", max_iter=3, random_state=0)
    parts = train_joint((X[:700], X[700:]), (y[:700], y[700:]), net.W, net.b, net.a, **args)
    whole = train_joint(X, y, net.W, net.b, net.a, **args)
    np.testing.assert_array_equal(parts.W, whole.W)
    np.testing.assert_array_equal(parts.validation_loss, whole.validation_loss)


def test_callback_time_is_not_billed_to_the_fit(problem):
    _, X, y, _, _, net = problem
    start = time.perf_counter()
    fit = train_joint(
        X, y, net.W, net.b, net.a, activation="logcosh", max_iter=3, validation_fraction=0.0,
        callback=lambda *_: time.sleep(0.1),
    )  # fmt: skip
    wall = time.perf_counter() - start
    # Four evaluations (the start and three iterations) slept 0.4 s outside the fit's clock.
    assert wall - fit.seconds >= 0.4
