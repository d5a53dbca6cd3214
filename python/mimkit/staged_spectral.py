"""The sequential spectral method: spectral stages conditioned on the projections found so far
(docs/theory.md, "Hierarchies").

The spectral twin of :mod:`mimkit.staged_training`. Stage 1 is the first-order test on
``T(y)`` and, failing it, the spectral method itself (the eigenvectors of S outside its
bulk). A later stage, with ``h = B x`` the projections on the directions found so far, uses the
label kernel ``T(y, h) = sign-gate(h) * T(y - q(h))``: q is the least-squares quadratic
polynomial in h (the part of y the found directions explain, to second order), T the
estimator's preprocessing, and ``sum_l sign(h_l)`` the gate, the odd function of h with the
largest ratio of outlier to bulk width (docs/theory.md). Its matrix
``S = (1/n) sum_i T(y_i, h_i) P x_i x_i^T P`` on the complement P of B gives the stage's
directions, as many as it has eigenvalues outside the predicted bulk.
"""

from __future__ import annotations

from typing import Optional, Union

import numpy as np

from ._random import RandomState
from ._validation import as_matrix, as_vector
from .spectral import LocalHessian, label_weights, top_eigenpairs
from .staged_training import (
    AUTO_MAX_STAGES,
    Stage,
    check_stages,
    first_order_stage,
    orthonormal_complement_rows,
    stage_outliers,
)


def quadratic_features(H: np.ndarray) -> np.ndarray:
    """``[1, h_l, h_l h_m (l <= m)]`` for each row of H (n, k): shape (n, 1 + k + k(k+1)/2)."""
    n, k = H.shape
    columns = [np.ones(n), *H.T]
    columns += [H[:, i] * H[:, j] for i in range(k) for j in range(i, k)]
    return np.column_stack(columns)


def conditional_weights(y: np.ndarray, H: np.ndarray, preprocessing, center) -> np.ndarray:
    """The label kernel ``T(y, h)`` of a stage (module docstring); ``T(y)`` when H has no
    columns.

    Parameters
    ----------
    y : (n,) labels.  H : (n, k) projections on the directions found so far.
    preprocessing, center : as :func:`mimkit.spectral.label_weights`.

    Returns
    -------
    (n,) float64 array.
    """
    if H.shape[1] == 0:
        return label_weights(y, preprocessing, center=center)[0]
    Q = quadratic_features(H)
    residual = y - Q @ np.linalg.lstsq(Q, y, rcond=None)[0]
    gate = np.sum(np.where(H >= 0, 1.0, -1.0), axis=1)
    return gate * label_weights(residual, preprocessing, center=center)[0]


def staged_spectral_subspace(
    X,
    y,
    stages: Union[int, str] = "auto",
    preprocessing="identity",
    *,
    center: Optional[str] = None,
    method: str = "auto",
    random_state: RandomState = None,
    n_threads: Optional[int] = None,
) -> tuple[np.ndarray, tuple[Stage, ...], Optional[Stage]]:
    """Directions found stage by stage (module docstring).

    Parameters
    ----------
    X : (n, d) array.  y : (n,) labels.
    stages : int >= 1 or 'auto'
        That many stages (a stage with nothing outside the bulk then keeps its leading
        eigenvector), or until a stage finds nothing (at most AUTO_MAX_STAGES; the first
        stage always keeps at least its leading eigenvector).
    preprocessing : str or callable, T (not 'optimal': it is not conditional).
    center, method, random_state, n_threads : as :func:`mimkit.spectral.spectral_subspace`.

    Returns
    -------
    directions : (k, d) orthonormal rows, in learning order.
    stages : tuple of :class:`~mimkit.staged_training.Stage` (``n_steps`` 0).
    stopped : Stage or None, the stage that found nothing under 'auto'.
    """
    stages = check_stages(stages)
    if isinstance(preprocessing, str) and preprocessing == "optimal":
        raise ValueError(
            "the staged spectral method conditions T on the directions found so far; "
            "preprocessing='optimal' is the unconditional optimum. Pass a named or callable T."
        )
    X = as_matrix(X, "X", np.dtype(np.float64), exact_dtype=False)
    n, d = X.shape
    y = as_vector(y, "y", np.float64, n)
    budget = AUTO_MAX_STAGES if isinstance(stages, str) else stages
    B = np.zeros((0, d))
    done: list[Stage] = []
    for s in range(budget):
        H = X @ B.T
        weights = conditional_weights(y, H, preprocessing, center)
        Xp = np.ascontiguousarray(X - H @ B) if B.shape[0] else X
        found = first_order_stage(Xp, weights) if s == 0 else None
        stage = found[0] if found is not None else None
        if stage is None:
            op = LocalHessian(Xp, weights, n_threads=n_threads)
            values, vectors, bounds = stage_outliers(
                op, s > 0, method=method, random_state=random_state
            )
            if values.size == 0 and stages == "auto" and s > 0:
                stopped = Stage("easy", np.zeros((0, d)), values, bounds, 0, n, np.zeros(0))
                return B, tuple(done), stopped
            if values.size == 0:  # a fixed count, or the first stage: the leading eigenvector
                vectors = top_eigenpairs(
                    op, 1, which="abs", method=method, random_state=random_state
                )[1]
            directions = orthonormal_complement_rows(vectors.T, B)
            stage = Stage("easy", directions, values, bounds, 0, n, np.zeros(0))
        done.append(stage)
        B = np.concatenate([B, stage.directions], axis=0)
    return B, tuple(done), None
