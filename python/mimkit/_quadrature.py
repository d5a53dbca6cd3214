r"""Deterministic Gaussian expectations in a few dimensions: ``E f(z)``, ``z ~ N(0, I_r)``.

Shared by the theory (:mod:`mimkit.theory`, :mod:`mimkit.preprocessing.optimal`) and meant for
any other state-evolution or hierarchy code that needs expectations over the index space.

* :func:`gauss_hermite`: the tensor Gauss–Hermite rule, for integrands smooth in ``z``.
* :class:`RayRule`: a polar rule for integrands ``f(g(z), z)`` whose dependence on the label
  ``g(z)`` has kinks or jumps at known label values (a clipped, signed or interpolated label
  transform), and links that jump or kink on the coordinate hyperplanes. With
  ``z = rho theta`` (``rho ~ chi_r``, ``theta`` uniform on the sphere):

  - the sphere is cut into sectors at the coordinate hyperplanes ``z_k = 0`` (and, for
    r = 2, at the diagonals ``z1 = +-z2``), with Gauss–Legendre nodes per sector (in the angle
    for r = 2; ``theta = +-1`` for r = 1). For r = 3 the sphere is in polar coordinates about
    one coordinate axis (the *pole*): Gauss–Legendre nodes in the azimuth per quadrant, and in
    the polar angle per hemisphere on pieces graded geometrically toward the equator (each
    piece half the previous one's length, ``GRADING_LEVELS`` of them), weighted by its sine.
    Links such as ``sign(z1 z2)``, ``|z1|``, ``min(z1, z2)`` are smooth inside every sector, so
    the rule converges as for a smooth integrand. The grading resolves the boundary layer where
    a label level set runs nearly along the rays as they approach a coordinate plane (the
    crossing radius of ``z1^2 = a^2`` is ``a / |theta_1|``, which sweeps through the bulk of
    the radius law as ``theta_1 -> 0``): a piece ``[1 - 2^-k, 1 - 2^-(k+1)]`` of the quarter
    turn sees that layer at its own scale. That works for the plane of the equator only (near
    the pole the layers of the other two planes bend across the pieces), so the pole is
    chosen per link (:func:`best_pole`): the axis whose rule agrees best with the same rule
    at half the nodes on the label's level sets;
  - along each ray, ``rho`` in ``[0, RADIUS]`` is cut at ``RADIAL_CUTS`` and at every
    crossing of the given label levels ("breaks": where the label transform is not smooth),
    found by a sign change of ``g - level`` on a fine radial grid and the Illinois method
    (:meth:`RayRule.crossings`); each piece gets
    Gauss–Legendre nodes weighted by the ``chi_r`` density. A kink or jump of the label
    transform therefore falls on a piece boundary and costs no accuracy. A level the ray only
    touches (no sign change on the grid) is not split at; the convergence check sees it.

  :meth:`RayRule.level_set` integrates over a level set ``{g = y}`` instead (the conditional
  law given the label, for ``E[. | y]``): ``p(y) E[h(z) | y] = E_theta[sum_{g(rho* theta) = y}
  chi_r(rho*) h(rho* theta) / |d g / d rho|]``.

Accuracy is judged by the caller with :func:`check_agreement`: the same computation at half
the nodes per dimension must agree within a stated tolerance, otherwise a
:class:`QuadratureWarning` says by how much it did not.
"""

from __future__ import annotations

import itertools
import warnings
from functools import lru_cache
from typing import Callable, Optional

import numpy as np
from scipy import special

#: Rays end here: P(chi_3 > 9) is about 1e-17, far below any tolerance used.
RADIUS = 9.0
#: Radial pieces of every ray before the level crossings: unit steps through the bulk of the
#: chi law, then one piece for its tail (P(chi_3 > 6) is about 1e-7).
RADIAL_CUTS = (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, RADIUS)
#: Pieces of the polar angle (r = 3) graded toward the equator: ends at 1 - 2^-k quarter turns,
#: k = 1..GRADING_LEVELS (the last piece is 1/32 of a quarter turn, 0.05 rad).
GRADING_LEVELS = 5
#: Test levels of :func:`best_pole`: these quantiles of the label on the rule's radial grid.
_POLE_TEST_QUANTILES = (0.1, 0.3, 0.5, 0.7, 0.9)
#: Radial bracketing grid (points per unit of rho) for finding level crossings.
_GRID_PER_UNIT = 12
#: Steps per crossing at most: by bisection alone the bracket (1 / _GRID_PER_UNIT) would
#: shrink below _BRACKET.
_BISECTIONS = 34
_BRACKET = 5e-12


class QuadratureWarning(UserWarning):
    """A quadrature result did not agree with the same rule at half the nodes."""


@lru_cache(maxsize=64)
def unit_legendre(n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes and weights on (0, 1) (weights sum to 1)."""
    x, w = np.polynomial.legendre.leggauss(n_nodes)
    return (x + 1.0) / 2.0, w / 2.0


@lru_cache(maxsize=16)
def gauss_hermite(n_nodes: int, r: int) -> tuple[np.ndarray, np.ndarray]:
    """Tensor Gauss–Hermite rule for ``E f(u)``, ``u ~ N(0, I_r)``.

    Returns
    -------
    nodes : (n_nodes**r, r) array.  weights : (n_nodes**r,) array, summing to 1.
    """
    x, w = np.polynomial.hermite_e.hermegauss(n_nodes)
    w = w / w.sum()
    nodes = np.array(list(itertools.product(x, repeat=r)), dtype=np.float64).reshape(-1, r)
    weights = np.prod(np.array(list(itertools.product(w, repeat=r))).reshape(-1, r), axis=1)
    return nodes, weights


def sphere_rule(
    r: int, n_per_sector: int, pole: Optional[int] = None
) -> tuple[np.ndarray, np.ndarray]:
    """Directions on the unit sphere and weights summing to 1 (module docstring's sectors).

    Parameters
    ----------
    r : 1, 2 or 3.  n_per_sector : int, Gauss–Legendre nodes per sector (r = 3: per quadrant
    of the azimuth and per graded piece of the polar angle).
    pole : 0, 1 or 2, optional
        r = 3: the axis of the polar coordinates (default 2, ``z3``).

    Returns
    -------
    directions : (M, r) array.  weights : (M,) array.
    """
    if r == 1:
        return np.array([[1.0], [-1.0]]), np.array([0.5, 0.5])
    u, w = unit_legendre(n_per_sector)
    if r == 2:
        sectors = 8  # the axes and the diagonals
        phi = (np.arange(sectors)[:, None] + u[None, :]).ravel() * (2.0 * np.pi / sectors)
        weights = np.tile(w, sectors) / sectors
        return np.column_stack([np.cos(phi), np.sin(phi)]), weights
    if r == 3:
        return _polar_rule(n_per_sector, 2 if pole is None else pole)
    raise ValueError(f"sphere_rule supports r = 1, 2 or 3, got r={r}.")


def _polar_rule(n_nodes: int, pole: int) -> tuple[np.ndarray, np.ndarray]:
    """The r = 3 rule of :func:`sphere_rule` about axis ``pole`` (module docstring)."""
    edges = np.concatenate([[0.0], 1.0 - 0.5 ** np.arange(1, GRADING_LEVELS + 1), [1.0]])
    u, w = unit_legendre(n_nodes)
    length = np.diff(edges)
    north = (edges[:-1, None] + length[:, None] * u[None, :]).ravel() * (np.pi / 2)
    theta = np.concatenate([north, np.pi - north])
    # sin(theta) d theta / 2 integrates to 1 over (0, pi)
    wtheta = np.tile((length[:, None] * w[None, :]).ravel(), 2) * (np.pi / 4) * np.sin(theta)
    phi = (np.arange(4)[:, None] + u[None, :]).ravel() * (np.pi / 2)
    wphi = np.tile(w, 4) / 4
    sin = np.sin(theta)
    dirs = np.empty((theta.size * phi.size, 3))
    dirs[:, pole] = np.repeat(np.cos(theta), phi.size)
    dirs[:, (pole + 1) % 3] = np.outer(sin, np.cos(phi)).ravel()
    dirs[:, (pole + 2) % 3] = np.outer(sin, np.sin(phi)).ravel()
    return dirs, np.outer(wtheta, wphi).ravel()


def chi_density(rho: np.ndarray, r: int) -> np.ndarray:
    """Density of ``|z|`` for ``z ~ N(0, I_r)`` (the chi law with r degrees of freedom)."""
    log_norm = (r / 2.0 - 1.0) * np.log(2.0) + special.gammaln(r / 2.0)
    with np.errstate(divide="ignore"):
        return (
            np.exp((r - 1) * np.log(rho) - rho**2 / 2.0 - log_norm)
            if r > 1
            else np.exp(-(rho**2) / 2.0 - log_norm)
        )


class RayRule:
    """The polar rule of the module docstring for one function ``g`` of ``z``.

    Parameters
    ----------
    g : callable
        ``g(z)`` on (n, r) arrays, returning (n,) finite floats.
    r : 1, 2 or 3.
    n_angle : int
        Gauss–Legendre nodes per sector and angular dimension.
    n_radial : int
        Gauss–Legendre nodes per radial piece.
    pole : 0, 1 or 2, optional
        r = 3: the axis of the polar coordinates (default 2; :func:`best_pole` chooses one).
    """

    def __init__(
        self,
        g: Callable[[np.ndarray], np.ndarray],
        r: int,
        n_angle: int,
        n_radial: int,
        pole: Optional[int] = None,
    ):
        self.g, self.r, self.n_radial = g, r, n_radial
        self.directions, self.direction_weights = sphere_rule(r, n_angle, pole)
        self.grid = np.linspace(0.0, RADIUS, int(RADIUS * _GRID_PER_UNIT) + 1)
        m = self.directions.shape[0]
        points = (self.grid[None, :, None] * self.directions[:, None, :]).reshape(-1, self.r)
        self.grid_values = np.asarray(g(points), dtype=np.float64).reshape(m, self.grid.size)

    def crossings(self, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every sign change of ``g(rho theta) - level`` along the rays, refined by the Illinois
        method (false position that halves a stale end's value): as fast as the secant method
        where g is smooth along the ray, no slower than bisection where it is not. A crossing
        is done when its bracket is below ``_BRACKET``.

        Returns
        -------
        ray : (K,) int array.  rho : (K,) array.  level : (K,) int array, index into levels.
        """
        levels = np.atleast_1d(np.asarray(levels, dtype=np.float64))
        above = self.grid_values[:, None, :] > levels[None, :, None]  # (M, L, G)
        ray, level, cell = np.nonzero(above[:, :, 1:] != above[:, :, :-1])
        target = levels[level]
        lo, hi = self.grid[cell].copy(), self.grid[cell + 1].copy()
        f_lo = self.grid_values[ray, cell] - target
        f_hi = self.grid_values[ray, cell + 1] - target
        kept = np.zeros(ray.size, dtype=np.int8)  # the end kept last step: -1 lo, +1 hi
        active = np.arange(ray.size)
        for _ in range(_BISECTIONS):
            active = active[hi[active] - lo[active] > _BRACKET]
            if active.size == 0:
                break
            a, b, fa, fb = lo[active], hi[active], f_lo[active], f_hi[active]
            with np.errstate(divide="ignore", invalid="ignore"):
                x = (a * fb - b * fa) / (fb - fa)
            x = np.where((x > a) & (x < b), x, 0.5 * (a + b))
            fx = self.g(x[:, None] * self.directions[ray[active]]) - target[active]
            move_lo = (fx > 0) == (fa > 0)  # x is on lo's side of the level
            stale = kept[active]
            lo[active] = np.where(move_lo, x, a)
            hi[active] = np.where(move_lo, b, x)
            # Illinois: the end kept twice in a row has its value halved, so that it moves too.
            f_lo[active] = np.where(move_lo, fx, np.where(stale == -1, 0.5 * fa, fa))
            f_hi[active] = np.where(move_lo, np.where(stale == 1, 0.5 * fb, fb), fx)
            kept[active] = np.where(move_lo, 1, -1)
        return ray, 0.5 * (lo + hi), level

    def nodes(self, breaks=()) -> tuple[np.ndarray, np.ndarray]:
        """Nodes ``z`` (N, r) and weights (N,) summing to ~1, rays cut at ``RADIAL_CUTS`` and at
        the crossings of the label levels ``breaks``."""
        m = self.directions.shape[0]
        base = np.asarray(RADIAL_CUTS)
        cuts = [np.broadcast_to(base, (m, base.size))]
        ray_of = [np.repeat(np.arange(m), base.size)]
        if len(breaks):
            ray, rho, _ = self.crossings(np.asarray(breaks, dtype=np.float64))
            cuts.append(rho)
            ray_of.append(ray)
        ray_all = np.concatenate(ray_of)
        rho_all = np.concatenate([c.ravel() for c in cuts])
        order = np.lexsort((rho_all, ray_all))
        ray_all, rho_all = ray_all[order], rho_all[order]
        keep = ray_all[1:] == ray_all[:-1]  # consecutive cuts on the same ray bound a piece
        a, b, piece_ray = rho_all[:-1][keep], rho_all[1:][keep], ray_all[:-1][keep]
        u, w = unit_legendre(self.n_radial)
        rho = a[:, None] + (b - a)[:, None] * u[None, :]
        weight = (b - a)[:, None] * w[None, :] * chi_density(rho, self.r)
        weight = weight * self.direction_weights[piece_ray][:, None]
        z = rho.reshape(-1, 1) * np.repeat(self.directions[piece_ray], self.n_radial, axis=0)
        weight = weight.ravel()
        positive = weight > 0
        return z[positive], weight[positive]

    def level_set(self, levels: np.ndarray, h: Callable[[np.ndarray], np.ndarray]):
        """``p(y) E[h(z) | g(z) = y]`` and ``p(y)`` at each level (the density of g(z) there).

        ``h`` maps (K, r) points to (K, q) values. The slope ``d g / d rho`` at a crossing is a
        central difference over ``1e-6 (1 + rho)``.

        Returns
        -------
        (L, q) array, (L,) array.
        """
        levels = np.atleast_1d(np.asarray(levels, dtype=np.float64))
        ray, rho, level = self.crossings(levels)
        step = 1e-6 * (1.0 + rho)
        dirs = self.directions[ray]
        slope = (
            self.g((rho + step)[:, None] * dirs)
            - self.g(np.maximum(rho - step, 0.0)[:, None] * dirs)
        ) / (rho + step - np.maximum(rho - step, 0.0))
        with np.errstate(divide="ignore"):
            mass = self.direction_weights[ray] * chi_density(rho, self.r) / np.abs(slope)
        mass = np.where(np.isfinite(mass), mass, 0.0)
        values = np.asarray(h(rho[:, None] * dirs), dtype=np.float64).reshape(rho.size, -1)
        density = np.bincount(level, weights=mass, minlength=levels.size)
        moments = np.stack(
            [
                np.bincount(level, weights=mass * values[:, j], minlength=levels.size)
                for j in range(values.shape[1])
            ],
            axis=1,
        )
        return moments, density


def best_pole(g: Callable[[np.ndarray], np.ndarray], n_angle: int, n_radial: int) -> int:
    """The axis (0, 1 or 2) about which the r = 3 polar rule of ``g`` converges best.

    For each axis, the rule and the rule at half the nodes integrate the indicators
    ``1{g > level}`` times ``1, z_1^2, z_2^2, z_3^2`` at the label's quantiles
    ``_POLE_TEST_QUANTILES`` (on the radial grid); the axis with the smallest largest
    difference wins, ``z3`` unless another halves it (a symmetric link keeps ``z3``).
    """
    gaps = []
    levels = None
    for pole in (2, 0, 1):
        full = RayRule(g, 3, n_angle, n_radial, pole)
        if levels is None:
            inner = full.grid_values[:, full.grid <= 4.0]  # the bulk of the radius law
            levels = np.unique(np.quantile(inner, _POLE_TEST_QUANTILES))
        half = RayRule(g, 3, max(1, n_angle // 2), max(2, n_radial // 2), pole)
        tests = []
        for rule in (full, half):
            z, w = rule.nodes(levels)
            above = g(z)[:, None] > levels[None, :]
            moments = np.column_stack([np.ones(w.size), z**2]) * w[:, None]
            tests.append(above.T.astype(np.float64) @ moments)
        gaps.append(float(np.max(np.abs(tests[0] - tests[1]))))
    best = int(np.argmin(gaps))
    return (2, 0, 1)[best] if gaps[best] < 0.5 * gaps[0] else 2


def excess(value, reference, rtol: float, atol: float) -> float:
    """Largest ``|value - reference| / (rtol |reference| + atol)`` over the entries (1 is the
    tolerance; inf where only one of the two is finite, 0 where both are inf or nan)."""
    value = np.asarray(value, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    finite = np.isfinite(value)
    if np.any(finite != np.isfinite(reference)):
        return float("inf")
    if not finite.any():
        return 0.0
    gap = np.abs(value[finite] - reference[finite]) / (rtol * np.abs(reference[finite]) + atol)
    return float(gap.max())


def check_agreement(pairs, rtol: float, atol: float, what: str, warn: bool = True) -> bool:
    """Whether every ``(value, half-node value)`` pair agrees within ``rtol |value| + atol``;
    if not and ``warn``, a :class:`QuadratureWarning` says by how much."""
    worst = max((excess(v, ref, rtol, atol) for v, ref in pairs), default=0.0)
    if worst <= 1.0:
        return True
    if not warn:
        return False
    warnings.warn(
        f"{what}: the quadrature did not reach its stated tolerance (relative {rtol:g}, absolute "
        f"{atol:g}): the result at half the nodes differs by {worst:.3g} times that; pass "
        "method='monte_carlo' to compare.",
        QuadratureWarning,
        stacklevel=3,
    )
    return False
