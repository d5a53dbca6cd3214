"""How well a subspace, a set of neurons or a predictor recovers a multi-index model.

Definitions: docs/theory.md, "Metrics".

Subspaces are given as the row space of a ``(k, d)`` matrix; rows need not be orthonormal
(they are orthonormalised here) unless a function says otherwise.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ._validation import as_vector, check_count, check_positive_number


def _rows(A, name: str) -> np.ndarray:
    arr = np.asarray(A)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(
            f"{name} must be a non-empty (k, d) matrix whose rows span a subspace, "
            f"got shape {np.shape(A)}."
        )
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_) or np.iscomplexobj(arr):
        raise TypeError(f"{name} has non-real dtype {arr.dtype}; pass a float array.")
    arr = arr.astype(np.float64, copy=False)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or inf.")
    return arr


def _orthonormal_rows(A, name: str) -> np.ndarray:
    """Orthonormal basis (rank, d) of the row space of A; rank deficiency is an error."""
    arr = _rows(A, name)
    if arr.shape[0] > arr.shape[1]:
        raise ValueError(
            f"{name} has {arr.shape[0]} rows but only {arr.shape[1]} columns; "
            f"a subspace of R^d has at most d basis rows."
        )
    q, s, _ = np.linalg.svd(arr.T, full_matrices=False)
    if s[-1] <= s[0] * 1e-10:
        raise ValueError(
            f"the rows of {name} are linearly dependent (rank < {arr.shape[0]}); "
            f"pass a basis of the subspace."
        )
    return q.T


def _pair(A, B, nameA: str, nameB: str) -> tuple[np.ndarray, np.ndarray]:
    QA, QB = _orthonormal_rows(A, nameA), _orthonormal_rows(B, nameB)
    if QA.shape[1] != QB.shape[1]:
        raise ValueError(
            f"{nameA} and {nameB} live in different dimensions "
            f"(d = {QA.shape[1]} vs {QB.shape[1]})."
        )
    return QA, QB


def principal_angles(A, B) -> np.ndarray:
    """Principal angles between the row spaces of A and B.

    Parameters
    ----------
    A : (k1, d) array.  B : (k2, d) array.

    Returns
    -------
    (min(k1, k2),) array of angles in radians, ascending (0: shared direction, pi/2: orthogonal).
    """
    QA, QB = _pair(A, B, "A", "B")
    cos = np.linalg.svd(QA @ QB.T, compute_uv=False)
    return np.arccos(np.clip(cos, 0.0, 1.0))


def subspace_distance(U_hat, U) -> float:
    """``||P_hat - P_U||_F^2 / (2 r)``, r = rank of U: 0 when equal, ~1 for a random U_hat.

    With ``k`` rows in U_hat this equals ``(k + r - 2 sum_i cos^2 theta_i) / (2 r)``; for
    ``k = r`` it is the mean of ``sin^2`` of the principal angles, in [0, 1]. A random r-dim
    subspace of R^d has expected value ``1 - r/d``.

    Parameters
    ----------
    U_hat : (k, d) array, estimated basis.  U : (r, d) array, true basis.
    """
    QH, QU = _pair(U_hat, U, "U_hat", "U")
    cos2 = np.sum((QH @ QU.T) ** 2)
    return float((QH.shape[0] + QU.shape[0] - 2.0 * cos2) / (2.0 * QU.shape[0]))


def gradient_subspace(gradients, k: int) -> np.ndarray:
    """The k directions a fitted function varies along most: the top-k eigenvectors of its
    average gradient outer product ``(1/n) sum_i g_i g_i^T``
    (docs/theory.md, "Beyond layer-wise").

    Unlike the span of a network's first-layer rows, this ignores neurons whose outer weight is
    negligible, so it compares networks trained any way (and any differentiable predictor).

    Parameters
    ----------
    gradients : (n, d) array
        ``grad f(x_i)`` at n inputs, e.g. :meth:`mimkit.network.TwoLayerNetwork.input_gradients`
        on a test set.
    k : int, 1 <= k <= d.

    Returns
    -------
    (k, d) array with orthonormal rows.
    """
    G = _rows(gradients, "gradients")
    k = check_count(k, "k", minimum=1, below=G.shape[1] + 1)
    return np.linalg.svd(G, full_matrices=False)[2][:k]


def neuron_overlaps(W, U) -> np.ndarray:
    """Overlap matrix ``U w_j / |w_j|``: how much of each neuron lies along each true direction.

    Parameters
    ----------
    W : (m, d) array, neuron weights (any norms; zero rows give zero overlaps).
    U : (r, d) array with orthonormal rows (the directions themselves matter here, so they
        are not re-orthonormalised).

    Returns
    -------
    (m, r) array of cosines in [-1, 1].
    """
    W = _rows(W, "W")
    U = _rows(U, "U")
    if W.shape[1] != U.shape[1]:
        raise ValueError(
            f"W and U live in different dimensions (d = {W.shape[1]} vs {U.shape[1]})."
        )
    if not np.allclose(U @ U.T, np.eye(U.shape[0]), atol=1e-6):
        raise ValueError(
            "U must have orthonormal rows; orthonormalise it first (e.g. np.linalg.qr(U.T)[0].T)."
        )
    norms = np.linalg.norm(W, axis=1)
    safe = np.where(norms > 0, norms, 1.0)
    return (W @ U.T) / safe[:, None]


def neuron_alignment(W, U) -> np.ndarray:
    """Fraction of each neuron's direction inside span(U): ``|P_U w_j| / |w_j|``, shape (m,)."""
    return np.linalg.norm(neuron_overlaps(W, _orthonormal_rows(U, "U")), axis=1)


#: Default overlap a neuron needs to count as carrying a direction. A uniformly random unit
#: vector of span(U) has, for r = 2 / 3, overlap above 0.5 with a fixed direction with
#: probability 2/3 / 1/2, so well-recovered neurons spread over span(U) cover every direction;
#: noise neurons (overlap ~ 1/sqrt(d)) never do.
COVERAGE_THRESHOLD = 0.5


def coverage(W, U, threshold: float = COVERAGE_THRESHOLD) -> np.ndarray:
    """Fraction of neurons carrying each true direction.

    Neuron j carries direction k when ``|u_k . w_j| / |w_j| >= threshold``. The theory needs
    every direction covered (all entries > 0); ``coverage(...) * m`` gives neuron counts.
    Directions are the rows of U as given, so for links with degenerate local-Hessian
    eigenvalues (e.g. ``z1*z2``, whose eigenvectors are ``(u1 +- u2)/sqrt 2``) a neuron can
    carry several directions at once.

    Parameters
    ----------
    W : (m, d) array.  U : (r, d) array, orthonormal rows.
    threshold : float in (0, 1]

    Returns
    -------
    (r,) array of fractions in [0, 1].
    """
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, numbers.Real)
        or not 0.0 < threshold <= 1.0
    ):
        raise ValueError(f"threshold must lie in (0, 1], got {threshold!r}.")
    return np.mean(np.abs(neuron_overlaps(W, U)) >= threshold, axis=0)


def relative_test_error(y_pred, y) -> float:
    """``MSE / Var(y)``: 0 is perfect, 1 is the constant predictor ``mean(y)``.

    Parameters
    ----------
    y_pred, y : (n,) arrays, n >= 2, y not constant.
    """
    y_pred, y = _labels(y_pred, "y_pred"), _labels(y, "y")
    if y.shape != y_pred.shape or y.size < 2:
        raise ValueError(
            f"y_pred and y must have the same length >= 2, got {y_pred.size} and {y.size}."
        )
    var = np.var(y)
    if var == 0:
        raise ValueError("y is constant, so MSE / Var(y) is undefined.")
    return float(np.mean((y_pred - y) ** 2) / var)


def _labels(v, name: str) -> np.ndarray:
    """(n,) or (n, 1) labels as a finite float64 vector."""
    arr = np.asarray(v)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D of shape (n,), got shape {arr.shape}.")
    return as_vector(arr, name, np.dtype(np.float64), arr.shape[0])


@dataclass(frozen=True)
class Recovery:
    """Weak / strong recovery of a subspace.

    Attributes
    ----------
    distance : float
        :func:`subspace_distance`.
    max_cos2 : float
        Largest squared cosine of the principal angles (best-recovered direction).
    weak : bool
        ``max_cos2 >= weak_threshold``: some direction of U is partly recovered. For a random
        subspace ``max_cos2`` is about ``(sqrt(k/d) + sqrt(r/d))^2``, small when k, r << d.
    strong : bool
        ``distance < strong_threshold``: the whole subspace is recovered.
    """

    distance: float
    max_cos2: float
    weak: bool
    strong: bool


def recovery(U_hat, U, *, weak_threshold: float = 0.2, strong_threshold: float = 0.1) -> Recovery:
    """Weak and strong recovery flags of ``span(U_hat)`` for ``span(U)``.

    Parameters
    ----------
    U_hat : (k, d) array.  U : (r, d) array.
    weak_threshold : float
        Squared cosine above which a direction counts as partly recovered.
    strong_threshold : float
        Subspace distance below which the subspace counts as recovered.
    """
    check_positive_number(weak_threshold, "weak_threshold")
    check_positive_number(strong_threshold, "strong_threshold")
    angles = principal_angles(U_hat, U)
    dist = subspace_distance(U_hat, U)
    max_cos2 = float(np.cos(angles[0]) ** 2)
    return Recovery(dist, max_cos2, max_cos2 >= weak_threshold, dist < strong_threshold)
