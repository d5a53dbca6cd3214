"""The compiled core against the numpy reference, finite differences and power iteration."""

import itertools

import mpmath
import numpy as np
import pytest

from mimkit import core, reference

ACTIVATIONS = ("logcosh", "quadratic", "cos")
LOSSES = ("squared", "absolute", "huber")
# float64: both sides compute the same sums in different orders -> a few ulps of the result's
# scale; 1e-12 leaves three orders of magnitude. float32: eps = 6e-8 times sums of up to ~1e3
# terms of mixed sign -> 1e-5.
RTOL = {np.float64: 1e-12, np.float32: 1e-5}
# (n, d, m): odd n over several chunks, n smaller than a chunk, d = 1, m = 2
SHAPES = [(1001, 37, 6), (5, 12, 4), (300, 1, 2), (64, 9, 2)]


def relative_error(got, want):
    scale = max(np.max(np.abs(want)), np.finfo(np.asarray(want).dtype).tiny)
    return np.max(np.abs(np.asarray(got, dtype=np.float64) - want)) / scale


def problem(n, d, m, dtype, seed=0, scale=0.4):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    y = rng.standard_normal(n).astype(dtype)
    W = (rng.standard_normal((m, d)) * scale / np.sqrt(d)).astype(dtype)
    b = (0.3 * rng.standard_normal(m)).astype(dtype)
    a = rng.standard_normal(m).astype(dtype)
    return X, y, W, b, a


@pytest.fixture(params=[0, 7], ids=["auto-chunks", "7-row-chunks"])
def chunk_rows(request, monkeypatch):
    """Run the core with its cache-sized chunks and with tiny chunks (many partial chunks)."""
    monkeypatch.setattr(core, "_CHUNK_ROWS", request.param)
    return request.param


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_gradient_and_forward_match_reference(shape, threads, dtype, chunk_rows):
    X, y, W, b, a = problem(*shape, dtype)
    for activation, loss in itertools.product(ACTIVATIONS, LOSSES):
        kw = dict(activation=activation, loss=loss, huber_delta=0.7)
        grad, mean_loss = core.phase1_gradient(X, y, W, b, a, n_threads=threads, **kw)
        grad_ref, mean_loss_ref = reference.phase1_gradient(X, y, W, b, a, **kw)
        assert grad.dtype == dtype and grad.shape == W.shape
        assert relative_error(grad, grad_ref) < RTOL[dtype], (activation, loss)
        assert abs(mean_loss - mean_loss_ref) <= RTOL[dtype] * abs(mean_loss_ref)
        p = core.forward(X, W, b, a, activation, n_threads=threads)
        assert p.dtype == dtype and p.shape == (shape[0],)
        assert relative_error(p, reference.forward(X, W, b, a, activation)) < RTOL[dtype]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_hidden_features_and_statistics_match_reference(shape, threads, dtype, chunk_rows):
    # scale 3: pre-activations of order 1, so logcosh leaves its Taylor range
    X, y, W, b, _ = problem(*shape, dtype, scale=3.0)
    for activation in ACTIVATIONS:
        H = core.hidden_features(X, W, b, activation, n_threads=threads)
        assert H.dtype == dtype and H.shape == (shape[0], shape[2])
        assert relative_error(H, reference.hidden_features(X, W, b, activation)) < RTOL[dtype]
        got = core.hidden_statistics(X, y, W, b, activation, n_threads=threads)
        want = reference.hidden_statistics(X, y, W, b, activation)
        for name, g, w in zip(("sum_h", "gram", "h_dot_y"), got, want):
            assert g.dtype == np.float64 and g.shape == w.shape, name
            assert relative_error(g, w) < RTOL[dtype], (activation, name)
        assert np.array_equal(got[1], got[1].T)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_local_hessian_matches_reference(shape, threads, dtype, chunk_rows):
    n, d, _ = shape
    X, y, *_ = problem(n, d, 2, dtype)
    V = np.random.default_rng(1).standard_normal((d, 3)).astype(dtype)
    out = core.local_hessian_matvec(X, y, V, n_threads=threads)
    assert out.shape == (d, 3) and out.dtype == dtype
    assert relative_error(out, reference.local_hessian_matvec(X, y, V)) < RTOL[dtype]
    wide = np.random.default_rng(2).standard_normal((d, 40)).astype(dtype)
    assert (
        relative_error(
            core.local_hessian_matvec(X, y, wide, n_threads=threads),
            reference.local_hessian_matvec(X, y, wide),
        )
        < RTOL[dtype]
    )
    vec = core.local_hessian_matvec(X, y, V[:, 0], n_threads=threads)
    assert vec.shape == (d,)
    assert relative_error(vec, out[:, 0]) < RTOL[dtype]
    S = core.local_hessian(X, y, n_threads=threads)
    assert np.array_equal(S, S.T)
    assert relative_error(S, reference.local_hessian(X, y)) < RTOL[dtype]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("k", [3, 6], ids=["gemv", "gemm"])
def test_local_hessian_matvec_with_one_weighting_per_column(shape, threads, dtype, k, chunk_rows):
    """t of shape (n, k): column j is X^T (t[:, j] * (X v_j)) / n, checked column by column
    against numpy; up to 4 columns (one GEMV pair each) bitwise equal to k separate calls, so
    Krylov processes stepped together take the same steps as alone."""
    n, d, _ = shape
    X, *_ = problem(n, d, 2, dtype)
    rng = np.random.default_rng(4)
    T = rng.standard_normal((n, k)).astype(dtype)
    V = rng.standard_normal((d, k)).astype(dtype)
    out = core.local_hessian_matvec(X, T, V, n_threads=threads)
    assert out.shape == (d, k) and out.dtype == dtype
    X64 = X.astype(np.float64)
    for j in range(k):
        want = X64.T @ (T[:, j] * (X64 @ V[:, j].astype(np.float64))) / n
        assert relative_error(out[:, j], want) < RTOL[dtype], j
    assert relative_error(out, reference.local_hessian_matvec(X, T, V)) < RTOL[dtype]
    np.testing.assert_array_equal(out, core.local_hessian_matvec(X, T, V, n_threads=threads))
    if k <= 4:
        alone = [
            core.local_hessian_matvec(X, T[:, j], V[:, j], n_threads=threads) for j in range(k)
        ]
        np.testing.assert_array_equal(out, np.stack(alone, axis=1))
    with pytest.raises(ValueError, match="t has shape"):
        core.local_hessian_matvec(X, T[:, :-1], V)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("loss", LOSSES)
def test_gradient_matches_central_differences(activation, loss):
    X, y, W, b, a = problem(40, 6, 4, np.float64, seed=3, scale=1.5)
    kw = dict(activation=activation, loss=loss, huber_delta=0.5)
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
        # central differences: O(h^2) truncation + O(eps / h) rounding ~ 1e-10 absolute; a kink
        # crossed within +-h (absolute, huber) shifts the estimate by <= |dL| ~ 1/n * ... << 1e-6
        assert abs(numeric - grad[j, k]) < 1e-6 * max(1.0, abs(grad[j, k])), (j, k)


def test_phase1_run_matches_reference_with_records():
    X, y, W, b, a = problem(501, 11, 6, np.float64, scale=0.8)
    B = np.linalg.qr(np.random.default_rng(2).standard_normal((11, 3)))[0]
    kw = dict(
        activation="logcosh",
        loss="huber",
        lr=0.3,
        weight_decay=0.5,
        n_steps=25,
        record_steps=[25, 0, 7, 7],
    )
    for basis in (None, B):
        run = core.phase1_run(X, y, W, b, a, record_basis=basis, **kw)
        ref = reference.phase1_run(X, y, W, b, a, record_basis=basis, **kw)
        assert list(run.record_steps) == [0, 7, 25]
        assert relative_error(run.W, ref.W) < 1e-12
        assert relative_error(run.recorded, ref.recorded) < 1e-12
        assert relative_error(run.loss, ref.loss) < 1e-12
        final = run.W if basis is None else run.W @ basis
        assert relative_error(run.recorded[-1], final) < 1e-14
    assert relative_error(run.recorded[0], W @ B) < 1e-14


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_phase1_run_is_power_iteration_in_the_linear_regime(dtype):
    """Quadratic activation, squared loss, lr * weight_decay = 1, tiny init: each step maps
    w_j -> lr a_j S w_j with S = (1/n) sum_i y_i x_i x_i^T (docs/theory.md, "Phase 1"), so
    W_T[j] is parallel to S^T w_j(0)."""
    n, d, m, steps = 2000, 20, 4, 12
    rng = np.random.default_rng(5)
    X = rng.standard_normal((n, d))
    y = X[:, 0] ** 2 - X[:, 1] ** 2 + 0.3 * rng.standard_normal(n)
    W0 = rng.standard_normal((m, d)) * 1e-12  # stays < 1e-5 over the free run below
    a = np.array([1.0, -1.0, 0.5, -0.5])
    lr = 2.0
    kw = dict(activation="quadratic", loss="squared", lr=lr, weight_decay=1 / lr, n_steps=steps)
    inputs = (X, y, W0, np.zeros(m), a)
    run = core.phase1_run(*(v.astype(dtype) for v in inputs), keep_scale=True, **kw)
    assert run.keep_scale
    S = reference.local_hessian(X, y)
    for j in range(m):
        power = np.linalg.matrix_power(lr * a[j] * S, steps) @ W0[j]
        cosine = run.W[j] @ power / (np.linalg.norm(run.W[j]) * np.linalg.norm(power))
        # the linearisation error is O(|w x|^2) ~ 1e-16 per step; float32 rounding ~ 1e-6
        assert cosine > 1 - (1e-10 if dtype == np.float64 else 1e-5)
    # keep_scale only rescales: exp(log_scale) * W is the un-rescaled run
    free = core.phase1_run(*inputs, keep_scale=False, **kw)
    assert not free.keep_scale and np.all(free.log_scale == 0)
    if dtype == np.float64:
        assert relative_error(np.exp(run.log_scale[-1]) * run.W, free.W) < 1e-9
        assert np.isclose(np.linalg.norm(run.W), np.linalg.norm(W0), rtol=1e-12)


def test_keep_scale_refuses_large_init_and_auto_resolves():
    X, y, W, b, a = problem(100, 5, 2, np.float64, scale=3.0)
    kw = dict(activation="logcosh", loss="squared", lr=0.1, weight_decay=0.0, n_steps=2)
    with pytest.raises(ValueError, match="keep_scale=True needs the linear regime"):
        core.phase1_run(X, y, W, b, a, keep_scale=True, **kw)
    with pytest.raises(ValueError, match="keep_scale=True needs the linear regime"):
        reference.phase1_run(X, y, W, b, a, keep_scale=True, **kw)
    assert not core.phase1_run(X, y, W, b, a, keep_scale="auto", **kw).keep_scale
    assert core.phase1_run(X, y, W * 1e-9, b * 0, a, keep_scale="auto", **kw).keep_scale


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_logcosh_is_accurate_from_tiny_to_huge_arguments(dtype):
    # both sides of the SIMD kernel's Taylor range (1/32), the |z| = 1 branch switch, huge |z|
    z = np.array(
        [
            1e-150,
            1e-20,
            1e-8,
            1e-3,
            0.0312,
            -0.0313,
            0.3,
            0.99,
            1.0,
            1.01,
            5.0,
            30.0,
            700.0,
            1e3,
            -1e3,
            -0.2,
        ]
    )
    z = np.concatenate([z, np.geomspace(1e-6, 0.05, 40), -np.geomspace(1e-6, 0.05, 40)])
    if dtype == np.float32:
        z = z[np.abs(z) > 1e-18]  # sigma(z) ~ z^2 / 2 underflows float32 below that
    z = z.astype(dtype)
    m = z.size
    # X = I, W = diag(z): row i has pre-activations (0, .., z_i, .., 0), so with a = 1 the output
    # is sigma(z_i) and SIMD packets mix zeros with z_i, as in real rows
    X, W, b, a = np.eye(m, dtype=dtype), np.diag(z), np.zeros(m, dtype), np.ones(m, dtype)
    p = core.forward(X, W, b, a, "logcosh")
    with mpmath.workdps(700):  # cosh(1e-150) - 1 needs ~300 digits
        exact = np.array([float(mpmath.log(mpmath.cosh(mpmath.mpf(float(v))))) for v in z])
        exact_tanh = np.array([float(mpmath.tanh(mpmath.mpf(float(v)))) for v in z])
    tol = 2e-15 if dtype == np.float64 else 1e-6  # ~10 ulps of each precision
    assert np.all(np.isfinite(p))
    assert np.max(np.abs(p - exact) / exact) < tol
    # squared loss with y = p + 1 gives g_i = -1, so grad[i, i] = -tanh(z_i) / m
    grad, _ = core.phase1_gradient(X, p + 1, W, b, a, activation="logcosh", loss="squared")
    assert np.max(np.abs(-m * np.diag(grad) - exact_tanh) / np.abs(exact_tanh)) < tol


def test_results_are_bitwise_reproducible_and_thread_counts_agree():
    X, y, W, b, a = problem(3001, 40, 8, np.float64)
    kw = dict(activation="logcosh", loss="huber", lr=0.5, weight_decay=1.0, n_steps=5)
    first = core.phase1_run(X, y, W, b, a, n_threads=2, **kw)
    again = core.phase1_run(X, y, W, b, a, n_threads=2, **kw)
    assert np.array_equal(first.W, again.W) and np.array_equal(first.loss, again.loss)
    single = core.phase1_run(X, y, W, b, a, n_threads=1, **kw)
    assert relative_error(single.W, first.W) < 1e-12
    assert np.array_equal(
        core.local_hessian(X, y, n_threads=1), core.local_hessian(X, y, n_threads=2)
    )
    stats = core.hidden_statistics(X, y, W * 5, b, "logcosh", n_threads=2)
    for got, want in zip(core.hidden_statistics(X, y, W * 5, b, "logcosh", n_threads=2), stats):
        assert np.array_equal(got, want)
    for got, want in zip(core.hidden_statistics(X, y, W * 5, b, "logcosh", n_threads=1), stats):
        assert relative_error(got, want) < 1e-12


def test_divergence_raises_with_the_step():
    X, y, W, b, a = problem(200, 10, 4, np.float64, scale=1.0)
    kw = dict(activation="quadratic", loss="squared", lr=1e6, weight_decay=0.0, n_steps=50)
    for module in (core, reference):
        with pytest.raises(FloatingPointError, match=r"diverged at step \d+"):
            module.phase1_run(X, y, W, b, a, **kw)


def test_progress_callback_sees_every_step():
    X, y, W, b, a = problem(50, 4, 2, np.float64)
    seen = []
    core.phase1_run(
        X,
        y,
        W,
        b,
        a,
        activation="cos",
        loss="absolute",
        lr=0.1,
        weight_decay=0.1,
        n_steps=6,
        progress=seen.append,
    )
    assert seen == [1, 2, 3, 4, 5, 6]


def test_f_ordered_strided_and_integer_inputs_give_correct_results():
    X, y, W, b, a = problem(120, 9, 4, np.float64)
    kw = dict(activation="logcosh", loss="huber")
    want, _ = reference.phase1_gradient(X, y, W, b, a, **kw)
    got, _ = core.phase1_gradient(np.asfortranarray(X), y, np.asfortranarray(W), b, a, **kw)
    assert relative_error(got, want) < 1e-12
    wide = np.zeros((240, 18))
    wide[::2, ::2] = X
    got, _ = core.phase1_gradient(wide[::2, ::2], y[::1], W, b, a, **kw)
    assert relative_error(got, want) < 1e-12
    Xi = np.round(X * 3).astype(np.int32)
    got, _ = core.phase1_gradient(Xi, y, W, b, a, **kw)
    assert got.dtype == np.float64
    assert (
        relative_error(got, reference.phase1_gradient(Xi.astype(float), y, W, b, a, **kw)[0])
        < 1e-12
    )


BAD_INPUTS = [
    (dict(X=np.zeros((0, 3))), ValueError, "X is empty"),
    (dict(X=np.zeros(5)), ValueError, "X must be a 2-D array"),
    (dict(W=np.zeros((4, 7))), ValueError, r"W has shape \(4, 7\); expected size 3"),
    (dict(y=np.zeros(9)), ValueError, "y has length 9; expected 10"),
    (dict(b=np.zeros(3)), ValueError, "b has length 3; expected 4"),
    (dict(a=np.zeros((4, 1))), ValueError, "a must be 1-D"),
    (dict(X=np.full((10, 3), np.nan)), ValueError, "X contains NaN or inf"),
    (dict(y=np.r_[np.inf, np.zeros(9)]), ValueError, "y contains NaN or inf"),
    (
        dict(W=np.zeros((4, 3), np.float32)),
        TypeError,
        "W has dtype float32 but the computation runs in float64",
    ),
    (dict(X=np.zeros((10, 3), complex)), TypeError, "X has dtype complex128"),
    (dict(X=np.array([["a"] * 3] * 10)), TypeError, "X has dtype <U1"),
    (dict(activation="relu"), ValueError, "unknown activation 'relu'"),
    (dict(loss="hinge"), ValueError, "unknown loss 'hinge'"),
    (dict(huber_delta=0.0), ValueError, "huber_delta must be > 0"),
    (dict(n_threads=0), ValueError, "n_threads must be an integer >= 1"),
]


@pytest.mark.parametrize("module", [core, reference], ids=["core", "reference"])
@pytest.mark.parametrize("bad,error,message", BAD_INPUTS, ids=[m for *_, m in BAD_INPUTS])
def test_bad_inputs_raise_clear_errors(module, bad, error, message):
    args = dict(
        X=np.ones((10, 3)),
        y=np.ones(10),
        W=np.ones((4, 3)),
        b=np.zeros(4),
        a=np.ones(4),
        activation="logcosh",
        loss="huber",
        huber_delta=1.0,
        n_threads=None,
    )
    args.update(bad)
    with pytest.raises(error, match=message):
        module.phase1_gradient(
            args.pop("X"), args.pop("y"), args.pop("W"), args.pop("b"), args.pop("a"), **args
        )


HIDDEN_BAD_INPUTS = [bad for bad in BAD_INPUTS if not {"a", "loss", "huber_delta"} & set(bad[0])]


@pytest.mark.parametrize("module", [core, reference], ids=["core", "reference"])
@pytest.mark.parametrize(
    "bad,error,message", HIDDEN_BAD_INPUTS, ids=[m for *_, m in HIDDEN_BAD_INPUTS]
)
def test_hidden_features_and_statistics_reject_bad_inputs(module, bad, error, message):
    args = dict(
        X=np.ones((10, 3)),
        y=np.ones(10),
        W=np.ones((4, 3)),
        b=np.zeros(4),
        activation="logcosh",
        n_threads=None,
    )
    args.update(bad)
    X, y, W, b = args.pop("X"), args.pop("y"), args.pop("W"), args.pop("b")
    with pytest.raises(error, match=message):
        module.hidden_statistics(X, y, W, b, **args)
    if "y" not in bad:
        with pytest.raises(error, match=message):
            module.hidden_features(X, W, b, **args)


@pytest.mark.parametrize("module", [core, reference], ids=["core", "reference"])
def test_bad_run_settings_raise_clear_errors(module):
    X, y, W, b, a = problem(10, 3, 2, np.float64)
    kw = dict(activation="logcosh", loss="squared", lr=0.1, weight_decay=0.1, n_steps=3)
    for change, message in [
        (dict(lr=-1.0), "lr must be > 0"),
        (dict(lr=np.nan), "lr must be a finite"),
        (dict(weight_decay=-0.1), "weight_decay must be >= 0"),
        (dict(n_steps=2.5), "n_steps must be an integer"),
        (dict(record_steps=[4]), r"record_steps must lie in \[0, n_steps=3\]"),
        (dict(keep_scale="yes"), "keep_scale must be True, False or 'auto'"),
        (dict(record_basis=np.ones((4, 2))), "record_basis has shape"),
    ]:
        with pytest.raises(ValueError, match=message):
            module.phase1_run(X, y, W, b, a, **{**kw, **change})
    with pytest.raises(ValueError, match="V has length 4; expected d = 3"):
        module.local_hessian_matvec(X, y, np.ones(4))


@pytest.mark.parametrize("module", [core, reference], ids=["core", "reference"])
def test_zero_local_hessian_keeps_w_at_zero_instead_of_diverging(module):
    """Constant labels and lr * weight_decay = 1: one step sends W to exactly 0 (S = 0); the
    rescaling must not divide by zero, and log_scale records the collapse as -inf."""
    X, _, W, b, a = problem(64, 5, 2, np.float64, scale=1e-9)
    run = module.phase1_run(
        X,
        np.zeros(64),
        W,
        b * 0,
        a,
        activation="quadratic",
        loss="squared",
        lr=1.0,
        weight_decay=1.0,
        n_steps=3,
        keep_scale=True,
    )
    assert np.all(run.W == 0) and run.log_scale[-1] == -np.inf


@pytest.mark.parametrize("module", [core, reference], ids=["core", "reference"])
def test_divergence_can_warn_and_return_the_last_finite_weights(module):
    X, y, W, b, a = problem(200, 10, 4, np.float64, scale=1.0)
    kw = dict(
        activation="quadratic",
        loss="squared",
        lr=1e6,
        weight_decay=0.0,
        n_steps=50,
        record_steps=[0, 1, 50],
    )
    with pytest.warns(RuntimeWarning, match=r"diverged at step (\d+)") as caught:
        run = module.phase1_run(X, y, W, b, a, on_divergence="warn", **kw)
    t = run.diverged_at
    assert t is not None and any(f"step {t}:" in str(w.message) for w in caught)
    assert np.all(np.isfinite(run.W)) and np.all(np.isnan(run.loss[t + 1 :]))
    assert np.all(np.isnan(run.log_scale[t + 1 :])) and np.isnan(run.recorded[-1]).all()
    # W is W_t: the same run stopped just before step t reproduces it
    if t > 0:
        short = module.phase1_run(X, y, W, b, a, **{**kw, "n_steps": t, "record_steps": None})
        assert np.array_equal(short.W, run.W)
    with pytest.raises(ValueError, match="unknown on_divergence 'ignore'"):
        module.phase1_run(X, y, W, b, a, on_divergence="ignore", **kw)
