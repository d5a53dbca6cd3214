"""Input validation at every public entry outside the compiled core (issue 7), one case at a time.

Each bad input must give a ValueError / TypeError whose message names the argument (and, where
there is one, the fix); odd but valid inputs (int, read-only, non-contiguous, memory-mapped
arrays) must give the same result as a plain C-ordered float64 array. The core's own checks are
in tests/test_core.py (BAD_INPUTS) and tests/test_core_reliability.py.
"""

import re

import numpy as np
import pytest

import mimkit
from conftest import INTERRUPT_LATENCY_S
from mimkit import metrics, preprocessing, spectral, theory, training
from mimkit.cli import main
from mimkit.estimators.sdr import PHD, SAVE, SIR, SpectralEstimator
from mimkit.spectral import LocalHessian

RNG = np.random.default_rng(0)
X = RNG.standard_normal((60, 5))
Y = X[:, 0] * X[:, 1] + 0.1 * RNG.standard_normal(60)
U = np.linalg.qr(RNG.standard_normal((5, 2)))[0].T  # (2, 5), orthonormal rows
W = RNG.standard_normal((6, 5))
STR = np.array([["a"] * 5] * 60)
NAN_X = np.where(np.arange(5) == 2, np.nan, X)
NAN_Y = np.r_[np.nan, Y[1:]]
INF_Y = np.r_[np.inf, Y[1:]]
OP = LocalHessian.from_labels(X, Y)


def _nan_link(z):
    return np.full(z.shape[0], np.nan)


def case(label, fn, exc, match):
    return pytest.param(fn, exc, match, id=label)


def check(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn()


# --------------------------------------------------------------------------------------------
# mimkit.data: MultiIndexModel, make_multi_index, sample
# --------------------------------------------------------------------------------------------
MIM = mimkit.MultiIndexModel
MODEL = MIM(5, "z1z2", random_state=0)
DATA_CASES = [
    case("d=0", lambda: MIM(0, "z1z2"), ValueError, "d must be an integer >= 1"),
    case("d float", lambda: MIM(2.5, "z1z2"), ValueError, "d must be an integer >= 1"),
    case("d < r", lambda: MIM(1, "z1z2"), ValueError, r"d = 1 is smaller than the link's r = 2"),
    case("noise<0", lambda: MIM(5, "z1z2", noise=-1.0), ValueError, "noise must be >= 0"),
    case("noise nan", lambda: MIM(5, "z1z2", noise=np.nan), ValueError, "noise must be a finite"),
    case("noise inf", lambda: MIM(5, "z1z2", noise=np.inf), ValueError, "noise must be a finite"),
    case("unknown link", lambda: MIM(5, "z1z3"), ValueError, "unknown link 'z1z3'; choose one of"),
    case("link not callable", lambda: MIM(5, 3), TypeError, "link must be a library name"),
    case("r=0", lambda: MIM(5, "he2_sum", r=0), ValueError, "r must be an integer >= 1"),
    case("U shape", lambda: MIM(5, "z1z2", U=np.eye(3)), ValueError, r"U must have shape \(r, d\)"),
    case("U 1-D", lambda: MIM(2, "z1z2", U=np.ones(2)), ValueError, r"U must have shape \(r, d\)"),
    case("U nan", lambda: MIM(2, "z1z2", U=np.full((2, 2), np.nan)), ValueError, "U contains NaN"),
    case(
        "U str",
        lambda: MIM(2, "z1z2", U=[["a", "b"], ["c", "d"]]),
        TypeError,
        "U has non-real dtype",
    ),
    case(
        "U not orthonormal",
        lambda: MIM(5, "z1z2", U=np.ones((2, 5))),
        ValueError,
        "orthonormal rows",
    ),
    case(
        "U scalar, callable link",
        lambda: MIM(3, lambda z: z[:, 0], U=5.0),
        ValueError,
        "a callable link needs r",
    ),
    case("random_state", lambda: MIM(3, "z1z2", random_state="x"), TypeError, "random_state"),
    case("sample n=0", lambda: MODEL.sample(0), ValueError, "n must be an integer >= 1"),
    case("sample n<0", lambda: MODEL.sample(-1), ValueError, "n must be an integer >= 1"),
    case("sample n float", lambda: MODEL.sample(1.5), ValueError, "n must be an integer >= 1"),
    case(
        "sample int dtype",
        lambda: MODEL.sample(3, dtype=int),
        TypeError,
        "dtype must be float32 or float64",
    ),
    case(
        "sample bad dtype",
        lambda: MODEL.sample(3, dtype="foo"),
        TypeError,
        "dtype must be float32 or float64",
    ),
    case(
        "sample link gives nan",
        lambda: MIM(3, _nan_link, r=1).sample(3),
        ValueError,
        "link '_nan_link' produced NaN or inf",
    ),
    case(
        "make n_samples=0",
        lambda: mimkit.make_multi_index(0, 3, "z1z2"),
        ValueError,
        "n_samples must be an integer >= 1",
    ),
    case(
        "make n_features=0",
        lambda: mimkit.make_multi_index(10, 0, "z1z2"),
        ValueError,
        "n_features must be an integer >= 1",
    ),
    case(
        "make noise<0",
        lambda: mimkit.make_multi_index(10, 3, "z1z2", noise=-1.0),
        ValueError,
        "noise must be >= 0",
    ),
    case(
        "make callable without r",
        lambda: mimkit.make_multi_index(10, 3, lambda z: z[:, 0]),
        ValueError,
        "a callable link needs r",
    ),
]


@pytest.mark.parametrize("fn, exc, match", DATA_CASES)
def test_data_errors(fn, exc, match):
    check(fn, exc, match)


def test_data_accepts_numpy_integers_and_a_read_only_U():
    U_ro = U.copy()
    U_ro.setflags(write=False)
    model = MIM(np.int64(5), "z1z2", U=U_ro, random_state=1)
    Xs, ys = model.sample(np.int32(4))
    assert Xs.shape == (4, 5) and Xs.flags.writeable and np.isfinite(ys).all()
    np.testing.assert_allclose(ys, (Xs @ U[0]) * (Xs @ U[1]), rtol=1e-12)


# --------------------------------------------------------------------------------------------
# mimkit.links
# --------------------------------------------------------------------------------------------
LINK_CASES = [
    case("unknown", lambda: mimkit.get_link("foo"), ValueError, "unknown link 'foo'"),
    case("None", lambda: mimkit.get_link(None), TypeError, "link must be a library name"),
    case("r=0", lambda: mimkit.get_link("he2_sum", 0), ValueError, "r must be an integer >= 1"),
    case(
        "r float",
        lambda: mimkit.get_link("he2_sum", 2.0),
        ValueError,
        "r must be an integer >= 1",
    ),
    case(
        "r str, fixed link",
        lambda: mimkit.get_link("z1z2", "2"),
        ValueError,
        "r must be an integer >= 1",
    ),
    case("r mismatch", lambda: mimkit.get_link("z1z2", 3), ValueError, "has r = 2; got r=3"),
    case(
        "callable r=0",
        lambda: mimkit.get_link(lambda z: z[:, 0], 0),
        ValueError,
        "r must be an integer >= 1",
    ),
    case("callable without r", lambda: mimkit.get_link(lambda z: z[:, 0]), ValueError, "needs r"),
    case(
        "z 1-D",
        lambda: mimkit.get_link("z1z2")(np.ones(2)),
        ValueError,
        r"takes z of shape \(n, 2\)",
    ),
    case(
        "z str",
        lambda: mimkit.get_link("z1z2")(np.array([["a", "b"]])),
        TypeError,
        "z has non-real dtype",
    ),
]


@pytest.mark.parametrize("fn, exc, match", LINK_CASES)
def test_link_errors(fn, exc, match):
    check(fn, exc, match)


# --------------------------------------------------------------------------------------------
# mimkit.metrics
# --------------------------------------------------------------------------------------------
SUBSPACE_METRICS = {  # function -> (a valid first argument, its name in messages)
    "principal_angles": (U, "A"),
    "subspace_distance": (U, "U_hat"),
    "recovery": (U, "A"),
    "neuron_overlaps": (W, "W"),
    "neuron_alignment": (W, "W"),
    "coverage": (W, "W"),
}
BAD_SUBSPACES = [
    ("empty", np.zeros((0, 5)), ValueError, "must be a non-empty"),
    ("3-D", np.zeros((2, 2, 5)), ValueError, "must be a non-empty"),
    ("None", None, ValueError, "must be a non-empty"),
    ("d=0", np.zeros((2, 0)), ValueError, "must be a non-empty"),
    ("nan", np.full((2, 5), np.nan), ValueError, "contains NaN or inf"),
    ("str", np.array([["a"] * 5] * 2), TypeError, "has non-real dtype"),
    ("complex", np.ones((2, 5)) * 1j, TypeError, "has non-real dtype"),
    ("d mismatch", RNG.standard_normal((2, 4)), ValueError, "different dimensions"),
]


@pytest.mark.parametrize("fn_name", sorted(SUBSPACE_METRICS))
@pytest.mark.parametrize("label, bad, exc, match", BAD_SUBSPACES, ids=[c[0] for c in BAD_SUBSPACES])
def test_subspace_metric_errors_name_the_argument(fn_name, label, bad, exc, match):
    fn = getattr(metrics, fn_name)
    _, name = SUBSPACE_METRICS[fn_name]
    prefix = "" if label == "d mismatch" else f"{name} "
    check(lambda: fn(bad, U), exc, prefix + match)


@pytest.mark.parametrize("fn_name", sorted(SUBSPACE_METRICS))
def test_subspace_metrics_accept_int_read_only_and_strided_arrays(fn_name):
    fn = getattr(metrics, fn_name)
    first, _ = SUBSPACE_METRICS[fn_name]
    E = np.eye(5)[:2]
    want = fn(np.round(first * 4), E)
    ro = np.round(first * 4)
    ro.setflags(write=False)
    strided = np.repeat(np.round(first * 4), 2, axis=1)[:, ::2]
    for variant in (np.round(first * 4).astype(np.int64), ro, strided, np.asfortranarray(ro)):
        got = fn(variant, E.astype(int))
        np.testing.assert_allclose(
            np.asarray(got if not isinstance(got, metrics.Recovery) else got.distance),
            np.asarray(want if not isinstance(want, metrics.Recovery) else want.distance),
            rtol=1e-12,
        )


METRIC_CASES = [
    case(
        "coverage threshold str",
        lambda: metrics.coverage(W, U, "a"),
        ValueError,
        "threshold must lie in",
    ),
    case(
        "coverage threshold nan",
        lambda: metrics.coverage(W, U, np.nan),
        ValueError,
        "threshold must lie in",
    ),
    case(
        "rte length mismatch",
        lambda: metrics.relative_test_error(Y[:3], Y),
        ValueError,
        "same length",
    ),
    case("rte n=1", lambda: metrics.relative_test_error(Y[:1], Y[:1]), ValueError, "length >= 2"),
    case("rte empty", lambda: metrics.relative_test_error([], []), ValueError, "length >= 2"),
    case(
        "rte nan y_pred",
        lambda: metrics.relative_test_error(NAN_Y, Y),
        ValueError,
        "y_pred contains NaN or inf",
    ),
    case(
        "rte inf y",
        lambda: metrics.relative_test_error(Y, INF_Y),
        ValueError,
        "y contains NaN or inf",
    ),
    case(
        "rte 2-D",
        lambda: metrics.relative_test_error(Y.reshape(6, 10), Y.reshape(6, 10)),
        ValueError,
        "y_pred must be 1-D",
    ),
    case(
        "rte str",
        lambda: metrics.relative_test_error(np.array(["a"] * 60), Y),
        TypeError,
        "y_pred has non-real dtype",
    ),
    case(
        "rte constant y",
        lambda: metrics.relative_test_error(Y, np.ones(60)),
        ValueError,
        "constant",
    ),
    case(
        "recovery weak_threshold nan",
        lambda: metrics.recovery(U, U, weak_threshold=np.nan),
        ValueError,
        "weak_threshold must be a finite",
    ),
    case(
        "recovery strong_threshold str",
        lambda: metrics.recovery(U, U, strong_threshold="a"),
        ValueError,
        "strong_threshold must be a finite",
    ),
]


@pytest.mark.parametrize("fn, exc, match", METRIC_CASES)
def test_metric_errors(fn, exc, match):
    check(fn, exc, match)


def test_relative_test_error_accepts_a_column_and_ints():
    want = metrics.relative_test_error(Y + 1, Y)
    assert metrics.relative_test_error((Y + 1)[:, None], Y) == want
    # MSE (9 + 1 + 1 + 9) / 4 = 5 over Var = 1.25
    assert metrics.relative_test_error(np.arange(4), np.arange(4)[::-1]) == pytest.approx(4.0)


# --------------------------------------------------------------------------------------------
# mimkit.training: run_phase1, run_phase2, train_layerwise
# --------------------------------------------------------------------------------------------
def p1(**kw):
    return training.run_phase1(
        kw.pop("X", X), kw.pop("y", Y), **{"n_hidden": 4, "n_steps": 2, "random_state": 0, **kw}
    )


def p2(**kw):
    return training.run_phase2(kw.pop("X", X), kw.pop("y", Y), kw.pop("W", W), **kw)


def tl(**kw):
    return training.train_layerwise(
        X, Y, kw.pop("X2", X), kw.pop("y2", Y), **{"n_hidden": 4, "n_steps": 2, **kw}
    )


TRAINING_CASES = [
    case("X 1-D", lambda: p1(X=X[:, 0]), ValueError, "X must be a 2-D array"),
    case("X empty", lambda: p1(X=np.zeros((0, 5)), y=np.zeros(0)), ValueError, "X is empty"),
    case("d=0", lambda: p1(X=np.zeros((60, 0))), ValueError, "X is empty"),
    case("y length", lambda: p1(y=Y[:3]), ValueError, "y has length 3; expected 60"),
    case("y 2-D", lambda: p1(y=Y[:, None]), ValueError, "y must be 1-D"),
    case("X nan", lambda: p1(X=NAN_X), ValueError, "X contains NaN or inf"),
    case("y inf", lambda: p1(y=INF_Y), ValueError, "y contains NaN or inf"),
    case("X str", lambda: p1(X=STR), TypeError, "X has dtype <U1"),
    case("y str", lambda: p1(y=np.array(["a"] * 60)), TypeError, "y has non-real dtype"),
    case("odd width", lambda: p1(n_hidden=3), ValueError, "n_hidden must be an even integer"),
    case("width 0", lambda: p1(n_hidden=0), ValueError, "n_hidden must be an integer >= 2"),
    case("lr<0", lambda: p1(lr=-1.0), ValueError, "lr must be > 0"),
    case("lr nan", lambda: p1(lr=np.nan), ValueError, "lr must be a finite"),
    case("lr inf", lambda: p1(lr=np.inf), ValueError, "lr must be a finite"),
    case("lr str", lambda: p1(lr="1"), ValueError, "lr must be a finite"),
    case("weight_decay<0", lambda: p1(weight_decay=-1.0), ValueError, "weight_decay must be >= 0"),
    case(
        "weight_decay nan",
        lambda: p1(weight_decay=np.nan),
        ValueError,
        "weight_decay must be a finite",
    ),
    case("n_steps<0", lambda: p1(n_steps=-1), ValueError, "n_steps must be an integer >= 0"),
    case("n_steps float", lambda: p1(n_steps=2.5), ValueError, "n_steps must be an integer"),
    case("init_scale 0", lambda: p1(init_scale=0.0), ValueError, "init_scale must be > 0"),
    case(
        "huber_delta inf",
        lambda: p1(huber_delta=np.inf),
        ValueError,
        "huber_delta must be a finite",
    ),
    case("activation", lambda: p1(activation="relu"), ValueError, "unknown activation 'relu'"),
    case("loss", lambda: p1(loss="hinge"), ValueError, "unknown loss 'hinge'"),
    case("keep_scale", lambda: p1(keep_scale="x"), ValueError, "keep_scale must be"),
    case("on_divergence", lambda: p1(on_divergence="x"), ValueError, "unknown on_divergence"),
    case(
        "label_transform not callable", lambda: p1(label_transform=3), TypeError, "label_transform"
    ),
    case(
        "label_transform nan",
        lambda: p1(label_transform=lambda v: v * np.nan),
        ValueError,
        "label_transform must map y",
    ),
    case("n_threads 0", lambda: p1(n_threads=0), ValueError, "n_threads must be an integer >= 1"),
    case("record_steps", lambda: p1(record_steps=[99]), ValueError, "record_steps must lie in"),
    case(
        "record_basis",
        lambda: p1(record_basis=np.ones((3, 2))),
        ValueError,
        "record_basis has shape",
    ),
    case("phase2 X 1-D", lambda: p2(X=X[:, 0]), ValueError, "X must be a 2-D array"),
    case("phase2 n=1", lambda: p2(X=X[:1], y=Y[:1]), ValueError, "phase 2 needs n_samples >= 2"),
    case("phase2 y length", lambda: p2(y=Y[:3]), ValueError, "y has length 3"),
    case("phase2 y nan", lambda: p2(y=NAN_Y), ValueError, "y contains NaN or inf"),
    case("phase2 W 1-D", lambda: p2(W=np.ones(5)), ValueError, "W must be a 2-D array"),
    case(
        "phase2 W d mismatch",
        lambda: p2(W=np.ones((6, 3))),
        ValueError,
        r"W has shape \(6, 3\); expected size 5 along axis 1",
    ),
    case(
        "phase2 W nan", lambda: p2(W=np.full((6, 5), np.nan)), ValueError, "W contains NaN or inf"
    ),
    case(
        "phase2 W inf", lambda: p2(W=np.full((6, 5), np.inf)), ValueError, "W contains NaN or inf"
    ),
    case("phase2 W empty", lambda: p2(W=np.zeros((0, 5))), ValueError, "W is empty"),
    case(
        "phase2 W str", lambda: p2(W=np.array([["a"] * 5] * 6)), TypeError, "W has non-real dtype"
    ),
    case("phase2 W zero row", lambda: p2(W=np.zeros((6, 5))), FloatingPointError, "exactly zero"),
    case("phase2 ridge<0", lambda: p2(ridge=-1.0), ValueError, "ridge must be >= 0"),
    case("phase2 ridge name", lambda: p2(ridge="loo"), ValueError, "ridge must be"),
    case("phase2 ridge nan", lambda: p2(ridge=np.nan), ValueError, "ridge must be a finite"),
    case("phase2 solver", lambda: p2(solver="lbfgs"), ValueError, "unknown solver 'lbfgs'"),
    case(
        "phase2 gd_steps<0", lambda: p2(gd_steps=-1), ValueError, "gd_steps must be an integer >= 0"
    ),
    case("phase2 bias_scale 0", lambda: p2(bias_scale=0.0), ValueError, "bias_scale must be > 0"),
    case(
        "layerwise X2 d mismatch",
        lambda: tl(X2=X[:, :3]),
        ValueError,
        "X2 has 3 features but X1 has 5",
    ),
    case("layerwise y2 length", lambda: tl(y2=Y[:3]), ValueError, "y2 has length 3; expected 60"),
]


@pytest.mark.parametrize("fn, exc, match", TRAINING_CASES)
def test_training_errors(fn, exc, match):
    check(fn, exc, match)


def _layouts(A):
    """The same values as read-only, F-ordered and strided (non-contiguous) arrays."""
    ro = A.copy()
    ro.setflags(write=False)
    big = np.zeros((A.shape[0], 2 * A.shape[1]))
    big[:, ::2] = A
    return {"read-only": ro, "F-order": np.asfortranarray(A), "strided": big[:, ::2]}


def test_phase1_gives_the_same_weights_for_int_read_only_strided_and_memory_mapped_X(tmp_path):
    Xi = np.round(3 * X)
    want = p1(X=Xi).W
    np.save(tmp_path / "X.npy", Xi)
    variants = dict(
        _layouts(Xi), int=Xi.astype(np.int32), mmap=np.load(tmp_path / "X.npy", mmap_mode="r")
    )
    for name, Xv in variants.items():
        np.testing.assert_array_equal(p1(X=Xv).W, want, err_msg=name)


# --------------------------------------------------------------------------------------------
# mimkit.LayerwiseRegressor (errors at fit)
# --------------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------------
# mimkit.spectral
# --------------------------------------------------------------------------------------------
V0 = RNG.standard_normal((5, 2))
SPECTRAL_CASES = [
    case(
        "X 1-D", lambda: LocalHessian.from_labels(X[:, 0], Y), ValueError, "X must be a 2-D array"
    ),
    case("d=0", lambda: LocalHessian.from_labels(np.zeros((60, 0)), Y), ValueError, "X is empty"),
    case("X nan", lambda: LocalHessian.from_labels(NAN_X, Y), ValueError, "X contains NaN or inf"),
    case("X str", lambda: LocalHessian.from_labels(STR, Y), TypeError, "X has dtype <U1"),
    case(
        "y length",
        lambda: LocalHessian.from_labels(X, Y[:3]),
        ValueError,
        "y has length 3; expected 60",
    ),
    case("y 2-D", lambda: LocalHessian.from_labels(X, Y[:, None]), ValueError, "y must be 1-D"),
    case("y nan", lambda: LocalHessian.from_labels(X, NAN_Y), ValueError, "y contains NaN or inf"),
    case(
        "y inf, bounded T",
        lambda: LocalHessian.from_labels(X, INF_Y, "sign"),
        ValueError,
        "y contains NaN or inf",
    ),
    case(
        "y str",
        lambda: LocalHessian.from_labels(X, np.array(["a"] * 60)),
        TypeError,
        "y has non-real dtype",
    ),
    case(
        "y complex", lambda: LocalHessian.from_labels(X, Y * 1j), TypeError, "y has non-real dtype"
    ),
    case(
        "n=1 with mean centring",
        lambda: LocalHessian.from_labels(X[:1], Y[:1]),
        ValueError,
        "needs at least 2 labels",
    ),
    case(
        "preprocessing name",
        lambda: LocalHessian.from_labels(X, Y, "foo"),
        ValueError,
        "unknown preprocessing 'foo'",
    ),
    case(
        "preprocessing type",
        lambda: LocalHessian.from_labels(X, Y, 3),
        TypeError,
        "preprocessing must be a name or a callable",
    ),
    case(
        "center",
        lambda: LocalHessian.from_labels(X, Y, center="x"),
        ValueError,
        "unknown center 'x'",
    ),
    case(
        "optimal without link",
        lambda: LocalHessian.from_labels(X, Y, "optimal"),
        ValueError,
        "needs the link",
    ),
    case("t str", lambda: LocalHessian(X, np.array(["1"] * 60)), TypeError, "t has non-real dtype"),
    case("t length", lambda: LocalHessian(X, Y[:3]), ValueError, "t has length 3; expected 60"),
    case("shift nan", lambda: LocalHessian(X, Y, np.nan), ValueError, "shift must be a finite"),
    case(
        "n_threads",
        lambda: LocalHessian(X, Y, n_threads=-2),
        ValueError,
        "n_threads must be an integer >= 1",
    ),
    case(
        "power op type",
        lambda: spectral.power_iteration(np.eye(5), V0, 2),
        TypeError,
        "op must be a LocalHessian",
    ),
    case(
        "power V0 wrong d",
        lambda: spectral.power_iteration(OP, np.ones((4, 2)), 2),
        ValueError,
        r"V0 has shape \(4, 2\); expected size 5 along axis 0",
    ),
    case(
        "power V0 1-D wrong d",
        lambda: spectral.power_iteration(OP, np.ones(4), 2),
        ValueError,
        r"V0 has shape \(4, 1\); expected size 5",
    ),
    case(
        "power V0 3-D",
        lambda: spectral.power_iteration(OP, np.ones((5, 2, 1)), 2),
        ValueError,
        "V0 must be a 2-D array",
    ),
    case(
        "power V0 empty",
        lambda: spectral.power_iteration(OP, np.zeros((5, 0)), 2),
        ValueError,
        "V0 is empty",
    ),
    case(
        "power V0 nan",
        lambda: spectral.power_iteration(OP, np.full((5, 2), np.nan), 2),
        ValueError,
        "V0 contains NaN or inf",
    ),
    case(
        "power V0 str",
        lambda: spectral.power_iteration(OP, np.array([["a"] * 2] * 5), 2),
        TypeError,
        "V0 has non-real dtype",
    ),
    case(
        "power V0 zero column",
        lambda: spectral.power_iteration(OP, np.zeros((5, 2)), 2),
        ValueError,
        "V0 has a zero column",
    ),
    case(
        "power n_steps<0",
        lambda: spectral.power_iteration(OP, V0, -1),
        ValueError,
        "n_steps must be an integer >= 0",
    ),
    case(
        "power n_steps float",
        lambda: spectral.power_iteration(OP, V0, 1.5),
        ValueError,
        "n_steps must be an integer",
    ),
    case(
        "power k > d",
        lambda: spectral.power_iteration(OP, np.ones((5, 6)), 2),
        ValueError,
        "cannot orthogonalise 6 vectors in dimension 5",
    ),
    case(
        "power scale nan",
        lambda: spectral.power_iteration(OP, V0, 2, scale=np.nan),
        ValueError,
        "scale must be a finite",
    ),
    case(
        "power scale shape",
        lambda: spectral.power_iteration(OP, V0, 2, scale=np.ones(3)),
        ValueError,
        r"scale must be a finite number or an array of shape \(2,\)",
    ),
    case(
        "power identity_weight",
        lambda: spectral.power_iteration(OP, V0, 2, identity_weight=np.inf),
        ValueError,
        "identity_weight must be a finite",
    ),
    case(
        "power record_steps",
        lambda: spectral.power_iteration(OP, V0, 2, record_steps=[5]),
        ValueError,
        "record_steps must lie in",
    ),
    case(
        "power record_basis",
        lambda: spectral.power_iteration(OP, V0, 2, record_basis=np.ones((4, 2))),
        ValueError,
        "record_basis has shape",
    ),
    case(
        "power progress",
        lambda: spectral.power_iteration(OP, V0, 2, progress=3),
        TypeError,
        "progress must be a callable",
    ),
    case(
        "eig op type",
        lambda: spectral.top_eigenpairs(np.eye(5), 2),
        TypeError,
        "op must be a LocalHessian",
    ),
    case(
        "eig k=0", lambda: spectral.top_eigenpairs(OP, 0), ValueError, "k must be an integer >= 1"
    ),
    case("eig k>d", lambda: spectral.top_eigenpairs(OP, 6), ValueError, "S is only 5 x 5"),
    case(
        "eig which",
        lambda: spectral.top_eigenpairs(OP, 2, which="x"),
        ValueError,
        "unknown which 'x'",
    ),
    case(
        "eig method",
        lambda: spectral.top_eigenpairs(OP, 2, method="x"),
        ValueError,
        "unknown method 'x'",
    ),
    case(
        "eig tol<0",
        lambda: spectral.top_eigenpairs(OP, 2, method="lanczos", tol=-1.0),
        ValueError,
        "tol must be >= 0",
    ),
    case(
        "eig tol nan",
        lambda: spectral.top_eigenpairs(OP, 2, method="lanczos", tol=np.nan),
        ValueError,
        "tol must be a finite",
    ),
    case(
        "eig tol str",
        lambda: spectral.top_eigenpairs(OP, 2, method="lanczos", tol="a"),
        ValueError,
        "tol must be a finite",
    ),
    case(
        "subspace k=0",
        lambda: spectral.spectral_subspace(X, Y, 0, "identity"),
        ValueError,
        "n_directions must be an integer >= 1",
    ),
    case(
        "subspace k>d",
        lambda: spectral.spectral_subspace(X, Y, 9, "identity"),
        ValueError,
        "S is only 5 x 5",
    ),
    case(
        "subspace k>r, optimal",
        lambda: spectral.spectral_subspace(X, Y, 3, link="z1z2", random_state=0),
        ValueError,
        "exceeds the link's r = 2",
    ),
    case(
        "subspace which",
        lambda: spectral.spectral_subspace(X, Y, 2, "identity", which="x"),
        ValueError,
        "unknown which 'x'",
    ),
    case(
        "subspace X nan",
        lambda: spectral.spectral_subspace(NAN_X, Y, 2, "identity"),
        ValueError,
        "X contains NaN or inf",
    ),
    case(
        "subspace y length",
        lambda: spectral.spectral_subspace(X, Y[:3], 2, "identity"),
        ValueError,
        "y has length 3; expected 60",
    ),
    case(
        "subspace unknown link",
        lambda: spectral.spectral_subspace(X, Y, 2, link="foo"),
        ValueError,
        "unknown link 'foo'",
    ),
]


@pytest.mark.parametrize("fn, exc, match", SPECTRAL_CASES)
def test_spectral_errors(fn, exc, match):
    check(fn, exc, match)


def test_spectral_gives_the_same_answer_for_int_read_only_strided_lists_and_memory_mapped_X(
    tmp_path,
):
    Xi = np.round(3 * X)
    want, _ = spectral.spectral_subspace(Xi, Y, 2, "identity", method="explicit")
    np.save(tmp_path / "X.npy", Xi)
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    variants = dict(_layouts(Xi), int=Xi.astype(np.int16), mmap=mapped, list=Xi.tolist())
    for name, Xv in variants.items():
        got, _ = spectral.spectral_subspace(Xv, Y, 2, "identity", method="explicit")
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13, err_msg=name)
    # Converted once: an int X becomes one C-ordered float64 copy; a float64 memmap is used as is.
    op = LocalHessian.from_labels(Xi.astype(np.int16), Y)
    assert op.X.dtype == np.float64 and op.X.flags.c_contiguous
    assert np.shares_memory(LocalHessian.from_labels(mapped, Y).X, mapped)
    # A float32 start for a float64 operator is converted, not refused.
    res = spectral.power_iteration(OP, V0.astype(np.float32), 3)
    assert res.V.dtype == np.float64


# --------------------------------------------------------------------------------------------
# mimkit.preprocessing and mimkit.theory
# --------------------------------------------------------------------------------------------
PREP_THEORY_CASES = [
    case(
        "make unknown",
        lambda: preprocessing.make_preprocessing("foo"),
        ValueError,
        "unknown preprocessing 'foo'",
    ),
    case(
        "make None",
        lambda: preprocessing.make_preprocessing(None),
        ValueError,
        "unknown preprocessing None",
    ),
    case(
        "make optimal",
        lambda: preprocessing.make_preprocessing("optimal"),
        ValueError,
        "depends on the link",
    ),
    case(
        "make delta 0",
        lambda: preprocessing.make_preprocessing("huber", delta=0),
        ValueError,
        "delta must be a positive number",
    ),
    case(
        "make delta nan",
        lambda: preprocessing.make_preprocessing("huber", delta=np.nan),
        ValueError,
        "delta must be a positive number",
    ),
    case(
        "make cap nan",
        lambda: preprocessing.make_preprocessing("capped", cap=np.nan),
        ValueError,
        "cap must be a finite number",
    ),
    case(
        "make cap str",
        lambda: preprocessing.make_preprocessing("capped", cap="1"),
        ValueError,
        "cap must be a finite number",
    ),
    case(
        "apply y str",
        lambda: preprocessing.apply_preprocessing("sign", np.array(["a"])),
        TypeError,
        "y has non-real dtype",
    ),
    case(
        "apply y nan",
        lambda: preprocessing.apply_preprocessing("sign", NAN_Y),
        ValueError,
        "y contains NaN or inf",
    ),
    case(
        "apply T gives inf",
        lambda: preprocessing.apply_preprocessing(lambda v: np.full_like(v, np.inf), Y),
        ValueError,
        "preprocessing produced NaN or inf",
    ),
    case(
        "loss_location huber_delta 0",
        lambda: preprocessing.loss_location("huber", Y, 0.0),
        ValueError,
        "huber_delta must be > 0",
    ),
    case(
        "optimal unknown link",
        lambda: preprocessing.optimal_preprocessing("foo"),
        ValueError,
        "unknown link 'foo'",
    ),
    case(
        "optimal noise<0",
        lambda: preprocessing.optimal_preprocessing("z1z2", noise=-1.0),
        ValueError,
        "noise must be >= 0",
    ),
    case(
        "optimal noise inf",
        lambda: preprocessing.optimal_preprocessing("z1z2", noise=np.inf),
        ValueError,
        "noise must be a finite",
    ),
    case(
        "optimal n_samples",
        lambda: preprocessing.optimal_preprocessing("z1z2", n_samples=10),
        ValueError,
        "n_samples must be an integer >= 1000",
    ),
    case(
        "optimal n_bins",
        lambda: preprocessing.optimal_preprocessing("z1z2", n_bins=1),
        ValueError,
        "n_bins must be an integer >= 2",
    ),
    case(
        "optimal callable nan",
        lambda: preprocessing.optimal_preprocessing(_nan_link, r=1, n_samples=1000),
        ValueError,
        "produced NaN or inf labels",
    ),
    case(
        "threshold unknown link",
        lambda: theory.weak_recovery_threshold("foo"),
        ValueError,
        "unknown link 'foo'",
    ),
    case(
        "threshold unknown preprocessing",
        lambda: theory.weak_recovery_threshold("z1z2", "foo"),
        ValueError,
        "unknown preprocessing 'foo'",
    ),
    case(
        "threshold preprocessing type",
        lambda: theory.weak_recovery_threshold("z1z2", 3, n_samples=1000),
        TypeError,
        "preprocessing must be a name or a callable",
    ),
    case(
        "threshold center",
        lambda: theory.weak_recovery_threshold("z1z2", "sign", center="x"),
        ValueError,
        "unknown center 'x'",
    ),
    case(
        "threshold noise<0",
        lambda: theory.weak_recovery_threshold("z1z2", "sign", noise=-1.0),
        ValueError,
        "noise must be >= 0",
    ),
    case(
        "threshold noise inf",
        lambda: theory.weak_recovery_threshold("z1z2", "sign", noise=np.inf),
        ValueError,
        "noise must be a finite",
    ),
    case(
        "threshold noise nan",
        lambda: theory.weak_recovery_threshold("z1z2", "sign", noise=np.nan),
        ValueError,
        "noise must be a finite",
    ),
    case(
        "threshold n_samples",
        lambda: theory.weak_recovery_threshold("z1z2", "sign", n_samples=10),
        ValueError,
        "n_samples must be an integer >= 1000",
    ),
    case(
        "threshold r mismatch",
        lambda: theory.weak_recovery_threshold("z1z2", "sign", r=3),
        ValueError,
        "has r = 2; got r=3",
    ),
    case(
        "network threshold loss",
        lambda: theory.network_threshold("z1z2", "hinge"),
        ValueError,
        "unknown loss 'hinge'",
    ),
    case(
        "network threshold huber_delta 0",
        lambda: theory.network_threshold("z1z2", "huber", huber_delta=0.0, n_samples=1000),
        ValueError,
        "huber_delta must be > 0",
    ),
    case(
        "network threshold huber_delta nan",
        lambda: theory.network_threshold("z1z2", "huber", huber_delta=np.nan, n_samples=1000),
        ValueError,
        "huber_delta must be a finite",
    ),
]


@pytest.mark.parametrize("fn, exc, match", PREP_THEORY_CASES)
def test_preprocessing_and_theory_errors(fn, exc, match):
    check(fn, exc, match)


# --------------------------------------------------------------------------------------------
# SDR estimators (PHD, SIR, SAVE, SpectralEstimator)
# --------------------------------------------------------------------------------------------
SDR = [PHD, SIR, SAVE, SpectralEstimator]
SDR_CASES = [
    (
        "n_directions=0",
        lambda E: E(0).fit(X, Y),
        ValueError,
        "n_directions must be an integer >= 1",
    ),
    (
        "n_directions>d",
        lambda E: E(6).fit(X, Y),
        ValueError,
        "n_directions = 6 exceeds n_features = 5",
    ),
    ("n_directions float", lambda E: E(2.0).fit(X, Y), ValueError, "n_directions must be an"),
    # Parameters are checked before the data: a bad parameter is named even with bad data.
    ("parameter first", lambda E: E(0).fit(X[:, 0], Y), ValueError, "n_directions must be an"),
    ("X 1-D", lambda E: E(2).fit(X[:, 0], Y), ValueError, "Expected 2D array"),
    ("n=1", lambda E: E(1).fit(X[:1], Y[:1]), ValueError, "at least 2 samples are needed"),
    ("y length", lambda E: E(2).fit(X, Y[:3]), ValueError, "inconsistent numbers of samples"),
    ("y nan", lambda E: E(2).fit(X, NAN_Y), ValueError, "Input y contains NaN"),
    (
        "X inf",
        lambda E: E(2).fit(np.where(X > 2, np.inf, X), Y),
        ValueError,
        "Input X contains infinity",
    ),
    ("X empty", lambda E: E(2).fit(np.zeros((0, 5)), np.zeros(0)), ValueError, "0 sample"),
    ("y None", lambda E: E(2).fit(X, None), ValueError, "requires y to be passed"),
    (
        "transform d mismatch",
        lambda E: E(2).fit(X, Y).transform(X[:, :3]),
        ValueError,
        "X has 3 features",
    ),
]


@pytest.mark.parametrize("estimator", SDR, ids=[E.__name__ for E in SDR])
@pytest.mark.parametrize("label, fn, exc, match", SDR_CASES, ids=[c[0] for c in SDR_CASES])
def test_sdr_errors(estimator, label, fn, exc, match):
    check(lambda: fn(estimator), exc, match)


@pytest.mark.parametrize("estimator", [PHD, SIR, SAVE], ids=["PHD", "SIR", "SAVE"])
def test_sdr_whitening_refuses_a_singular_covariance(estimator):
    collinear = np.c_[X, X[:, :1]]  # exact duplicate column: Cholesky may still "succeed"
    check(lambda: estimator(2).fit(collinear, Y), ValueError, "covariance of X is singular")


SDR_SETTING_CASES = [
    case(
        "SIR n_slices 0",
        lambda: SIR(2, n_slices=0).fit(X, Y),
        ValueError,
        "n_slices must be an integer >= 1",
    ),
    case(
        "SIR n_slices > n", lambda: SIR(2, n_slices=100).fit(X, Y), ValueError, "exceeds n_samples"
    ),
    case(
        "SIR n_slices float", lambda: SIR(2, n_slices=2.5).fit(X, Y), ValueError, "n_slices must be"
    ),
    case(
        "SAVE slices too small",
        lambda: SAVE(2, n_slices=40).fit(X, Y),
        ValueError,
        ">= 2 samples per slice",
    ),
    case(
        "Spectral preprocessing",
        lambda: SpectralEstimator(2, preprocessing="foo").fit(X, Y),
        ValueError,
        "unknown preprocessing 'foo'",
    ),
    case(
        "Spectral center",
        lambda: SpectralEstimator(2, center="x").fit(X, Y),
        ValueError,
        "unknown center 'x'",
    ),
    case(
        "Spectral which",
        lambda: SpectralEstimator(2, which="x").fit(X, Y),
        ValueError,
        "unknown which 'x'",
    ),
    case(
        "Spectral method",
        lambda: SpectralEstimator(2, method="x").fit(X, Y),
        ValueError,
        "unknown method 'x'",
    ),
    case(
        "Spectral link",
        lambda: SpectralEstimator(preprocessing="optimal", link="foo").fit(X, Y),
        ValueError,
        "unknown link 'foo'",
    ),
    case(
        "Spectral optimal without link",
        lambda: SpectralEstimator(2, preprocessing="optimal").fit(X, Y),
        ValueError,
        "needs the link",
    ),
]


@pytest.mark.parametrize("fn, exc, match", SDR_SETTING_CASES)
def test_sdr_setting_errors(fn, exc, match):
    check(fn, exc, match)


@pytest.mark.parametrize("estimator", SDR, ids=[E.__name__ for E in SDR])
def test_sdr_accepts_int_and_memory_mapped_X(estimator, tmp_path):
    Xi = np.round(3 * X)
    want = estimator(2).fit(Xi, Y).directions_
    np.save(tmp_path / "X.npy", Xi)
    for Xv in (
        Xi.astype(np.int32),
        np.load(tmp_path / "X.npy", mmap_mode="r"),
        np.asfortranarray(Xi),
    ):
        np.testing.assert_allclose(
            estimator(2).fit(Xv, Y).directions_, want, rtol=1e-10, atol=1e-12
        )


# --------------------------------------------------------------------------------------------
# CLI: exit status 2 and one clear line, no traceback
# --------------------------------------------------------------------------------------------
SMALL = ["run", "--d", "8", "--alpha", "4", "--n-test", "50", "--width", "4", "--no-baseline"]
CLI_CASES = [
    (["--d", "0"], "--d must be a positive integer"),
    (["--d", "-3"], "--d must be a positive integer"),
    (["--d", "1"], "d = 1 is smaller than the link's r = 2"),
    (["--d", "abc"], "argument --d: invalid int value"),
    (["--width", "3"], "--width must be even"),
    (["--width", "0"], "--width must be a positive integer"),
    (["--alpha", "-1"], "--alpha and --alpha2 must be positive"),
    (["--alpha", "nan"], "--alpha and --alpha2 must be"),
    (["--alpha", "inf"], "--alpha and --alpha2 must be .*finite"),
    (["--alpha2", "0"], "--alpha and --alpha2 must be positive"),
    (["--n-test", "1"], "--n-test must be an integer >= 2"),
    (["--link", "foo"], "argument --link: invalid choice: 'foo'"),
    (["--loss", "foo"], "argument --loss: invalid choice: 'foo'"),
    (["--noise", "-1"], "noise must be >= 0"),
    (["--noise", "inf"], "noise must be a finite"),
    (["--lr", "-1"], "lr must be > 0"),
    (["--lr", "nan"], "lr must be a finite"),
    (["--weight-decay", "-1"], "weight_decay must be >= 0"),
    (["--steps", "-1"], "n_steps must be an integer >= 0"),
    (["--init-scale", "0"], "init_scale must be > 0"),
    (["--huber-delta", "0"], "huber_delta must be > 0"),
    (["--threads", "0"], "n_threads must be an integer >= 1"),
    (["--link", "z1z2", "--r", "3"], "has r = 2; got r=3"),
]


@pytest.mark.parametrize("args, message", CLI_CASES, ids=[" ".join(a) for a, _ in CLI_CASES])
def test_cli_bad_arguments_exit_2_with_a_clear_message(capsys, args, message):
    try:
        status = main(SMALL + args)
    except SystemExit as exit_:  # argparse's own errors
        status = exit_.code
    err = capsys.readouterr().err
    assert status == 2
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("mimkit run: error: ")
    assert re.search(message, err), err


def test_cli_reports_a_problem_too_large_for_memory(capsys):
    # n1 = 1e9 * 512 samples: the (n1, d) array (2 PiB) exceeds any address space, so numpy
    # refuses the allocation up front whatever the overcommit policy.
    assert main(["run", "--d", "512", "--alpha", "1e9", "--no-baseline"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "mimkit run: error: Unable to allocate" in err


# --------------------------------------------------------------------------------------------
# Ctrl-C during a spectral solve
# --------------------------------------------------------------------------------------------
def test_ctrl_c_stops_a_spectral_solve_quickly_and_leaves_the_process_usable(
    run_with_interrupts,
):
    lines = run_with_interrupts(
        """
        import numpy as np
        from mimkit import spectral
        rng = np.random.default_rng(0)
        X = rng.standard_normal((8000, 600)); y = rng.standard_normal(8000)
        op = spectral.LocalHessian.from_labels(X, y, "identity")
        # tol=0 (machine precision) on a bulk-only spectrum: runs for many seconds
        print("lanczos", interrupted(
            lambda: spectral.top_eigenpairs(op, 30, method="lanczos", tol=0.0, random_state=0)))
        print("power", interrupted(
            lambda: spectral.power_iteration(op, rng.standard_normal((600, 8)), 10**7)))
        v = rng.standard_normal(600)
        ok = np.allclose(op.matvec(v), X.T @ (op.t * (X @ v)) / 8000, rtol=1e-10, atol=1e-12)
        small = spectral.LocalHessian.from_labels(X[:400, :30], y[:400], "identity")
        vals, _ = spectral.top_eigenpairs(small, 3, method="lanczos", random_state=0)
        want, _ = spectral.top_eigenpairs(small, 3, method="explicit")
        print("usable", bool(ok and np.allclose(vals, want, rtol=1e-8)))
        """
    )
    assert float(lines["lanczos"]) < INTERRUPT_LATENCY_S, lines
    assert float(lines["power"]) < INTERRUPT_LATENCY_S, lines
    assert lines["usable"] == "True"
