r"""Generalised approximate message passing (GAMP) for ``y = g(U x) + noise``, ``x ~ N(0, I_d)``.

The unknown is ``W = sqrt(d) U^T`` (d x r) with the Gaussian prior ``N(0, I_r)`` on each row
(the high-dimensional proxy for a random orthonormal U); with ``F = X / sqrt(d)``, ``z = F W``.
Every variance is an r x r matrix shared by all samples and all coordinates (the entries of
F have variance 1/d), so one iteration is two GEMMs and one channel call:

    V      = C                                        (posterior covariance of a row of W)
    omega  = F W_hat - g_prev V                        (Onsager correction)
    g, dg  = g_out(omega, V, y), mean of d g_out / d omega
    A      = -alpha dg                                 (= Qhat of the state evolution)
    B      = F^T g + W_hat A
    C      = (I + A)^{-1},   W_hat = B C                (Gaussian prior denoiser)

with damping ``g <- (1 - damping) g_new + damping g`` (same for A) on the channel side. At the fixed
point ``(1/d) W_hat^T W`` follows :func:`mimkit.amp.amp_overlap` (its state evolution).

**Stopping.** At the Bayes-optimal fixed point the overlap with the truth equals the estimate's
own Gram matrix, ``(1/d) W_hat^T W = (1/d) W_hat^T W_hat`` (the Nishimori identity), so GAMP
can watch the overlap it reaches without knowing W. At finite d that estimate does not settle
exactly: it fluctuates around the fixed point (z1*z2 at d = 1000, n = 2000: ~1% over ~20
iterations at damping 0.8), and W_hat's entries jitter by ~1e-2 per iteration, so no tolerance
on single iterations is met there. GAMP therefore compares the means over the last ``K``
iterations and the ``K`` before (``K = ceil(2 / (1 - damping))``, at least 3: the fluctuation
averages out) of two things, and stops when both move by less than ``tol`` per undamped step,
i.e. divided by ``K (1 - damping)`` (a damped iteration moves by ``1 - damping`` of the
undamped step, so the quotient is the trend of the undamped fixed-point map, whatever the
damping):

* the Gram eigenvalues, relative (an eigenvalue below the start's ``INIT_SCALE**2`` relative to
  that scale: below the weak-recovery threshold W_hat decays geometrically to the exact fixed
  point 0);
* the subspace of the mean estimate, as the sine of its largest principal angle, over the
  directions whose Gram eigenvalue exceeds ``INIT_SCALE**2`` (the others carry no signal). The
  Gram eigenvalues alone settle while the estimate still turns towards the truth: z1*z2 at
  d = 1000, n = 2000 had them flat from iteration ~100 while the true overlap still rose by
  ~0.01 per 20 iterations up to ~200; there, stopping on them alone returned overlaps up to
  0.02 below those of 200 iterations.
"""

from __future__ import annotations

import warnings
from collections import deque
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
from threadpoolctl import threadpool_limits

from .._random import RandomState, as_generator
from .channel import Channel

#: Per-entry scale of the uninformed start W_hat_0 (small: the trivial fixed point's basin).
INIT_SCALE = 1e-2
#: Smallest posterior variance kept: an overlap of 1 - 1e-6 counts as perfect recovery.
V_FLOOR = 1e-6
#: Largest ratio tr E[g g^T] / tr(-E[dg / domega]) taken as Bayes-consistent (the Nishimori
#: identity makes it 1 at the fixed point; near fixed points healthy runs stay below ~3 on the
#: library's links, an overconfident run that falls apart climbs past 1e4 within a few
#: iterations). The first iterations from the uninformed start may exceed it once or twice
#: (150 at iteration 2 of sq_sign3, d = 256, alpha = 16): only NISHIMORI_RUN iterations in a
#: row count.
NISHIMORI_LIMIT = 100.0
NISHIMORI_RUN = 3


@dataclass(frozen=True, eq=False)
class GAMPResult:
    """Output of :func:`gamp`.

    Attributes
    ----------
    W : (d, r) array
        Posterior mean of ``sqrt(d) U^T``.
    C : (r, r) array
        Posterior covariance of one row of W.
    n_iter : int.  converged : bool
    changes : (n_iter,) array
        Per iteration, the trend per undamped step of the estimate: the larger of its Gram
        eigenvalues' relative trend and its subspace's turn (module docstring; windows
        shortened to fit the first iterations): what ``tol`` is compared with once both
        windows are full.
    overlaps : list of (r,) arrays
        What the callback returned per iteration (empty without one).
    """

    W: np.ndarray
    C: np.ndarray
    n_iter: int
    converged: bool
    changes: np.ndarray
    overlaps: list


def gamp(
    X: np.ndarray,
    y: np.ndarray,
    channel: Channel,
    *,
    max_iter: int = 200,
    damping: float = 0.8,
    tol: float = 1e-3,
    random_state: RandomState = None,
    callback: Optional[Callable[[np.ndarray], np.ndarray]] = None,
    progress: bool = False,
) -> GAMPResult:
    """Run GAMP from an uninformed start.

    Parameters
    ----------
    X : (n, d) float64 array, rows ~ N(0, I_d).  y : (n,) float64 array.
    channel : Channel
        Output denoiser (:func:`mimkit.amp.make_channel`); its r is the number of directions.
    max_iter : int >= 1.  damping : float in [0, 1).  tol : float > 0
        Damping 0.8 by default: with 0.3 or 0.6, at large alpha (z1*z2, alpha = 32, d = 512)
        the first iterations overshoot to the variance floor from some starts, the iterate
        diverges and a direction is lost. Near a weak-recovery threshold 0.8 is slow to leave
        the trivial fixed point: pass 0.3 there (phase retrieval at alpha = 1 needs it).
        Stop when the estimate has converged: the windowed eigenvalues of its overlap
        estimate ``(1/d) W_hat^T W_hat`` move by less than ``tol`` relative, and its windowed
        subspace turns by less than ``tol``, per undamped step (module docstring).
    random_state : None, int or Generator
        Draws the small random start.
    callback : callable, optional
        ``callback(W_hat)`` after each iteration, e.g. the squared cosines with the truth;
        its return values are collected in ``overlaps``.
    progress : bool
        tqdm progress bar (Ctrl-C stops between iterations, as anywhere in Python).

    Returns
    -------
    GAMPResult
    """
    from tqdm.auto import tqdm

    n, d = X.shape
    r = channel.r
    rng = as_generator(random_state)
    W = INIT_SCALE * rng.standard_normal((d, r))
    C = np.eye(r)
    g = np.zeros((n, r))
    A = np.zeros((r, r))
    changes, overlaps = [], []
    grams = [_gram_eigenvalues(W)]
    window = max(3, int(np.ceil(2.0 / (1.0 - damping))))
    estimates = deque([W], maxlen=2 * window)  # the two windows of the subspace trend
    converged = False
    # BLAS on one thread: the products with r <= 3 columns are memory-bound (2 r flops per
    # entry of X read), where a second thread gains little and, on a busy machine, spins:
    # X^T g at n = 2000, d = 1000 took 51 ms with two OpenBLAS threads under load, 1 ms with one.
    with (
        threadpool_limits(limits=1, user_api="blas"),
        tqdm(total=max_iter, desc="GAMP", disable=not progress, leave=False) as bar,
    ):
        consistent = (W, C)  # the iterate before the current run of excess ratios
        run = 0
        for iteration in range(1, max_iter + 1):
            before = (W, C)
            W, C, g, A, excess = gamp_step(X, y, channel, W, C, g, A, damping)
            if not np.all(np.isfinite(W)):
                raise FloatingPointError(
                    f"GAMP diverged at iteration {iteration} (non-finite iterate); raise damping "
                    "or check the channel."
                )
            run = run + 1 if excess > NISHIMORI_LIMIT else 0
            if run == 1:
                consistent = before
            if run == NISHIMORI_RUN:
                # Its posteriors are far narrower than its errors (at finite d, a direction at
                # the variance floor while the others still move, as sq_sign3 at large alpha):
                # iterating on would unlearn what it has. Keep the last consistent estimate.
                first = iteration - NISHIMORI_RUN + 1
                warnings.warn(
                    f"GAMP lost Bayes consistency at iteration {first}: E[g g^T] has exceeded "
                    f"{NISHIMORI_LIMIT:g} times -E[dg/domega] since (now {excess:.3g}; 1 at a "
                    f"Bayes-optimal fixed point); returning the estimate of iteration "
                    f"{first - 1}. Raise damping (e.g. 0.9).",
                    RuntimeWarning,
                    stacklevel=2,
                )
                W, C = consistent
                break
            grams.append(_gram_eigenvalues(W))
            estimates.append(W)
            trend = max(_windowed_trend(grams, window), _windowed_turn(estimates, window))
            change = trend / (1.0 - damping)
            changes.append(change)
            if callback is not None:
                overlaps.append(callback(W))
            bar.update()
            # With every direction at the variance floor the estimate is exact to ~1e-6 and the
            # channel's integrals lose their precision (posteriors narrower than any rule
            # resolves): stop there. One direction at the floor is not enough: the others may
            # still be on their way (z1*z2 at large alpha).
            settled = len(grams) > 2 * window and change < tol
            if settled or np.linalg.eigvalsh(C)[-1] < 2.0 * V_FLOOR:
                converged = True
                break
    if not converged and run < NISHIMORI_RUN:
        warnings.warn(
            f"GAMP did not converge in {max_iter} iterations (last change {changes[-1]:.2e} > "
            f"tol {tol:g}); returning the last iterate. Raise max_iter or damping.",
            RuntimeWarning,
            stacklevel=2,
        )
    return GAMPResult(W, C, len(changes), converged, np.array(changes), overlaps)


def gamp_step(X, y, channel: Channel, W, C, g, A, damping: float):
    """One GAMP iteration (module docstring): two GEMMs and one channel call
    (:meth:`~mimkit.amp.channel.Channel.gamp_pass`; one fused pass over X in the core for the
    channels of the split rule, z1z2, z1_plus_z1z2 and sign_z1z2).

    Parameters
    ----------
    X : (n, d).  y : (n,).  channel : Channel.  W : (d, r) current estimate.
    C : (r, r) its posterior covariance.  g : (n, r), A : (r, r) the previous (damped) channel
    outputs.  damping : float in [0, 1).

    Returns
    -------
    W, C, g, A : the next iterate and the channel outputs it was built from.
    excess : float
        ``tr E[g g^T] / tr(-E[dg / domega])`` of this step's channel outputs (Nishimori: 1 at
        a Bayes-optimal fixed point; :data:`NISHIMORI_LIMIT`).
    """
    n, d = X.shape
    g, back, dg, power = channel.gamp_pass(X, y, W, C, g, damping)
    spread = float(np.trace(_psd(-dg)))
    excess = power / n / spread if spread > 0 else 0.0
    A = (1.0 - damping) * _psd(-(n / d) * dg) + damping * A
    B = back / np.sqrt(d) + W @ A
    C = np.linalg.inv(np.eye(channel.r) + A)
    C = (C + C.T) / 2.0
    return B @ C, C, g, A, excess


def _gram_eigenvalues(W: np.ndarray) -> np.ndarray:
    """Eigenvalues of ``(1/d) W^T W``, ascending: GAMP's overlap estimate (module docstring)."""
    return np.linalg.eigvalsh(W.T @ W / W.shape[0])


def _windowed_trend(grams: list, window: int) -> float:
    """Largest relative difference between the mean Gram eigenvalues of the last ``k`` iterations
    and of the ``k`` before, per iteration (``k = window``, or less while the history is short).
    An eigenvalue below ``INIT_SCALE**2`` counts relative to that scale."""
    k = min(window, len(grams) // 2)
    recent = np.mean(grams[-k:], axis=0)
    before = np.mean(grams[-2 * k : -k], axis=0)
    return float(np.max(np.abs(recent - before) / np.maximum(recent, INIT_SCALE**2))) / k


def _windowed_turn(estimates: deque, window: int) -> float:
    """Sine of the largest principal angle between the mean estimates of the last ``k``
    iterations and of the ``k`` before, per iteration (``k`` as in :func:`_windowed_trend`),
    over the directions of the recent mean whose Gram eigenvalue exceeds ``INIT_SCALE**2``
    (0 if there are none)."""
    k = min(window, len(estimates) // 2)
    history = list(estimates)
    recent = np.mean(history[-k:], axis=0)
    before = np.mean(history[-2 * k : -k], axis=0)
    vals, vecs = np.linalg.eigh(recent.T @ recent / recent.shape[0])
    signal = vecs[:, vals > INIT_SCALE**2]
    if signal.shape[1] == 0:
        return 0.0
    cosines = np.linalg.svd(
        np.linalg.qr(recent @ signal)[0].T @ np.linalg.qr(before @ signal)[0], compute_uv=False
    )
    return float(np.sqrt(max(0.0, 1.0 - float(np.min(cosines)) ** 2))) / k


def _psd(A: np.ndarray) -> np.ndarray:
    """Symmetric part with eigenvalues clipped to ``[0, 1 / V_FLOOR]``: negative ones are
    finite-n noise, huge ones mean perfect recovery (V -> 0), which is kept finite."""
    vals, vecs = np.linalg.eigh((A + A.T) / 2.0)
    return (vecs * np.clip(vals, 0.0, 1.0 / V_FLOOR)) @ vecs.T
