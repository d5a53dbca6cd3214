"""Streamed data sets: the generator against an independent numpy Philox4x32-10 and scipy's ndtri,
the quantile kernel, determinism, statistics, labels, and the core on a stream bit for bit equal
to the core on the same rows as an array."""

import pickle

import numpy as np
import pytest
from scipy import special, stats

import mimkit.stream as stream_module
from mimkit import core, reference
from mimkit._native import native
from mimkit.data import MultiIndexModel
from mimkit.links import LINKS
from mimkit.stream import StreamedData

# --- an independent Philox4x32-10 (Salmon et al., SC'11) in numpy uint64 arithmetic ----------

_MASK = np.uint64(0xFFFFFFFF)
_MUL = (np.uint64(0xD2511F53), np.uint64(0xCD9E8D57))
_WEYL = (0x9E3779B9, 0xBB67AE85)


def philox4x32_10(ctr, key):
    """Encrypt counters ``ctr`` (4 words, each an int or an array) under ``key`` (2 words, each an
    int or an array): ten rounds, the key bumped by the Weyl constants between rounds."""
    c = [np.asarray(w, dtype=np.uint64) & _MASK for w in ctr]
    k = [np.asarray(w, dtype=np.uint64) & _MASK for w in key]
    for _ in range(10):
        p0 = _MUL[0] * c[0]  # 32 x 32 -> 64-bit products: exact in uint64
        p1 = _MUL[1] * c[2]
        c = [
            (p1 >> np.uint64(32)) ^ c[1] ^ k[0],
            p1 & _MASK,
            (p0 >> np.uint64(32)) ^ c[3] ^ k[1],
            p0 & _MASK,
        ]
        k = [(k[0] + np.uint64(_WEYL[0])) & _MASK, (k[1] + np.uint64(_WEYL[1])) & _MASK]
    return np.stack(np.broadcast_arrays(*c))


def uniform_from_words(hi, lo):
    """(k + 1/2) 2^-52 with k the top 52 of the 64 bits hi:lo."""
    bits = (hi << np.uint64(32)) | lo
    return ((bits >> np.uint64(12)).astype(np.float64) + 0.5) * 2.0**-52


def seed_key(seed):
    return (seed & 0xFFFFFFFF, seed >> 32)


def reference_uniforms(seed, rows, d):
    """The uniforms behind rows ``rows`` (uint64 indices) of the input stream of data set ``seed``:
    column 512 b + 128 k + c (k < 4, c < 128) has the high 32 bits of word k of the Philox block
    of counter (128 b + c, i_lo, i_hi, 0) and the low 20 bits of word k of the block of counter
    (128 b + c, i_lo, i_hi, 2^31)."""
    rows = np.asarray(rows, dtype=np.uint64)
    blocks = -(-d // 512)
    j = np.arange(512 * blocks, dtype=np.uint64)
    counter = j // np.uint64(512) * np.uint64(128) + j % np.uint64(128)
    word = (j % np.uint64(512)) // np.uint64(128)
    p, i = np.meshgrid(counter, rows, indexing="ij")
    high = philox4x32_10((p, i & _MASK, i >> np.uint64(32), 0), seed_key(seed))
    low = philox4x32_10((p, i & _MASK, i >> np.uint64(32), 2**31), seed_key(seed))
    cols = np.arange(j.size)
    u = uniform_from_words(high[word, cols].T, low[word, cols].T)
    return u[:, :d]


def reference_rows(seed, rows, d):
    return special.ndtri(reference_uniforms(seed, rows, d))


def reference_noise(seed, rows):
    """Label noise of rows ``rows``: words (0, 1) of the block of counter (0, i_lo, i_hi, 1)."""
    i = np.asarray(rows, dtype=np.uint64)
    w = philox4x32_10((0, i & _MASK, i >> np.uint64(32), 1), seed_key(seed))
    return special.ndtri(uniform_from_words(w[0], w[1]))


# AS 241 as implemented is within 6 ulps of the exact quantile, ndtri within 3 (both measured
# against mpmath); 9 ulps of 2^-52 relative is 2e-15.
QUANTILE_RTOL = 2e-15
# float32 AS 241 (float32 Horner of a degree-7 rational, float32 log/sqrt in the tails) measured
# at <= 5.2 float32 ulps of the true quantile over 8e5 points of the generator's domain.
FLOAT32_ULPS = 8


def float32_ulps(got32, want64):
    """|got - want| in units of the float32 spacing at |want|."""
    spacing = np.spacing(np.abs(want64).astype(np.float32)).astype(np.float64)
    return np.abs(got32.astype(np.float64) - want64) / spacing


def model(d, link="he2_sum", **kw):
    return MultiIndexModel(d, link, random_state=0, **kw)


# --- 1. Philox and the rows --------------------------------------------------------------------

KNOWN_ANSWERS = [  # Random123's kat_vectors for philox4x32_10
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]


def test_reference_philox_matches_random123_known_answers():
    for ctr, key, want in KNOWN_ANSWERS:
        assert [int(w) for w in philox4x32_10(ctr, key)] == list(want)
    # all three at once, counters and keys as arrays: the vectorised form used below
    ctr = np.array([c for c, _, _ in KNOWN_ANSWERS], dtype=np.uint64).T
    key = np.array([k for _, k, _ in KNOWN_ANSWERS], dtype=np.uint64).T
    want = np.array([w for _, _, w in KNOWN_ANSWERS], dtype=np.uint64).T
    np.testing.assert_array_equal(philox4x32_10(ctr, key), want)


@pytest.mark.parametrize("d", [7, 300, 513, 1100])  # blocks of 512 columns: partly used, spanned
@pytest.mark.parametrize(
    "row_begin",
    [0, 2**32 - 3, 2**32 + 5, 2**40 + 12345],
    ids=["0", "across-2^32", "2^32+5", "2^40"],
)
@pytest.mark.parametrize("seed", [12345, 2**64 - 1, 2**32 + 7])
def test_rows_are_philox_and_the_normal_quantile(d, row_begin, seed):
    n = 40
    data = StreamedData(model(d), n, seed, np.float64, row_begin=row_begin)
    X = data.rows()
    want = reference_rows(seed, np.arange(n, dtype=np.uint64) + np.uint64(row_begin), d)
    assert X.shape == (n, d) and X.dtype == np.float64
    assert np.all(np.abs(X - want) <= QUANTILE_RTOL * np.abs(want))
    # the float32 rows of the same data set: the float32 kernel on the same uniforms
    X32 = StreamedData(model(d), n, seed, np.float32, row_begin=row_begin).rows()
    assert X32.dtype == np.float32
    assert np.max(float32_ulps(X32, want)) <= FLOAT32_ULPS


def test_label_noise_is_its_own_philox_stream():
    for seed, row_begin in [(99, 0), (2**63 + 5, 2**32 - 100)]:
        address = native.RowAddress(seed, row_begin, 300, 4)
        want = reference_noise(seed, np.arange(300, dtype=np.uint64) + np.uint64(row_begin))
        got = native.gaussian_noise(address)
        assert got.shape == (300,) and np.all(np.abs(got - want) <= QUANTILE_RTOL * np.abs(want))


# --- 2. the quantile kernel ----------------------------------------------------------------------


def quantile_points():
    rng = np.random.default_rng(0)
    u = np.concatenate(
        [
            rng.random(100_000),
            10.0 ** -rng.uniform(0, 300, 50_000),  # the tails down to 1e-300
            2.0**-53 * np.arange(1, 500),  # the generator's smallest uniforms
            [
                1e-300,
                2.0**-53,
                1e-12,
                1.4e-11,
                np.exp(-25.0),  # exp(-25): s = 5, the far tail
                np.nextafter(np.exp(-25.0), 0),
                np.nextafter(np.exp(-25.0), 1),
                0.075,
                0.925,
                np.nextafter(0.075, 0),
                np.nextafter(0.075, 1),  # |u - 1/2| = 0.425
                np.nextafter(0.925, 0),
                np.nextafter(0.925, 1),
                0.5,
                np.nextafter(0.5, 0),
                np.nextafter(0.5, 1),
                1 - 2.0**-53,
            ],
        ]
    )
    return np.concatenate([u, 1 - u[u >= 2.0**-53]])  # and the upper tail (1 - u exact there)


def test_normal_quantile_float64_matches_ndtri():
    u = quantile_points()
    for length in (u.size, 1, 3, 7, 9, 17):  # the SIMD body and the scalar remainder
        out = np.empty(length)
        native.normal_quantile(u[:length].copy(), out)
        want = special.ndtri(u[:length])
        # relative, so at u = 1/2 the result must be exactly 0 and near it tiny values stay exact
        assert np.all(np.abs(out - want) <= QUANTILE_RTOL * np.abs(want)), length


def test_normal_quantile_float32_is_within_a_few_ulps():
    u = quantile_points()
    u = u[(u >= 2.0**-53) & (u <= 1 - 2.0**-53)]  # what the generator makes (philox.hpp)
    out = np.empty(u.size, np.float32)
    native.normal_quantile(u, out)
    assert np.max(float32_ulps(out, special.ndtri(u))) <= FLOAT32_ULPS
    half = np.empty(1, np.float32)
    native.normal_quantile(np.array([0.5]), half)
    assert half[0] == 0


def test_normal_quantile_rejects_mismatched_arrays():
    with pytest.raises(ValueError, match="same length"):
        native.normal_quantile(np.full(3, 0.5), np.empty(4))


# --- 3. determinism and independence -----------------------------------------------------------


def test_rows_are_the_same_for_every_call_thread_count_chunk_and_subset():
    data = StreamedData(model(131), 2001, 42, np.float64)
    X = data.rows()
    assert data.shape == (2001, 131) and len(data) == 2001 and data.nbytes == X.nbytes
    np.testing.assert_array_equal(data.rows(), X)
    np.testing.assert_array_equal(data.rows(n_threads=1), X)
    np.testing.assert_array_equal(data.rows(n_threads=2), X)
    for a, b in [(0, 1), (1, 2), (17, 1000), (1999, 2001), (0, 2001)]:
        np.testing.assert_array_equal(data.rows(a, b), X[a:b])
        part = data.subset(a, b)
        assert part.row_begin == a and part.shape == (b - a, 131)
        np.testing.assert_array_equal(part.rows(n_threads=2), X[a:b])
    np.testing.assert_array_equal(data.subset(100, 900).subset(5, 50).rows(), X[105:150])
    starts, chunks = zip(*data.chunks(300))
    assert starts == tuple(range(0, 2001, 300))
    np.testing.assert_array_equal(np.concatenate(chunks), X)
    # a stream drawn from the model with the same random_state is the same data set
    m = model(131)
    one, two = m.stream(50, random_state=3), m.stream(50, random_state=3)
    assert one.seed == two.seed and 0 <= one.seed < 2**63
    np.testing.assert_array_equal(one.rows(), two.rows())


def test_float32_rows_are_float64_rows_to_a_few_ulps():
    X64 = StreamedData(model(64), 3000, 8, np.float64).rows()
    X32 = StreamedData(model(64), 3000, 8, np.float32).rows()
    assert np.max(float32_ulps(X32, X64)) <= FLOAT32_ULPS
    assert np.any(X32 != X64.astype(np.float32))  # really computed in float32, not rounded


def test_different_seeds_give_unrelated_rows():
    d, n = 32, 4000
    X = StreamedData(model(d), n, 5, np.float64).rows()
    # key lo word, key hi word, and the same seed shifted by one row
    others = [
        StreamedData(model(d), n, 6, np.float64).rows(),
        StreamedData(model(d), n, 5 + 2**32, np.float64).rows(),
        StreamedData(model(d), n, 5, np.float64, row_begin=1).rows(),
    ]
    for Y in others:
        assert not np.any(X == Y)
        # the mean of n d products of independent N(0, 1): sd 1 / sqrt(n d)
        assert abs(np.mean(X * Y)) < 5 / np.sqrt(n * d)


# --- 4. statistics -----------------------------------------------------------------------------


def test_rows_are_standard_normal():
    n, d = 4096, 255
    X = StreamedData(model(d), n, 20240607, np.float64).rows()
    x = X.ravel()
    N = x.size  # ~1.04e6; margins are 5 standard errors
    assert abs(x.mean()) < 5 / np.sqrt(N)
    assert abs(np.mean(x**2) - 1) < 5 * np.sqrt(2 / N)  # Var(x^2) = 3 - 1
    assert abs(np.mean(x**4) - 3) < 5 * np.sqrt(96 / N)  # Var(x^4) = 105 - 9
    p3 = 2 * special.ndtr(-3.0)
    assert abs(np.sum(np.abs(x) > 3) - N * p3) < 5 * np.sqrt(N * p3 * (1 - p3))
    assert stats.kstest(x, "norm").pvalue > 1e-3
    # products of distinct entries: mean 0, variance 1, pairwise uncorrelated -> sd 1/sqrt(count)
    within_pair = X[:, 0:-1:2] * X[:, 1::2]  # the two halves of one Philox block
    across_pairs = X[:, 1:-1:2] * X[:, 2::2]  # neighbouring blocks
    adjacent_rows = X[:-1] * X[1:]
    for products in (within_pair, across_pairs, adjacent_rows):
        assert abs(products.mean()) < 5 / np.sqrt(products.size)


def test_label_noise_is_standard_normal_and_independent_of_the_rows():
    n = 200_000
    address = native.RowAddress(31337, 0, n, 1)
    xi = native.gaussian_noise(address)
    x0 = np.empty((n, 1))
    native.gaussian_rows(address, x0, 0)  # counter (0, row, 0) vs the noise's (0, row, 1)
    assert abs(xi.mean()) < 5 / np.sqrt(n)
    assert abs(np.mean(xi**2) - 1) < 5 * np.sqrt(2 / n)
    assert abs(np.mean(xi * x0[:, 0])) < 5 / np.sqrt(n)
    assert stats.kstest(xi, "norm").pvalue > 1e-3


# --- 5. labels ---------------------------------------------------------------------------------


def projection_error_bound(X, U):
    """Bound on |fl(X U^T) - X U^T| for any summation order, in the dtype of X (Higham's
    gamma_d), plus the float64 rounding of the comparison product itself."""
    d = X.shape[1]

    def gamma(eps):
        return d * eps / (1 - d * eps)

    absolute = np.abs(X.astype(np.float64)) @ np.abs(U.astype(np.float64)).T
    return (gamma(np.finfo(X.dtype).eps / 2) + gamma(2.0**-53)) * absolute


def custom_link(z):
    custom_link.calls.append((z.shape, z.dtype))
    return np.tanh(z[:, 0]) + 0.5 * z[:, 1]  # 1-Lipschitz in z0, 1/2 in z1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("noise", [0.0, 0.3])
@pytest.mark.parametrize("link", ["he2_sum", "custom"])
def test_labels_are_the_link_of_the_projection_plus_noise(link, noise, dtype):
    d = 9
    n = 40_000 if link == "custom" else 3_000  # the custom link over several label blocks
    custom_link.calls = []
    m = MultiIndexModel(
        d,
        custom_link if link == "custom" else link,
        r=2 if link == "custom" else 3,
        noise=noise,
        random_state=1,
    )
    data = StreamedData(m, n, 2024, dtype)
    y = data.labels
    assert y.shape == (n,) and y.dtype == np.float64
    X = data.rows()
    U = m.U.astype(dtype)
    z = X.astype(np.float64) @ U.astype(np.float64).T
    dz = projection_error_bound(X, U)
    eps = 2.0**-53
    if link == "custom":
        calls = custom_link.calls[:]
        # one call per block of rows, each on float64 z of shape (block, r), covering all rows
        assert len(calls) == -(-n // stream_module._BLOCK_ROWS) > 1
        assert sum(shape[0] for shape, _ in calls) == n
        assert all(shape[1] == 2 and dt == np.float64 for shape, dt in calls)
        g = np.tanh(z[:, 0]) + 0.5 * z[:, 1]
        tol = dz[:, 0] + 0.5 * dz[:, 1] + 4 * eps * (1 + np.abs(z[:, 1]))
    else:
        g = np.sum(z**2 - 1, axis=1)
        tol = np.sum(2 * np.abs(z) * dz + dz**2, axis=1) + 8 * eps * np.sum(z**2 + 1, axis=1)
    xi = reference_noise(data.seed, np.arange(n))
    want = g + noise * xi
    tol = tol + noise * QUANTILE_RTOL * np.abs(xi) + 2 * eps * np.abs(want)
    assert np.all(np.abs(y - want) <= tol)
    if noise:  # the noise is really there, with the model's sd
        assert abs(np.std(y - g) - noise) < 5 * noise / np.sqrt(2 * n)
    # cached: the same array, the link not called again; a subset shares it
    calls = len(custom_link.calls)
    assert data.labels is y and len(custom_link.calls) == calls
    part = data.subset(100, 2000)
    assert np.shares_memory(part.labels, y) and np.array_equal(part.labels, y[100:2000])
    # a fresh object of the same data set computes the same labels
    np.testing.assert_array_equal(StreamedData(m, n, 2024, dtype).labels, y)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_link_producing_nan_or_inf_raises(bad):
    m = MultiIndexModel(5, lambda z: np.where(z[:, 0] > 2.5, bad, z[:, 0]), r=1, random_state=0)
    data = StreamedData(m, 5000, 3, np.float64)  # ~30 rows with z > 2.5
    with pytest.raises(ValueError, match="NaN or inf labels"):
        _ = data.labels
    ok = MultiIndexModel(5, lambda z: np.where(z[:, 0] > 50, bad, z[:, 0]), r=1, random_state=0)
    assert np.all(np.isfinite(StreamedData(ok, 5000, 3, np.float64).labels))


# --- 6. the core on a stream equals the core on its rows ----------------------------------------


@pytest.fixture(params=[0, 7], ids=["auto-chunks", "7-row-chunks"])
def chunk_rows(request, monkeypatch):
    monkeypatch.setattr(core, "_CHUNK_ROWS", request.param)
    return request.param


def stream_problem(dtype, n=1001, d=37, m=6, scale=0.5):
    data = StreamedData(model(d), n, 77, dtype)
    rng = np.random.default_rng(0)
    W = (rng.standard_normal((m, d)) * scale / np.sqrt(d)).astype(dtype)
    b = (0.3 * rng.standard_normal(m)).astype(dtype)
    a = rng.standard_normal(m).astype(dtype)
    return data, data.rows(), data.labels, W, b, a


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradient_forward_and_matvec_on_a_stream_equal_the_array_path(dtype, threads, chunk_rows):
    data, X, y, W, b, a = stream_problem(dtype)
    for activation in ("logcosh", "quadratic", "cos"):
        p = core.forward(data, W, b, a, activation, n_threads=threads)
        assert p.dtype == dtype
        np.testing.assert_array_equal(p, core.forward(X, W, b, a, activation, n_threads=threads))
        for loss in ("squared", "absolute", "huber"):
            kw = dict(activation=activation, loss=loss, huber_delta=0.7, n_threads=threads)
            grad, mean_loss = core.phase1_gradient(data, y, W, b, a, **kw)
            grad_x, mean_loss_x = core.phase1_gradient(X, y, W, b, a, **kw)
            np.testing.assert_array_equal(grad, grad_x)
            assert mean_loss == mean_loss_x
    rng = np.random.default_rng(1)
    t = rng.standard_normal(data.n)
    for k in (1, 6):
        V = rng.standard_normal((data.d, k)).astype(dtype)
        out = core.local_hessian_matvec(data, t, V, n_threads=threads)
        assert out.shape == (data.d, k) and out.dtype == dtype
        np.testing.assert_array_equal(out, core.local_hessian_matvec(X, t, V, n_threads=threads))
        T = rng.standard_normal((data.n, k))  # one weighting per column
        out = core.local_hessian_matvec(data, T, V, n_threads=threads)
        np.testing.assert_array_equal(out, core.local_hessian_matvec(X, T, V, n_threads=threads))
    vec = core.local_hessian_matvec(data, t, V[:, 0], n_threads=threads)
    np.testing.assert_array_equal(vec, core.local_hessian_matvec(X, t, V[:, 0], n_threads=threads))
    for activation in ("logcosh", "quadratic", "cos"):
        H = core.hidden_features(data, W * 4, b, activation, n_threads=threads)
        assert H.dtype == dtype
        np.testing.assert_array_equal(
            H, core.hidden_features(X, W * 4, b, activation, n_threads=threads)
        )
        stats = core.hidden_statistics(data, y, W * 4, b, activation, n_threads=threads)
        for got, want in zip(
            stats, core.hidden_statistics(X, y, W * 4, b, activation, n_threads=threads)
        ):
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_phase1_run_on_a_stream_equals_the_array_path(dtype, chunk_rows):
    data, X, y, W, b, a = stream_problem(dtype, n=777)
    basis = data.model.U.T.astype(dtype).copy()
    kw = dict(
        activation="logcosh",
        loss="huber",
        lr=0.3,
        weight_decay=1.0,
        n_steps=12,
        record_steps=[0, 5, 12],
        keep_scale="auto",
        n_threads=2,
    )
    # small init and b = 0: 'auto' turns rescaling on; the larger init leaves it off
    for W0, b0, basis_or_none, scaled in [(W * 1e-7, b * 0, basis, True), (W, b, None, False)]:
        run = core.phase1_run(data, y, W0, b0, a, record_basis=basis_or_none, **kw)
        run_x = core.phase1_run(X, y, W0, b0, a, record_basis=basis_or_none, **kw)
        assert run.keep_scale == run_x.keep_scale == scaled
        assert run.W.dtype == dtype and np.all(np.isfinite(run.loss))
        for field in ("W", "recorded", "loss", "log_scale", "record_steps"):
            np.testing.assert_array_equal(getattr(run, field), getattr(run_x, field), err_msg=field)
        assert run.recorded.shape == (3, W.shape[0], 3 if basis_or_none is not None else data.d)


def test_reference_and_local_hessian_reject_a_stream():
    data, X, y, W, b, a = stream_problem(np.float64, n=50, d=5, m=2)
    t, V = np.ones(50), np.ones((5, 2))
    calls = [
        lambda: reference.forward(data, W, b, a, "logcosh"),
        lambda: reference.phase1_gradient(data, y, W, b, a, activation="cos", loss="squared"),
        lambda: reference.phase1_run(
            data, y, W, b, a, activation="cos", loss="squared", lr=0.1, weight_decay=0.1, n_steps=1
        ),
        lambda: reference.local_hessian_matvec(data, t, V),
        lambda: reference.local_hessian(data, t),
        lambda: core.local_hessian(data, t),
    ]
    for call in calls:
        with pytest.raises(TypeError, match="not a StreamedData"):
            call()


def test_bad_stream_inputs_raise_clear_errors():
    m = model(5)
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        StreamedData(m, 0, 1)
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        m.stream(0)
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        StreamedData(m, 10, 1, dtype=int)
    with pytest.raises(ValueError, match=r"seed must be in \[0, 2\*\*64\)"):
        StreamedData(m, 10, -1)
    with pytest.raises(ValueError, match=r"seed must be in \[0, 2\*\*64\)"):
        StreamedData(m, 10, 2**64)
    for row_begin in (-1, 2**63):
        with pytest.raises(ValueError, match="row_begin must be in"):
            StreamedData(m, 10, 1, row_begin=row_begin)
    data = StreamedData(m, 10, 1, np.float64)
    for a, b in [(3, 3), (-1, 4), (0, 11)]:
        with pytest.raises(ValueError, match=r"need 0 <= start < stop <= n = 10"):
            data.rows(a, b)
        with pytest.raises(ValueError, match=r"need 0 <= start < stop <= n = 10"):
            data.subset(a, b)
    W, b0, a0 = np.ones((2, 5)), np.zeros(2), np.ones(2)
    with pytest.raises(ValueError, match="y has length 9; expected 10"):
        core.phase1_gradient(data, np.ones(9), W, b0, a0, activation="cos", loss="squared")
    with pytest.raises(ValueError, match="y has length 11; expected 10"):
        core.phase1_run(
            data,
            np.ones(11),
            W,
            b0,
            a0,
            activation="cos",
            loss="squared",
            lr=0.1,
            weight_decay=0.0,
            n_steps=1,
        )
    with pytest.raises(ValueError, match="t has length 9; expected 10"):
        core.local_hessian_matvec(data, np.ones(9), np.ones(5))
    with pytest.raises(TypeError, match="W has dtype float32"):
        core.forward(data, W.astype(np.float32), b0, a0, "cos")


# --- every entry depends on its address alone ---------------------------------------------


def test_label_noise_of_a_row_does_not_depend_on_the_range_it_is_made_in():
    seed = 777
    full = native.gaussian_noise(native.RowAddress(seed, 0, 1000, 1))
    for begin, count in [(0, 13), (3, 500), (5, 995), (128, 7)]:
        part = native.gaussian_noise(native.RowAddress(seed, begin, count, 1))
        np.testing.assert_array_equal(part, full[begin : begin + count])


def test_a_row_address_travels_by_pickle_to_whichever_core_variant_the_receiver_loaded():
    data = StreamedData(model(6), 50, 2**63 + 7, np.float64, row_begin=10)
    address = data.row_address(5, 20)
    payload = pickle.dumps(address)
    assert b"_core_" not in payload  # names no ISA variant
    copy = pickle.loads(payload)
    assert type(copy) is native.RowAddress
    assert (copy.seed, copy.row_begin, copy.n_rows, copy.d) == (2**63 + 7, 15, 15, 6)
    out = np.empty((15, 6))
    native.gaussian_rows(copy, out, 1)
    np.testing.assert_array_equal(out, data.rows(5, 20))


def test_an_entry_does_not_depend_on_the_number_of_columns():
    wide = StreamedData(model(16), 500, 777, np.float64).rows()
    for d in (3, 7, 9, 15):
        np.testing.assert_array_equal(
            StreamedData(model(d), 500, 777, np.float64).rows(), wide[:, :d]
        )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(LINKS))
def test_library_link_labels_made_in_the_core_equal_the_link_of_the_projection(name, dtype):
    """One core pass (rows, z, g, noise) against the core's projection, then the same link on
    arrays and the noise stream: equal up to a fused multiply-add's rounding."""
    mod = MultiIndexModel(23, name, noise=0.2, random_state=3)
    data = StreamedData(mod, 2000, 5, dtype)
    assert mod.link.in_core
    address = data.row_address()
    z = native.project_rows(address, mod.U.astype(dtype), 0, 0).astype(np.float64)
    want = mod.link(z) + 0.2 * native.gaussian_noise(address)
    np.testing.assert_allclose(data.labels, want, rtol=1e-14, atol=1e-14)


def test_core_links_reject_too_few_directions():
    with pytest.raises(ValueError, match="fewer columns"):
        native.link_values(np.zeros((4, 2)), "z1z2z3")
    with pytest.raises(ValueError, match="unknown link"):
        native.link_values(np.zeros((4, 2)), "z1z3")


def test_labels_of_a_row_do_not_depend_on_the_range_they_are_made_in():
    """z = U x is one fixed-order dot product per row, so a subset (or a data set starting at
    row_begin) gets its labels bit for bit as the parent does, noise included."""
    mod = MultiIndexModel(37, "he2_sum", r=3, noise=0.3, random_state=0)
    for dtype in (np.float32, np.float64):
        parent = StreamedData(mod, 3000, 99, dtype)
        for begin, stop in [(0, 13), (5, 2999), (1000, 1007)]:
            fresh = StreamedData(mod, stop - begin, 99, dtype, row_begin=begin)
            np.testing.assert_array_equal(fresh.labels, parent.labels[begin:stop])
