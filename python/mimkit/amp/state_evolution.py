r"""State evolution (SE) of Bayes-optimal GAMP: the overlap it reaches at ``alpha = n / d``.

With a Gaussian prior on the weights (rows of ``sqrt(d) U^T`` iid ``N(0, I_r)``), GAMP's
overlap ``Q_t = (1/d) W_hat_t^T W`` follows, as ``n, d -> inf``,

    Qhat_t  = alpha E[g_out(omega, V, y) g_out(omega, V, y)^T],
    Q_{t+1} = Qhat_t (I + Qhat_t)^{-1},

with ``omega ~ N(0, Q_t)``, ``V = I - Q_t``, ``z = omega + N(0, V)``, ``y ~ P(y | z)``; the
expectation is a Monte Carlo mean over fixed base draws (common random numbers keep the map
smooth in Q). Started uninformed (``Q_0 = eps I``), the iteration stops at the first stable
fixed point: that is the **algorithmic** curve, what GAMP (the best polynomial-time algorithm
known here) reaches. The **information-theoretic** curve is the global maximiser of the
replica free entropy, which may be another fixed point: where both differ (a "hard phase",
e.g. phase retrieval between alpha = 1, where perfect recovery becomes possible, and about
1.13, where AMP finds it) no known efficient method reaches the better one. See
docs/theory.md, "Bayes-optimal AMP".

Squared cosines between the estimated and true subspaces are the eigenvalues of Q; the
Bayes-optimal test error at overlap Q is ``E[Var(y | omega)] / Var(y)`` with ``omega ~ N(0, Q)``,
``z | omega ~ N(omega, I - Q)``: the best any predictor built on that estimate can do.

Linearising the SE map at ``Q = 0`` (even links: ``E[z | y] = 0``) gives
``Qhat = alpha E[J M J]`` with ``J = d g_out / d omega`` at ``omega = 0, V = I``, which equals
``E[z z^T | y] - I``: the weak-recovery threshold ``1 / ||M -> E[J M J]||`` is that of the
optimal spectral method, as :func:`amp_threshold` checks through the channel.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .._random import RandomState, as_generator
from .._validation import check_count, check_positive_number
from ..links import get_link
from ._quadrature import gauss_hermite
from .factory import make_channel
from .gamp import V_FLOOR

#: Initial overlap of the uninformed start.
_EPS = 1e-3
#: Gauss–Hermite nodes per dimension for E[y | omega] in the test error.
_PREDICT_NODES = {1: 60, 2: 24, 3: 10}


@dataclass(frozen=True, eq=False)
class AMPOverlap:
    """State-evolution fixed point of Bayes-optimal GAMP (from :func:`amp_overlap`).

    Attributes
    ----------
    alpha : float
    Q : (r, r) array
        Overlap matrix at the fixed point.
    overlaps : (r,) array
        Per-direction squared cosines (eigenvalues of Q), descending.
    subspace_overlap : float
        Mean squared cosine ``tr(Q) / r`` (``1 - subspace_distance`` for an r-dim estimate).
    test_error : float
        Bayes-optimal test MSE at that overlap, relative to Var(y).
    n_iter : int.  converged : bool
    history : (n_iter + 1, r) array
        Eigenvalues of Q per iteration, from the start.
    noise : float
        Label noise std used (the channel's: raised to a regularising level for a noiseless
        link without a closed-form channel).
    channel : str
        Which rule computed ``g_out``.
    """

    alpha: float
    Q: np.ndarray
    overlaps: np.ndarray
    subspace_overlap: float
    test_error: float
    n_iter: int
    converged: bool
    history: np.ndarray
    noise: float
    channel: str


def _sqrt_psd(M: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh((M + M.T) / 2.0)
    return (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T


def _posterior_of_overlap(Q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sqrt(Q), V = I - Q) with V's eigenvalues floored (V must stay invertible)."""
    vals, vecs = np.linalg.eigh((Q + Q.T) / 2.0)
    vals = np.clip(vals, 0.0, 1.0 - V_FLOOR)
    return (vecs * np.sqrt(vals)) @ vecs.T, (vecs * (1.0 - vals)) @ vecs.T


# Its signature follows the theory functions' (link, what is asked, r, then noise, n_samples,
# random_state; see mimkit.theory): a deliberate look-alike of theory.network_threshold's.
def amp_overlap(
    link,
    alpha: float,
    r: Optional[int] = None,
    *,
    noise: float = 0.0,
    n_samples: int = 20_000,
    max_iter: int = 400,
    tol: float = 1e-6,
    random_state: RandomState = None,
) -> AMPOverlap:
    """Overlap, per direction and of the subspace, and the Bayes-optimal test error that
    Bayes-optimal GAMP reaches from an uninformed start at sample ratio ``alpha = n / d``.

    Parameters
    ----------
    link : str, Link or callable
        As for :func:`mimkit.links.get_link` (a callable needs ``r``).
    alpha : float > 0
    r : int, optional
    noise : float >= 0
        Gaussian label noise std.
    n_samples : int
        Monte Carlo draws per SE step; the overlap's error is ~ ``1 / sqrt(n_samples)``.
    max_iter : int.  tol : float
        Stop when no eigenvalue of Q moves by more than ``tol``; near the threshold the approach
        is slow (critical slowing down): a run that hits ``max_iter`` warns.
    random_state : None, int or Generator

    Returns
    -------
    AMPOverlap
    """
    link = get_link(link, r)
    alpha = check_positive_number(alpha, "alpha")
    noise = check_positive_number(noise, "noise", allow_zero=True)
    n_samples = check_count(n_samples, "n_samples", minimum=100)
    max_iter = check_count(max_iter, "max_iter", minimum=1)
    tol = check_positive_number(tol, "tol")
    rng = as_generator(random_state)
    channel = make_channel(link, noise)
    r = link.r
    base_omega = rng.standard_normal((n_samples, r))
    base_rest = rng.standard_normal((n_samples, r))
    base_noise = rng.standard_normal(n_samples)

    Q = _EPS * np.eye(r)
    history = [np.linalg.eigvalsh(Q)[::-1]]
    converged = False
    for _ in range(max_iter):
        root_q, V = _posterior_of_overlap(Q)
        omega = base_omega @ root_q
        z = omega + base_rest @ _sqrt_psd(V)
        y = np.asarray(link(z), dtype=np.float64) + channel.noise * base_noise
        g, _ = channel.g_out(omega, V, y)
        Qhat = alpha * (g.T @ g) / n_samples
        Q_new = Qhat @ np.linalg.inv(np.eye(r) + Qhat)
        Q_new = (Q_new + Q_new.T) / 2.0
        history.append(np.linalg.eigvalsh(Q_new)[::-1])
        # The eigenvalues are what is reported; a degenerate Q may still turn slowly inside
        # its eigenspace (an exact symmetry of the link) without changing them.
        change = float(np.max(np.abs(history[-1] - history[-2])))
        Q = Q_new
        if change < tol:
            converged = True
            break
    if not converged:
        warnings.warn(
            f"amp_overlap at alpha={alpha:g} did not converge in {max_iter} iterations (last "
            f"change {change:.2e} > tol {tol:g}; slow near a threshold); returning the last "
            f"iterate. Raise max_iter.",
            RuntimeWarning,
            stacklevel=2,
        )
    overlaps = np.clip(np.linalg.eigvalsh(Q)[::-1], 0.0, 1.0)
    err = bayes_test_error(link, Q, noise=noise, n_samples=n_samples, random_state=rng)
    return AMPOverlap(
        alpha,
        Q,
        overlaps,
        float(overlaps.mean()),
        err,
        len(history) - 1,
        converged,
        np.array(history),
        channel.noise,
        channel.kind,
    )


def bayes_test_error(
    link,
    Q: np.ndarray,
    *,
    noise: float = 0.0,
    n_samples: int = 20_000,
    random_state: RandomState = None,
) -> float:
    """``E[Var(y | omega)] / Var(y)``, ``omega ~ N(0, Q)``, ``z | omega ~ N(omega, I - Q)``.

    ``E[g(z) | omega]`` and ``Var(g(z) | omega)`` are Gauss–Hermite means, the outer mean is
    Monte Carlo, and ``Var(y)`` comes from the same draws by the law of total variance (so the
    ratio is exactly 1 at ``Q = 0``).

    Parameters
    ----------
    link : Link (or as for :func:`mimkit.links.get_link`).  Q : (r, r) overlap matrix.
    noise : float.  n_samples : int.  random_state : None, int or Generator

    Returns
    -------
    float in [0, 1] up to Monte Carlo error.
    """
    link = get_link(link, np.shape(Q)[0])
    rng = as_generator(random_state)
    r = link.r
    root_q, V = _posterior_of_overlap(np.asarray(Q, dtype=np.float64))
    nodes, log_w = gauss_hermite(_PREDICT_NODES.get(r, 6), r)
    w = np.exp(log_w)
    omega = rng.standard_normal((n_samples, r)) @ root_q
    z = omega[:, None, :] + (nodes @ _sqrt_psd(V))[None, :, :]
    gz = np.asarray(link(z.reshape(-1, r)), dtype=np.float64).reshape(n_samples, -1)
    cond_mean = gz @ w
    cond_var = np.maximum(gz**2 @ w - cond_mean**2, 0.0)
    unexplained = float(cond_var.mean()) + noise**2
    return unexplained / (unexplained + float(np.var(cond_mean)))


@dataclass(frozen=True, eq=False)
class AMPThreshold:
    """Weak-recovery threshold of the SE map (from :func:`amp_threshold`).

    Attributes
    ----------
    alpha_c : float.  stderr : float
    direction : (r, r) array
        The overlap matrix that grows first (top eigenvector of the linearised map).
    noise : float.  channel : str
    """

    alpha_c: float
    stderr: float
    direction: np.ndarray
    noise: float
    channel: str


def amp_threshold(
    link,
    r: Optional[int] = None,
    *,
    noise: float = 0.0,
    n_samples: int = 200_000,
    random_state: RandomState = None,
) -> AMPThreshold:
    """Where the SE fixed point leaves ``Q = 0``, from the channel's Jacobian at Q = 0.

    ``alpha_c = 1 / lambda_max`` of the map ``M -> E[J M J]`` on symmetric r x r matrices,
    ``J = d g_out / d omega`` at ``omega = 0, V = I`` (central differences of ``g_out``).
    Meaningful for links with ``E[z | y] = 0`` (Q = 0 is then a fixed point).

    Parameters
    ----------
    link, r, noise, random_state : as for :func:`amp_overlap`.
    n_samples : int
        Monte Carlo size; the standard error is by the delta method.

    Returns
    -------
    AMPThreshold
    """
    link = get_link(link, r)
    noise = check_positive_number(noise, "noise", allow_zero=True)
    n_samples = check_count(n_samples, "n_samples", minimum=1000)
    rng = as_generator(random_state)
    channel = make_channel(link, noise)
    r = link.r
    z = rng.standard_normal((n_samples, r))
    y = np.asarray(link(z), dtype=np.float64) + channel.noise * rng.standard_normal(n_samples)
    V, h = np.eye(r), 1e-4
    J = np.empty((n_samples, r, r))
    for k in range(r):
        step = np.zeros((n_samples, r))
        step[:, k] = h
        J[:, :, k] = (channel.g_out(step, V, y)[0] - channel.g_out(-step, V, y)[0]) / (2 * h)
    J = (J + J.transpose(0, 2, 1)) / 2.0
    per_sample = np.einsum("nij,nkl->nikjl", J, J).reshape(n_samples, r * r, r * r)
    K = per_sample.mean(axis=0)
    vals, vecs = np.linalg.eigh((K + K.T) / 2.0)
    lam, v = vals[-1], vecs[:, -1]
    contrib = np.einsum("i,nij,j->n", v, per_sample, v)
    stderr = float(np.std(contrib) / np.sqrt(n_samples) / lam**2)
    return AMPThreshold(1.0 / lam, stderr, v.reshape(r, r), channel.noise, channel.kind)
