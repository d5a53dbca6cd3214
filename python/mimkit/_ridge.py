"""Ridge regression of y on hidden features from their Gram matrix (phase 2's convex step).

Everything is computed from centred sufficient statistics, which the core accumulates over row
chunks (:func:`mimkit.core.hidden_statistics`), so the ``(n, m)`` feature matrix is never held.
The intercept is fitted and not penalised.
Objective, with ``lam`` per sample:

    (1/n) |y_c - H_c a|^2 + lam |a|^2,   H_c, y_c centred.

The fit is equivariant in y (``y -> s y`` gives ``a -> s a``, the same GCV choice), so the
statistics are of ``y / s`` with ``s`` a power of two near ``max |y|`` (:func:`label_scale`):
``y @ y`` stays in range for labels up to float64's largest, and dividing by a power of two is
exact, so the results are bit for bit those of unscaled labels wherever those did not overflow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: GCV grid: lam / (mean eigenvalue of H_c^T H_c / n) from 1e-8 to 1e2, four per decade.
_GCV_GRID = 10.0 ** np.linspace(-8.0, 2.0, 41)


@dataclass(eq=False)
class GramStats:
    """Centred sufficient statistics of (H, y / y_scale): ``G = H_c^T H_c``,
    ``q = H_c^T y_c``; ``mean_y``, ``q`` and ``yy`` are of the scaled labels."""

    n: int
    mean_h: np.ndarray
    mean_y: float
    G: np.ndarray
    q: np.ndarray
    yy: float
    y_scale: float = 1.0

    @classmethod
    def from_sums(
        cls,
        sum_h: np.ndarray,
        gram: np.ndarray,
        h_dot_y: np.ndarray,
        y: np.ndarray,
        y_scale: float = 1.0,
    ) -> "GramStats":
        """From the raw sums ``sum_i h_i`` (m,), ``H^T H`` (m, m), ``H^T y`` (m,) of
        :func:`mimkit.core.hidden_statistics` and the labels y (n,), all of labels already
        divided by ``y_scale``."""
        y = np.asarray(y, dtype=np.float64)
        n = y.shape[0]
        mh, my = sum_h / n, y.mean()
        # Raw moments minus the mean part; features are O(1)-scaled, so the cancellation costs
        # at most a few digits of float64. Features of inputs at extreme scales overflow:
        # the caller checks that G and q are finite and names the cause.
        with np.errstate(over="ignore", invalid="ignore"):
            G = gram - n * np.outer(mh, mh)
            q, yy = h_dot_y - n * mh * my, y @ y - n * my * my
        return cls(n, mh, my, 0.5 * (G + G.T), q, yy, y_scale)


def label_scale(y: np.ndarray) -> float:
    """The power of two nearest above ``max |y|`` (1 for all-zero or non-finite labels)."""
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if not 0.0 < peak < np.inf:
        return 1.0
    return float(np.ldexp(1.0, int(np.frexp(peak)[1])))


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
    return _unscaled(stats, a)


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
    return _unscaled(stats, a)


def _unscaled(stats: GramStats, a: np.ndarray) -> tuple[np.ndarray, float]:
    """Outer weights and intercept for the labels as given (not divided by ``y_scale``)."""
    c = stats.mean_y - stats.mean_h @ a
    return a * stats.y_scale, float(c * stats.y_scale)


def _jitter(stats: GramStats) -> np.ndarray:
    # lam = 0 with collinear features (e.g. duplicated neurons) would make G singular.
    return np.eye(stats.G.shape[0]) * (1e-12 * max(np.trace(stats.G), 1.0))
