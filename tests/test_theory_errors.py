"""Bad and odd inputs to mimkit.preprocessing and mimkit.theory: each bad input gives a ValueError
/ TypeError whose message names the argument (and the fix); odd but valid inputs (int, read-
only, strided, memory-mapped arrays) give the same result as a plain C-ordered float64 array."""

import numpy as np
import pytest

from _bad_inputs import NAN_Y, Y, case, check, nan_link
from mimkit import preprocessing, theory

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
        lambda: preprocessing.optimal_preprocessing(nan_link, r=1, n_samples=1000),
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
    case(
        "network threshold huber_delta past float",
        lambda: theory.network_threshold("z1z2", "huber", huber_delta=10**400, n_samples=1000),
        ValueError,
        "huber_delta must be a finite real number, got 1000000",
    ),
]


@pytest.mark.parametrize("fn, exc, match", PREP_THEORY_CASES)
def test_preprocessing_and_theory_errors(fn, exc, match):
    check(fn, exc, match)
