"""Inputs shared by the tests/test_*_errors.py files: one small valid data set, its broken
variants, and the two helpers every error table uses."""

import numpy as np
import pytest

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


def nan_link(z):
    return np.full(z.shape[0], np.nan)


def case(label, fn, exc, match):
    return pytest.param(fn, exc, match, id=label)


def check(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn()


def layouts(A):
    """The same values as read-only, F-ordered and strided (non-contiguous) arrays."""
    ro = A.copy()
    ro.setflags(write=False)
    big = np.zeros((A.shape[0], 2 * A.shape[1]))
    big[:, ::2] = A
    return {"read-only": ro, "F-order": np.asfortranarray(A), "strided": big[:, ::2]}
