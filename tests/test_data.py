"""Multi-index data: the subspace, the labels, chunked sampling, reproducibility, errors."""

import numpy as np
import pytest

import mimkit.data as data
from mimkit.data import MultiIndexModel, make_multi_index, random_subspace


def test_labels_are_link_of_projection():
    model = MultiIndexModel(40, "z1z2", random_state=0)
    assert model.U.shape == (2, 40) and model.r == 2 and model.d == 40
    np.testing.assert_allclose(model.U @ model.U.T, np.eye(2), atol=1e-12)
    X, y = model.sample(500)
    Z = X @ model.U.T
    np.testing.assert_allclose(y, Z[:, 0] * Z[:, 1], rtol=1e-12, atol=1e-12)


def test_noise_has_requested_sd():
    # 20000 residuals: the sample sd of N(0, 0.3^2) is within 0.3 * 5 / sqrt(2 * 20000) ~ 0.008.
    model = MultiIndexModel(10, "he2_sum", r=2, noise=0.3, random_state=1)
    X, y = model.sample(20_000)
    resid = y - np.sum((X @ model.U.T) ** 2 - 1, axis=1)
    assert np.std(resid) == pytest.approx(0.3, abs=0.008)


def test_sampling_is_chunk_invariant_and_reproducible(monkeypatch):
    model = MultiIndexModel(7, "sign_z1z2", noise=0.1, random_state=2)
    X_a, y_a = model.sample(1000, random_state=5)
    monkeypatch.setattr(data, "_CHUNK_ROWS", 97)
    X_b, y_b = model.sample(1000, random_state=5)
    np.testing.assert_array_equal(X_a, X_b)
    np.testing.assert_array_equal(y_a, y_b)
    X_c, _ = model.sample(1000)  # the model's own stream advances: fresh data
    X_d, _ = model.sample(1000)
    assert not np.array_equal(X_c, X_d)
    again = MultiIndexModel(7, "sign_z1z2", noise=0.1, random_state=2)
    np.testing.assert_array_equal(again.U, model.U)


def test_float32_and_given_U():
    U = np.eye(6)[[4, 1]]
    X, y = MultiIndexModel(6, "z1z2", U=U, random_state=0).sample(50, dtype=np.float32)
    assert X.dtype == np.float32 and y.dtype == np.float32
    np.testing.assert_allclose(y, X[:, 4] * X[:, 1], rtol=1e-6)
    model = MultiIndexModel(6, lambda z: z[:, 0] ** 3, U=U[:1])  # r taken from U
    assert model.r == 1


def test_random_subspace_is_isotropic():
    # Haar: E[U^T U] = (r / d) I. Mean of 400 projectors at d = 8, r = 2: each entry has
    # sd <= 0.5 / sqrt(400) = 0.025; 0.1 is four sd.
    rng = np.random.default_rng(3)
    P = np.mean([u.T @ u for u in (random_subspace(2, 8, rng) for _ in range(400))], axis=0)
    np.testing.assert_allclose(P, np.eye(8) * 2 / 8, atol=0.1)


def test_make_multi_index():
    X, y, U = make_multi_index(300, 12, "norm2", noise=0.0, random_state=4, return_subspace=True)
    assert X.shape == (300, 12) and y.shape == (300,) and U.shape == (2, 12)
    np.testing.assert_allclose(y, np.mean((X @ U.T) ** 2, axis=1))
    X2, y2 = make_multi_index(300, 12, "norm2", random_state=4)
    np.testing.assert_array_equal(X, X2)
    X3, _ = make_multi_index(5, 4, lambda z: z[:, 0], r=1)
    assert X3.shape == (5, 4)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(d=0, link="z1z2"), ValueError, "d must be"),
        (dict(d=5, link="z1z2", noise=-1.0), ValueError, "noise"),
        (dict(d=5, link="z1z2", U=np.ones((2, 5))), ValueError, "orthonormal"),
        (dict(d=5, link="z1z2", U=np.eye(3)), ValueError, r"shape \(r, d\)"),
        (dict(d=5, link=lambda z: z[:, 0]), ValueError, "r"),
    ],
)
def test_model_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        MultiIndexModel(**kwargs)


def test_sample_errors():
    model = MultiIndexModel(5, "z1z2", random_state=0)
    with pytest.raises(ValueError, match="n must be"):
        model.sample(0)
    with pytest.raises(TypeError, match="dtype"):
        model.sample(3, dtype=np.int32)
    with pytest.raises(TypeError, match="random_state"):
        model.sample(3, random_state="seed")


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_sample_is_the_streamed_data_set_of_the_same_seed(dtype, tol):
    # The default generator is the core's: X is bit for bit the streamed data set's rows, and
    # the labels differ from the stream's only by the rounding of z = U x (BLAS here, the core
    # there), with the same noise draws.
    model = MultiIndexModel(33, "z1z2", noise=0.2, random_state=3)
    X, y = model.sample(3000, dtype=dtype, random_state=9)
    stream = model.stream(3000, dtype=dtype, random_state=9)
    assert X.dtype == dtype and y.dtype == dtype
    np.testing.assert_array_equal(X, stream.rows())
    np.testing.assert_allclose(y, stream.labels, rtol=tol, atol=tol)


def test_sample_is_the_same_on_one_and_two_threads():
    model = MultiIndexModel(50, "sign_z1z2", noise=0.1, random_state=4)
    X1, y1 = model.sample(5000, random_state=11, n_threads=1)
    X2, y2 = model.sample(5000, random_state=11, n_threads=2)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)


def test_numpy_generator_keeps_the_earlier_stream():
    # generator="numpy" reproduces data drawn before the core generator became the default:
    # PCG64 seeded by two draws of random_state, one for X and one for the noise.
    model = MultiIndexModel(9, "z1z2", noise=0.1, random_state=0)
    X, y = model.sample(100, random_state=4, generator="numpy")
    rng = np.random.default_rng(4)
    rng_x, rng_noise = (np.random.default_rng(s) for s in rng.integers(0, 2**63, size=2))
    X_ref = rng_x.standard_normal((100, 9))
    z = X_ref @ model.U.T
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_allclose(y, z[:, 0] * z[:, 1] + 0.1 * rng_noise.standard_normal(100))


def test_sample_generator_errors():
    model = MultiIndexModel(5, "z1z2", random_state=0)
    with pytest.raises(ValueError, match="unknown generator 'mt19937'; choose one of philox"):
        model.sample(3, generator="mt19937")
    with pytest.raises(ValueError, match="n_threads"):
        model.sample(3, n_threads=0)
