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
    for r = 2; in ``cos`` of the polar angle and the azimuth for r = 3; ``theta = +-1`` for
    r = 1). Links such as ``sign(z1 z2)``, ``|z1|``, ``min(z1, z2)`` are smooth inside every
    sector, so the rule converges as for a smooth integrand;
  - along each ray, ``rho`` in ``[0, RADIUS]`` is cut at unit steps and at every crossing of
    the given label levels ("breaks": where the label transform is not smooth), found by a
    sign change of ``g - level`` on a fine radial grid and bisection; each piece gets
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
from typing import Callable

import numpy as np
from scipy import special

#: Rays end here: P(chi_3 > 9) is about 1e-17, far below any tolerance used.
RADIUS = 9.0
#: Radial bracketing grid (points per unit of rho) for finding level crossings.
_GRID_PER_UNIT = 12
#: Bisection steps per crossing: the bracket (1 / _GRID_PER_UNIT) shrinks below 1e-11.
_BISECTIONS = 34


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


def sphere_rule(r: int, n_per_sector: int) -> tuple[np.ndarray, np.ndarray]:
    """Directions on the unit sphere and weights summing to 1 (module docstring's sectors).

    Parameters
    ----------
    r : 1, 2 or 3.  n_per_sector : int, Gauss–Legendre nodes per sector and dimension.

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
        sectors = 4  # the planes z1 = 0 and z2 = 0 (z3 = 0 is the split of cos at 0)
        phi = (np.arange(sectors)[:, None] + u[None, :]).ravel() * (2.0 * np.pi / sectors)
        wphi = np.tile(w, sectors) / sectors
        cos = np.concatenate([u - 1.0, u])  # cos of the polar angle, uniform on (-1, 1)
        wcos = np.concatenate([w, w]) / 2.0
        sin = np.sqrt(1.0 - cos**2)
        dirs = np.stack(
            [
                np.outer(sin, np.cos(phi)).ravel(),
                np.outer(sin, np.sin(phi)).ravel(),
                np.repeat(cos, phi.size),
            ],
            axis=1,
        )
        return dirs, np.outer(wcos, wphi).ravel()
    raise ValueError(f"sphere_rule supports r = 1, 2 or 3, got r={r}.")


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
    """

    def __init__(self, g: Callable[[np.ndarray], np.ndarray], r: int, n_angle: int, n_radial: int):
        self.g, self.r, self.n_radial = g, r, n_radial
        self.directions, self.direction_weights = sphere_rule(r, n_angle)
        self.grid = np.linspace(0.0, RADIUS, int(RADIUS * _GRID_PER_UNIT) + 1)
        m = self.directions.shape[0]
        points = (self.grid[None, :, None] * self.directions[:, None, :]).reshape(-1, self.r)
        self.grid_values = np.asarray(g(points), dtype=np.float64).reshape(m, self.grid.size)

    def crossings(self, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every sign change of ``g(rho theta) - level`` along the rays, refined by bisection.

        Returns
        -------
        ray : (K,) int array.  rho : (K,) array.  level : (K,) int array, index into levels.
        """
        levels = np.atleast_1d(np.asarray(levels, dtype=np.float64))
        above = self.grid_values[:, None, :] > levels[None, :, None]  # (M, L, G)
        ray, level, cell = np.nonzero(above[:, :, 1:] != above[:, :, :-1])
        lo, hi = self.grid[cell].copy(), self.grid[cell + 1].copy()
        lo_above = above[ray, level, cell]
        target = levels[level]
        for _ in range(_BISECTIONS if ray.size else 0):
            mid = 0.5 * (lo + hi)
            mid_above = self.g(mid[:, None] * self.directions[ray]) > target
            same = mid_above == lo_above
            lo = np.where(same, mid, lo)
            hi = np.where(same, hi, mid)
        return ray, 0.5 * (lo + hi), level

    def nodes(self, breaks=()) -> tuple[np.ndarray, np.ndarray]:
        """Nodes ``z`` (N, r) and weights (N,) summing to ~1, rays cut at unit steps and at the
        crossings of the label levels ``breaks``."""
        m = self.directions.shape[0]
        base = np.arange(0.0, RADIUS + 0.5)
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
