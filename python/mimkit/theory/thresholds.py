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
sample's by more than half their spread. Expectations are weighted means over the points of a
:class:`~mimkit._label_law.LabelSample` -- quadrature nodes for r <= 3, else Monte
Carlo draws (:mod:`mimkit._label_law` states the accuracy); Monte Carlo standard
errors are by the delta method through the fixed point.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Optional

import numpy as np
from scipy import optimize

from .._label_law import (
    ATOL,
    RTOL,
    LabelSample,
    QuadratureLaw,
    half_rule,
    labels,
    monte_carlo_sample,
    preprocessing_breaks,
    quadrature_location,
    resolve_method,
)
from .._quadrature import check_agreement
from .._random import RandomState, as_generator
from .._validation import check_count, check_name, check_positive_number
from ..links import Link, get_link
from ..options import CENTERINGS, LOSSES
from ..preprocessing import (
    OptimalPreprocessing,
    apply_preprocessing,
    default_center,
    loss_location,
    loss_transform,
    make_preprocessing,
    optimal_preprocessing,
    quadrature_tabulates,
)
from ..preprocessing.optimal import optimal_rule

#: Signals E[t (v.z)^2 - t] below this many standard errors count as invisible.
_VISIBLE_SE = 3.0
_GRID_POINTS = 40


@dataclass(frozen=True, eq=False)
class ThresholdResult:
    """Weak-recovery thresholds of one spectral method (from :func:`weak_recovery_threshold`).

    Attributes
    ----------
    alpha_c : (r,) array
        Threshold ``n/d`` per direction, ascending; ``inf`` where the method cannot see it.
    stderr : (r,) array
        Standard error of each threshold (``nan`` where inf): Monte Carlo's, or quadrature's
        error bound (:mod:`mimkit._label_law`).
    directions : (r, r) array
        Rows: the directions in z coordinates (``z = U x``), in the order of ``alpha_c``.
    side : (r,) int array
        +1: the direction shows at the top of the spectrum, -1: at the bottom, 0: invisible.
    center : str
    n_samples : int
        Monte Carlo sample size, or number of quadrature nodes.
    method : "quadrature" or "monte_carlo"
    """

    alpha_c: np.ndarray
    stderr: np.ndarray
    directions: np.ndarray
    side: np.ndarray
    center: str
    n_samples: int
    method: str = "monte_carlo"

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
    method: str = "auto",
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
        spectral_subspace` does); its thresholds are ``1 / E[lambda_k(y)^2]``. A callable is
        integrated as smooth unless it lists its kinks and jumps in an attribute ``breaks``
        (label values; quadrature only).
    r : int, optional
    center : {"mean", "identity", "none"} or None
        Centring of T, as in :mod:`mimkit.spectral` (None: "none" for optimal, else "mean").
    noise : float
        Label noise standard deviation.
    n_samples : int
        Monte Carlo sample size (``method="monte_carlo"``).
    method : {"auto", "quadrature", "monte_carlo"}
        How expectations are computed (:mod:`mimkit._label_law`): "auto" is
        quadrature for r <= 3 (accuracy ``RTOL`` relative, checked), else Monte Carlo.
    random_state : None, int or Generator
        Monte Carlo only.

    Returns
    -------
    ThresholdResult
    """
    problem = Problem.check(link, r, noise, n_samples, method, random_state)

    def compute(law):
        prep, cen = problem.preprocessing(preprocessing, center, law)
        return thresholds_from_sample(prep, cen, problem.sample_for(prep, law))

    return problem.run(compute, threshold_gaps, with_threshold_errors, "weak_recovery_threshold")


@dataclass(frozen=True, eq=False)
class Problem:
    """A checked theory problem: link, noise and how expectations are computed.

    :meth:`run` calls ``compute(law)`` with the quadrature law (and again at half the nodes, to
    check convergence) or once with None for Monte Carlo, whose sample then comes from ``rng``
    in the order the Monte Carlo code has always drawn it. ``requested`` is the caller's
    ``method``: with "auto", a rule that fails its convergence check gives way to Monte Carlo.
    """

    link: Link
    noise: float
    n_samples: int
    method: str
    rng: np.random.Generator
    requested: str = "auto"

    @classmethod
    def check(cls, link, r, noise, n_samples, method, random_state) -> "Problem":
        link = get_link(link, r)
        noise = check_positive_number(noise, "noise", allow_zero=True)
        n_samples = check_count(n_samples, "n_samples", minimum=1000)
        resolved = resolve_method(method, link.r, noise)
        return cls(link, float(noise), n_samples, resolved, as_generator(random_state), method)

    def sample(self, law: Optional[QuadratureLaw], breaks=()) -> LabelSample:
        """The Monte Carlo sample (from rng) or the rule of ``law`` cut at ``breaks``."""
        if law is None:
            return monte_carlo_sample(self.link, self.noise, self.n_samples, self.rng)
        return law.sample(breaks)

    def sample_for(self, preprocessing, law: Optional[QuadratureLaw]) -> LabelSample:
        """The Monte Carlo sample, or the rule for expectations of ``preprocessing``: the law
        of y in one dimension for an optimal table that has one
        (:func:`mimkit.preprocessing.optimal.optimal_rule`), else the polar rule cut at its
        breaks."""
        rule = optimal_rule(preprocessing, law) if law is not None else None
        return rule if rule is not None else self.sample(law, preprocessing_breaks(preprocessing))

    def preprocessing(self, preprocessing, center, law: Optional[QuadratureLaw]):
        """``(T, center)`` with "optimal" and a None centre resolved."""
        if isinstance(preprocessing, str) and preprocessing == "optimal":
            if law is not None and not quadrature_tabulates(self.link, law):
                raise _MonteCarloOnly
            preprocessing = optimal_preprocessing(
                self.link, noise=self.noise, random_state=self.rng, method=self.method, law=law
            )
        if center is None:
            center = default_center(preprocessing)
        check_name(center, "center", CENTERINGS)
        return preprocessing, center

    def loss_transform(self, loss: str, huber_delta: float, law: Optional[QuadratureLaw]):
        """``T(y) = -loss'(c, y)`` with ``c`` at its population value, its kinks in ``breaks``."""
        if law is None:
            z = self.rng.standard_normal((self.n_samples, self.link.r))
            c = loss_location(loss, labels(self.link, z, self.noise, self.rng), huber_delta)
        else:
            c = quadrature_location(law, loss, huber_delta)
        return loss_transform(loss, c, huber_delta)

    def run(self, compute, gaps, with_errors, what: str):
        """``compute(law)``; for quadrature also at half the nodes, checked (module docstring
        of :mod:`mimkit._label_law`) and with the standard errors set by ``with_errors``.

        A rule that fails the check is replaced by Monte Carlo when the caller asked for "auto"
        (a transform with a jump it does not list in ``breaks``, or a callable link whose level
        sets the rays meet tangentially, converges slowly; Monte Carlo's standard errors then
        tell a zero from a signal), and kept with a :class:`QuadratureWarning` when the caller
        asked for "quadrature".
        """
        if self.method == "monte_carlo":
            return compute(None)
        law = QuadratureLaw(self.link, self.noise)
        try:
            result = compute(law)
        except _MonteCarloOnly:
            return compute(None)
        reference = compute(half_rule(law))
        converged = check_agreement(
            gaps(result, reference), RTOL, ATOL, what, warn=self.requested == "quadrature"
        )
        if not converged and self.requested == "auto":
            return compute(None)
        return with_errors(result, reference)


class _MonteCarloOnly(Exception):
    """The optimal preprocessing of this link is tabulated by Monte Carlo (a user link's
    continuous label at r = 3): the whole computation then is Monte Carlo, with its standard
    errors."""


def threshold_gaps(result: "ThresholdResult", reference: "ThresholdResult") -> list:
    """The compared values of two threshold results (sorted thresholds)."""
    return [(np.sort(result.alpha_c), np.sort(reference.alpha_c))]


def with_threshold_errors(result: "ThresholdResult", reference: "ThresholdResult"):
    """``result`` with standard errors ``max(RTOL |alpha| + ATOL, |alpha - half-node alpha|)``."""
    return replace(result, stderr=quadrature_errors(result.alpha_c, reference.alpha_c))


def quadrature_errors(value: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """The stated bound ``RTOL |value| + ATOL`` or the observed gap to the half-node value, the
    larger (nan where value is not finite); shapes must match, else the bound alone."""
    value = np.asarray(value, dtype=np.float64)
    bound = RTOL * np.abs(value) + ATOL
    reference = np.asarray(reference, dtype=np.float64)
    if reference.shape == value.shape:
        with np.errstate(invalid="ignore"):
            gap = np.abs(value - reference)
        bound = np.where(np.isfinite(gap), np.maximum(bound, gap), bound)
    return np.where(np.isfinite(value), bound, np.nan)


def network_threshold(
    link,
    loss: str,
    r: Optional[int] = None,
    *,
    huber_delta: float = 1.0,
    noise: float = 0.0,
    n_samples: int = 400_000,
    method: str = "auto",
    random_state: RandomState = None,
) -> ThresholdResult:
    """Predicted threshold of the network's phase 1 with ``loss`` (docs/theory.md, "Phase 1").

    Small-init phase 1 is power iteration on ``S = (1/n) sum loss'(c, y_i) x_i x_i^T`` with the
    offset ``c`` the loss's location estimate of y, so this is :func:`weak_recovery_threshold`
    for ``T(y) = -loss'(c, y)`` with ``c`` at its population value (no further centring). Both
    ends of the spectrum count (``lr * weight_decay = 1`` amplifies the largest |lambda|).

    Parameters
    ----------
    link, r, noise, n_samples, method, random_state : as for :func:`weak_recovery_threshold`.
    loss : {"squared", "absolute", "huber"}
    huber_delta : float

    Returns
    -------
    ThresholdResult
        As :func:`weak_recovery_threshold` returns it.
    """
    check_name(loss, "loss", LOSSES)
    huber_delta = check_positive_number(huber_delta, "huber_delta")
    problem = Problem.check(link, r, noise, n_samples, method, random_state)

    def compute(law):
        transform = problem.loss_transform(loss, huber_delta, law)
        return thresholds_from_sample(transform, "none", problem.sample(law, transform.breaks))

    return problem.run(compute, threshold_gaps, with_threshold_errors, "network_threshold")


def thresholds_from_sample(
    preprocessing, center: str, sample: LabelSample, cache: Optional[dict] = None
) -> ThresholdResult:
    """:func:`weak_recovery_threshold` on a given :class:`LabelSample`, T resolved.

    ``cache`` (a dict) keeps :func:`side_functions` and the result for callers that reuse the
    sample (:func:`mimkit.theory.overlap.overlap_from_sample` after the thresholds).
    """
    key = ("thresholds", id(preprocessing), center, id(sample))
    found = _cached(cache, key, preprocessing, sample)
    if found is not None:
        return found
    if isinstance(preprocessing, OptimalPreprocessing) and len(preprocessing.groups) > 1:
        candidates = []
        for group in preprocessing.groups:
            prep = group_weighting(preprocessing, int(group[0]), cache)
            found = _candidates(prep, center, sample, cache)
            candidates += [c for c in found if c[3] == 1][: len(group)]
    else:
        candidates = _candidates(preprocessing, center, sample, cache)
    result = _merge(candidates, sample.z.shape[1], center, sample)
    if cache is not None:
        cache[key] = (preprocessing, sample, result)
    return result


def _cached(cache: Optional[dict], key: tuple, preprocessing, sample: LabelSample):
    """The value kept under ``key`` (ids of ``preprocessing`` and ``sample``) if it was kept for
    these very objects (an id can be reused once its object is gone), else None."""
    kept = cache.get(key) if cache is not None else None
    if kept is None or kept[0] is not preprocessing or kept[1] is not sample:
        return None
    return kept[2]


def _candidates(preprocessing, center: str, sample: LabelSample, cache=None) -> list:
    """(alpha, stderr, direction, side) for every visible spike on both sides."""
    t, sides, _ = weights_and_sides(preprocessing, center, sample, cache)
    out = []
    for side in sides:
        out += [(a, se, v, side) for a, se, v in _side_spikes(side * t, sample, cache)]
    return out


def group_weighting(preprocessing: OptimalPreprocessing, direction: int, cache=None):
    """The optimal preprocessing's scalar weighting of ``direction``: one object per cache, so
    that its weights are computed once (:func:`weights_and_sides`)."""
    if cache is None:
        return preprocessing.with_direction(direction)
    key = ("direction", id(preprocessing), direction)
    if key not in cache:
        cache[key] = preprocessing.with_direction(direction)
    return cache[key]


def weights_and_sides(
    preprocessing, center: str, sample: LabelSample, cache: Optional[dict] = None
) -> tuple:
    """Centred weights ``t`` (n,), the sides (+1 top, -1 bottom) that can carry a spike, and the
    unbounded sides.

    A side is dropped when it has no positive weights, constant weights, or is unbounded (the
    probe's weights exceed the sample's by more than half their spread: module docstring).
    ``cache`` (a dict) keeps the result.
    """
    key = ("weights", id(preprocessing), center, id(sample))
    found = _cached(cache, key, preprocessing, sample)
    if found is not None:
        return found
    t = apply_preprocessing(preprocessing, sample.y)
    offset = float(sample.mean(t)) if center == "mean" else 0.0
    t = t - offset
    fn = make_preprocessing(preprocessing) if isinstance(preprocessing, str) else preprocessing
    with np.errstate(all="ignore"):
        probe_t = np.asarray(fn(sample.probe_y), dtype=np.float64)
    probe_t = probe_t - offset
    sides, unbounded = [], []
    for side in (1, -1):
        st = side * t
        tau = float(st.max())
        spread = tau - sample.quantile(st, 0.25)
        if spread <= 0:
            spread = tau - float(st.min())
        probe_max = np.max(side * probe_t) if np.isfinite(probe_t).all() else np.inf
        if probe_max > tau + 0.5 * spread:
            unbounded.append(side)
        elif tau > 0 and spread > 0:
            sides.append(side)
    if cache is not None:
        cache[key] = (preprocessing, sample, (t, sides, unbounded))
    return t, sides, unbounded


class SideMoments:
    """Expectations of one side's weights at many ``lambda > tau = max t`` at once.

    For a quadrature rule, nodes with one weight ``t`` (a clipped, signed or discrete T gives
    many) enter every expectation alike and are merged into one atom (their summed probability,
    their mean ``z z^T - I``): a pass over the atoms costs the distinct weights, not the nodes.

    Parameters
    ----------
    t : (N,) weights (the side's sign applied).
    sample : LabelSample, the points (z, y) and their probabilities.
    """

    #: Lambdas per pass: bounds the (N, chunk) temporary of the weights.
    _CHUNK = 8

    def __init__(self, t: np.ndarray, sample: LabelSample):
        self.t, self.z, self.sample = t, sample.z, sample
        z = sample.z
        self.N, self.r = z.shape
        self.tau = float(t.max())
        self._rows, self._cols = np.triu_indices(self.r)
        # z_i z_i^T - I once, upper triangle: F is one (L, N) x (N, r(r+1)/2) product.
        pairs = z[:, self._rows] * z[:, self._cols] - (self._rows == self._cols)
        weights = sample.weights
        if sample.is_quadrature:
            t, inverse = np.unique(t, return_inverse=True)
            summed = np.bincount(inverse, weights=weights, minlength=t.size)
            pairs = (
                np.stack(
                    [np.bincount(inverse, weights=weights * p, minlength=t.size) for p in pairs.T],
                    axis=1,
                )
                / summed[:, None]
            )
            weights = summed
        self._atoms, self._pairs = t, pairs
        self._wt = weights * t

    def _weights(self, lams: np.ndarray, power: int, degree: int):
        """``t^degree / (lambda - t)^power`` in (N, chunk) blocks, one division per entry."""
        lams = np.atleast_1d(np.asarray(lams, dtype=np.float64))
        base = self._wt[:, None] if degree == 1 else (self._wt * self._atoms)[:, None]
        for c in np.array_split(lams, max(1, -(-lams.size // self._CHUNK))):
            inv = 1.0 / (c[None, :] - self._atoms[:, None])
            block = base * inv
            for _ in range(power - 1):
                block *= inv
            yield block

    def F(self, lams, power: int = 1) -> np.ndarray:
        """``E[t (z z^T - I) / (lambda - t)^power]``, shape (L, r, r)."""
        flat = np.concatenate([w.T @ self._pairs for w in self._weights(lams, power, 1)])
        out = np.empty((flat.shape[0], self.r, self.r))
        out[:, self._rows, self._cols] = flat
        out[:, self._cols, self._rows] = flat
        return out

    def H(self, lams, power: int = 2, degree: int = 2) -> np.ndarray:
        """``E[t^degree / (lambda - t)^power]`` (degree 1 or 2), shape (L,)."""
        return np.concatenate([w.sum(axis=0) for w in self._weights(lams, power, degree)])


def side_functions(t: np.ndarray, sample: LabelSample, cache: Optional[dict] = None):
    """The side's moments, a grid above ``tau = max t``, F and H on it, and the visible count.

    Returns ``(moments, grid, mus, hs, n_visible)`` with ``moments`` a :class:`SideMoments`,
    ``mus`` (G, r) the eigenvalues of ``F(lambda) = E[t (z z^T - I) / (lambda - t)]`` on the
    grid, descending, ``hs`` (G,) ``H = E[t^2 / (lambda - t)^2]`` on the grid, and ``n_visible``
    the number of eigen-directions with a significantly positive signal ``E[t ((v.z)^2 - 1)]``
    (module docstring). ``cache``: a dict to reuse results for the same (t, sample).
    """
    key = (hashlib.blake2b(t.tobytes(), digest_size=16).digest(), id(sample))
    if cache is not None and key in cache:
        return cache[key]
    z = sample.z
    r = z.shape[1]
    moments = SideMoments(t, sample)
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
        if sample.is_quadrature:
            # The rule itself, E[t ((v.z)^2 - 1)] > 0: at the grid's end F also carries
            # E[t^2 ((v.z)^2 - 1)] / lambda^2, which quadrature resolves (Monte Carlo does not).
            a = t * ((z @ far_vecs[:, k]) ** 2 - 1.0)
            signal = float(sample.mean(a))
        else:
            a = w_far * ((z @ far_vecs[:, k]) ** 2 - 1.0)
            signal = far_vals[k]
        if signal <= _significance(a, sample) or mus[-1, k] <= hs[-1]:
            break
        n_visible += 1
    out = (moments, grid, mus, hs, n_visible)
    if cache is not None:
        cache[key] = out
    return out


def _significance(a: np.ndarray, sample: LabelSample) -> float:
    """Below this a mean of ``a`` counts as zero: _VISIBLE_SE Monte Carlo standard errors, or
    for quadrature the stated absolute accuracy ``ATOL`` times its root mean square (a zero the
    rule does not see by symmetry, such as those of sq_sign3, comes out ~1e-6 of it; exact
    zeros by symmetry ~1e-16)."""
    if sample.is_quadrature:
        return ATOL * float(np.sqrt(sample.mean(a * a)))
    return _VISIBLE_SE * float(a.std()) / np.sqrt(a.size)


def _side_spikes(t: np.ndarray, sample: LabelSample, cache: Optional[dict] = None) -> list:
    """Spikes at the top of D for bounded weights t with sup t > 0 (module docstring)."""
    moments, grid, mus, hs, n_visible = side_functions(t, sample, cache)
    tau = moments.tau

    def F(lam):
        return moments.F(lam)[0]

    def H(lam):
        return float(moments.H(lam)[0])

    spikes: list = []
    basis = None  # eigenvectors shared by a run of equal thresholds (an isotropic F)
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
        mu = vals[::-1][k]
        # Equal eigenvalues (a symmetric link, exactly so by quadrature) have no preferred
        # eigenvectors: take them from one decomposition, so that they stay orthogonal.
        if basis is None or abs(1.0 / mu - spikes[-1][0]) > 1e-9 * spikes[-1][0]:
            basis = vecs[:, ::-1]
        v = basis[:, k]
        spikes.append((1.0 / mu, _stderr(t, sample, v, lam_c, mu, interior), v))
    return spikes


def _stderr(t, sample: LabelSample, v, lam, mu, interior: bool) -> float:
    """Delta-method standard error of 1/mu_k(lambda_c), through the fixed point if interior
    (quadrature: the stated bound)."""
    if sample.is_quadrature:
        return RTOL / abs(mu) + ATOL
    z, N = sample.z, t.size
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


def _merge(candidates: list, r: int, center: str, sample: LabelSample) -> ThresholdResult:
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
        np.array(alphas),
        np.array(ses),
        np.array(dirs),
        np.array(sides, int),
        center,
        sample.size,
        sample.method,
    )
