"""Bad and odd inputs to mimkit.metrics: each bad input gives a ValueError / TypeError whose
message names the argument (and the fix); odd but valid inputs (int, read-only, strided, memory-
mapped arrays) give the same result as a plain C-ordered float64 array."""

import numpy as np
import pytest

from _bad_inputs import INF_Y, NAN_Y, RNG, U, W, Y, case, check
from mimkit import metrics

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
    case("gradient_subspace k 0", lambda: metrics.gradient_subspace(W, 0), ValueError, "k must be"),
    case(
        "gradient_subspace k > d",
        lambda: metrics.gradient_subspace(W, W.shape[1] + 1),
        ValueError,
        "k must be an integer in",
    ),
    case(
        "gradient_subspace nan",
        lambda: metrics.gradient_subspace(np.full((3, 4), np.nan), 1),
        ValueError,
        "gradients contains NaN",
    ),
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
