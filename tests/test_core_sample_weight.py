"""The gated (per-row weighted) phase-1 step: core against the numpy reference, finite
differences, and the unweighted pass; in the linear regime it is power iteration on the gated
local Hessian (docs/theory.md, "Hierarchies")."""

import itertools

import numpy as np
import pytest

from mimkit import core, reference
from test_core import (  # noqa: F401 (chunk_rows: a fixture)
    ACTIVATIONS,
    LOSSES,
    RTOL,
    SHAPES,
    chunk_rows,
    problem,
    relative_error,
)


def gate(n, dtype, seed=5):
    """Weights of both signs, like the odd gate sigma''(h + 1) - sigma''(-h + 1)."""
    h = np.random.default_rng(seed).standard_normal(n)
    return (1 / np.cosh(h + 1) ** 2 - 1 / np.cosh(-h + 1) ** 2).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.usefixtures("chunk_rows")
def test_weighted_gradient_matches_reference(shape, threads, dtype):
    X, y, W, b, a = problem(*shape, dtype)
    s = gate(shape[0], dtype)
    for activation, loss in itertools.product(ACTIVATIONS, LOSSES):
        kw = dict(activation=activation, loss=loss, huber_delta=0.7, sample_weight=s)
        grad, mean_loss = core.phase1_gradient(X, y, W, b, a, n_threads=threads, **kw)
        grad_ref, mean_loss_ref = reference.phase1_gradient(X, y, W, b, a, **kw)
        assert grad.dtype == dtype and grad.shape == W.shape
        assert relative_error(grad, grad_ref) < RTOL[dtype], (activation, loss)
        # the weighted mean loss has terms of both signs: compare on the scale of its terms
        scale = float(np.mean(np.abs(s))) * max(abs(mean_loss_ref), 1.0)
        assert abs(mean_loss - mean_loss_ref) <= 10 * RTOL[dtype] * scale


def test_weights_of_one_give_the_unweighted_pass_bitwise_and_zero_rows_drop_out():
    X, y, W, b, a = problem(1001, 37, 6, np.float64)
    kw = dict(activation="logcosh", loss="huber", huber_delta=0.7, n_threads=2)
    plain = core.phase1_gradient(X, y, W, b, a, **kw)
    ones = core.phase1_gradient(X, y, W, b, a, sample_weight=np.ones(1001), **kw)
    assert np.array_equal(plain[0], ones[0]) and plain[1] == ones[1]
    # weight 0 on the second half: the gradient of the first half, scaled by its share of n
    s = np.r_[np.ones(500), np.zeros(501)]
    half = core.phase1_gradient(X[:500], y[:500], W, b, a, **kw)
    weighted = core.phase1_gradient(X, y, W, b, a, sample_weight=s, **kw)
    assert relative_error(weighted[0], half[0] * 500 / 1001) < 1e-12


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_weighted_gradient_matches_central_differences(activation):
    X, y, W, b, a = problem(40, 6, 4, np.float64, seed=3, scale=1.5)
    kw = dict(activation=activation, loss="squared", sample_weight=gate(40, np.float64))
    grad, _ = core.phase1_gradient(X, y, W, b, a, **kw)
    h = 1e-6
    rng = np.random.default_rng(4)
    for j, k in zip(rng.integers(0, 4, 8), rng.integers(0, 6, 8)):
        Wp, Wm = W.copy(), W.copy()
        Wp[j, k] += h
        Wm[j, k] -= h
        numeric = (
            core.phase1_gradient(X, y, Wp, b, a, **kw)[1]
            - core.phase1_gradient(X, y, Wm, b, a, **kw)[1]
        ) / (2 * h)
        # smooth loss: O(h^2) truncation + O(eps / h) rounding ~ 1e-10
        assert abs(numeric - grad[j, k]) < 1e-6 * max(1.0, abs(grad[j, k])), (j, k)


def test_weighted_run_matches_reference_and_is_gated_power_iteration():
    X, y, W, b, a = problem(501, 11, 6, np.float64, scale=1e-7)
    b = np.zeros(6)
    s = gate(501, np.float64)
    kw = dict(activation="logcosh", loss="squared", lr=1.0, weight_decay=1.0, n_steps=3)
    run = core.phase1_run(X, y, W, b, a, sample_weight=s, **kw)
    ref = reference.phase1_run(X, y, W, b, a, sample_weight=s, **kw)
    assert relative_error(run.W, ref.W) < 1e-12
    # tiny weights, lr * weight_decay = 1: w_j <- a_j S w_j with S = X^T diag(s * y) X / n
    # (T(y) = -loss'(0, y) = y); tanh(u) = u (1 + O(u^2)) with u ~ 1e-6
    S = reference.local_hessian(X, s * y)
    want = W.copy()
    for _ in range(3):
        want = a[:, None] * (want @ S)
    assert relative_error(run.W, want) < 1e-9


@pytest.mark.parametrize("module", [core, reference], ids=["core", "reference"])
def test_bad_sample_weight_is_named(module):
    X, y, W, b, a = problem(20, 3, 2, np.float64)
    kw = dict(activation="logcosh", loss="squared")
    with pytest.raises(ValueError, match="sample_weight"):
        module.phase1_gradient(X, y, W, b, a, sample_weight=np.ones(19), **kw)
    with pytest.raises(ValueError, match="sample_weight"):
        module.phase1_gradient(X, y, W, b, a, sample_weight=np.full(20, np.nan), **kw)
