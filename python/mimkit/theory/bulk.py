r"""The bulk of ``D = (1/n) sum_i t_i x_i x_i^T``: its edges and its moments.

Derivation: docs/theory.md, section "Finite d and finite T1". The Stieltjes transform
``m(zeta) = int dmu(x) / (x - zeta)`` of the limiting spectral law mu of D (n / d -> alpha)
solves the Marchenko–Pastur-type fixed point ``1/m = -zeta + E[t / (1 + t m / alpha)]``.
Writing ``m = -alpha / lambda`` turns it into ``zeta = psi(lambda) = lambda (1/alpha +
E[t / (lambda - t)])``: the edges of the bulk are ``psi`` at its critical points
``lambda_+ > max t`` and ``lambda_- < min t`` (where ``E[t^2 / (lambda - t)^2] = 1/alpha``).

The moments follow from ``m_k = -(1 / 2 pi i) oint zeta^k m(zeta) dzeta`` around the support;
the substitution ``zeta = psi(lambda)`` gives

    m_k = (alpha / 2 pi i) oint psi(lambda)^k psi'(lambda) / lambda  dlambda

on any contour enclosing ``[min t, max t]`` (the integrand is analytic outside it for k >= 1).
The circle through ``lambda_-`` and ``lambda_+`` passes through the saddle points of ``psi``,
where ``|psi|`` reaches the bulk's edges and decreases along the contour, so ``m_k / M^k``
(``M`` the larger |edge|) is computed without cancellation even for k in the hundreds; the
periodic trapezoid rule converges exponentially. The weights' law is compressed to a few
thousand atoms (exact atoms kept, the rest in equal-count groups) since the contour stays away
from the support of t.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy import optimize

#: Contour points of the trapezoid rule (the integrand's peak at a saddle has width ~ 1/sqrt(k)).
_CONTOUR_POINTS = 8192
#: Equal-count groups of the continuous part of the weights' law.
_GROUPS = 2000
#: A value holding at least this fraction of the sample is kept as an exact atom.
_ATOM_FRACTION = 1e-3


@dataclass(frozen=True, eq=False)
class BulkLaw:
    """Edges and moments of the limiting spectral law of D (from :func:`bulk_law`).

    Attributes
    ----------
    edges : (2,) array, the lower and upper edge.
    scale : float, ``M = max |edge|``.
    scaled_moments : (K + 1,) array, ``m_k / M^k`` for k = 0..K (``m_0 = 1``).
    """

    edges: np.ndarray
    scale: float
    scaled_moments: np.ndarray


def compress(t: np.ndarray, weights: Optional[np.ndarray] = None) -> tuple[np.ndarray, np.ndarray]:
    """Atoms and probabilities standing in for the sample ``t`` with probabilities ``weights``
    (None: uniform; module docstring). Weighted points go in groups of equal count too, each
    atom at its group's weighted mean."""
    t = np.asarray(t, dtype=np.float64)
    if weights is None:
        weights = np.full(t.size, 1.0 / t.size)
    order = np.argsort(t, kind="stable")
    t, weights = t[order], np.asarray(weights, dtype=np.float64)[order]
    values, inverse = np.unique(t, return_inverse=True)
    mass = np.bincount(inverse, weights=weights)
    counts = np.bincount(inverse)
    heavy = (counts >= _ATOM_FRACTION * t.size) | (mass >= _ATOM_FRACTION)
    atoms, probs = [values[heavy]], [mass[heavy]]
    light = ~heavy[inverse]
    rest, rest_w = t[light], weights[light]
    if rest.size:
        parts = np.array_split(np.arange(rest.size), min(_GROUPS, rest.size))
        group_w = np.array([rest_w[p].sum() for p in parts])
        atoms.append(np.array([rest_w[p] @ rest[p] for p in parts]) / group_w)
        probs.append(group_w)
    atoms_all, probs_all = np.concatenate(atoms), np.concatenate(probs)
    keep = probs_all > 0
    return atoms_all[keep], probs_all[keep] / probs_all[keep].sum()


def bulk_law(
    t: np.ndarray, alpha: float, max_order: int, weights: Optional[np.ndarray] = None
) -> BulkLaw:
    """Edges and moments ``m_0 .. m_max_order`` of the bulk for weights ``t`` (a sample).

    Parameters
    ----------
    t : (N,) sample (or quadrature nodes) of the weights (bounded).
    alpha : float, ``n / d``.
    max_order : int
    weights : (N,) array, optional
        Probabilities of the points of ``t`` (None: a Monte Carlo sample, uniform).

    Returns
    -------
    BulkLaw
    """
    atoms, probs = compress(t, weights)
    inv = 1.0 / alpha
    lo, hi = float(atoms.min()), float(atoms.max())
    width = max(hi - lo, abs(hi), abs(lo))

    def H(lam):
        return float(probs @ (atoms / (lam - atoms)) ** 2) - inv

    # H rises from 0 at infinity to H(max t+) (infinite for an atom at max t) on each side.
    lam_hi = _critical(H, hi, width)
    lam_lo = -_critical(lambda lam: H(-lam), -lo, width)

    def psi(lam):
        return lam * (inv + (atoms / (lam[:, None] - atoms)) @ probs)

    def dpsi(lam):
        return inv - (atoms / (lam[:, None] - atoms)) ** 2 @ probs

    edges = np.real(psi(np.array([lam_lo, lam_hi], dtype=complex)))
    scale = float(np.max(np.abs(edges)))
    center, radius = 0.5 * (lam_hi + lam_lo), 0.5 * (lam_hi - lam_lo)
    theta = 2.0 * np.pi * np.arange(_CONTOUR_POINTS) / _CONTOUR_POINTS
    lam = center + radius * np.exp(1j * theta)
    ratio = psi(lam) / scale
    # alpha / (2 pi i) * dlambda = alpha * radius e^{i theta} dtheta / (2 pi): trapezoid weights.
    base = alpha * dpsi(lam) / lam * radius * np.exp(1j * theta) / _CONTOUR_POINTS
    moments = np.empty(max_order + 1)
    moments[0] = 1.0
    power = np.ones_like(ratio)
    for k in range(1, max_order + 1):
        power = power * ratio
        moments[k] = float(np.real(np.sum(power * base)))
    return BulkLaw(edges, scale, moments)


def _critical(H, top: float, width: float) -> float:
    """The root above ``top`` of the decreasing ``H`` (or ``top`` if H(top+) < 0)."""
    steps = top + width * np.geomspace(1e-12, 1e8, 200)
    vals = np.array([H(s) for s in steps])
    if vals[0] <= 0:
        return float(steps[0])
    j = np.nonzero(vals > 0)[0][-1]
    return float(optimize.brentq(H, steps[j], steps[j + 1], xtol=1e-15 * width, rtol=1e-13))


def edge_law(t: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """The bulk's edges and the square-root coefficient of its density at each.

    Near an edge E the density is ``rho(x) ~ (c / pi) sqrt(|E - x|)``: at the critical point
    ``lambda_E`` of psi, ``zeta - E ~ psi''(lambda_E) (lambda - lambda_E)^2 / 2``, and
    ``m = -alpha / lambda`` gives ``Im m = pi rho`` with
    ``c = alpha sqrt(2 / |psi''(lambda_E)|) / lambda_E^2``,
    ``psi''(lambda) = 2 E[t^2 / (lambda - t)^3]`` (module docstring). The largest eigenvalue of
    a d x d sample then fluctuates on the scale ``(c d)^{-2/3}`` (Tracy–Widom).

    The law of t is the sample itself, not :func:`compress`'s groups: a few extreme weights
    make eigenvalues of their own beyond the bulk of the rest (a weight above the critical
    point lambda_+ of the others sits near psi(t_i)); group means would hide them and place
    the edge below those eigenvalues.

    Parameters
    ----------
    t : (N,) sample of the weights.  alpha : float, ``n / d``.

    Returns
    -------
    edges : (2,) array, lower and upper.  c : (2,) array, their coefficients.
    """
    atoms, counts = np.unique(np.asarray(t, dtype=np.float64), return_counts=True)
    probs = counts / counts.sum()
    inv = 1.0 / alpha
    lo, hi = float(atoms.min()), float(atoms.max())
    width = max(hi - lo, abs(hi), abs(lo))

    def H(lam):
        return float(probs @ (atoms / (lam - atoms)) ** 2) - inv

    lams = np.array([-_critical(lambda lam: H(-lam), -lo, width), _critical(H, hi, width)])
    gaps = lams[:, None] - atoms
    edges = lams * (inv + (atoms / gaps) @ probs)
    second = 2.0 * (atoms**2 / gaps**3) @ probs
    return edges, alpha * np.sqrt(2.0 / np.abs(second)) / lams**2
