"""Bad and odd inputs to mimkit.links: each bad input gives a ValueError / TypeError whose message
names the argument (and the fix); odd but valid inputs (int, read-only, strided, memory-mapped
arrays) give the same result as a plain C-ordered float64 array."""

import numpy as np
import pytest

import mimkit
from _bad_inputs import case, check

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
