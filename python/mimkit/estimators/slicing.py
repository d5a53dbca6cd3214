"""Slices of a response for SIR and SAVE, on the rule of R's ``dr`` package (Weisberg 2002).

* At most ``n_slices`` distinct values of y (a class label, a count): one slice per value.
* Otherwise slices of about ``m = floor(n / n_slices)`` sorted observations: a slice ends at the
  first observation whose rank reaches the running target (previous end + m) and is then
  extended to the end of its run of tied values, so equal responses always share a slice;
  slices are cut while the running end is below ``n - 2``, and the last slice absorbs the
  remainder. The count used may therefore differ from ``n_slices``: below it with heavy ties,
  or one above it when m is small (n = 20, n_slices = 8: eight slices of 2 and one of 4).

Slices depend on the values of y only, never on the order of rows with equal y.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_count


def default_n_slices(n_features: int) -> int:
    """dr's default number of slices, ``max(8, p + 3)``."""
    return max(8, n_features + 3)


def slice_response(y, n_slices: int) -> np.ndarray:
    """Slice labels of ``y`` on dr's rule (module docstring).

    Parameters
    ----------
    y : (n,) array of real responses.
    n_slices : int
        The number of slices asked for (at most n); the count used may differ (module
        docstring).

    Returns
    -------
    (n,) int array
        The slice of each observation, 0 .. H - 1 in increasing order of y (every slice
        non-empty); ``np.bincount`` gives the slice sizes.
    """
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {y.shape}.")
    if not np.all(np.isfinite(y)):
        raise ValueError("y contains NaN or infinity; slices need finite responses.")
    n = y.size
    check_count(n_slices, "n_slices", minimum=1)
    if n_slices > n:
        raise ValueError(f"n_slices = {n_slices} exceeds n_samples = {n}; pass at most {n}.")
    values, level = np.unique(y, return_inverse=True)
    if values.size <= n_slices:
        return level.astype(np.intp)
    # ends[j]: number of observations with y <= values[j] (the rank reached by a full run).
    ends = np.cumsum(np.bincount(level))
    step = n // n_slices
    cuts = []
    end = 0
    while end < n - 2:
        # First run whose cumulative count reaches the target: the slice ends with that run.
        end = int(ends[min(np.searchsorted(ends, end + step), ends.size - 1)])
        cuts.append(end)
    cuts[-1] = n
    # A run (ending at rank ends[v]) lies in the slice whose cut is the first >= its end.
    return np.searchsorted(np.asarray(cuts), ends[level], side="left").astype(np.intp)


def equal_slices(y, n_slices: int) -> np.ndarray:
    """Slice labels from ``n_slices`` nearly equal groups of ``np.argsort(y)`` (statsmodels'
    rule: ties may be split, and which tied rows go where depends on their order)."""
    y = np.asarray(y, dtype=np.float64)
    n = y.size
    check_count(n_slices, "n_slices", minimum=1)
    if n_slices > n:
        raise ValueError(f"n_slices = {n_slices} exceeds n_samples = {n}; pass at most {n}.")
    labels = np.empty(n, dtype=np.intp)
    for j, idx in enumerate(np.array_split(np.argsort(y), n_slices)):
        labels[idx] = j
    return labels
