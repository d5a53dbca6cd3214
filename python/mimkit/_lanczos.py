"""Lanczos with full reorthogonalisation, for several symmetric operators in lock-step.

Used by :func:`mimkit.spectral.top_eigenpairs` on the local Hessian, whose every product is a
memory-bound pass over X: operators that share X (the groups of a per-direction optimal
preprocessing) advance one Krylov step each per pass (``apply`` takes one column per operator),
and each stops at the first step where its wanted Ritz pairs have converged. Unrestarted with
every basis vector kept, it needs no more products than implicitly restarted Lanczos (ARPACK),
which discards part of its basis at each restart.

Convergence is a backward error: the residual ``||A x - theta x||`` of each wanted Ritz pair is
at most ``tol ||A||`` (``||A||`` estimated by the largest |Ritz value|, which Lanczos finds
first), so ``(theta, x)`` is an exact eigenpair of a matrix within ``tol ||A||`` of A: theta is
within ``tol ||A||`` of an eigenvalue and x within ``tol ||A|| / gap`` of its eigenvector.
ARPACK's test (residual at most ``tol |theta|``) asks the same of a large |theta| but ever more
of a theta near 0, where no eigenvalue of A is more accurate than the products' rounding
(``~eps ||A||``): the top eigenvalue of the optimal preprocessing's S sits near 0 (0.001-0.02 of
a spectrum reaching -300 for z1*z2 at alpha = 32), and ARPACK's test took 20-30% more steps
there for a residual far below what the eigenvector's accuracy needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.linalg


@dataclass(frozen=True, eq=False)
class LanczosResult:
    """One operator's outcome of :func:`lanczos_lockstep`.

    Attributes
    ----------
    values : (k,) float64 array, the wanted Ritz values in the order of ``which``.
    vectors : (d, k) float64 array, their Ritz vectors (orthonormal).
    converged : bool, every wanted pair met the tolerance (else the best pairs so far).
    n_matvecs : int, products with this operator.
    """

    values: np.ndarray
    vectors: np.ndarray
    converged: bool
    n_matvecs: int


def wanted_order(values: np.ndarray, which: str) -> np.ndarray:
    """Indices sorting ``values`` by ``which``: "abs" (|lambda| descending), "largest"
    (descending) or "smallest" (ascending)."""
    key = {"abs": -np.abs(values), "largest": -values, "smallest": values}[which]
    return np.argsort(key, kind="stable")


class _Process:
    """The Krylov basis and tridiagonal matrix of one operator."""

    def __init__(self, start: np.ndarray, k: int, max_steps: int):
        self.k = k
        self.basis = np.empty((max_steps + 1, start.shape[0]))
        start = np.array(start, dtype=np.float64)  # contiguous: the same sums alone or together
        self.basis[0] = start / np.linalg.norm(start)
        self.alpha: list[float] = []
        self.beta: list[float] = []
        self.steps = 0
        self.done = False
        self.converged = False

    def extend(self, w: np.ndarray) -> None:
        """Take ``w = A q`` for the newest basis vector q: one Lanczos step, orthogonalised
        against the whole basis twice (classical Gram-Schmidt, which keeps it orthonormal to
        rounding, so Ritz values and residual bounds stay reliable)."""
        m = self.steps
        Q = self.basis[: m + 1]
        h = Q @ w
        w = w - Q.T @ h
        w -= Q.T @ (Q @ w)
        self.alpha.append(float(h[m]))
        self.beta.append(float(np.linalg.norm(w)))
        self.steps = m + 1
        if self.steps < self.basis.shape[0]:
            self.basis[self.steps] = w / self.beta[-1] if self.beta[-1] > 0 else 0.0

    def ritz(self, which: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """The k wanted Ritz values, their eigenvectors of T, residual bounds, and the
        largest |Ritz value| (a lower bound on ||A||)."""
        theta, s = scipy.linalg.eigh_tridiagonal(np.array(self.alpha), np.array(self.beta[:-1]))
        pick = wanted_order(theta, which)[: self.k]
        norm = float(np.max(np.abs(theta)))
        return theta[pick], s[:, pick], self.beta[-1] * np.abs(s[-1, pick]), norm

    def check(self, which: str, tol: float) -> None:
        """``||A x - theta x|| = beta_m |s_m| <= tol ||A||`` for every wanted pair. A beta at
        the rounding level of the orthogonalised product (``sqrt(d) eps ||A||``) means an
        invariant Krylov space: every bound is 0, but it may hold fewer than k pairs."""
        _, _, bounds, norm = self.ritz(which)
        rounding = np.sqrt(self.basis.shape[1]) * np.finfo(np.float64).eps * norm
        invariant = self.beta[-1] <= rounding
        self.converged = self.steps >= self.k and bool(np.all(bounds <= tol * norm))
        self.done = self.converged or invariant or self.steps == self.basis.shape[0] - 1

    def result(self, which: str) -> LanczosResult:
        theta, s, _, _ = self.ritz(which)
        return LanczosResult(theta, self.basis[: self.steps].T @ s, self.converged, self.steps)


def lanczos_lockstep(
    apply: Callable[[np.ndarray, list[int]], np.ndarray],
    starts: np.ndarray,
    ks: list[int],
    which: str,
    tol: float,
    max_steps: int,
) -> list[LanczosResult]:
    """The ``ks[j]`` wanted eigenpairs of symmetric operators ``A_j``, all advanced together.

    Parameters
    ----------
    apply : callable(V, active) -> (d, len(active)) array
        Column i of the result is ``A_{active[i]} V[:, i]`` (one pass for all, e.g.
        :func:`mimkit.core.local_hessian_matvec` with one weighting per column).
    starts : (d, p) array, one nonzero start vector per operator.
    ks : p ints >= 1, eigenpairs wanted of each operator.
    which : {"abs", "largest", "smallest"}
    tol : float > 0, the backward error at which a pair has converged (module docstring).
    max_steps : int, at most this many products per operator (the basis size; <= d).

    Returns
    -------
    list of p LanczosResult; an operator that has not converged in ``max_steps`` products (or
    whose Krylov space became invariant with fewer than k vectors) returns its best pairs
    with ``converged=False``.
    """
    processes = [_Process(starts[:, j], k, max_steps) for j, k in enumerate(ks)]
    while True:
        active = [j for j, p in enumerate(processes) if not p.done]
        if not active:
            break
        Q = np.stack([processes[j].basis[processes[j].steps] for j in active], axis=1)
        W = apply(Q, active)
        for i, j in enumerate(active):
            processes[j].extend(np.array(W[:, i], dtype=np.float64))
            processes[j].check(which, tol)
    return [p.result(which) for p in processes]
