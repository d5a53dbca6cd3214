"""Bad and odd inputs to mimkit.spectral: each bad input gives a ValueError / TypeError whose
message names the argument (and the fix); odd but valid inputs (int, read-only, strided, memory-
mapped arrays) give the same result as a plain C-ordered float64 array."""

import numpy as np
import pytest

from _bad_inputs import INF_Y, NAN_X, NAN_Y, OP, RNG, STR, X, Y, case, check, layouts
from conftest import INTERRUPT_LATENCY_S
from mimkit import spectral
from mimkit.spectral import LocalHessian

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
    variants = dict(layouts(Xi), int=Xi.astype(np.int16), mmap=mapped, list=Xi.tolist())
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
