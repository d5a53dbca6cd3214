"""Quadrature rules of the AMP output channels (Gauss–Hermite, half-line Gauss–Legendre)."""

from __future__ import annotations

import itertools
from functools import lru_cache

import numpy as np
from scipy import special


@lru_cache(maxsize=16)
def gauss_hermite(n_nodes: int, r: int) -> tuple[np.ndarray, np.ndarray]:
    """Tensor Gauss–Hermite rule for ``E f(u)``, ``u ~ N(0, I_r)``.

    Returns
    -------
    nodes : (n_nodes**r, r) array.  log_weights : (n_nodes**r,) array (weights sum to 1).
    """
    x, w = np.polynomial.hermite_e.hermegauss(n_nodes)
    logw = np.log(w / w.sum())
    nodes = np.array(list(itertools.product(x, repeat=r)), dtype=np.float64).reshape(-1, r)
    log_weights = np.array([sum(c) for c in itertools.product(logw, repeat=r)])
    return nodes, log_weights


@lru_cache(maxsize=16)
def unit_legendre(n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes and weights on (0, 1)."""
    x, w = np.polynomial.legendre.leggauss(n_nodes)
    return (x + 1.0) / 2.0, w / 2.0


@lru_cache(maxsize=16)
def graded_legendre(n_nodes: int, grading: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights on (0, 1): Gauss–Legendre in v, mapped to ``u = I_v(p, p)`` (the
    regularised incomplete beta function, ``p = grading``), which packs the nodes towards
    both ends, where ``du/dv ~ v^(p-1)`` smooths an end singularity of the integrand;
    ``grading = 1`` is :func:`unit_legendre`."""
    v, w = unit_legendre(n_nodes)
    if grading == 1:
        return v, w
    p = float(grading)
    return special.betainc(p, p, v), w * (v * (1.0 - v)) ** (p - 1.0) / special.beta(p, p)


#: Range and spacing of the tabulated half-line nodes: below -_TABLE_EDGE a side has
#: probability under 1e-299 and is dropped; above +_TABLE_EDGE the table is flat to 1e-299.
_TABLE_EDGE, _TABLE_STEP = 37.0, 0.02


@lru_cache(maxsize=8)
def _half_line_table(n_nodes: int, grading: int = 1) -> np.ndarray:
    """Cubic pieces of ``T_j(a) = Phi^{-1}(u_j Phi(a))`` (the Gauss-Legendre nodes u_j of
    (0, 1) mapped to the standard normal restricted to ``(-inf, a]``) between grid points of
    a: (intervals, 4, n_nodes), the coefficients of 1, f, f^2, f^3 in the fraction f of an
    interval (Hermite: values and slopes ``dT_j / da = u_j phi(a) / phi(T_j)`` match at both
    ends, so the error is ~ step^4, below 1e-9). With ``grading`` the nodes are those of
    :func:`graded_legendre`."""
    u, _ = graded_legendre(n_nodes, grading)
    a = np.arange(-_TABLE_EDGE, _TABLE_EDGE + _TABLE_STEP / 2, _TABLE_STEP)[:, None]
    values = special.ndtri(u[None, :] * np.exp(special.log_ndtr(a)))
    slopes = _TABLE_STEP * u[None, :] * np.exp(0.5 * (values**2 - a**2))
    v0, v1, s0, s1 = values[:-1], values[1:], slopes[:-1], slopes[1:]
    return np.stack([v0, s0, 3 * (v1 - v0) - 2 * s0 - s1, 2 * (v0 - v1) + s0 + s1], axis=1)


@lru_cache(maxsize=8)
def half_line_rule(n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """What the core's split-normal rule reads (:func:`split_normal_nodes`, grading 1): the
    table of :func:`_half_line_table` and the log Gauss-Legendre weights of one side.

    Returns
    -------
    table : (intervals, 4, n_nodes) array.  log_weights : (n_nodes,) array.
    """
    return _half_line_table(n_nodes), np.log(unit_legendre(n_nodes)[1])


def _half_line_nodes(a: np.ndarray, n_nodes: int, grading: int = 1) -> np.ndarray:
    """``T_j(a_i)``, (n, n_nodes), from the table (:func:`_half_line_table`); a is clipped to
    its range."""
    table = _half_line_table(n_nodes, grading)
    pos = (np.clip(a, -_TABLE_EDGE, _TABLE_EDGE) + _TABLE_EDGE) / _TABLE_STEP
    i = np.minimum(pos.astype(np.intp), len(table) - 1)
    f = (pos - i)[:, None]
    c = table[i]
    out = c[:, 3] * f
    out += c[:, 2]
    out *= f
    out += c[:, 1]
    out *= f
    out += c[:, 0]
    return out


def split_normal_nodes(
    mean: np.ndarray, sd: float, split: float, n_nodes: int, grading: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Nodes for ``E h(t)``, ``t ~ N(mean_i, sd^2)``, with h smooth on each side of ``split``.

    Each side is mapped onto (0, 1) by the quantile function of the normal restricted to it and
    integrated by Gauss–Legendre, so a jump or a non-smooth point of h at ``split`` costs no
    accuracy (a single Gauss–Hermite rule converges only like 1 / nodes there). The quantiles
    come from a precomputed table in ``a = (split - mean) / sd`` (:func:`_half_line_nodes`):
    an ``ndtri`` per node would cost more than the rest of a GAMP iteration.

    In the quantile u, a function growing in t (the moments themselves) is singular at the
    far end, ``t ~ sqrt(2 log(1/u))``, so the error falls only like ``1 / n_nodes^2``; and a
    likelihood that rises towards the split puts posterior mass where the prior's quantiles
    leave few nodes. ``grading = p`` (:func:`graded_legendre`) packs the nodes towards both
    ends: ~1e-7 with 24 nodes per side where ``grading = 1`` has ~1e-2 (sign_committee).

    Parameters
    ----------
    mean : (n,) array.  sd : float > 0.  split : float.  n_nodes : int, per side.
    grading : int >= 1, optional

    Returns
    -------
    nodes : (n, 2 n_nodes) array.  log_weights : (n, 2 n_nodes) array (-inf for a side of
    probability zero; each row's weights sum to 1).
    """
    _, w = graded_legendre(n_nodes, grading)
    a = (split - mean) / sd
    log_left, log_right = special.log_ndtr(a)[:, None], special.log_ndtr(-a)[:, None]
    # The right side is the mirror image: nodes -T_j(-a), in reverse order to keep t sorted.
    nodes = np.concatenate(
        [_half_line_nodes(a, n_nodes, grading), -_half_line_nodes(-a, n_nodes, grading)[:, ::-1]],
        axis=1,
    )
    nodes *= sd
    nodes += mean[:, None]
    log_w = np.log(w)
    log_weights = np.concatenate([log_left + log_w, log_right + log_w[::-1]], axis=1)
    dead = (a < -_TABLE_EDGE, a > _TABLE_EDGE)
    if dead[0].any() or dead[1].any():
        log_weights[dead[0], :n_nodes] = -np.inf
        log_weights[dead[1], n_nodes:] = -np.inf
        nodes[dead[0], :n_nodes] = split
        nodes[dead[1], n_nodes:] = split
    return nodes, log_weights


#: Relative weights below exp(-_NEGLIGIBLE) are set to exactly 0: left at e^-700 they would
#: make subnormal numbers, on which every later product runs ~100x slower (a peaked posterior
#: has most of its nodes there), for a contribution below 1e-300.
_NEGLIGIBLE = 690.0


def normalised(log_weights: np.ndarray) -> np.ndarray:
    """Row-wise softmax of log weights, shape kept."""
    p = log_weights - np.max(log_weights, axis=1, keepdims=True)
    np.putmask(p, p < -_NEGLIGIBLE, -np.inf)
    np.exp(p, out=p)
    p /= p.sum(axis=1, keepdims=True)
    return p


#: Library links whose label jumps on the axes or whose conditional moments given the label are
#: singular there (``z1 z2``: like ``1 / log|y|``): they get the log-axis rule, every other link
#: Gauss-Hermite (exact for he2_sum and norm2, spectrally accurate for smooth links).
_AXIS_LINKS = frozenset({"z1z2", "z1_plus_z1z2", "sign_z1z2", "z1z2z3", "parity3"})
#: Gauss-Hermite nodes per dimension (r = 1, 2, 3) and for the label noise, at level 0.
_HERMITE_NODES = {1: 48, 2: 20, 3: 8}
_NOISE_NODES = 12
#: Log-axis rule at level 0: spacing in s = log|z|, and the range of s.
_LOG_STEP, _LOG_RANGE = 0.25, (-16.0, 2.5)


def log_axis_nodes(step: float) -> tuple[np.ndarray, np.ndarray]:
    """Rule for ``E f(z)``, ``z ~ N(0, 1)``: ``z = +-exp(s)``, trapezoid in s.

    The integrand ``f(+-e^s) e^s phi(e^s)`` is analytic in s and decays like ``e^s`` to the left
    and double-exponentially to the right, so the trapezoid rule converges exponentially in
    ``1 / step``, also when f has a jump at 0 (each side is integrated on its own) or a
    singularity there as slow as ``1 / log|z|`` (the conditional moments of ``z1 z2`` given its
    value near 0), which no polynomial rule resolves. The range leaves out a mass below 1e-7.

    Returns
    -------
    nodes : (M,) array.  weights : (M,) array summing to 1.
    """
    s = np.arange(_LOG_RANGE[0], _LOG_RANGE[1] + step / 2, step)
    half = np.exp(s - 0.5 * np.exp(2.0 * s))
    half /= 2.0 * half.sum()
    return np.concatenate([-np.exp(s)[::-1], np.exp(s)]), np.concatenate([half[::-1], half])


def link_rule(link, level: int, noise: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nodes for ``E f(z, y)``, ``z ~ N(0, I_r)``, ``y = link(z) + noise * xi``.

    A tensor rule: per coordinate of z, the log-axis rule (:func:`log_axis_nodes`, spacing 0.25)
    for :data:`_AXIS_LINKS`, Gauss-Hermite (48 / 20 / 8 nodes for r = 1 / 2 / 3) for every
    other link, callables included (a callable that jumps on the axes converges slowly:
    the caller's doubling check says so); Gauss-Hermite with 12 nodes for the label noise
    ``xi`` when ``noise > 0``.
    Each ``level`` doubles the nodes (halves the spacing): comparing levels 0 and 1 is the
    convergence check.

    Returns
    -------
    z : (M, r) array.  y : (M,) array.  weights : (M,) array summing to 1.
    """
    r, factor = link.r, 2**level
    if link.in_core and link.name in _AXIS_LINKS:
        x, w = log_axis_nodes(_LOG_STEP / factor)
    else:
        x, w = np.polynomial.hermite_e.hermegauss(_HERMITE_NODES.get(r, 6) * factor)
        w = w / w.sum()
    grids = np.meshgrid(*([x] * r), indexing="ij")
    weights = np.meshgrid(*([w] * r), indexing="ij")
    z = np.stack([g.ravel() for g in grids], axis=1)
    w = np.prod([v.ravel() for v in weights], axis=0)
    y = np.asarray(link(z), dtype=np.float64)
    if noise > 0:
        xi, wx = np.polynomial.hermite_e.hermegauss(_NOISE_NODES * factor)
        wx = wx / wx.sum()
        z = np.repeat(z, len(xi), axis=0)
        y = np.repeat(y, len(xi)) + noise * np.tile(xi, len(w))
        w = np.outer(w, wx).ravel()
    return z, y, w


def merge_labels(y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct labels (to 12 significant digits), their summed weights, and the index of each
    original label among them: a function of the label alone is then evaluated once per value
    (tensor rules repeat labels: ``z1 z2`` on a product grid in ``log|z|``, ``|z|^2`` on
    symmetric nodes).

    Returns
    -------
    labels : (u,) array.  weights : (u,) array.  inverse : (n,) int array.
    """
    mantissa, exponent = np.frexp(y)
    labels, inverse = np.unique(np.ldexp(np.round(mantissa, 12), exponent), return_inverse=True)
    return labels, np.bincount(inverse, weights=w, minlength=len(labels)), inverse.ravel()
