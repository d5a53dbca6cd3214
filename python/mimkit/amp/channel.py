r"""Output channels of GAMP: the denoiser ``g_out`` for ``y = g(z) + noise``, ``z`` in R^r.

Given ``omega`` (the current estimate of ``z``) and ``V`` (its r x r uncertainty), the channel
posterior is ``p(z | omega, V, y) ~ N(z; omega, V) P(y | z)`` and

    g_out(omega, V, y) = V^{-1} (E[z | omega, V, y] - omega),
    d g_out / d omega  = V^{-1} Cov[z | omega, V, y] V^{-1} - V^{-1}.

Every channel computes the posterior mean and covariance; :meth:`Channel.g_out` turns them into
``g_out`` and the sample mean of its Jacobian (all GAMP and its state evolution need, since V
is shared by all samples). :func:`make_channel` picks, per link:

* closed forms (:mod:`mimkit.amp.closed_forms`): ``y = c |z|^2 + b`` (phase retrieval
  ``norm2`` with r = 1, ``he2_sum``; r <= 3, noiseless), ``z1*z2`` and ``z1 + z1*z2`` (z1 is
  Gaussian given z2: integrated exactly, z2 by quadrature), ``sign(z1*z2)``; at r = 3
  ``sq_sign3`` (noiseless) and ``sign_committee`` (:mod:`mimkit.amp.closed_forms3`);
* otherwise :class:`QuadratureChannel`: r-dimensional Gauss–Hermite quadrature over the prior
  ``N(omega, V)`` with the Gaussian label-noise likelihood. A noiseless generic link has a
  likelihood concentrated on the level set ``g(z) = y``, which no fixed rule resolves, so its
  noise is raised to ``min_noise`` (documented on the result; compare with theory at that
  noise). The rule is accurate when ``noise / |grad g|`` spans a few node spacings.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Optional

import numpy as np

from ..links import Link
from ._quadrature import gauss_hermite, normalised

#: Entries (rows x nodes) per block of the quadratures: temporaries of ~100 kB stay in cache and
#: below glibc's mmap threshold (larger ones are page-faulted in afresh on every call: 2x slower).
_BLOCK_ENTRIES = 12_000
#: Default regularising noise of noiseless generic links, relative to the label's std.
MIN_NOISE = 0.1
#: Gauss–Hermite nodes per dimension for r = 1, 2, 3 (generic channel).
_NODES = {1: 400, 2: 80, 3: 24}


class Channel(ABC):
    """Posterior of ``z ~ N(omega, V)`` given ``y ~ P(y | z)``.

    Attributes
    ----------
    r : int.  noise : float
        The Gaussian label-noise std the channel assumes (may exceed the model's: see
        :class:`QuadratureChannel`).  kind : str, one line saying which rule is used.
    """

    r: int
    noise: float
    kind: str
    #: Quadrature nodes per sample (sizes the row blocks).
    n_nodes: int = 1
    #: False where :meth:`moments` runs in the core, which holds no rows x nodes temporaries:
    #: :meth:`g_out` then passes all rows in one call.
    row_blocks: bool = True

    @abstractmethod
    def moments(self, omega: np.ndarray, V: np.ndarray, y: np.ndarray):
        """Posterior mean ``(n, r)`` and the sum over rows of the posterior covariance ``(r, r)``.

        Parameters
        ----------
        omega : (n, r) array.  V : (r, r) symmetric positive definite.  y : (n,) array.
        """

    def refined(self) -> "Channel":
        """The same channel with twice the quadrature nodes, for convergence checks; a channel
        whose rule is exact (or spectrally accurate) where it is checked returns itself."""
        return self

    def g_out(self, omega: np.ndarray, V: np.ndarray, y: np.ndarray):
        """``g_out`` per sample and the mean of its Jacobian over samples.

        Returns
        -------
        g : (n, r) array.  dg : (r, r) array, ``mean_i d g_out(omega_i) / d omega``.
        """
        P = precision_of(V)
        n = omega.shape[0]
        if self.row_blocks:
            block = max(1, _BLOCK_ENTRIES // max(1, self.n_nodes))
        else:
            block = max(1, n)
        g = np.empty_like(omega)
        cov = np.zeros((self.r, self.r))
        for lo in range(0, n, block):
            hi = min(n, lo + block)
            mean, c = self.moments(omega[lo:hi], V, y[lo:hi])
            g[lo:hi] = (mean - omega[lo:hi]) @ P
            cov += c
        return g, mean_jacobian(P, cov, n)

    def gamp_pass(self, X, y, W, C, g, damping: float):
        """The part of one GAMP iteration that reads X (:func:`mimkit.amp.gamp.gamp_step`):
        ``omega = X W / sqrt(d) - g C``, :meth:`g_out`, the damped g and ``X^T g``, as two
        BLAS products around the channel; a channel computed in the core overrides it with one
        pass that reads each chunk of X once.

        Parameters
        ----------
        X : (n, d).  y : (n,).  W : (d, r).  C : (r, r) the prior covariance V of the channel.
        g : (n, r) the previous damped g_out.  damping : float in [0, 1).

        Returns
        -------
        g : (n, r) ``(1 - damping) g_out + damping g``.  back : (d, r) ``X^T g``.
        dg : (r, r) the mean Jacobian of g_out.  power : float, the sum of squares of g_out.
        """
        omega = project(X, W) / np.sqrt(X.shape[1]) - g @ C
        g_new, dg = self.g_out(omega, C, y)
        # Damping the channel's outputs (not W_hat) keeps the Onsager term consistent: the g
        # subtracted above is the one W_hat was built from.
        g = (1.0 - damping) * g_new + damping * g
        return g, back_project(X, g), dg, summed_product(g_new, g_new)


def project(X: np.ndarray, W: np.ndarray) -> np.ndarray:
    """``X @ W`` for a thin W (d, r), as ``(W^T X^T)^T``: OpenBLAS runs the product with r
    rows ~2x faster than the one with r columns on the same memory (one and two threads; the
    two-thread ``X @ W`` was up to 10x slower on a busy 2-core machine). Shape (n, r)."""
    return (W.T @ X.T).T


def back_project(X: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``X^T @ g`` for a thin g (n, r), as ``(g^T X)^T`` (same reason as :func:`project`).
    Shape (d, r)."""
    return (g.T @ X).T


def precision_of(V: np.ndarray) -> np.ndarray:
    """``V^{-1}``, symmetrised. Shape (r, r)."""
    P = np.linalg.inv(V)
    return (P + P.T) / 2.0


def mean_jacobian(P: np.ndarray, summed_cov: np.ndarray, n: int) -> np.ndarray:
    """``mean_i d g_out(omega_i) / d omega = P Cov P - P`` (symmetrised), Cov the mean posterior
    covariance of n rows from their sum, ``P = V^{-1}``. Shape (r, r)."""
    dg = P @ (summed_cov / max(n, 1)) @ P - P
    return (dg + dg.T) / 2.0


def summed_product(a: np.ndarray, b: np.ndarray) -> float:
    """Sum of the elementwise product, single-threaded: np.vdot calls the threaded BLAS, whose
    thread start-up costs more than these ~1e4-entry blocks (100x on a busy machine)."""
    return float(np.einsum("ij,ij->", a, b))


def row_moments(p: np.ndarray, z: np.ndarray):
    """Mean (n, r) and summed covariance (r, r) of node values z (n, M, r) under p (n, M)."""
    r = z.shape[2]
    pz = [p * z[:, :, k] for k in range(r)]  # per-component products: no (n, M, r, r) temporary
    mean = np.stack([a.sum(axis=1) for a in pz], axis=1)
    second = np.empty((r, r))
    for i in range(r):
        for j in range(i, r):
            second[i, j] = second[j, i] = summed_product(pz[i], z[:, :, j])
    return mean, second - mean.T @ mean


class QuadratureChannel(Channel):
    """Generic channel: Gauss–Hermite over ``N(omega, V)``, Gaussian likelihood of std noise.

    Parameters
    ----------
    link : Link.  noise : float > 0
        Label noise std used in the likelihood (the caller raises a noiseless link's to a
        regularising level).  n_nodes : int, optional
        Nodes per dimension (default 400 / 80 / 24 for r = 1 / 2 / 3).
    """

    def __init__(self, link: Link, noise: float, n_nodes: Optional[int] = None):
        if noise <= 0:
            raise ValueError("QuadratureChannel needs noise > 0 (a likelihood of positive width).")
        self.link, self.r, self.noise = link, link.r, float(noise)
        k = _NODES.get(self.r, 12) if n_nodes is None else int(n_nodes)
        self.nodes_per_dim = k
        self.nodes, self.log_w = gauss_hermite(k, self.r)
        self.n_nodes = self.nodes.shape[0]
        self.kind = f"Gauss-Hermite {k}^{self.r} nodes, noise {self.noise:.3g}"

    def refined(self) -> "QuadratureChannel":
        return QuadratureChannel(self.link, self.noise, 2 * self.nodes_per_dim)

    def moments(self, omega, V, y):
        L = np.linalg.cholesky(V)
        n, M = omega.shape[0], self.n_nodes
        z = omega[:, None, :] + (self.nodes @ L.T)[None, :, :]
        gz = np.asarray(self.link(z.reshape(n * M, self.r)), dtype=np.float64).reshape(n, M)
        logp = self.log_w[None, :] - (y[:, None] - gz) ** 2 / (2.0 * self.noise**2)
        p = normalised(logp)
        u_mean, u_cov = row_moments(p, np.broadcast_to(self.nodes, (n, M, self.r)))
        return omega + u_mean @ L.T, L @ u_cov @ L.T
