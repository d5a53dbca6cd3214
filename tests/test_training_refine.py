"""train_layerwise beyond the paper: refine (joint training after phase 2) and phase2_data
'reuse' (no sample splitting)."""

import numpy as np
import pytest

from mimkit.data import MultiIndexModel
from mimkit.metrics import relative_test_error, subspace_distance
from mimkit.training import neuron_subspace, train_layerwise

D = 64


@pytest.fixture(scope="module")
def problem():
    """z1*z2 at d = 64 with n = 64 d samples (n1 = n2 = 32 d), as in the issue."""
    model = MultiIndexModel(D, "z1z2", random_state=0)
    (X1, y1), (X2, y2), (Xt, yt) = (model.sample(n) for n in (32 * D, 32 * D, 4000))
    return model, X1, y1, X2, y2, Xt, yt


@pytest.fixture(scope="module")
def layerwise(problem):
    _, X1, y1, X2, y2, _, _ = problem
    return train_layerwise(X1, y1, X2, y2, random_state=0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_refinement_starts_from_exactly_the_layerwise_predictor(problem, dtype):
    # Phase 2 keeps unit directions and draws fresh biases: refinement must start from that
    # network (W = unit directions, its b, a and offset c), not from phase 1's raw weights.
    _, X1, y1, X2, y2, Xt, _ = problem
    X1, X2, Xt = (A.astype(dtype) for A in (X1, X2, Xt))
    fit = train_layerwise(X1, y1, X2, y2, refine="lbfgs", refine_max_iter=0, random_state=0)
    assert fit.refinement.n_iter == fit.refinement.best_iter == 0
    np.testing.assert_array_equal(fit.network.predict(Xt), fit.phase2.network.predict(Xt))
    assert fit.network.c == fit.phase2.network.c


def test_without_refine_the_fit_is_the_papers(problem, layerwise):
    _, X1, y1, X2, y2, Xt, _ = problem
    assert layerwise.refinement is None and layerwise.network is layerwise.phase2.network
    # Refining does not change what the two phases drew (the generator is used after them).
    fit = train_layerwise(X1, y1, X2, y2, refine="adam", refine_max_iter=1, random_state=0)
    np.testing.assert_array_equal(fit.phase2.network.predict(Xt), layerwise.network.predict(Xt))


@pytest.mark.parametrize("method", ["lbfgs", "adam"])
def test_refinement_lowers_the_test_error_on_z1z2(problem, layerwise, method):
    # The layer-wise network's error comes from phase 2: fresh random biases and a ridge fit
    # of the outer layer on fixed features (0.11 here). Training every weight on twice the
    # samples removes most of it within a few iterations (measured after 10: 0.019 L-BFGS,
    # 0.017 Adam); half is a wide margin. 10 iterations keep the test fast.
    model, X1, y1, X2, y2, Xt, yt = problem
    # One core thread: Adam's mini-batches are short calls that extra threads only slow down.
    fit = train_layerwise(
        X1, y1, X2, y2, refine=method, refine_max_iter=10, n_threads=1, random_state=0
    )
    before = relative_test_error(layerwise.network.predict(Xt), yt)
    after = relative_test_error(fit.network.predict(Xt), yt)
    assert after < 0.5 * before
    joint = fit.refinement
    assert joint.n_train + joint.n_validation == X1.shape[0] + X2.shape[0]
    assert joint.n_iter == 10 and joint.stop_reason == "max_iter"
    assert joint.best_iter > 0
    # The subspace stays where phase 1 put it (refinement fits within it).
    distance = subspace_distance(neuron_subspace(fit.network.W, 2), model.U)
    assert distance < subspace_distance(neuron_subspace(layerwise.network.W, 2), model.U) + 0.02


def test_reuse_gives_phase_2_the_phase_1_samples(problem):
    _, X1, y1, _, _, Xt, _ = problem
    reuse = train_layerwise(X1, y1, phase2_data="reuse", random_state=0)
    same = train_layerwise(X1, y1, X1, y1, random_state=0)
    np.testing.assert_array_equal(reuse.phase1.W, same.phase1.W)
    np.testing.assert_array_equal(reuse.network.predict(Xt), same.network.predict(Xt))
    refined = train_layerwise(
        X1, y1, phase2_data="reuse", refine="adam", refine_max_iter=1, random_state=0
    )
    # The samples are trained on once, not twice.
    assert refined.refinement.n_train + refined.refinement.n_validation == X1.shape[0]


@pytest.fixture(scope="module")
def d256():
    """Issue 15's setting: z1*z2, d = 256, n = 64 d (D1, D2 of 32 d each), a test set, and
    the test error of MLPRegressor(64, batch_size=256, max_iter=50) on the same n samples."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor
    from threadpoolctl import threadpool_limits

    model = MultiIndexModel(256, "z1z2", random_state=0)
    (X1, y1), (X2, y2), (Xt, yt) = (model.sample(n) for n in (32 * 256, 32 * 256, 5000))
    mlp = MLPRegressor(hidden_layer_sizes=(64,), batch_size=256, max_iter=50, random_state=0)
    # One BLAS thread: faster for these small batches than threads that wait on each other.
    with threadpool_limits(limits=1, user_api="blas"), pytest.warns(ConvergenceWarning):
        mlp.fit(np.concatenate([X1, X2]), np.concatenate([y1, y2]))
    return (X1, y1), (X2, y2), (Xt, yt), relative_test_error(mlp.predict(Xt), yt)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["lbfgs", "adam"])
def test_refinement_at_d_256_beats_the_layerwise_network_and_mlp(d256, method):
    # Default refine budgets. Measured (seed 0): layer-wise 0.13, + L-BFGS 0.012, + Adam 0.013;
    # MLPRegressor 0.12 (the acceptance asks for half of it).
    (X1, y1), (X2, y2), (Xt, yt), mlp_error = d256
    fit = train_layerwise(X1, y1, X2, y2, refine=method, random_state=0)
    refined = relative_test_error(fit.network.predict(Xt), yt)
    assert refined < 0.25 * relative_test_error(fit.phase2.network.predict(Xt), yt)
    assert refined < 0.5 * mlp_error
