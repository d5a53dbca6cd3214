"""Ridge regression of y on hidden features from their Gram matrix (phase 2's convex step).

Everything is computed from centred sufficient statistics, which the core accumulates over row
chunks (:func:`mimkit.core.hidden_statistics`), so the ``(n, m)`` feature matrix is never held.
The intercept is fitted and not penalised.
Objective, with ``lam`` per sample:

    (1/n) |y_c - H_c a|^2 + lam |a|^2,   H_c, y_c centred.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: GCV grid: lam / (mean eigenvalue of H_c^T H_c / n) from 1e-8 to 1e2, four per decade.
_GCV_GRID = 10.0 ** np.linspace(-8.0, 2.0, 41)


@dataclass(eq=False)
class GramStats:
    """Centred sufficient statistics of (H, y): ``G = H_c^T H_c``, ``q = H_c^T y_c``."""

    n: int
    mean_h: np.ndarray
    mean_y: float
    G: np.ndarray
    q: np.ndarray
    yy: float

    @classmethod
    def from_sums(
        cls, sum_h: np.ndarray, gram: np.ndarray, h_dot_y: np.ndarray, y: np.ndarray
    ) -> "GramStats":
        """From the raw sums ``sum_i h_i`` (m,), ``H^T H`` (m, m), ``H^T y`` (m,) of
        :func:`mimkit.core.hidden_statistics` and the labels y (n,)."""
        y = np.asarray(y, dtype=np.float64)
        n = y.shape[0]
        mh, my = sum_h / n, y.mean()
        # Raw moments minus the mean part; features are O(1)-scaled, so the cancellation costs
        # at most a few digits of float64.
        G = gram - n * np.outer(mh, mh)
        return cls(n, mh, my, 0.5 * (G + G.T), h_dot_y - n * mh * my, y @ y - n * my * my)


def gcv_ridge(stats: GramStats) -> float:
    """The per-sample ``lam`` minimising generalised cross-validation on the grid.

    ``GCV(lam) = n RSS(lam) / (n - df(lam))^2`` with ``df = sum e_i / (e_i + n lam)`` over the
    eigenvalues ``e_i`` of G (Golub, Heath & Wahba 1979): an almost unbiased estimate of the
    leave-one-out error, in closed form from one eigendecomposition.
    """
    e, Q = np.linalg.eigh(stats.G)
    e = np.maximum(e, 0.0)
    qq = (Q.T @ stats.q) ** 2
    n = stats.n
    scale = max(e.mean() / n, np.finfo(float).tiny)
    best_lam, best = _GCV_GRID[-1] * scale, np.inf
    for lam in _GCV_GRID * scale:
        shrink = 1.0 / (e + n * lam)
        rss = stats.yy - 2.0 * np.sum(qq * shrink) + np.sum(e * qq * shrink**2)
        df = np.sum(e * shrink)
        if n - df <= 0.5:  # interpolating: GCV is undefined (division by ~0)
            continue
        gcv = n * max(rss, 0.0) / (n - df) ** 2
        if gcv < best:
            best_lam, best = lam, gcv
    return float(best_lam)


def solve_ridge(stats: GramStats, lam: float) -> tuple[np.ndarray, float]:
    """Closed-form ridge: ``a = (G + n lam I)^{-1} q`` and intercept ``mean_y - mean_h . a``."""
    m = stats.G.shape[0]
    a = np.linalg.solve(stats.G + stats.n * lam * np.eye(m) + _jitter(stats), stats.q)
    return a, float(stats.mean_y - stats.mean_h @ a)


def gd_ridge(stats: GramStats, lam: float, n_steps: int) -> tuple[np.ndarray, float]:
    """Full-batch gradient descent on the ridge objective from ``a = 0``, step ``1 / L``.

    ``L = e_max / n + lam`` is the gradient's Lipschitz constant, so the iteration is monotone;
    few steps act as early stopping (implicit regularisation), many converge to
    :func:`solve_ridge`.
    """
    n = stats.n
    lipschitz = np.linalg.eigvalsh(stats.G)[-1] / n + lam
    step = 1.0 / max(lipschitz, np.finfo(float).tiny)
    a = np.zeros(stats.G.shape[0])
    for _ in range(n_steps):
        a -= step * ((stats.G @ a - stats.q) / n + lam * a)
    return a, float(stats.mean_y - stats.mean_h @ a)


def _jitter(stats: GramStats) -> np.ndarray:
    # lam = 0 with collinear features (e.g. duplicated neurons) would make G singular.
    return np.eye(stats.G.shape[0]) * (1e-12 * max(np.trace(stats.G), 1.0))
