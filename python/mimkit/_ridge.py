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

#: GCV grid: lam / (mean eigenvalue of H_c^T H_c / n) from 1e-8 to 1e8, four per decade. At the
#: top every feature's fit is shrunk by at least 1e8 / m: the fit is the mean of y (df ~ 0).
_GCV_GRID = 10.0 ** np.linspace(-8.0, 8.0, 65)
#: Each effective degree of freedom counts 1.4 times in GCV's denominator (modified GCV: Cummins,
#: Filloon & Nychka 2001; Gu, "Smoothing Spline ANOVA Models", 2013, sec. 3.2). Plain GCV
#: (1.0) undersmooths when n is close to df: on pure-noise labels with n2 <= m it chose
#: near-interpolating fits in 10-40% of draws (test MSE/Var up to 14 at n2 = m = 64); with 1.4
#: the mean excess over the mean predictor is <= 0.003 at every n2/m in [0.1, 10], and fits of
#: signal (n2 >= 8 m) have the same test error as with 1.0 to within +-0.01.
_DF_FACTOR = 1.4


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

    ``GCV(lam) = n RSS(lam) / (n - 1 - 1.4 df(lam))^2`` with ``df = sum e_i / (e_i + n lam)``
    over the eigenvalues ``e_i`` of G (Golub, Heath & Wahba 1979): an almost unbiased estimate
    of the leave-one-out error, in closed form from one eigendecomposition; the 1 is the
    intercept's degree of freedom, the factor 1.4 guards against undersmoothing
    (``_DF_FACTOR``). In SVD form (``H_c = U S V^T``, ``e = s^2``, ``(u_i . y_c)^2 = (v_i .
    q)^2 / e_i``) the residual is the part of y_c outside the span of H_c plus the shrunken part
    inside, ``sum_i (n lam / (e_i + n lam))^2 (u_i . y_c)^2``: no cancellation near
    interpolation, which matters when n < m (then ``lam -> 0`` interpolates, ``df -> n - 1``).
    The grid reaches lambdas that shrink the fit to the mean of y, so GCV can choose it.
    """
    e, Q = np.linalg.eigh(stats.G)
    n = stats.n
    scale = max(max(e.mean(), 0.0) / n, np.finfo(float).tiny)
    # Directions with eigenvalues at rounding level are outside the span (H_c's null space).
    inside = e > e[-1] * e.shape[0] * np.finfo(float).eps
    e = e[inside]
    projection = (Q[:, inside].T @ stats.q) ** 2 / e  # (u_i . y_c)^2
    outside = max(stats.yy - float(projection.sum()), 0.0)
    best_lam, best = _GCV_GRID[-1] * scale, np.inf
    for lam in _GCV_GRID * scale:
        kept = e / (e + n * lam)
        rss = outside + float(np.sum((1.0 - kept) ** 2 * projection))
        residual_df = n - 1.0 - _DF_FACTOR * float(np.sum(kept))
        if residual_df <= 0.5:  # interpolating: GCV is undefined (division by ~0)
            continue
        gcv = n * rss / residual_df**2
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
