"""Bad and odd inputs to mimkit.data (MultiIndexModel, make_multi_index, sample): each bad input
gives a ValueError / TypeError whose message names the argument (and the fix); odd but valid
inputs (int, read-only, strided, memory-mapped arrays) give the same result as a plain C-ordered
float64 array."""

import numpy as np
import pytest

import mimkit
from _bad_inputs import U, case, check, nan_link

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
        lambda: MIM(3, nan_link, r=1).sample(3),
        ValueError,
        "link 'nan_link' produced NaN or inf",
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
