r"""Overlaps above the threshold: how well a spectral method (or phase 1) recovers U.

Derivation: docs/theory.md, section "Overlaps above the threshold" (Lu & Li 2019; Mondelli &
Montanari 2018, Lemma 2). Same setting and conventions as :mod:`.thresholds`: weights
``t = T(y)`` (centred or not), ``D = (1/n) sum_i t_i x_i x_i^T``, ``n / d -> alpha``,
``tau = sup t``, and for ``lambda > tau``

    psi(lambda) = lambda (1/alpha + E[t / (lambda - t)]),
    F(lambda)   = E[t (z z^T - I) / (lambda - t)]  (r x r).

**Bulk.** The Stieltjes transform ``m`` of the limiting spectral law of D solves
``1/m = -zeta + E[t / (1 + t m / alpha)]``; with ``m = -alpha / lambda`` this reads
``zeta = psi(lambda)``, so the upper bulk edge is ``psi(lambda_bar)`` at the minimum
``lambda_bar`` of psi (``psi' = 1/alpha - H``, ``H = E[t^2 / (lambda - t)^2]``; ``lambda_bar =
tau`` when ``H(tau+) < 1/alpha``).

**Outliers.** An eigenvalue ``zeta = psi(lambda)`` outside the bulk with an eigenvector in
span(U) needs ``det(F(lambda) - I/alpha) = 0``: for the k-th eigenvalue ``mu_k`` of F,
``lambda*_k`` solves ``mu_k(lambda*) = 1/alpha`` with ``lambda* > lambda_bar``, the outlier sits
at ``psi(lambda*_k)`` and its eigenvector's projection on span(U) is along ``U^T v_k``
(``v_k`` the eigenvector of ``F(lambda*_k)``) with squared norm

    psi'(lambda*) / (psi'(lambda*) - phi_k'(lambda*)) = (1/alpha - H(lambda*)) / (lambda* B_k),
    B_k = -mu_k'(lambda*) = E[t ((v_k.z)^2 - 1) / (lambda* - t)^2],

the r-direction form of ``psi' / (psi' - phi')`` (``phi(lambda) = lambda E[t z^2 / (lambda -
t)]``; ``psi - phi = -lambda (mu - 1/alpha)``). Without a root above ``lambda_bar`` the
direction has no outlier and overlap 0. The bottom of the spectrum is the same for ``-t``.

**Subspace overlap.** The top-r eigenvectors by |eigenvalue| are the outliers beyond the
bulk's larger |edge|, largest first, then bulk vectors (overlap ``O(1/d)``); distinct outliers
lie along orthogonal directions of span(U), so ``1 - subspace_distance`` tends to the sum of
their squared overlaps over r. The optimal preprocessing with several groups of directions
builds one matrix per group and takes its top ``len(group)`` eigenvectors, as
:func:`mimkit.spectral.spectral_subspace` does.

Expectations are weighted means over one :class:`~mimkit._label_law.LabelSample` shared by
all alphas: quadrature nodes for r <= 3 (accuracy and its check: :mod:`mimkit._label_law`),
else Monte Carlo draws, whose standard errors are by the delta method through the fixed point
``mu_k(lambda*) = 1/alpha``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

import numpy as np
from scipy import optimize

from .._label_law import LabelSample
from .._random import RandomState
from .._validation import check_name, check_positive_number
from ..options import LOSSES
from ..preprocessing import (
    OptimalPreprocessing,
    apply_preprocessing,
)
from .thresholds import (
    Problem,
    ThresholdResult,
    group_weighting,
    quadrature_errors,
    side_functions,
    threshold_gaps,
    thresholds_from_sample,
    weights_and_sides,
    with_threshold_errors,
)


@dataclass(frozen=True, eq=False)
class OverlapResult:
    """Predicted recovery above the threshold (from :func:`spectral_overlap`).

    Attributes
    ----------
    alpha : (A,) array
        The sample ratios ``n / d``.
    overlap : (A, r) array
        Squared cosine between each hidden direction (ordered and oriented as
        ``thresholds.directions``) and its outlier eigenvector; 0 below its threshold.
    overlap_stderr : (A, r) array
        Standard errors of ``overlap`` (Monte Carlo's, or quadrature's error bound).
    subspace_overlap : (A,) array
        Predicted ``1 - subspace_distance`` of the top-r eigenvectors (module docstring).
    subspace_stderr : (A,) array
    eigenvalue : (A, r) array
        Outlier location per direction (``nan`` where there is none), after the identity shift
        of ``center="identity"``.
    eigenvalue_stderr : (A, r) array
    bulk_edges : (A, 2) array
        Lower and upper edge of the bulk (``-inf`` / ``inf`` for an unbounded side). With one
        matrix per group (optimal preprocessing), the edges of the first group's matrix.
    thresholds : ThresholdResult
        The thresholds on the same sample (directions, sides).
    center : str
    n_samples : int
        Monte Carlo sample size, or number of quadrature nodes.
    method : "quadrature" or "monte_carlo"
    """

    alpha: np.ndarray
    overlap: np.ndarray
    overlap_stderr: np.ndarray
    subspace_overlap: np.ndarray
    subspace_stderr: np.ndarray
    eigenvalue: np.ndarray
    eigenvalue_stderr: np.ndarray
    bulk_edges: np.ndarray
    thresholds: ThresholdResult
    center: str
    n_samples: int
    method: str = "monte_carlo"

    @property
    def subspace_distance(self) -> np.ndarray:
        """Predicted ``subspace_distance`` of the top-r eigenvectors, ``1 - subspace_overlap``."""
        return 1.0 - self.subspace_overlap


@dataclass(frozen=True, eq=False)
class Outlier:
    """One outlier eigenvalue of D at one alpha (from :func:`matrix_outliers`)."""

    alpha_index: int
    side: int
    eigenvalue: float
    eigenvalue_se: float
    overlap: float
    overlap_se: float
    direction: np.ndarray  # (r,) in z coordinates


def spectral_overlap(
    link,
    preprocessing="optimal",
    alpha=1.0,
    r: Optional[int] = None,
    *,
    center: Optional[str] = None,
    noise: float = 0.0,
    n_samples: int = 400_000,
    method: str = "auto",
    random_state: RandomState = None,
) -> OverlapResult:
    """Asymptotic overlaps of the spectral method with weights ``T(y)`` at ``alpha = n / d``.

    Parameters
    ----------
    alpha : float or (A,) array of positive numbers
    link, preprocessing, r, center, noise, n_samples, method, random_state
        As for :func:`mimkit.theory.weak_recovery_threshold` (one sample or rule serves every
        alpha).

    Returns
    -------
    OverlapResult
    """
    alphas = check_alphas(alpha)
    problem = Problem.check(link, r, noise, n_samples, method, random_state)

    def compute(law):
        prep, cen = problem.preprocessing(preprocessing, center, law)
        sample = problem.sample_for(prep, law)
        return overlap_from_sample(prep, cen, alphas, sample)

    return problem.run(compute, overlap_gaps, with_overlap_errors, "spectral_overlap")


def network_overlap(
    link,
    loss: str,
    alpha=1.0,
    r: Optional[int] = None,
    *,
    huber_delta: float = 1.0,
    noise: float = 0.0,
    n_samples: int = 400_000,
    method: str = "auto",
    random_state: RandomState = None,
) -> OverlapResult:
    """What phase 1 with ``loss`` converges to for large T1: :func:`spectral_overlap` of
    ``T(y) = -loss'(c, y)`` (c at its population value, no further centring, both ends).

    Parameters
    ----------
    link, alpha, r, noise, n_samples, method, random_state : as for :func:`spectral_overlap`.
    loss : {"squared", "absolute", "huber"}
    huber_delta : float

    Returns
    -------
    OverlapResult
        As :func:`spectral_overlap` returns it.
    """
    check_name(loss, "loss", LOSSES)
    huber_delta = check_positive_number(huber_delta, "huber_delta")
    problem = Problem.check(link, r, noise, n_samples, method, random_state)
    alphas = check_alphas(alpha)

    def compute(law):
        transform = problem.loss_transform(loss, huber_delta, law)
        sample = problem.sample(law, transform.breaks)
        return overlap_from_sample(transform, "none", alphas, sample)

    return problem.run(compute, overlap_gaps, with_overlap_errors, "network_overlap")


def overlap_gaps(result: OverlapResult, reference: OverlapResult) -> list:
    """The compared values of two overlap results: overlaps, bulk edges and thresholds. The
    outlier locations are not compared (they get the observed difference as their standard
    error): for the optimal preprocessing at large alpha the outlier sits just above the top
    of the weights, where the half rule resolves the tail poorly."""
    bounded = np.all(np.isfinite(result.bulk_edges) & np.isfinite(reference.bulk_edges), axis=1)
    bounded = bounded[:, None]
    return [
        (result.subspace_overlap, reference.subspace_overlap),
        (result.overlap, reference.overlap),
        # An edge next to an unbounded side depends on the extreme nodes, not on the law.
        (
            np.where(bounded, result.bulk_edges, np.inf),
            np.where(bounded, reference.bulk_edges, np.inf),
        ),
    ] + threshold_gaps(result.thresholds, reference.thresholds)


def with_overlap_errors(result: OverlapResult, reference: OverlapResult) -> OverlapResult:
    """``result`` with quadrature's standard errors (:func:`.thresholds.quadrature_errors`)."""
    return replace(
        result,
        overlap_stderr=quadrature_errors(result.overlap, reference.overlap),
        subspace_stderr=quadrature_errors(result.subspace_overlap, reference.subspace_overlap),
        eigenvalue_stderr=quadrature_errors(result.eigenvalue, reference.eigenvalue),
        thresholds=with_threshold_errors(result.thresholds, reference.thresholds),
    )


def overlap_from_sample(
    preprocessing, center: str, alphas, sample: LabelSample, cache: Optional[dict] = None
) -> OverlapResult:
    """:func:`spectral_overlap` on a given :class:`LabelSample` (T resolved, alphas checked);
    ``cache`` as for :func:`mimkit.theory.thresholds.side_functions`."""
    r = sample.z.shape[1]
    cache = {} if cache is None else cache
    thresholds = thresholds_from_sample(preprocessing, center, sample, cache)
    grouped = isinstance(preprocessing, OptimalPreprocessing) and len(preprocessing.groups) > 1
    if grouped:
        matrices = [
            (group_weighting(preprocessing, int(g[0]), cache), len(g), "largest")
            for g in preprocessing.groups
        ]
    elif isinstance(preprocessing, OptimalPreprocessing):
        matrices = [(preprocessing, r, "largest")]
    else:
        matrices = [(preprocessing, r, "abs")]
    A = alphas.size
    overlap = np.zeros((A, r))
    overlap_se = np.zeros((A, r))
    eigenvalue = np.full((A, r), np.nan)
    eigenvalue_se = np.full((A, r), np.nan)
    best = np.full((A, r), -np.inf)  # |eigenvalue| of the outlier kept per direction
    subspace = np.zeros(A)
    subspace_var = np.zeros(A)
    edges: Optional[np.ndarray] = None
    for prep, count, which in matrices:
        outliers, lo_hi = matrix_outliers(prep, center, alphas, sample, which, cache)
        edges = lo_hi if edges is None else edges
        bulk = np.max(np.abs(lo_hi), axis=1) if which == "abs" else lo_hi[:, 1]
        for a in range(A):
            here = [o for o in outliers if o.alpha_index == a]
            key = (lambda o: abs(o.eigenvalue)) if which == "abs" else (lambda o: o.eigenvalue)
            here.sort(key=key, reverse=True)
            chosen = [o for o in here if key(o) > bulk[a]][:count]
            subspace[a] += sum(o.overlap for o in chosen)
            subspace_var[a] += sum(o.overlap_se**2 for o in chosen)
            # Outliers of one symmetric matrix are orthogonal: match them to distinct directions
            # (directions with one eigenvalue, as He2's, are a basis of their span chosen
            # arbitrarily: the nearest one could be the same for two outliers).
            cosines = np.abs(np.array([thresholds.directions @ o.direction for o in here]))
            rows, cols = optimize.linear_sum_assignment(-cosines.reshape(len(here), r))
            for i, k in zip(rows, cols):
                o = here[i]
                if abs(o.eigenvalue) > best[a, k]:
                    best[a, k] = abs(o.eigenvalue)
                    overlap[a, k], overlap_se[a, k] = o.overlap, o.overlap_se
                    eigenvalue[a, k], eigenvalue_se[a, k] = o.eigenvalue, o.eigenvalue_se
    assert edges is not None  # there is at least one matrix
    if grouped:
        # The estimate is the union of the groups' eigenvectors: two groups whose outliers
        # point along the same direction (a group's weighting that also sees another group's
        # direction) contribute it once, the second vector being orthogonalised away from it.
        # So each direction counts once, with the outlier kept for it above.
        subspace = overlap.sum(axis=1)
        subspace_var = (overlap_se**2).sum(axis=1)
    return OverlapResult(
        alphas,
        overlap,
        overlap_se,
        subspace / r,
        np.sqrt(subspace_var) / r,
        eigenvalue,
        eigenvalue_se,
        edges,
        thresholds,
        center,
        sample.size,
        sample.method,
    )


def check_alphas(alpha) -> np.ndarray:
    """``alpha`` as a (A,) float array of positive finite numbers (clear error otherwise)."""
    try:
        alphas = np.atleast_1d(np.asarray(alpha, dtype=np.float64))
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"alpha must be a number or a 1-D array of numbers, got {alpha!r}."
        ) from err
    if alphas.ndim != 1 or alphas.size == 0 or not np.all(np.isfinite(alphas) & (alphas > 0)):
        raise ValueError(
            f"alpha must be positive finite numbers (one or a 1-D array), got {alpha!r}."
        )
    return alphas


def matrix_outliers(prep, center: str, alphas, sample: LabelSample, which: str, cache: dict):
    """Outliers of one matrix D on both sides (``which="abs"``) or the top (``"largest"``),
    as a list of :class:`Outlier`, and its bulk edges (A, 2)."""
    t, sides, unbounded = weights_and_sides(prep, center, sample, cache)
    shift = float(sample.mean(apply_preprocessing(prep, sample.y))) if center == "identity" else 0.0
    # A side without weights of its sign keeps edge 0, a bound: the bulk then lies on one side.
    edges = np.zeros((alphas.size, 2))
    outliers = []
    for side in (1, -1):
        col = 1 if side == 1 else 0
        if side in unbounded:
            edges[:, col] = side * np.inf
        if side not in sides:
            continue
        top_only = which == "largest" and side == -1
        side_edges, found = _side_outliers(side * t, sample, alphas, cache, not top_only)
        edges[:, col] = side * side_edges
        for a, zeta, zeta_se, c, c_se, v in found:
            outliers.append(Outlier(a, side, side * zeta - shift, zeta_se, c, c_se, v))
    return outliers, edges - shift


def _side_outliers(
    t: np.ndarray, sample: LabelSample, alphas: np.ndarray, cache: dict, with_outliers: bool = True
):
    """Upper bulk edge per alpha and the top outliers of D for weights t (module docstring).

    Returns ``edges`` (A,) and a list of ``(alpha_index, zeta, zeta_se, overlap, overlap_se,
    direction)`` (empty without ``with_outliers``). Every root is found for all alphas at
    once: a grid bracket, then safeguarded Newton steps, each one pass over the sample.
    """
    moments, grid, mus, hs, n_visible = side_functions(t, sample, cache)
    inv = 1.0 / alphas
    # lambda_bar: H decreases from H(tau+) to 0; where H(tau+) < 1/alpha it is tau itself.
    inside = hs[0] > inv
    lam_bar = np.full(alphas.size, grid[0])
    if inside.any():
        j = np.array([np.nonzero(hs > v)[0][-1] for v in inv[inside]])
        lam_bar[inside] = _decreasing_root(
            lambda lam, idx: (moments.H(lam) - inv[idx], -2.0 * moments.H(lam, power=3)),
            grid[j],
            grid[np.minimum(j + 1, grid.size - 1)],
            np.nonzero(inside)[0],
        )
    edges = lam_bar * (inv + moments.H(lam_bar, power=1, degree=1))
    found = []
    bases: dict = {}  # per alpha index: (lambda*, eigenbasis of F there), for equal outliers
    for k in range(n_visible if with_outliers else 0):

        def mu(lam, idx, k=k):
            vals, vecs = np.linalg.eigh(moments.F(lam))
            v = vecs[:, :, ::-1][:, :, k]
            slope = -np.einsum("ai,aij,aj->a", v, moments.F(lam, power=2), v)
            return vals[:, ::-1][:, k] - inv[idx], slope

        has = np.nonzero(mu(lam_bar, np.arange(alphas.size))[0] > 0)[0]
        if has.size == 0:
            continue
        left, right = lam_bar[has].copy(), np.empty(has.size)
        for i, a in enumerate(has):
            positive = np.nonzero((grid > lam_bar[a]) & (mus[:, k] > inv[a]))[0]
            nxt = np.searchsorted(grid, lam_bar[a], side="right")
            if positive.size:
                left[i], nxt = grid[positive[-1]], positive[-1] + 1
            right[i] = grid[nxt] if nxt < grid.size else 2.0 * left[i]
            while mu(np.array([right[i]]), np.array([a]))[0][0] > 0:
                right[i] *= 2.0
        lam_star = _decreasing_root(mu, left, right, has)
        for i, a in enumerate(has):
            lam = lam_star[i]
            basis = np.linalg.eigh(moments.F(lam)[0])[1][:, ::-1]
            # Equal outliers (a symmetric link, exactly so by quadrature) have no preferred
            # eigenvectors: take them from one decomposition, so that they stay orthogonal.
            if a in bases and abs(lam - bases[a][0]) <= 1e-9 * lam:
                basis = bases[a][1]
            bases[a] = (lam, basis)
            found.append((a, *_outlier(moments, lam, basis[:, k], inv[a])))
    return edges, found


def _decreasing_root(fun, lo, hi, idx, n_iter: int = 100) -> np.ndarray:
    """Roots of decreasing functions in brackets [lo, hi], for many at once.

    ``fun(x, idx) -> (value, slope)`` for points x (m,) of the problems idx (m,). Newton steps,
    replaced by bisection when they leave the bracket; a root is done when a step moves it by
    less than 1e-10 of its initial bracket.
    """
    lo, hi = np.asarray(lo, float).copy(), np.asarray(hi, float).copy()
    tol = 1e-10 * (hi - lo) + 1e-15 * np.abs(hi)
    x = 0.5 * (lo + hi)
    active = np.arange(x.size)
    for _ in range(n_iter):
        val, slope = fun(x[active], idx[active])
        lo[active] = np.where(val > 0, x[active], lo[active])
        hi[active] = np.where(val > 0, hi[active], x[active])
        with np.errstate(divide="ignore", invalid="ignore"):
            step = x[active] - val / slope
        # Inclusive: at a root found to rounding the step lands on the bracket end just moved
        # there; a strict test sent it to bisection, ~30 more passes to come back.
        ok = (slope < 0) & (step >= lo[active]) & (step <= hi[active])
        new = np.where(ok, step, 0.5 * (lo[active] + hi[active]))
        moving = np.abs(new - x[active]) > tol[active]
        x[active] = new
        active = active[moving]
        if active.size == 0:
            break
    return x


def _outlier(moments, lam: float, v: np.ndarray, inv: float):
    """Location, overlap and their standard errors (delta method; quadrature: the stated bound)
    of the outlier along the eigenvector ``v`` of F(lambda*), and ``v``."""
    sample = moments.sample
    if sample.is_quadrature:
        B = float(v @ moments.F(lam, power=2)[0] @ v)
        Hl, E = float(moments.H(lam)[0]), float(moments.H(lam, power=1, degree=1)[0])
        zeta = lam * (inv + E)
        c = (inv - Hl) / (lam * B)
        bound = quadrature_errors(np.array([zeta, c]), np.array([zeta, c]))
        return zeta, float(bound[0]), float(np.clip(c, 0.0, 1.0)), float(bound[1]), v
    t, z, N = moments.t, moments.z, moments.N
    gap = lam - t
    w = t / gap
    p = (z @ v) ** 2 - 1.0
    a_i, h_i, b_i, e_i = w * p, w * w, t * p / gap**2, w
    A, Hl, B, E = (float(sample.mean(x)) for x in (a_i, h_i, b_i, e_i))
    zeta = lam * (inv + E)
    c = (inv - Hl) / (lam * B)
    # Delta method: lambda* moves by dA / B when the sample mean A = mu_k(lambda*) fluctuates.
    dH = -2.0 * np.mean(h_i / gap)
    dB = -2.0 * np.mean(b_i / gap)
    dc_dlam = -dH / (lam * B) - c / lam - c * dB / B
    dl = (a_i - A) / B
    phi_c = -(h_i - Hl) / (lam * B) - c * (b_i - B) / B + dc_dlam * dl
    phi_zeta = lam * (e_i - E) + (inv - Hl) * dl
    se_c = float(np.std(phi_c) / np.sqrt(N))
    se_zeta = float(np.std(phi_zeta) / np.sqrt(N))
    return zeta, se_zeta, float(np.clip(c, 0.0, 1.0)), se_c, v
