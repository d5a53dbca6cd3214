r"""Asymptotic weak-recovery thresholds of preprocessed spectral methods.

Derivation: docs/theory.md, section "Thresholds".

Setting: ``x ~ N(0, I_d)``, ``z = U x``, labels ``y = g(z) + noise``, weights ``t = T(y)``
(centred or not, exactly as :mod:`mimkit.spectral` does), ``D = (1/n) sum_i t_i x_i x_i^T``,
``n, d -> inf`` with ``alpha = n / d`` fixed. Shifting D by a multiple of I moves no eigenvector,
so the ``"identity"`` and ``"none"`` centrings share their thresholds.

**Single direction (Lu & Li 2017; Mondelli & Montanari 2018).** Let ``tau = ess sup t > 0`` and,
for ``lambda > tau``,

    phi(lambda)     = lambda E[t z^2 / (lambda - t)]
    psi_a(lambda)   = lambda (1/alpha + E[t / (lambda - t)])

The top eigenvalue of D separates from the bulk, with an eigenvector correlated with U, iff
``phi > psi_a`` at ``lambda_bar_a = argmin_{lambda > tau} psi_a``. Since
``psi_a' = 1/alpha - H`` with ``H(lambda) = E[t^2 / (lambda - t)^2]`` and
``phi - psi_a = lambda (F - 1/alpha)`` with ``F(lambda) = E[t (z^2 - 1) / (lambda - t)]``, and
``lambda_bar_a`` solves ``H = 1/alpha`` (or is tau when ``H(tau+) < 1/alpha``), the spike exists
exactly when ``F(lambda_bar_a) > H(lambda_bar_a)``; ``lambda_bar_a`` increases with alpha, so

    alpha_c = 1 / F(lambda_c),   lambda_c = sup{lambda >= tau : F(lambda) <= H(lambda)}  (or tau).

For large lambda, ``F - H ~ E[t (z^2 - 1)] / lambda``: a direction is visible at the top iff
``E[t (z^2 - 1)] > 0``; the bottom of the spectrum is the same analysis for ``-t``.
*Optimal T.* For ``t = G / (1 + G)``, ``G(y) = E[z^2 - 1 | y]``: ``tau = 1`` and
``F - H = (lambda - 1) E[G^2 / ((1 + G)(lambda - t)^2)] > 0``, so ``lambda_c = 1`` where
``t / (1 - t) = G`` gives ``F(1) = E[G^2]``: ``alpha_c = 1 / E[G^2]``. Phase retrieval
``y = z^2``: ``G = y - 1``, ``alpha_c = 1 / Var(z^2) = 1/2``.

**r directions.** Outliers solve ``det(F(lambda) - I / alpha) = 0`` with the r x r matrix
``F(lambda) = E[t (z z^T - I) / (lambda - t)]``; with ``mu_k(lambda)`` its k-th largest
eigenvalue, the k-th spike at the top appears at ``alpha_k = 1 / mu_k(lambda_k)``,
``lambda_k = sup{lambda >= tau : mu_k <= H}``. When all ``G(y)`` are diagonal in one basis this
is the scalar rule per eigen-direction; otherwise directions are eigenvectors of F(lambda_k).

**Unbounded T.** If ``sup t = inf`` (e.g. ``T(y) = y`` with Gaussian-tailed labels), the largest
eigenvalues of D come from single samples with the largest weights, growing like ``log n``: no
fixed alpha suffices and the threshold is ``inf``. Boundedness is judged by probing the link at
inputs scaled by 8 and 1/8: a side counts as unbounded when the probe's weights exceed the
sample's by more than half their spread. Expectations are Monte Carlo means in r dimensions;
standard errors are by the delta method through the fixed point.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy import optimize

from .._random import RandomState, as_generator
from .._validation import check_count, check_name, check_positive_number
from ..links import get_link
from ..options import CENTERINGS, LOSSES
from ..preprocessing import (
    OptimalPreprocessing,
    apply_preprocessing,
    default_center,
    loss_preprocessing,
    make_preprocessing,
    optimal_preprocessing,
)

#: Probe scales for the boundedness check (module docstring).
_PROBE_SCALES = (8.0, 1.0 / 8.0)
#: Signals E[t (v.z)^2 - t] below this many standard errors count as invisible.
_VISIBLE_SE = 3.0
_GRID_POINTS = 120


@dataclass(frozen=True, eq=False)
class ThresholdResult:
    """Weak-recovery thresholds of one spectral method (from :func:`weak_recovery_threshold`).

    Attributes
    ----------
    alpha_c : (r,) array
        Threshold ``n/d`` per direction, ascending; ``inf`` where the method cannot see it.
    stderr : (r,) array
        Monte Carlo standard error of each threshold (``nan`` where inf).
    directions : (r, r) array
        Rows: the directions in z coordinates (``z = U x``), in the order of ``alpha_c``.
    side : (r,) int array
        +1: the direction shows at the top of the spectrum, -1: at the bottom, 0: invisible.
    center : str
    n_samples : int
    """

    alpha_c: np.ndarray
    stderr: np.ndarray
    directions: np.ndarray
    side: np.ndarray
    center: str
    n_samples: int

    @property
    def overall(self) -> float:
        """Threshold to see every direction (the subspace): ``max(alpha_c)``."""
        return float(np.max(self.alpha_c))

    @property
    def first(self) -> float:
        """Threshold to see some direction: ``min(alpha_c)``."""
        return float(np.min(self.alpha_c))


def weak_recovery_threshold(
    link,
    preprocessing="optimal",
    r: Optional[int] = None,
    *,
    center: Optional[str] = None,
    noise: float = 0.0,
    n_samples: int = 400_000,
    random_state: RandomState = None,
) -> ThresholdResult:
    """Asymptotic ``alpha_c = n/d`` of the spectral method with label weights ``T(y)``.

    Parameters
    ----------
    link : str, Link or callable
        As for :func:`mimkit.links.get_link` (a callable needs ``r``).
    preprocessing : "optimal", a name, a callable T(y), or an OptimalPreprocessing
        ``"optimal"``: each group of directions with a common optimal weighting
        ``lambda_k / (1 + lambda_k)`` gets its own matrix (as :func:`mimkit.spectral.
        spectral_subspace` does); its thresholds are ``1 / E[lambda_k(y)^2]``.
    r : int, optional
    center : {"mean", "identity", "none"} or None
        Centring of T, as in :mod:`mimkit.spectral` (None: "none" for optimal, else "mean").
    noise : float
        Label noise standard deviation.
    n_samples : int
        Monte Carlo sample size.
    random_state : None, int or Generator

    Returns
    -------
    ThresholdResult
    """
    preprocessing, center, sample = spectral_sample(
        link, preprocessing, r, center, noise, n_samples, random_state
    )
    return thresholds_from_sample(preprocessing, center, *sample)


def spectral_sample(link, preprocessing, r, center, noise, n_samples, random_state):
    """Check the arguments shared by the spectral theory functions and draw their Monte Carlo
    sample: returns ``(preprocessing, center, (z, y, probe_y))`` with "optimal" and a None centre
    resolved (arguments as for :func:`weak_recovery_threshold`)."""
    link = get_link(link, r)
    noise = check_positive_number(noise, "noise", allow_zero=True)
    n_samples = check_count(n_samples, "n_samples", minimum=1000)
    rng = as_generator(random_state)
    if isinstance(preprocessing, str) and preprocessing == "optimal":
        preprocessing = optimal_preprocessing(link, noise=noise, random_state=rng)
    if center is None:
        center = default_center(preprocessing)
    check_name(center, "center", CENTERINGS)
    return preprocessing, center, draw_sample(link, noise, n_samples, rng)


def network_threshold(
    link,
    loss: str,
    r: Optional[int] = None,
    *,
    huber_delta: float = 1.0,
    noise: float = 0.0,
    n_samples: int = 400_000,
    random_state: RandomState = None,
) -> ThresholdResult:
    """Predicted threshold of the network's phase 1 with ``loss`` (docs/theory.md, "Phase 1").

    Small-init phase 1 is power iteration on ``S = (1/n) sum loss'(c, y_i) x_i x_i^T`` with the
    offset ``c`` the loss's location estimate of y, so this is :func:`weak_recovery_threshold`
    for ``T(y) = -loss'(c, y)`` with ``c`` at its population value (no further centring). Both
    ends of the spectrum count (``lr * weight_decay = 1`` amplifies the largest |lambda|).

    Parameters
    ----------
    link, r, noise, n_samples, random_state : as for :func:`weak_recovery_threshold`.
    loss : {"squared", "absolute", "huber"}
    huber_delta : float

    Returns
    -------
    ThresholdResult
        As :func:`weak_recovery_threshold` returns it.
    """
    transform, link, rng = network_transform(
        link, loss, r, huber_delta, noise, n_samples, random_state
    )
    return weak_recovery_threshold(
        link, transform, center="none", noise=noise, n_samples=n_samples, random_state=rng
    )


def network_transform(
    link, loss: str, r, huber_delta: float, noise: float, n_samples: int, random_state
):
    """``(T, link, rng)``: the loss's preprocessing with its population offset ``c``."""
    check_name(loss, "loss", LOSSES)
    huber_delta = check_positive_number(huber_delta, "huber_delta")
    noise = check_positive_number(noise, "noise", allow_zero=True)
    link = get_link(link, r)
    rng = as_generator(random_state)
    z = rng.standard_normal((check_count(n_samples, "n_samples", minimum=1000), link.r))
    transform, _ = loss_preprocessing(loss, _labels(link, z, noise, rng), huber_delta)
    return transform, link, rng


def draw_sample(link, noise: float, n_samples: int, rng: np.random.Generator):
    """Monte Carlo sample ``z`` (n_samples, r), labels ``y`` and the boundedness probe's labels."""
    z = rng.standard_normal((n_samples, link.r))
    y = _labels(link, z, noise, rng)
    m = min(n_samples, 20_000)
    probe_z = np.concatenate([z[:m] * s for s in _PROBE_SCALES])
    with np.errstate(all="ignore"):
        probe_y = _labels(link, probe_z, noise, rng, check=False)
    return z, y, probe_y


def thresholds_from_sample(
    preprocessing, center: str, z, y, probe_y, cache: Optional[dict] = None
) -> ThresholdResult:
    """:func:`weak_recovery_threshold` on a given sample (:func:`draw_sample`), T resolved.

    ``cache`` (a dict) keeps :func:`side_functions` for callers that reuse the sample.
    """
    if isinstance(preprocessing, OptimalPreprocessing) and len(preprocessing.groups) > 1:
        candidates = []
        for group in preprocessing.groups:
            prep = preprocessing.with_direction(int(group[0]))
            found = _candidates(prep, center, z, y, probe_y, cache)
            candidates += [c for c in found if c[3] == 1][: len(group)]
    else:
        candidates = _candidates(preprocessing, center, z, y, probe_y, cache)
    return _merge(candidates, z.shape[1], center, z.shape[0])


def _labels(link, z: np.ndarray, noise: float, rng: np.random.Generator, check: bool = True):
    y = np.asarray(link(z), dtype=np.float64)
    if noise > 0:
        y = y + noise * rng.standard_normal(y.shape[0])
    if check and not np.isfinite(y).all():
        raise ValueError(f"link {link.name!r} produced NaN or inf labels on Gaussian inputs.")
    return y


def _candidates(preprocessing, center: str, z, y, probe_y, cache=None) -> list:
    """(alpha, stderr, direction, side) for every visible spike on both sides."""
    t, sides, _ = weights_and_sides(preprocessing, center, y, probe_y)
    out = []
    for side in sides:
        out += [(a, se, v, side) for a, se, v in _side_spikes(side * t, z, cache)]
    return out


def weights_and_sides(preprocessing, center: str, y, probe_y) -> tuple[np.ndarray, list, list]:
    """Centred weights ``t`` (n,), the sides (+1 top, -1 bottom) that can carry a spike, and the
    unbounded sides.

    A side is dropped when it has no positive weights, constant weights, or is unbounded (the
    probe's weights exceed the sample's by more than half their spread: module docstring).
    """
    t = apply_preprocessing(preprocessing, y)
    offset = t.mean() if center == "mean" else 0.0
    t = t - offset
    fn = make_preprocessing(preprocessing) if isinstance(preprocessing, str) else preprocessing
    with np.errstate(all="ignore"):
        probe_t = np.asarray(fn(probe_y), dtype=np.float64)
    probe_t = probe_t - offset
    sides, unbounded = [], []
    for side in (1, -1):
        st = side * t
        tau = float(st.max())
        spread = tau - float(np.quantile(st, 0.25))
        if spread <= 0:
            spread = tau - float(st.min())
        probe_max = np.max(side * probe_t) if np.isfinite(probe_t).all() else np.inf
        if probe_max > tau + 0.5 * spread:
            unbounded.append(side)
        elif tau > 0 and spread > 0:
            sides.append(side)
    return t, sides, unbounded


class SideMoments:
    """Monte Carlo expectations of one side's weights at many ``lambda > tau = max t`` at once.

    Parameters
    ----------
    t : (N,) weights (the side's sign applied).
    z : (N, r) Monte Carlo directions.
    """

    #: Lambdas per pass: bounds the (N, chunk) temporary of the weights.
    _CHUNK = 8

    def __init__(self, t: np.ndarray, z: np.ndarray):
        self.t, self.z = t, z
        self.N, self.r = z.shape
        self.tau = float(t.max())
        self._rows, self._cols = np.triu_indices(self.r)
        # z_i z_i^T - I once, upper triangle: F is one (L, N) x (N, r(r+1)/2) product.
        self._pairs = z[:, self._rows] * z[:, self._cols] - (self._rows == self._cols)

    def _weights(self, lams: np.ndarray, power: int, degree: int):
        """``t^degree / (lambda - t)^power`` in (N, chunk) blocks, one division per entry."""
        lams = np.atleast_1d(np.asarray(lams, dtype=np.float64))
        base = self.t[:, None] if degree == 1 else (self.t * self.t)[:, None]
        for c in np.array_split(lams, max(1, -(-lams.size // self._CHUNK))):
            inv = 1.0 / (c[None, :] - self.t[:, None])
            block = base * inv
            for _ in range(power - 1):
                block *= inv
            yield block

    def F(self, lams, power: int = 1) -> np.ndarray:
        """``E[t (z z^T - I) / (lambda - t)^power]``, shape (L, r, r)."""
        flat = np.concatenate([w.T @ self._pairs for w in self._weights(lams, power, 1)])
        out = np.empty((flat.shape[0], self.r, self.r))
        out[:, self._rows, self._cols] = flat / self.N
        out[:, self._cols, self._rows] = flat / self.N
        return out

    def H(self, lams, power: int = 2, degree: int = 2) -> np.ndarray:
        """``E[t^degree / (lambda - t)^power]`` (degree 1 or 2), shape (L,)."""
        return np.concatenate([w.mean(axis=0) for w in self._weights(lams, power, degree)])


def side_functions(t: np.ndarray, z: np.ndarray, cache: Optional[dict] = None):
    """The side's moments, a grid above ``tau = max t``, F and H on it, and the visible count.

    Returns ``(moments, grid, mus, hs, n_visible)`` with ``moments`` a :class:`SideMoments`,
    ``mus`` (G, r) the eigenvalues of ``F(lambda) = E[t (z z^T - I) / (lambda - t)]`` on the
    grid, descending, ``hs`` (G,) ``H = E[t^2 / (lambda - t)^2]`` on the grid, and ``n_visible``
    the number of eigen-directions with a significantly positive signal ``E[t ((v.z)^2 - 1)]``
    (module docstring). ``cache``: a dict to reuse results for the same (t, z).
    """
    key = (hashlib.blake2b(t.tobytes(), digest_size=16).digest(), id(z))
    if cache is not None and key in cache:
        return cache[key]
    N, r = z.shape
    moments = SideMoments(t, z)
    tau = moments.tau

    # F - H ~ mu_k(lambda F) / lambda - E[t^2] / lambda^2 changes sign for the last time well
    # below lambda = 1e6 tau unless alpha_c would exceed ~1e10: the grid reaches that far.
    grid = tau + tau * np.geomspace(1e-9, 1e6, _GRID_POINTS)
    mus = np.linalg.eigvalsh(moments.F(grid))[:, ::-1]  # (G, r)
    hs = moments.H(grid)
    # Visible: a significantly positive k-th eigenvalue of F at the far end of the grid (its
    # weights t / (lambda - t) are bounded, so the standard error is reliable).
    far_vals, far_vecs = np.linalg.eigh(moments.F(grid[-1])[0])
    far_vals, far_vecs = far_vals[::-1], far_vecs[:, ::-1]
    w_far = t / (grid[-1] - t)
    n_visible = 0
    for k in range(r):
        a = w_far * ((z @ far_vecs[:, k]) ** 2 - 1.0)
        if far_vals[k] <= _VISIBLE_SE * a.std() / np.sqrt(N) or mus[-1, k] <= hs[-1]:
            break
        n_visible += 1
    out = (moments, grid, mus, hs, n_visible)
    if cache is not None:
        cache[key] = out
    return out


def _side_spikes(t: np.ndarray, z: np.ndarray, cache: Optional[dict] = None) -> list:
    """Spikes at the top of D for bounded weights t with sup t > 0 (module docstring)."""
    moments, grid, mus, hs, n_visible = side_functions(t, z, cache)
    tau = moments.tau

    def F(lam):
        return moments.F(lam)[0]

    def H(lam):
        return float(moments.H(lam)[0])

    spikes = []
    for k in range(n_visible):
        K = mus[:, k] - hs
        below = np.nonzero(K <= 0)[0]
        if below.size == 0:
            lam_c, interior = grid[0], False
        else:
            j = below[-1]
            lam_c = optimize.brentq(
                lambda lam, k=k: np.linalg.eigvalsh(F(lam))[::-1][k] - H(lam),
                grid[j],
                grid[j + 1],
                xtol=1e-14 * tau,
                rtol=1e-12,
            )
            interior = True
        vals, vecs = np.linalg.eigh(F(lam_c))
        mu, v = vals[::-1][k], vecs[:, ::-1][:, k]
        spikes.append((1.0 / mu, _stderr(t, z, v, lam_c, mu, interior), v))
    return spikes


def _stderr(t, z, v, lam, mu, interior: bool) -> float:
    """Delta-method standard error of 1/mu_k(lambda_c), through the fixed point if interior."""
    N = t.size
    w = t / (lam - t)
    proj = (z @ v) ** 2 - 1.0
    a = w * proj - mu
    if interior:
        h = w * w
        dmu = -np.mean(w / (lam - t) * proj)
        dH = -2.0 * np.mean(h / (lam - t))
        dK = dmu - dH
        a = a - dmu * (a - (h - h.mean())) / dK
    return float(np.std(a / mu**2) / np.sqrt(N))


def _merge(candidates: list, r: int, center: str, n_samples: int) -> ThresholdResult:
    """Per direction the earliest spike; a spike along an already-seen direction is dropped."""
    candidates = sorted(candidates, key=lambda c: c[0])
    alphas: list[float] = []
    ses: list[float] = []
    dirs: list[np.ndarray] = []
    sides: list[int] = []
    for alpha, se, v, side in candidates:
        if len(dirs) == r:
            break
        if dirs:
            Q = np.array(dirs)
            if np.linalg.norm(v - Q.T @ (Q @ v)) < 0.5:
                continue
            v = v - Q.T @ (Q @ v)
        alphas.append(alpha)
        ses.append(se)
        sides.append(side)
        dirs.append(v / np.linalg.norm(v))
    # Invisible directions: the orthogonal complement of the seen ones.
    rest = r - len(dirs)
    if rest:
        Q = np.array(dirs).reshape(len(dirs), r)
        complement = np.linalg.svd(np.eye(r) - Q.T @ Q)[0][:, :rest].T
        dirs += list(complement)
        alphas += [np.inf] * rest
        ses += [np.nan] * rest
        sides += [0] * rest
    return ThresholdResult(
        np.array(alphas), np.array(ses), np.array(dirs), np.array(sides, int), center, n_samples
    )
