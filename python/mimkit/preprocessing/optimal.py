"""The optimal label preprocessing of a link, estimated by Monte Carlo in r dimensions.

**Optimal preprocessing.** With ``z = U x`` and ``G(y) = E[z z^T - I | y]`` (r x r), the
weak-recovery-optimal weighting is ``T*(y) = G(y) (I + G(y))^{-1}`` (Mondelli & Montanari 2018,
Luo, Alghamdi & Lu 2019 for r = 1; its threshold is ``1 / E[lambda(y)^2]`` per direction,
see :mod:`mimkit.theory`). When all ``G(y)`` are diagonal in one basis ``v_1..v_r`` of the
index space (true for every library link covered by the theory) ``T*`` is a scalar weighting
per direction, ``T_k(y) = lambda_k(y) / (1 + lambda_k(y))`` with ``lambda_k(y) = v_k^T G(y)
v_k``; a scalar spectral method uses one of them and sees direction k at the top of its
spectrum.

``G`` is tabulated at label values (knots) and interpolated linearly between them (constant
beyond the outermost knots); discrete labels (at most 64 values) are tabulated per value.
*Quadrature* (r <= 3, the default; docs/theory.md, "How expectations are computed"): for a
discrete label, ``G`` per value is a ratio of two expectations over the polar rule of
:mod:`mimkit._quadrature`; for a continuous label without noise, ``p(y) G(y)`` at each knot is
an integral over the level set ``{g(z) = y}`` (:meth:`mimkit._quadrature.RayRule.level_set`),
with noise ``E_z[(z z^T - I) phi_sigma(y - g(z))]``. The knots, 81 label quantiles equally
spaced in normal scores between probabilities 1e-4 and 1 - 1e-4, are refined where linear
interpolation misses the midpoint value (:func:`_refine`). A link whose level sets some ray
crosses twice (``staircase``, ``tanh_committee``) gets bin averages on the rule cut at the
knots instead, tabulated at the bins' mean labels. At r = 3 the level-set integral over the
2-sphere converges too slowly: the library's continuous labels (``sq_sign3``, ``z1z2z3``) take
``p(y) E[z z^T | y]`` from their law in one dimension (:mod:`._exact_moments`) at the knots, and
expectations of their table run over that law (:func:`optimal_rule`); another continuous label
at r = 3 is tabulated by Monte Carlo (:func:`quadrature_tabulates`). *Monte Carlo*: ``G`` per
value or in quantile bins of y, tabulated at the bin means. Closed forms are used where known
(``norm2``: ``lambda = y - 1``, so phase retrieval ``y = z^2`` has ``T*(y) = (y - 1) / y``;
``he2_sum``: ``lambda = y / r``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
from scipy import special

from .._label_law import ATOL, RTOL, LabelSample, QuadratureLaw, resolve_method
from .._random import RandomState, as_generator
from .._validation import check_count, check_positive_number
from ..links import Link, get_link
from ._exact_moments import conditional_rule, exact_moments, graded_labels

#: 1 + lambda(y) = E[(v.z)^2 | y] is positive; below this floor T* = 1 - 1/(1 + lambda) is capped.
_MIN_SECOND_MOMENT = 1e-12
#: A label with at most this many distinct values in the Monte Carlo sample counts as discrete.
_MAX_DISCRETE_LEVELS = 64
#: Knots of the quadrature table for continuous labels, and their tail probability.
_KNOTS = 81
_KNOT_TAIL = 1e-4
#: Adaptive refinement of that table (:func:`_refine`).
_TABLE_TOL = 1e-3
_TABLE_MASS = 1e-7
_REFINEMENTS = 30


@dataclass(frozen=True, eq=False)
class OptimalPreprocessing:
    """The optimal preprocessing ``T*`` of a link, from :func:`optimal_preprocessing`.

    Calling it gives the **scalar** weighting ``T_k(y) = lambda_k(y) / (1 + lambda_k(y))`` of
    direction ``direction`` (default 0, the easiest direction: largest ``E[lambda_k^2]``); with
    r = 1 or an isotropic ``G`` it is the unique optimal scalar weighting. :meth:`weights` gives
    all r scalar weightings, :meth:`matrix` the matrix form ``G (I + G)^{-1}``.

    Attributes
    ----------
    link : Link
    basis : (r, r) array
        Rows ``v_k``: the eigen-directions of ``G`` in z coordinates, easiest first.
    strength : (r,) array
        ``E[lambda_k(y)^2]``; ``1 / strength`` is the optimal weak-recovery threshold.
    groups : tuple of int arrays
        Directions whose ``lambda_k(y)`` coincide (one scalar weighting serves the whole group).
    jointly_diagonalisable : bool
        Whether one basis diagonalises every ``G(y)`` within Monte Carlo error.
    exact : bool
        True when a closed form is used.
    direction : int
        Index of the direction :meth:`__call__` weights.
    """

    link: Link
    basis: np.ndarray
    strength: np.ndarray
    groups: tuple
    jointly_diagonalisable: bool
    exact: bool
    direction: int
    _knots: Optional[np.ndarray] = field(repr=False)  # (B,) bin means or discrete levels
    _G: Optional[np.ndarray] = field(repr=False)  # (B, r, r) G at the knots
    _discrete: bool = field(repr=False, default=False)
    _closed_form: Optional[Callable] = field(repr=False, default=None)  # y -> lambda(y), (n,)

    @property
    def __name__(self) -> str:  # so that reports can name it like the other transforms
        return "optimal"

    def with_direction(self, direction: int) -> "OptimalPreprocessing":
        """The same preprocessing, weighting direction ``direction`` when called."""
        r = self.basis.shape[0]
        direction = check_count(direction, "direction", below=r)
        return OptimalPreprocessing(
            self.link,
            self.basis,
            self.strength,
            self.groups,
            self.jointly_diagonalisable,
            self.exact,
            int(direction),
            self._knots,
            self._G,
            self._discrete,
            self._closed_form,
        )

    def conditional_covariance(self, y: np.ndarray) -> np.ndarray:
        """``G(y) = E[z z^T - I | y]`` in z coordinates, shape (n, r, r)."""
        y = _as_labels(y)
        r = self.basis.shape[0]
        if self._closed_form is not None:
            return self._closed_form(y)[:, None, None] * np.eye(r)
        knots, G = self._knots, self._G
        assert knots is not None and G is not None  # tabulated whenever there is no closed form
        if self._discrete:
            # Labels of a discrete link take the Monte Carlo levels; map each to the nearest one.
            right = np.clip(np.searchsorted(knots, y), 0, len(knots) - 1)
            left = np.maximum(right - 1, 0)
            nearer_left = np.abs(y - knots[left]) <= np.abs(knots[right] - y)
            return G[np.where(nearer_left, left, right)]
        flat = G.reshape(len(knots), r * r)
        out = np.empty((y.size, r * r))
        for j in range(r * r):
            out[:, j] = np.interp(y, knots, flat[:, j])
        return out.reshape(y.size, r, r)

    def eigenvalues(self, y: np.ndarray) -> np.ndarray:
        """``lambda_k(y) = v_k^T G(y) v_k`` for each direction, shape (n, r)."""
        G = self.conditional_covariance(y)
        return np.sum((G @ self.basis.T) * self.basis.T, axis=1)  # (einsum: ~10x slower)

    def weights(self, y: np.ndarray) -> np.ndarray:
        """Scalar optimal weightings ``lambda_k / (1 + lambda_k)``, shape (n, r), always < 1."""
        second_moment = np.maximum(1.0 + self.eigenvalues(y), _MIN_SECOND_MOMENT)
        return 1.0 - 1.0 / second_moment

    def matrix(self, y: np.ndarray) -> np.ndarray:
        """The matrix form ``G(y) (I + G(y))^{-1}``, shape (n, r, r), in z coordinates."""
        G = self.conditional_covariance(y)
        eye = np.eye(G.shape[1])
        # G (I+G)^{-1} = I - (I+G)^{-1}; I + G = E[z z^T | y] is positive definite.
        return eye - np.linalg.inv(eye + G)

    def __call__(self, y: np.ndarray) -> np.ndarray:
        """Scalar weighting of direction ``self.direction``, shape (n,)."""
        return self.weights(y)[:, self.direction]


def _as_labels(y) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {y.shape}.")
    return y


def _closed_form(link: Link, noise: float) -> Optional[Callable[[np.ndarray], np.ndarray]]:
    """lambda(y) (G = lambda I) for links with an exact conditional law, else None."""
    if noise != 0.0 or link.theory_covers is None:
        return None
    r = link.r
    if link.name == "norm2":  # y = |z|^2 / r, so E[z_k^2 | y] = y
        return lambda y: y - 1.0
    if link.name == "he2_sum":  # y = |z|^2 - r, so E[z_k^2 | y] = (y + r) / r
        return lambda y: y / r
    return None


def _bin_edges(y: np.ndarray, n_bins: int, min_count: int) -> np.ndarray:
    """Quantile edges equally spaced in normal scores: finer bins in both tails."""
    n = y.size
    p_tail = min(0.25, min_count / n)
    scores = np.linspace(special.ndtri(p_tail), -special.ndtri(p_tail), n_bins - 1)
    edges = np.quantile(y, special.ndtr(scores))
    return np.unique(edges)


def optimal_preprocessing(
    link,
    r: Optional[int] = None,
    *,
    noise: float = 0.0,
    n_samples: int = 400_000,
    n_bins: int = 60,
    random_state: RandomState = None,
    exact: bool = True,
    method: str = "auto",
    law: Optional[QuadratureLaw] = None,
) -> OptimalPreprocessing:
    """Estimate ``T*(y) = G(y) (I + G(y))^{-1}`` for a link (module docstring).

    Parameters
    ----------
    link : str, Link or callable
        As for :func:`mimkit.links.get_link`; a callable needs ``r``.
    r : int, optional
        Number of index directions.
    noise : float
        Standard deviation of Gaussian label noise, ``y = g(z) + noise * eps``.
    n_samples : int
        Monte Carlo sample size in r dimensions.
    n_bins : int
        Number of quantile bins for continuous labels (each keeps >= 200 samples in the tails).
    random_state : None, int or Generator
    exact : bool
        Use closed forms where known (``norm2``, ``he2_sum`` without noise).
    method : {"auto", "quadrature", "monte_carlo"}
        "auto": quadrature for r <= 3 (module docstring), else Monte Carlo with ``n_samples``
        draws in ``n_bins`` bins.
    law : QuadratureLaw, optional
        The quadrature rule to use (the theory passes its own, to check convergence).

    Returns
    -------
    OptimalPreprocessing
        Callable ``y -> (n,)`` scalar weights of the easiest direction; see its methods for all
        directions and the matrix form.
    """
    link = get_link(link, r)
    noise = check_positive_number(noise, "noise", allow_zero=True)
    check_count(n_samples, "n_samples", minimum=1000)
    check_count(n_bins, "n_bins", minimum=2)
    rng = as_generator(random_state)
    method = resolve_method(method, link.r, float(noise))
    closed = _closed_form(link, float(noise)) if exact else None
    r = link.r
    law = law or QuadratureLaw(link, float(noise)) if method == "quadrature" else None
    if law is not None and quadrature_tabulates(link, law, exact):
        return _by_quadrature(link, closed, law)
    if closed is not None:
        # lambda is the same for every direction: one group, any basis; E[lambda^2] by MC.
        y = link(rng.standard_normal((n_samples, r)))
        strength = np.full(r, float(np.mean(closed(y) ** 2)))
        return OptimalPreprocessing(
            link, np.eye(r), strength, (np.arange(r),), True, True, 0, None, None, False, closed
        )

    z = rng.standard_normal((n_samples, r))
    y = np.asarray(link(z), dtype=np.float64)
    if noise > 0:
        y = y + noise * rng.standard_normal(n_samples)
    if not np.isfinite(y).all():
        raise ValueError(f"link {link.name!r} produced NaN or inf labels on Gaussian inputs.")
    levels, inverse = np.unique(y, return_inverse=True)
    discrete = levels.size <= _MAX_DISCRETE_LEVELS
    if discrete:
        labels, knots = inverse, levels
    else:
        edges = _bin_edges(y, int(n_bins), min_count=200)
        labels = np.searchsorted(edges, y, side="right")
        occupied = np.unique(labels)
        labels = np.searchsorted(occupied, labels)
        knots = np.bincount(labels, weights=y) / np.bincount(labels)
    G, _, prob = _binned_conditional_covariance(z, labels, len(knots))
    basis = _joint_basis(G, prob)
    # Standard errors are only meaningful in the rotated coordinates (products v_k.z v_l.z).
    rotated, se2, _ = _binned_conditional_covariance(z @ basis.T, labels, len(knots))
    off = ~np.eye(r, dtype=bool)
    offdiag_ms = prob @ np.sum(rotated[:, off] ** 2, axis=1)
    # Under exact joint diagonality the residual is Monte Carlo noise of expectation noise_ms.
    offdiag_ok = bool(offdiag_ms <= 4.0 * (prob @ np.sum(se2[:, off], axis=1)) + 1e-12)
    lam = np.diagonal(rotated, axis1=1, axis2=2)  # (B, r)
    strength = prob @ lam**2
    order = np.argsort(-strength, kind="stable")
    basis, lam, strength = basis[order], lam[:, order], strength[order]
    groups = _group_directions(lam, se2, prob)
    return OptimalPreprocessing(
        link, basis, strength, groups, offdiag_ok, False, 0, knots, G, discrete, None
    )


def quadrature_tabulates(link: Link, law: QuadratureLaw, exact: bool = True) -> bool:
    """Whether :func:`optimal_preprocessing` computes this link's table by quadrature (closed
    forms, discrete labels, r <= 2, a law in one dimension), not Monte Carlo (module
    docstring).

    Parameters
    ----------
    link : Link
    law : QuadratureLaw
        The label law by quadrature (its noise decides whether a closed form applies).
    exact : bool
        Whether a closed form counts (False: only a tabulated G by quadrature).

    Returns
    -------
    bool
    """
    if exact and _closed_form(link, law.noise) is not None:
        return True
    if exact_moments(link, law.noise) is not None:
        return True
    discrete = law.noise == 0 and np.unique(law.sample().y).size <= _MAX_DISCRETE_LEVELS
    return discrete or link.r <= 2


def optimal_rule(preprocessing, law: QuadratureLaw) -> Optional[LabelSample]:
    """The rule for expectations of a tabulated optimal preprocessing where the polar rule of
    ``law`` converges too slowly: over the law of ``y`` in one dimension, cut at the table's
    knots (:func:`mimkit.preprocessing._exact_moments.conditional_rule`; ``sq_sign3``,
    ``z1z2z3``), else None.

    Parameters
    ----------
    preprocessing : any preprocessing (only an :class:`OptimalPreprocessing` has such a rule).
    law : QuadratureLaw (its fraction gives the full or the half rule).

    Returns
    -------
    LabelSample or None
    """
    if not isinstance(preprocessing, OptimalPreprocessing) or preprocessing._knots is None:
        return None
    exact = exact_moments(preprocessing.link, law.noise)
    if exact is None:
        return None
    return conditional_rule(exact, preprocessing._knots, law.fraction, law.sample().probe_y)


def _by_quadrature(link: Link, closed, law: QuadratureLaw) -> OptimalPreprocessing:
    """:func:`optimal_preprocessing` by quadrature (module docstring)."""
    r = link.r
    base = law.sample()
    if closed is not None:
        strength = np.full(r, float(base.mean(closed(base.y) ** 2)))
        return OptimalPreprocessing(
            link, np.eye(r), strength, (np.arange(r),), True, True, 0, None, None, False, closed
        )
    rows, cols = np.triu_indices(r)
    levels, inverse = np.unique(base.y, return_inverse=True)
    discrete = law.noise == 0 and levels.size <= _MAX_DISCRETE_LEVELS
    if discrete:
        pairs = base.z[:, rows] * base.z[:, cols]
        prob = np.bincount(inverse, weights=base.weights, minlength=levels.size)
        moments = np.stack(
            [
                np.bincount(inverse, weights=base.weights * p, minlength=levels.size)
                for p in pairs.T
            ],
            axis=1,
        )
        knots = levels
    else:
        n_knots = max(11, int(round(_KNOTS * law.fraction)))  # half for the check's half rule
        scores = np.linspace(special.ndtri(_KNOT_TAIL), -special.ndtri(_KNOT_TAIL), n_knots)
        knots = np.unique(base.quantile(base.y, special.ndtr(scores)))
        knots, moments, prob = _conditional_moments(link, law, knots, rows, cols)
    G = np.empty((knots.size, r, r))
    G[:, rows, cols] = moments / prob[:, None]
    G[:, cols, rows] = G[:, rows, cols]
    G -= np.eye(r)
    prob = prob / prob.sum()
    basis = _joint_basis(G, prob)
    rotated = np.einsum("ki,bij,lj->bkl", basis, G, basis)
    off = ~np.eye(r, dtype=bool)
    scale = prob @ np.sum(rotated**2, axis=(1, 2))
    offdiag_ok = bool(prob @ np.sum(rotated[:, off] ** 2, axis=1) <= RTOL**2 * scale + 1e-12)
    lam = np.diagonal(rotated, axis1=1, axis2=2)
    floor = np.broadcast_to(((RTOL * np.abs(rotated) + ATOL) ** 2), rotated.shape)
    table = OptimalPreprocessing(
        link, basis, np.ones(r), (np.arange(r),), offdiag_ok, False, 0, knots, G, discrete, None
    )
    rule = optimal_rule(table, law) or base
    strength = rule.mean(table.eigenvalues(rule.y) ** 2)
    order = np.argsort(-strength, kind="stable")
    basis, lam, strength = basis[order], lam[:, order], strength[order]
    groups = _group_directions(lam, floor, prob)
    return OptimalPreprocessing(
        link, basis, strength, groups, offdiag_ok, False, 0, knots, G, discrete, None
    )


def _conditional_moments(link: Link, law: QuadratureLaw, knots: np.ndarray, rows, cols):
    """Knots, ``P(knot) E[z_i z_j | y = knot]`` (K, pairs) and the mass ``P(knot)`` (K,) given
    to each knot for the joint basis (module docstring); the knots refined by :func:`_refine`."""
    one_dimensional = exact_moments(link, law.noise)
    if one_dimensional is not None:
        knots = np.union1d(knots, graded_labels(one_dimensional))

        def at(levels):
            moments, density = one_dimensional.at(levels)
            return moments[:, rows, cols], density

    else:
        ray, _, level = law.rays.crossings(knots)
        if law.dim > 2 or np.bincount(ray * knots.size + level).max(initial=0) > 1:
            return _binned_moments(law, knots, rows, cols)

        def at(levels):
            # The rule's points are (z, eps) with noise: the pairs are of z's coordinates.
            return law.rays.level_set(levels, lambda points: points[:, rows] * points[:, cols])

    knots, moments, density = _refine(at, knots)
    # Mass per knot: density times the trapezoid width around it.
    prob = density * (np.gradient(knots) if knots.size > 1 else np.ones(1))
    return knots, moments / density[:, None] * prob[:, None], prob


def _refine(at, knots: np.ndarray):
    """Knots where linear interpolation of ``E[z z^T | y]`` is within ``_TABLE_TOL`` (times
    ``1 + |value|``) of the value at every midpoint, unless the interval holds less than
    ``_TABLE_MASS`` of the law: midpoints that fail are added, up to ``_REFINEMENTS`` rounds (a
    log singularity, as ``z1 z2`` has at y = 0, needs one round per halving)."""
    moments, density = at(knots)
    keep = density > 0
    knots, moments, density = knots[keep], moments[keep], density[keep]
    for _ in range(_REFINEMENTS):
        mid = 0.5 * (knots[:-1] + knots[1:])
        mid_moments, mid_density = at(mid)
        value = moments / density[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            mid_value = mid_moments / mid_density[:, None]
        error = np.max(np.abs(mid_value - 0.5 * (value[:-1] + value[1:])), axis=1)
        scale = 1.0 + np.max(np.abs(mid_value), axis=1)
        mass = 0.5 * (density[:-1] + density[1:]) * np.diff(knots)
        add = (mid_density > 0) & (error > _TABLE_TOL * scale) & (mass > _TABLE_MASS)
        if not add.any():
            break
        knots = np.concatenate([knots, mid[add]])
        moments = np.concatenate([moments, mid_moments[add]])
        density = np.concatenate([density, mid_density[add]])
        order = np.argsort(knots)
        knots, moments, density = knots[order], moments[order], density[order]
    return knots, moments, density


def _binned_moments(law: QuadratureLaw, edges: np.ndarray, rows, cols):
    """Bin averages between the label values ``edges`` on the rule cut at them: for links whose
    level sets some rays cross twice (the level-set integral is then singular at tangent
    rays). Knots are the bins' mean labels."""
    s = law.sample(edges)
    bins = np.searchsorted(edges, s.y)
    size = edges.size + 1
    prob = np.bincount(bins, weights=s.weights, minlength=size)
    keep = prob > 0
    knots = np.bincount(bins, weights=s.weights * s.y, minlength=size)[keep] / prob[keep]
    moments = np.stack(
        [
            np.bincount(bins, weights=s.weights * s.z[:, i] * s.z[:, j], minlength=size)[keep]
            for i, j in zip(rows, cols)
        ],
        axis=1,
    )
    return knots, moments, prob[keep]


def _binned_conditional_covariance(z: np.ndarray, labels: np.ndarray, n_groups: int):
    """Per group: G = mean(z z^T) - I, squared standard errors of its entries, and its mass."""
    n, r = z.shape
    counts = np.bincount(labels, minlength=n_groups).astype(np.float64)
    G = np.empty((n_groups, r, r))
    se2 = np.empty((n_groups, r, r))
    for i in range(r):
        for j in range(i, r):
            prod = z[:, i] * z[:, j]
            mean = np.bincount(labels, weights=prod, minlength=n_groups) / counts
            sq = np.bincount(labels, weights=prod * prod, minlength=n_groups) / counts
            G[:, i, j] = G[:, j, i] = mean - (i == j)
            se2[:, i, j] = se2[:, j, i] = np.maximum(sq - mean**2, 0.0) / counts
    return G, se2, counts / n


def _joint_basis(G: np.ndarray, prob: np.ndarray, n_sweeps: int = 50) -> np.ndarray:
    """Rows v_k of a basis that jointly diagonalises the G_b, weighted by bin mass.

    Jacobi rotations of Cardoso & Souloumiac (1996) minimising
    ``sum_b p_b ||offdiag(V^T G_b V)||^2`` from the identity.
    """
    r = G.shape[1]
    A = np.transpose(G * np.sqrt(prob)[:, None, None], (1, 2, 0)).copy()  # (r, r, B)
    V = np.eye(r)
    for _ in range(n_sweeps):
        rotated = False
        for p in range(r - 1):
            for q in range(p + 1, r):
                g = np.stack([A[p, p] - A[q, q], A[p, q] + A[q, p]])
                gg = g @ g.T
                ton, toff = gg[0, 0] - gg[1, 1], gg[0, 1] + gg[1, 0]
                theta = 0.5 * np.arctan2(toff, ton + np.hypot(ton, toff))
                c, s = np.cos(theta), np.sin(theta)
                if abs(s) <= 1e-12:
                    continue
                rotated = True
                rot = np.array([[c, -s], [s, c]])
                pair = [p, q]
                V[:, pair] = V[:, pair] @ rot
                A[pair, :, :] = np.einsum("ij,jkb->ikb", rot.T, A[pair, :, :])
                A[:, pair, :] = np.einsum("kjb,ji->kib", A[:, pair, :], rot)
        if not rotated:
            break
    return V.T


def _group_directions(lam: np.ndarray, se2: np.ndarray, prob: np.ndarray) -> tuple:
    """Group directions whose lambda_k(y) agree within Monte Carlo error."""
    r = lam.shape[1]
    noise = prob @ np.max(np.diagonal(se2, axis1=1, axis2=2), axis=1)
    groups: list[list[int]] = []
    for k in range(r):
        for g in groups:
            if prob @ (lam[:, k] - lam[:, g[0]]) ** 2 <= 8.0 * noise + 1e-12:
                g.append(k)
                break
        else:
            groups.append([k])
    return tuple(np.array(g) for g in groups)


def default_center(preprocessing) -> str:
    """``"none"`` for the optimal preprocessing, ``"mean"`` otherwise (module docstring).

    Parameters
    ----------
    preprocessing : str or callable
        A preprocessing as :func:`make_preprocessing` takes it.

    Returns
    -------
    str
        The default ``center`` for it.
    """
    is_optimal = isinstance(preprocessing, OptimalPreprocessing) or (
        isinstance(preprocessing, str) and preprocessing == "optimal"
    )
    return "none" if is_optimal else "mean"
