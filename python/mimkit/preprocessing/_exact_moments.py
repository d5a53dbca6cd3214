r"""``p(y)`` and ``p(y) E[z z^T | y]`` in one dimension, for library links whose conditional law
is known in closed form or as a one-dimensional integral (noiseless labels).

The polar rule's level-set integral over the 2-sphere converges too slowly for the optimal
preprocessing's table of a continuous label at r = 3 (:mod:`.optimal`), and slicing it for the
learning order (:mod:`mimkit.theory._slice_tables`) costs thousands of two-dimensional rules;
these laws reduce to one dimension:

* ``sq_sign3``, ``y = u + s`` with ``u = z1^2 ~ chi^2_1`` and ``s = sign(z1 z2 z3) = +-1``
  independent of ``z1`` and of ``|z2|, |z3|``, each sign with probability 1/2. So
  ``p(y) = sum_s f(y - s) / 2`` with ``f`` the chi^2_1 density, ``p E[z1^2 | y] = sum_s
  (y - s) f(y - s) / 2``, ``E[z2^2 | y] = E[z3^2 | y] = 1`` and the off-diagonal moments vanish
  (flipping the signs of two coordinates keeps y). ``E[z1^2 | y]`` jumps at ``y = 1`` (from 2
  to 0, where the branch ``s = +1`` starts with an infinite density); the law starts at -1.
* ``z1z2z3``: ``z2 z3`` has the density ``K0(|w|) / pi``, so with ``z1 = +-e^s``,
  ``p(y) E[z1^(2m) | y] = (2 / pi) int e^(2 m s) phi(e^s) K0(|y| e^(-s)) ds``; the moments
  are isotropic by symmetry and the off-diagonal ones vanish. The integrand is smooth in s and
  negligible (below 1e-17 of its peak) outside ``[log|y| - log 40, log 9.5]``, where a
  Gauss–Legendre rule of :data:`_S_NODES` nodes integrates it to ~1e-12 relative (checked
  against adaptive quadrature in the tests). ``y = 0`` has an infinite density and is given
  none (as a level set no ray crosses), so tables skip it.
* ``he2_sum`` (``y = |z|^2 - r``) and ``norm2`` (``y = |z|^2 / r``): ``|z|^2 ~ chi^2_r`` and,
  given it, ``z / |z|`` is uniform, so ``E[z z^T | y] = |z|^2 / r I``.

In all four ``E[z | y] = 0`` (flipping signs keeps y). Expectations of a function of the
optimal table ``T*(y)`` over the three-dimensional polar rule converge too slowly as well
(``T*`` is unbounded below at the singular labels: ``y = 0`` of ``z1z2z3`` lies on the rule's
sector boundaries), so they are taken over the law of ``y`` itself (:func:`conditional_rule`):
every quantity of the spectral theory is ``E[f(y) q(z)]`` with ``q`` of degree <= 2, that is
``E[f(y) E[q(z) | y]]``, a one-dimensional integral.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
from scipy import special

from .._label_law import LabelSample
from .._quadrature import unit_legendre

#: Gauss–Legendre nodes per piece of the rule in y (full rule).
_Y_NODES = 8
#: Distances from a singular label of the rule's piece boundaries.
_GRADING = 2.0 ** np.arange(-30.0, 8.5, 0.5)
#: Gauss–Legendre nodes of the z1z2z3 integral over s = log|z1|.
_S_NODES = 96
#: Beyond these the integrand of z1z2z3 is below 1e-17 of its peak: K0(40) ~ 1e-18,
#: e^(2s) phi(e^s) at e^s = 9.5 ~ 1e-18.
_K0_REACH = 40.0
_Z1_REACH = 9.5


@dataclass(frozen=True, eq=False)
class ExactMoments:
    """The one-dimensional form of a link's conditional law (module docstring).

    Attributes
    ----------
    at : callable
        ``levels (K,) -> (moments (K, r, r), density (K,))``: ``p(y) E[z z^T | y]`` and
        ``p(y)`` at the label levels (0 where the law has no density).
    support : (float, float)
        The labels' range, up to a mass below 1e-13.
    singular : tuple of float
        Labels inside it where ``p(y)`` or ``E[z z^T | y]`` is singular or jumps.
    """

    at: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
    support: tuple
    singular: tuple


def exact_moments(link, noise: float) -> Optional[ExactMoments]:
    """The :class:`ExactMoments` of a library link (module docstring), else None (user links,
    label noise).

    Parameters
    ----------
    link : Link.  noise : float

    Returns
    -------
    ExactMoments or None
    """
    # in_core: the link is the library's own (not a callable that borrowed its name)
    if noise != 0.0 or not link.in_core:
        return None
    if link.name == "sq_sign3":
        # P(chi^2_1 > 60) ~ 1e-14; p(y) ~ 1 / sqrt(y + 1) at y = -1, E[z1^2 | y] jumps at 1.
        return ExactMoments(_sq_sign3, (-1.0, 61.0), (1.0,))
    if link.name == "z1z2z3":
        # P(|z1 z2 z3| > 200) < 1e-20; p(y) ~ log(|y|)^2 at y = 0.
        return ExactMoments(_z1z2z3, (-200.0, 200.0), (0.0,))
    if link.name in ("he2_sum", "norm2"):
        r = link.r
        scale, shift = (1.0, -float(r)) if link.name == "he2_sum" else (1.0 / r, 0.0)
        # P(chi^2_r > 80 + 10 r) < 1e-15 for every r
        top = scale * (80.0 + 10.0 * r) + shift
        return ExactMoments(functools.partial(_chi2, r, scale, shift), (shift, top), ())
    return None


@functools.lru_cache(maxsize=1)
def _legendre(n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes and weights on (-1, 1), once per process (an eigenproblem)."""
    return np.polynomial.legendre.leggauss(n_nodes)


def _sq_sign3(levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(levels, dtype=np.float64)
    density = np.zeros(y.size)
    first = np.zeros(y.size)  # p(y) E[z1^2 | y]
    for s in (1.0, -1.0):
        u = y - s
        inside = u > 0
        f = np.zeros(y.size)
        f[inside] = 0.5 * np.exp(-u[inside] / 2.0) / np.sqrt(2.0 * np.pi * u[inside])
        density += f
        first += np.where(inside, u, 0.0) * f
    moments = np.zeros((y.size, 3, 3))
    moments[:, 0, 0] = first
    moments[:, 1, 1] = moments[:, 2, 2] = density
    return moments, density


def _chi2(r: int, scale: float, shift: float, levels: np.ndarray):
    """``y = scale |z|^2 + shift`` (module docstring)."""
    u = (np.asarray(levels, dtype=np.float64) - shift) / scale
    density = np.zeros(u.size)
    inside = u > 0
    v = u[inside]
    log_chi2 = (r / 2 - 1) * np.log(v) - v / 2 - (r / 2) * np.log(2.0) - special.gammaln(r / 2)
    density[inside] = np.exp(log_chi2) / scale
    moments = (density * np.where(inside, u, 0.0) / r)[:, None, None] * np.eye(r)
    return moments, density


def _z1z2z3(levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.abs(np.asarray(levels, dtype=np.float64))
    density = np.zeros(y.size)
    second = np.zeros(y.size)  # p(y) E[z1^2 | y]
    some = y > 0
    x, w = _legendre(_S_NODES)
    lo = np.log(y[some]) - np.log(_K0_REACH)
    hi = np.full(lo.shape, np.log(_Z1_REACH))
    half = np.maximum(hi - lo, 0.0)[:, None] / 2.0  # (K, 1): an empty range gives 0
    s = (lo[:, None] + hi[:, None]) / 2.0 + half * x[None, :]  # (K, S)
    z1 = np.exp(s)
    kernel = (
        (2.0 / np.pi)
        * half
        * w[None, :]
        * np.exp(-(z1**2) / 2.0)
        / np.sqrt(2.0 * np.pi)
        * special.k0(y[some, None] / z1)
    )
    density[some] = kernel.sum(axis=1)
    second[some] = (kernel * z1**2).sum(axis=1)
    moments = np.zeros((y.size, 3, 3))
    for k in range(3):
        moments[:, k, k] = second
    return moments, density


def graded_labels(exact: ExactMoments) -> np.ndarray:
    """Labels at distances ``2^-30, 2^-29.5, .., 2^8`` on both sides of the support's start
    and of each singular label, within the support: where rules and tables in y resolve the
    singular points (the same labels for the full and the half rule, so that the two see the
    same extreme values of an unbounded ``T*``)."""
    lo, hi = exact.support
    anchors = np.array([lo, *exact.singular])
    graded = (anchors[:, None] + np.concatenate([-_GRADING, _GRADING])[None, :]).ravel()
    return np.unique(graded[(graded > lo) & (graded < hi)])


def conditional_rule(
    exact: ExactMoments, cuts: np.ndarray, fraction: float, probe_y: np.ndarray
) -> LabelSample:
    """A rule for ``E[f(y) q(z)]``, ``q`` a polynomial of degree <= 2 in ``z``, ``f`` smooth
    between the labels ``cuts`` (module docstring).

    Nodes ``y_j`` are Gauss–Legendre in ``u`` on each piece ``[a, b]`` between the support's
    ends, the singular labels, :func:`graded_labels` and ``cuts``, mapped by
    ``y = a + (b - a) (1 - cos(pi u)) / 2`` (``dy / du`` vanishes at both ends, which tames a
    ``1 / sqrt`` or ``log`` density there); their weights are ``p(y_j) dy``. Each node carries
    ``2 r`` points ``z = +-sqrt(r mu_k) v_k`` (``mu_k, v_k`` the eigen-pairs of
    ``E[z z^T | y_j]``) sharing its weight, so that the points' weighted ``z z^T`` is
    ``p(y_j) E[z z^T | y_j] dy`` and their ``z`` averages to 0 (as ``E[z | y]`` does for every
    link here, by symmetry).

    Parameters
    ----------
    exact : ExactMoments.
    cuts : (K,) labels where ``f`` may have kinks (the optimal table's knots).
    fraction : 1.0 for the full rule, 0.5 for the convergence check's half rule.
    probe_y : (P,) the labels of the boundedness check (of the polar rule's law).

    Returns
    -------
    LabelSample
        ``2 r`` points per node, method "quadrature".
    """
    lo, hi = exact.support
    edges = np.unique(np.concatenate([[lo, hi], graded_labels(exact), cuts]))
    edges = edges[(edges >= lo) & (edges <= hi)]
    u, w = unit_legendre(max(2, int(round(_Y_NODES * fraction))))
    a, width = edges[:-1, None], np.diff(edges)[:, None]
    y = (a + width * (1.0 - np.cos(np.pi * u)) / 2.0).ravel()
    dy = (width * np.pi * np.sin(np.pi * u) / 2.0 * w).ravel()
    moments, density = exact.at(y)
    keep = density > 0
    y, moments, density, mass = y[keep], moments[keep], density[keep], (density * dy)[keep]
    mu, vectors = np.linalg.eigh(moments / density[:, None, None])  # (N,), (N, r, r)
    r = mu.shape[1]
    # points[j, k] = sqrt(r mu_k) v_k, then the same with the opposite sign
    points = np.sqrt(r * np.maximum(mu, 0.0))[:, :, None] * np.swapaxes(vectors, 1, 2)
    z = np.concatenate([points, -points], axis=1).reshape(-1, r)
    weights = np.repeat(mass / mass.sum() / (2 * r), 2 * r)
    return LabelSample(z, np.repeat(y, 2 * r), weights, probe_y, "quadrature")
