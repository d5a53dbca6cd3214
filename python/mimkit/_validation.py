"""Argument checks used across mimkit (arrays, names, counts, numbers).

Policy (documented in docs/guide/core.md and tested):

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

import math
import numbers
from typing import Optional, Sequence

import numpy as np
from numpy.typing import DTypeLike


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
    dtype: DTypeLike,
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
    v, name: str, dtype: DTypeLike, length: int, *, check_finite: bool = True
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


def real_output(values, what: str, noun: str) -> np.ndarray:
    """The output of a user callable (``what``: e.g. "link 'f'"; ``noun``: what it is, e.g.
    "link") as an array of real numbers; complex or non-numeric values (strings, objects) are a
    TypeError naming ``what``."""
    out = np.asarray(values)
    if np.iscomplexobj(out):
        raise TypeError(
            f"{what} returned complex values; a {noun} must be real-valued (take np.abs or "
            f"np.real inside it if that is what you mean)."
        )
    if not (np.issubdtype(out.dtype, np.number) or out.dtype == np.bool_):
        raise TypeError(
            f"{what} returned values of dtype {out.dtype}; a {noun} must return real numbers "
            f"(floats)."
        )
    return out


def check_name(value: str, name: str, allowed: Sequence[str]) -> str:
    """``value`` if it is one of ``allowed`` (the tuples of :mod:`mimkit.options`)."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; choose one of {', '.join(allowed)}.")
    return value


def _is_finite_real(value) -> bool:
    """A real number (not a bool) that a float can hold: 10**400 is not one."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def check_finite_number(value, name: str) -> float:
    """``value`` as a float if it is a finite real number (not a bool), of either sign."""
    if not _is_finite_real(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}.")
    return float(value)


def check_positive_number(value, name: str, *, allow_zero: bool = False) -> float:
    if not _is_finite_real(value):
        raise ValueError(f"{name} must be a finite real number, got {value!r}.")
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}, got {value!r}.")
    return float(value)


def check_count(
    value, name: str, *, minimum: int = 0, below: Optional[int] = None, hint: str = ""
) -> int:
    """``value`` as an int if it is an integer (not a bool) in ``[minimum, below)``.

    ``hint`` (a sentence) is appended to the error: what the number means or a good value.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or int(value) < minimum
        or (below is not None and int(value) >= below)
    ):
        bound = f">= {minimum}" if below is None else f"in [{minimum}, {below})"
        raise ValueError(
            f"{name} must be an integer {bound}, got {value!r}." + (hint and " " + hint)
        )
    return int(value)


#: Most threads a core call accepts: far above any machine's cores, far below the C int the
#: bindings take (a larger count was reported as pybind's "incompatible function arguments").
MAX_THREADS = 4096


def check_n_threads(n_threads) -> int:
    """0 means 'all OpenMP threads'; None is the same. More than one thread in a core built
    without OpenMP warns once (``mimkit._config.warn_if_serial``)."""
    if n_threads is None:
        return 0
    count = check_at_most(
        check_count(n_threads, "n_threads", minimum=1),
        "n_threads",
        MAX_THREADS,
        "the most a core call takes; pass None to use all cores",
    )
    from ._config import warn_if_serial  # lazily: it imports the compiled core

    warn_if_serial(count)
    return count


def check_at_most(value: int, name: str, limit: int, why: str) -> int:
    """A count checked against its cap, the error naming the argument and ``why`` (the cap's
    reason and the fix)."""
    if value > limit:
        raise ValueError(f"{name}={value} is above {limit}, {why}.")
    return value


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
