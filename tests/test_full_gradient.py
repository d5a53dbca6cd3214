"""full_gradient (W, b and a together): reference against finite differences, the core against
the reference, phase1_gradient, a stream's rows and other thread counts."""

import itertools

import numpy as np
import pytest

from _gradient_bounds import GradientErrorBounds
from mimkit import core, reference
from mimkit.data import MultiIndexModel
from mimkit.stream import StreamedData
from test_core import ACTIVATIONS, LOSSES, SHAPES, chunk_rows, problem  # noqa: F401 (fixture)

# test_core's problem() has |w . x| ~ scale; 1.0 takes every activation out of its
# small-argument regime (log cosh's Taylor branch)
SCALE = 1.0


def assert_within_bounds(got, want, bounds, label):
    for name, diff, allowed in bounds.pairs(got, want):
        assert np.all(diff <= allowed), (label, name, float(np.max(diff - allowed)))


def kink_region(r, loss, delta):
    """Which smooth piece of the loss each residual lies on."""
    if loss == "absolute":
        return np.sign(r)
    if loss == "huber":
        return np.sign(r) * (np.abs(r) > delta)
    return np.zeros_like(r)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("loss", LOSSES)
def test_reference_matches_central_differences(activation, loss):
    X, y, W, b, a = problem(40, 6, 4, np.float64, seed=3, scale=1.5)
    kw = dict(activation=activation, loss=loss, huber_delta=0.5)
    grads = reference.full_gradient(X, y, W, b, a, **kw)[:3]
    params = [W, b, a]
    h = 1e-6
    rng = np.random.default_rng(4)
    region = kink_region(reference.forward(X, W, b, a, activation) - y, loss, 0.5)
    for which, size in [(0, W.size), (1, b.size), (2, a.size)]:
        for flat in rng.choice(size, min(size, 8), replace=False):
            values = []
            for step in (h, -h):
                moved = [p.copy() for p in params]
                moved[which].flat[flat] += step
                p = reference.forward(X, *moved, activation)
                # the segment stays on one smooth piece of the loss: no kink crossed
                assert np.array_equal(kink_region(p - y, loss, 0.5), region)
                values.append(reference.full_gradient(X, y, *moved, **kw)[3])
            numeric = (values[0] - values[1]) / (2 * h)
            exact = grads[which].flat[flat]
            # O(h^2) truncation (third derivatives ~ 10 here: ~1e-11) + rounding of L (~1e-15)
            # over 2h (~1e-9): 1e-7 leaves two orders of magnitude
            assert abs(numeric - exact) < 1e-7 * max(1.0, abs(exact)), (which, flat)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.usefixtures("chunk_rows")
def test_core_matches_reference_and_phase1_gradient(shape, threads, dtype):
    X, y, W, b, a = problem(*shape, dtype, scale=SCALE)
    for activation, loss in itertools.product(ACTIVATIONS, LOSSES):
        kw = dict(activation=activation, loss=loss, huber_delta=0.7)
        got = core.full_gradient(X, y, W, b, a, n_threads=threads, **kw)
        for value, like in zip(got[:3], (W, b, a)):
            assert value.dtype == dtype and value.shape == like.shape
        assert isinstance(got[3], float)
        bounds = GradientErrorBounds(X, y, W, b, a, **kw)
        assert_within_bounds(got, reference.full_gradient(X, y, W, b, a, **kw), bounds, kw)
        grad_W, mean_loss = core.phase1_gradient(X, y, W, b, a, n_threads=threads, **kw)
        np.testing.assert_array_equal(got[0], grad_W)
        assert got[3] == mean_loss


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_thread_counts_agree_to_rounding(dtype):
    X, y, W, b, a = problem(3001, 40, 8, dtype, scale=SCALE)
    kw = dict(activation="logcosh", loss="huber", huber_delta=0.7)
    one = core.full_gradient(X, y, W, b, a, n_threads=1, **kw)
    two = core.full_gradient(X, y, W, b, a, n_threads=2, **kw)
    for got, again in zip(two, core.full_gradient(X, y, W, b, a, n_threads=2, **kw)):
        np.testing.assert_array_equal(got, again)  # bitwise for a fixed thread count
    assert_within_bounds(two, one, GradientErrorBounds(X, y, W, b, a, **kw), "threads")


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.usefixtures("chunk_rows")
def test_a_stream_gives_bitwise_the_array_path(dtype, threads):
    model = MultiIndexModel(29, "z1z2", random_state=0)
    data = StreamedData(model, 1001, 77, dtype)
    X, y = data.rows(), data.labels
    _, _, W, b, a = problem(1001, 29, 6, dtype, scale=SCALE)
    for activation, loss in itertools.product(ACTIVATIONS, LOSSES):
        kw = dict(activation=activation, loss=loss, huber_delta=0.7, n_threads=threads)
        for got, want in zip(
            core.full_gradient(data, y, W, b, a, **kw), core.full_gradient(X, y, W, b, a, **kw)
        ):
            np.testing.assert_array_equal(got, want)


def test_reference_rejects_a_stream():
    model = MultiIndexModel(5, "z1z2", random_state=0)
    data = StreamedData(model, 10, 1, np.float64)
    with pytest.raises(TypeError, match="not a StreamedData"):
        reference.full_gradient(
            data,
            data.labels,
            np.ones((2, 5)),
            np.zeros(2),
            np.ones(2),
            activation="cos",
            loss="squared",
        )
