r"""The linear maps that decide a stage, and the learned block's state evolution, on a
:class:`~mimkit.theory._slice_tables.SliceTable` (docs/theory.md, "Hierarchies").

* :func:`first_order_matrix`: ``E[E[w | y, v] E[w | y, v]^T]``; a nonzero one makes ``Q = 0``
  no fixed point in those directions (a trivial stage).
* :func:`stability_map`: ``F(M) = E[G M G]`` on symmetric k x k matrices with
  ``G = E[w w^T | y, v] - I``: the Jacobian of AMP's state evolution in the rest block, the
  learned directions known exactly.
* :func:`block_evolution`: for one learned direction at AMP overlap ``q``, observed through
  ``omega = sqrt(q) v + sqrt(1 - q) xi``: the ``alpha`` at which ``q`` is a fixed point of the
  block's own state evolution, and the same map F with moments given ``(y, omega)``.
* :func:`self_consistent_threshold`: the smallest alpha at which ``alpha rho(F(q*(alpha))) = 1``
  with ``q*(alpha)`` the fixed point AMP reaches from an uninformed start.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from scipy import optimize

from ._slice_tables import SliceTable

#: Gauss-Hermite nodes for the noise xi of the learned direction's AMP estimate.
_XI_NODES = 16
#: Overlaps q at which the block's state evolution is tabulated; above _Q_MAX the kernel of
#: width sqrt(1 - q) is narrower than the learned coordinate's rule resolves, and q = 1 (the
#: direction known exactly) is taken from the table itself.
_Q_MAX = 0.95
_Q_GRID = np.concatenate([np.geomspace(1e-3, 0.05, 6)[:-1], np.linspace(0.05, _Q_MAX, 19)])


def first_order_matrix(table: SliceTable, other: Optional[SliceTable] = None) -> np.ndarray:
    """``E[E[w | y, v] E[w | y, v]^T]``, (k, k). With ``other`` (the same table from
    independent Monte Carlo draws) the product of the two estimates, which has no noise bias."""
    other = table if other is None else other
    joint = (table.joint + other.joint) / 2.0
    M = np.einsum("ic,ica,icb->ab", joint, table.first, other.first)
    return (M + M.T) / 2.0


def stability_map(G: np.ndarray, weights: np.ndarray, H: Optional[np.ndarray] = None):
    """Eigenvalues (descending) and eigen-matrices (m, k, k) of ``M -> sum_j weights_j G_j M
    H_j`` (H = G by default; G, H: (n, k, k) symmetric), symmetrised, on symmetric k x k
    matrices."""
    H = G if H is None else H
    k = G.shape[-1]
    # sum_n w_n G_n (x) H_n as one product ((n, k^2) by (n, k^2): einsum was ~10x slower)
    outer = (G * weights[:, None, None]).reshape(-1, k * k).T @ H.reshape(-1, k * k)
    kron = outer.reshape(k, k, k, k).transpose(0, 2, 1, 3).reshape(k * k, k * k)
    swap = np.eye(k * k).reshape(k, k, k, k).transpose(0, 1, 3, 2).reshape(k * k, k * k)
    sym = (np.eye(k * k) + swap) / 2.0
    K = sym @ kron @ sym
    vals, vecs = np.linalg.eigh((K + K.T) / 2.0)
    # Antisymmetric matrices map to 0 under the projection: keep the symmetric eigenvectors.
    mats = vecs.T.reshape(-1, k, k)
    symmetric = np.linalg.norm(mats - mats.transpose(0, 2, 1), axis=(1, 2)) < 1e-8
    order = np.argsort(-vals[symmetric], kind="stable")
    return vals[symmetric][order], mats[symmetric][order]


def known_map(table: SliceTable, other: Optional[SliceTable] = None):
    """:func:`stability_map` of ``G = E[w w^T | y, v] - I`` (learned coordinates exact); with
    ``other``, of the product of the two tables' G (as :func:`first_order_matrix`)."""
    other = table if other is None else other
    k = table.second.shape[-1]
    G = (table.second - np.eye(k)).reshape(-1, k, k)
    H = (other.second - np.eye(k)).reshape(-1, k, k)
    return stability_map(G, ((table.joint + other.joint) / 2.0).ravel(), H)


def block_evolution(table: SliceTable, q: float) -> tuple[float, float]:
    """``(alpha(q), rho(q))`` for one learned direction at AMP overlap ``q`` in (0, 1).

    ``alpha(q) = q (1 - q) / (E[vhat^2] - q)`` is where q is a fixed point of the block's state
    evolution (``vhat = E[v | y, omega]``), and ``rho(q)`` the top eigenvalue of F with
    ``G = E[w w^T | y, omega] - I`` (docs/theory.md, "Hierarchies"). The outer expectation
    runs over the nodes ``v_i``, the label cells and Gauss-Hermite nodes of ``xi``; the
    posterior given ``(cell, omega)`` over the nodes of that cell.
    """
    k = table.second.shape[-1]
    xi, w_xi = np.polynomial.hermite_e.hermegauss(_XI_NODES)
    w_xi = w_xi / w_xi.sum()
    root, spread = np.sqrt(q), np.sqrt(1.0 - q)
    v_all = table.v[:, 0]
    omega = (root * v_all[:, None] + spread * xi[None, :]).ravel()  # row i * n_xi + j
    # The kernel N(omega; sqrt(q) v', 1 - q) of every node pair, once: a row's own node has
    # exp(-xi^2 / 2) > 1e-7, so no row of a cell's posterior underflows to all zeros.
    kernel = np.exp(-((omega[:, None] - root * v_all[None, :]) ** 2) / (2.0 * (1.0 - q)))
    gain = -q
    G_all, weights_all = [], []
    full_joint = table.joint
    for c in np.nonzero(full_joint.sum(axis=0) > 0)[0]:
        nodes = np.nonzero(full_joint[:, c] > 0)[0]
        v, joint = v_all[nodes], full_joint[nodes, c]
        rows = (nodes[:, None] * _XI_NODES + np.arange(_XI_NODES)[None, :]).ravel()
        post = kernel[np.ix_(rows, nodes)] * joint[None, :]
        post /= post.sum(axis=1, keepdims=True)
        outer = (joint[:, None] * w_xi[None, :]).ravel()
        gain += float(outer @ (post @ v) ** 2)
        second = table.second[nodes, c].reshape(nodes.size, k * k)
        G_all.append((post @ second).reshape(-1, k, k) - np.eye(k))
        weights_all.append(outer)
    alpha = q * (1.0 - q) / gain if gain > 0 else np.inf
    rho = stability_map(np.concatenate(G_all), np.concatenate(weights_all))[0][0]
    return alpha, float(rho)


def self_consistent_threshold(table: SliceTable, rho_known: float) -> float:
    """Smallest alpha with ``alpha rho(F(q*(alpha))) >= 1`` (module docstring).

    AMP's fixed point from an uninformed start is ``q*(alpha) = inf{q : alpha(q) >= alpha}``:
    on the tabulated overlaps, the points where ``alpha(q)`` reaches a new maximum; beyond the
    largest tabulated ``alpha(q)``, q* is taken as 1 (the block known, ``rho_known``), which is
    exact where the block's curve falls back (a first-order jump to perfect recovery, as for
    ``sq_sign3``) and an upper bound on rho otherwise.
    """
    alphas, rhos = np.array([block_evolution(table, q) for q in _Q_GRID]).T
    best = -np.inf
    previous = 0.0
    for j, q in enumerate(_Q_GRID):
        if not alphas[j] >= best:  # off AMP's branch (a falling stretch of alpha(q))
            continue
        best = alphas[j]
        if alphas[j] * rhos[j] >= 1.0:
            lo = previous if previous > 0 else 1e-6

            def excess(s: float) -> float:
                a, r_ = block_evolution(table, s)
                return a * r_ - 1.0

            if excess(lo) >= 0:
                return float(block_evolution(table, lo)[0])
            root = optimize.brentq(excess, lo, q, xtol=1e-6)
            return float(block_evolution(table, root)[0])
        previous = q
    return max(1.0 / rho_known, float(best)) if rho_known > 0 else np.inf
