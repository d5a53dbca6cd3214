"""Argument checking shared by `mimkit.core` and `mimkit.reference`.

Policy (documented in the README and tested):

* The compute dtype is the dtype of ``X``: float32 or float64. Integer / bool ``X`` is
  converted once to float64; any other dtype is a ``TypeError``.
* Large matrices (``X``, ``W``, ``V``, ``record_basis``) must already have the compute dtype;
  a float32/float64 mix is a ``TypeError`` (converting them silently would copy or lose
  precision). Vectors (``y``, ``t``, ``a``, ``b``) are cast to the compute dtype.
* F-ordered or strided arrays are converted once to C order (``np.ascontiguousarray``) before
  any loop, never per step.
* NaN / inf anywhere in the inputs is a ``ValueError`` (``check_finite=False`` skips the scan).
"""

from __future__ import annotations

import numbers
from typing import Optional, Sequence

import numpy as np

ACTIVATIONS: tuple[str, ...] = ("logcosh", "quadratic", "cos")
LOSSES: tuple[str, ...] = ("squared", "absolute", "huber")
#: Largest |w_j . x_i + b_j| at which the phase-1 step counts as linear in W (SPEC 3).
LINEAR_REGIME_MAX_PREACTIVATION = 1e-4


def compute_dtype(X, name: str = "X") -> np.dtype:
    """The dtype the core computes in for input ``X``."""
    dtype = np.asarray(X).dtype if not hasattr(X, "dtype") else X.dtype
    if dtype in (np.float32, np.float64):
        return np.dtype(dtype)
    if np.issubdtype(dtype, np.integer) or dtype == np.bool_:
        return np.dtype(np.float64)
    raise TypeError(
        f"{name} has dtype {dtype}; mimkit computes in float32 or float64. "
        f"Pass {name}.astype(np.float64) (or float32)."
    )


def _check_finite(arr: np.ndarray, name: str) -> None:
    # One streaming pass without an (n, d) boolean temporary: the sum is finite iff every entry
    # is, except when huge finite entries overflow it, which the exact check then rules out.
    if np.isfinite(np.add.reduce(arr, axis=None)):
        return
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or inf; remove or impute those entries first.")


def as_matrix(
    A,
    name: str,
    dtype: np.dtype,
    *,
    shape: Sequence[Optional[int]] = (None, None),
    exact_dtype: bool = True,
    check_finite: bool = True,
    allow_empty: bool = False,
) -> np.ndarray:
    """Return ``A`` as a C-contiguous 2-D array of ``dtype`` (copy only if needed).

    ``shape`` entries that are not None are required sizes; a mismatch is a ValueError.
    """
    arr = np.asarray(A)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got ndim={arr.ndim} (shape {arr.shape}).")
    if arr.dtype != dtype:
        if arr.dtype in (np.float32, np.float64) and exact_dtype:
            raise TypeError(
                f"{name} has dtype {arr.dtype} but the computation runs in {dtype} "
                f"(the dtype of X); pass {name}.astype(np.{dtype}) or convert X instead."
            )
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_) or np.iscomplexobj(
            arr
        ):
            raise TypeError(f"{name} has non-real dtype {arr.dtype}; pass a float array.")
    for axis, (want, got) in enumerate(zip(shape, arr.shape)):
        if want is not None and want != got:
            raise ValueError(
                f"{name} has shape {arr.shape}; expected size {want} along axis {axis}."
            )
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} is empty (shape {arr.shape}); pass at least one row and column.")
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if check_finite:
        _check_finite(arr, name)
    return arr


def as_vector(
    v, name: str, dtype: np.dtype, length: int, *, check_finite: bool = True
) -> np.ndarray:
    """Return ``v`` as a contiguous 1-D array of ``dtype`` and the given length."""
    arr = np.asarray(v)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D of length {length}, got shape {arr.shape}.")
    if arr.shape[0] != length:
        raise ValueError(f"{name} has length {arr.shape[0]}; expected {length}.")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_) or np.iscomplexobj(arr):
        raise TypeError(f"{name} has non-real dtype {arr.dtype}; pass a float array.")
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if check_finite:
        _check_finite(arr, name)
    return arr


def check_name(value: str, name: str, allowed: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; choose one of {', '.join(allowed)}.")
    return value


def check_positive_number(value, name: str, *, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite real number, got {value!r}.")
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}, got {value!r}.")
    return float(value)


def check_count(value, name: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def check_n_threads(n_threads) -> int:
    """0 means 'all OpenMP threads'; None is the same."""
    if n_threads is None:
        return 0
    return check_count(n_threads, "n_threads", minimum=1)


def check_record_steps(record_steps, n_steps: int) -> np.ndarray:
    """Sorted unique int64 steps in [0, n_steps]; None means no recording."""
    if record_steps is None:
        return np.zeros(0, dtype=np.int64)
    steps = np.asarray(record_steps)
    if steps.ndim == 0:
        steps = steps.reshape(1)
    if steps.ndim != 1 or (steps.size and not np.issubdtype(steps.dtype, np.integer)):
        raise ValueError("record_steps must be a 1-D sequence of integers.")
    steps = np.unique(steps.astype(np.int64))
    if steps.size and (steps[0] < 0 or steps[-1] > n_steps):
        raise ValueError(
            f"record_steps must lie in [0, n_steps={n_steps}], got {steps[0]}..{steps[-1]}."
        )
    return steps


def check_keep_scale(keep_scale) -> str:
    if keep_scale is True or keep_scale is False:
        return "on" if keep_scale else "off"
    if keep_scale == "auto":
        return "auto"
    raise ValueError(f"keep_scale must be True, False or 'auto', got {keep_scale!r}.")


def as_rows(X, *, check_finite: bool = True, allow_stream: bool = True):
    """X as a C-contiguous float array in its compute dtype, or a
    :class:`~mimkit.stream.StreamedData` as it is (its rows are made by the core, finite by
    construction)."""
    from .stream import StreamedData  # stream imports this module

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


def as_block(V, name: str, dtype: np.dtype, d: int, *, check_finite: bool = True) -> np.ndarray:
    """A (d,) or (d, k) block of vectors as a C-contiguous (d, k) array."""
    arr = np.asarray(V)
    if arr.ndim == 1:
        if arr.shape[0] != d:
            raise ValueError(f"{name} has length {arr.shape[0]}; expected d = {d}.")
        arr = arr[:, None]
    return as_matrix(arr, name, dtype, shape=(d, None), check_finite=check_finite)


ON_DIVERGENCE: tuple[str, ...] = ("raise", "warn")


class Phase1RunSettings:
    """Validated settings of a ``phase1_run`` call (shared by the core and the reference)."""

    def __init__(
        self,
        args: Phase1Inputs,
        lr,
        weight_decay,
        n_steps,
        record_steps,
        record_basis,
        keep_scale,
        progress,
        on_divergence,
        check_finite=True,
    ):
        self.lr = check_positive_number(lr, "lr")
        self.weight_decay = check_positive_number(weight_decay, "weight_decay", allow_zero=True)
        self.n_steps = check_count(n_steps, "n_steps")
        self.record_steps = check_record_steps(record_steps, self.n_steps)
        self.keep_scale = check_keep_scale(keep_scale)
        self.record_basis = None
        if record_basis is not None:
            self.record_basis = as_matrix(
                record_basis,
                "record_basis",
                args.dtype,
                shape=(args.X.shape[1], None),
                check_finite=check_finite,
            )
        if progress is not None and not callable(progress):
            raise TypeError("progress must be a callable taking the step number, or None.")
        self.on_divergence = check_name(on_divergence, "on_divergence", ON_DIVERGENCE)


def local_hessian_inputs(X, t, check_finite: bool = True, allow_stream: bool = False):
    """``X`` (n, d) in its compute dtype (or a StreamedData where ``allow_stream``) and the
    label weights ``t`` (n,) cast to it."""
    X = as_rows(X, check_finite=check_finite, allow_stream=allow_stream)
    return X, as_vector(t, "t", X.dtype, X.shape[0], check_finite=check_finite)
