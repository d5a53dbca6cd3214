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


def split_normal_nodes(
    mean: np.ndarray, sd: float, split: float, n_nodes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Nodes for ``E h(t)``, ``t ~ N(mean_i, sd^2)``, with h smooth on each side of ``split``.

    Each side is mapped onto (0, 1) by the quantile function of the normal restricted to it and
    integrated by Gauss–Legendre, so a jump or a non-smooth point of h at ``split`` costs no
    accuracy (a single Gauss–Hermite rule converges only like 1 / nodes there).

    Parameters
    ----------
    mean : (n,) array.  sd : float > 0.  split : float.  n_nodes : int, per side.

    Returns
    -------
    nodes : (n, 2 n_nodes) array.  log_weights : (n, 2 n_nodes) array (-inf for a side of
    probability zero; each row's weights sum to 1).
    """
    u, w = unit_legendre(n_nodes)
    a = (split - mean)[:, None] / sd
    log_left, log_right = special.log_ndtr(a), special.log_ndtr(-a)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        left = mean[:, None] + sd * special.ndtri(u * np.exp(log_left))
        right = mean[:, None] - sd * special.ndtri((1.0 - u) * np.exp(log_right))
    nodes = np.concatenate([left, right], axis=1)
    log_weights = np.concatenate([log_left + np.log(w), log_right + np.log(w)], axis=1)
    bad = ~np.isfinite(nodes)
    nodes[bad] = split
    log_weights[bad] = -np.inf
    return nodes, log_weights


def normalised(log_weights: np.ndarray) -> np.ndarray:
    """Row-wise softmax of log weights, shape kept."""
    m = np.max(log_weights, axis=1, keepdims=True)
    p = np.exp(log_weights - m)
    return p / p.sum(axis=1, keepdims=True)
