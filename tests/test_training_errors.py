"""Bad and odd inputs to mimkit.training (run_phase1, run_phase2, train_layerwise): each bad input
gives a ValueError / TypeError whose message names the argument (and the fix); odd but valid
inputs (int, read-only, strided, memory-mapped arrays) give the same result as a plain C-ordered
float64 array."""

import numpy as np
import pytest

from _bad_inputs import INF_Y, NAN_X, NAN_Y, STR, W, X, Y, case, check, layouts
from mimkit import training
from mimkit.data import MultiIndexModel

STREAM = MultiIndexModel(5, "z1z2", random_state=0).stream(60, np.float64, random_state=1)


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
        "label_transform returned 60 NaN or inf values",
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
    case(
        "layerwise phase2_data",
        lambda: tl(phase2_data="split"),
        ValueError,
        "unknown phase2_data 'split'; choose one of fresh, reuse",
    ),
    case(
        "layerwise reuse with X2",
        lambda: tl(phase2_data="reuse"),
        ValueError,
        "phase2_data='reuse' fits phase 2 on \\(X1, y1\\): pass X2=None",
    ),
    case(
        "layerwise fresh without X2",
        lambda: training.train_layerwise(X, Y, n_hidden=4),
        ValueError,
        "X2 is None: phase2_data='fresh' .* or phase2_data='reuse'",
    ),
    case(
        "layerwise refine name",
        lambda: tl(refine="sgd"),
        ValueError,
        "unknown refine 'sgd'; choose one of lbfgs, adam",
    ),
    case(
        "layerwise refine_max_iter<0",
        lambda: tl(refine="lbfgs", refine_max_iter=-1),
        ValueError,
        "refine_max_iter must be an integer >= 0",
    ),
    case(
        "layerwise refine_tol nan",
        lambda: tl(refine="lbfgs", refine_tol=np.nan),
        ValueError,
        "refine_tol must be a finite",
    ),
    case(
        "layerwise refine mixed dtypes",
        lambda: tl(X2=X.astype(np.float32), refine="lbfgs"),
        TypeError,
        "refine trains on X1 and X2 together, but X1 is float64 and X2 float32",
    ),
    case(
        "layerwise refine a stream",
        lambda: training.train_layerwise(
            STREAM, None, STREAM, None, n_hidden=4, n_steps=1, refine="lbfgs"
        ),
        TypeError,
        "refine needs X1 and X2 as arrays .* X.rows\\(\\)",
    ),
]


@pytest.mark.parametrize("fn, exc, match", TRAINING_CASES)
def test_training_errors(fn, exc, match):
    check(fn, exc, match)


def test_phase1_gives_the_same_weights_for_int_read_only_strided_and_memory_mapped_X(tmp_path):
    Xi = np.round(3 * X)
    want = p1(X=Xi).W
    np.save(tmp_path / "X.npy", Xi)
    variants = dict(
        layouts(Xi), int=Xi.astype(np.int32), mmap=np.load(tmp_path / "X.npy", mmap_mode="r")
    )
    for name, Xv in variants.items():
        np.testing.assert_array_equal(p1(X=Xv).W, want, err_msg=name)
