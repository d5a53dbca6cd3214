"""Power-of-two scales of data: what makes the regressors equivariant in the scale of X and y.

The estimators divide X and y by the power of two nearest their root-mean-square. Dividing by a
power of two is exact in floating point (no rounding while the numbers stay normal), so for
``c = 2^k`` a fit on ``(c X, y)`` or ``(X, c y)`` computes exactly the numbers of the fit on
``(X, y)``; for standard data (RMS in [0.71, 1.41]) the scale is 1 and nothing changes. For
other ``c`` a residual factor in [0.71, 1.41] remains, which the settings given in units of the
data (the Huber delta, the learning rate) see.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

#: Usable scales: RMS of X and spread of y in [2^-USABLE_EXPONENT, 2^USABLE_EXPONENT]
#: (about 1e-289 to 1e289). Beyond, entries a few sigma away are subnormal (digits lost) or
#: predictions and their squared errors overflow.
USABLE_EXPONENT = 960
#: Rows per block when the squares of X must be taken at a shifted exponent.
_BLOCK_ROWS = 4096


def root_mean_square(A: np.ndarray) -> float:
    """Root-mean-square entry of A, exactly equivariant under powers of two
    (``root_mean_square(2^k A) == 2^k root_mean_square(A)`` bit for bit), without an
    (n, d) temporary.

    einsum's own loop, not BLAS: a multithreaded BLAS dot would leave OpenBLAS's threads
    spinning for ~0.1 s, stealing the cores from the core call that follows.
    """
    A = np.asarray(A)
    if A.size == 0:
        return 0.0
    rows = A.reshape(A.shape[0], -1) if A.ndim > 1 else A.reshape(-1, 1)
    mean_square = float(np.einsum("ij,ij->", rows, rows)) / A.size
    # Mean squares well inside the dtype's normal range (2^+-900 in float64, 2^+-100 in
    # float32): scaling A by 2^k scales every product and partial sum by 2^2k exactly.
    limit = 2.0 ** (900 if A.dtype == np.float64 else 100)
    if 1.0 / limit < mean_square < limit:
        return math.sqrt(mean_square)
    peak = float(np.max(np.abs(A)))
    if peak == 0.0:
        return 0.0
    # Squares that over- or underflow: measure A / 2^e (exact) with 2^e near max |A|, by rows.
    shift = -int(np.frexp(peak)[1])
    total = 0.0
    for start in range(0, rows.shape[0], _BLOCK_ROWS):
        block = np.ldexp(rows[start : start + _BLOCK_ROWS], shift)
        total += float(np.einsum("ij,ij->", block, block))
    return math.ldexp(math.sqrt(total / A.size), -shift)


def nearest_power_of_two(value: float) -> float:
    """The power of two nearest ``value > 0`` on a log scale (``2^round(log2 value)``), exact."""
    mantissa, exponent = math.frexp(value)  # value = mantissa * 2^exponent, mantissa in [0.5, 1)
    return math.ldexp(1.0, exponent if mantissa >= math.sqrt(0.5) else exponent - 1)


def data_scale(values: np.ndarray, name: str, *, centre: bool = False) -> float:
    """The power of two nearest the RMS of ``values`` (of ``values - mean`` with ``centre``);
    1 when that is 0 (all-zero X, constant y: left to the callers' own checks).

    Raises
    ------
    ValueError
        Naming ``name`` and the usable range, when the RMS is outside it.
    """
    values = np.asarray(values)
    if centre:
        values = values - values.mean(dtype=np.float64)
    rms = root_mean_square(values)
    if rms == 0.0:
        return 1.0
    if not 2.0**-USABLE_EXPONENT <= rms <= 2.0**USABLE_EXPONENT:
        what = "standard deviation" if centre else "root-mean-square"
        raise ValueError(
            f"{name} has {what} {rms:.3g}, outside the usable range "
            f"[{2.0**-USABLE_EXPONENT:.0e}, {2.0**USABLE_EXPONENT:.0e}]; rescale {name} "
            f"(e.g. standardise it)."
        )
    return nearest_power_of_two(rms)


def r2_score_scaled(y, prediction, sample_weight: Optional[np.ndarray] = None) -> float:
    """scikit-learn's R^2 of ``prediction`` for ``y``, computed on both divided by a power of two
    near ``max |y|``: R^2 is scale-free, and the squared errors of labels beyond ~1e154 would
    otherwise overflow (NaN)."""
    from sklearn.metrics import r2_score

    y = np.asarray(y, dtype=np.float64)
    prediction = np.asarray(prediction, dtype=np.float64)
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if 0.0 < peak < np.inf:
        shift = -int(np.frexp(peak)[1])
        y, prediction = np.ldexp(y, shift), np.ldexp(prediction, shift)
    return float(r2_score(y, prediction, sample_weight=sample_weight))
