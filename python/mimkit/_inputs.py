"""Validated inputs of the core's calls: arrays or streamed rows, converted once.

Shared by :mod:`mimkit.core` (which also takes a StreamedData) and the numpy oracle
:mod:`mimkit.reference`; the dtype and layout policy is :mod:`mimkit._validation`'s.
"""

from __future__ import annotations

import numpy as np

from ._validation import (
    as_matrix,
    as_vector,
    check_name,
    check_positive_number,
    compute_dtype,
)
from .options import ACTIVATIONS, LOSSES
from .stream import StreamedData


def as_rows(X, *, check_finite: bool = True, allow_stream: bool = True):
    """X as a C-contiguous float array in its compute dtype, or a
    :class:`~mimkit.stream.StreamedData` as it is (its rows are made by the core, finite by
    construction)."""
    if isinstance(X, StreamedData):
        if not allow_stream:
            raise TypeError(
                "this function takes X as an array, not a StreamedData; pass "
                "X.rows() (or a subset's rows) to materialise it."
            )
        return X
    return as_matrix(X, "X", compute_dtype(X), exact_dtype=False, check_finite=check_finite)


class Phase1Inputs:
    """Validated, converted arguments of a phase-1 call (one conversion, no per-step copies).
    ``X`` may be a StreamedData where ``allow_stream`` (the core, not the numpy reference);
    ``y``, ``a`` and ``loss`` may be None for calls that do not use them."""

    def __init__(
        self, X, y, W, b, a, activation, loss, huber_delta, check_finite=True, allow_stream=False
    ):
        self.X = as_rows(X, check_finite=check_finite, allow_stream=allow_stream)
        dtype = self.X.dtype
        n, d = self.X.shape
        self.W = as_matrix(W, "W", dtype, shape=(None, d), check_finite=check_finite)
        m = self.W.shape[0]
        self.y = None if y is None else as_vector(y, "y", dtype, n, check_finite=check_finite)
        self.b = as_vector(b, "b", dtype, m, check_finite=check_finite)
        self.a = None if a is None else as_vector(a, "a", dtype, m, check_finite=check_finite)
        self.activation = check_name(activation, "activation", ACTIVATIONS)
        self.loss = None if loss is None else check_name(loss, "loss", LOSSES)
        self.huber_delta = check_positive_number(huber_delta, "huber_delta")
        self.dtype = dtype


def row_weights(sample_weight, args: Phase1Inputs, check_finite: bool = True):
    """``sample_weight`` (n,) in the compute dtype of ``args``, or None (unweighted loss)."""
    if sample_weight is None:
        return None
    return as_vector(
        sample_weight, "sample_weight", args.dtype, args.X.shape[0], check_finite=check_finite
    )


def as_block(V, name: str, dtype: np.dtype, d: int, *, check_finite: bool = True) -> np.ndarray:
    """A (d,) or (d, k) block of vectors as a C-contiguous (d, k) array."""
    arr = np.asarray(V)
    if arr.ndim == 1:
        if arr.shape[0] != d:
            raise ValueError(f"{name} has length {arr.shape[0]}; expected d = {d}.")
        arr = arr[:, None]
    return as_matrix(arr, name, dtype, shape=(d, None), check_finite=check_finite)


def local_hessian_inputs(X, t, check_finite: bool = True, allow_stream: bool = False):
    """``X`` (n, d) in its compute dtype (or a StreamedData where ``allow_stream``) and the
    label weights ``t`` (n,) cast to it."""
    X = as_rows(X, check_finite=check_finite, allow_stream=allow_stream)
    return X, as_vector(t, "t", X.dtype, X.shape[0], check_finite=check_finite)


def local_hessian_matvec_inputs(X, t, V, check_finite: bool = True, allow_stream: bool = False):
    """:func:`local_hessian_inputs` for a matvec: also the block ``V`` as (d, k), and ``t``
    either (n,) or (n, k) (one weighting per column of V)."""
    if np.ndim(t) != 2:
        X, t = local_hessian_inputs(X, t, check_finite, allow_stream)
        return X, t, as_block(V, "V", X.dtype, X.shape[1], check_finite=check_finite)
    X = as_rows(X, check_finite=check_finite, allow_stream=allow_stream)
    V2 = as_block(V, "V", X.dtype, X.shape[1], check_finite=check_finite)
    t = as_matrix(
        t,
        "t",
        X.dtype,
        shape=(X.shape[0], V2.shape[1]),
        exact_dtype=False,
        check_finite=check_finite,
    )
    return X, t, V2
