"""The phase-1 gradient-descent loop, its validated settings and its result record.

One implementation shared by every Python-side runner of phase 1 (the numpy oracle
:mod:`mimkit.reference` and :func:`mimkit.distributed.phase1_run_dask`); :mod:`mimkit.core` runs
the same loop in C++ (``cpp/two_layer.hpp``) and returns the same :class:`Phase1Result`.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from ._inputs import Phase1Inputs
from ._limits import check_fits, short_number
from ._validation import (
    as_matrix,
    check_count,
    check_keep_scale,
    check_name,
    check_positive_number,
    check_record_steps,
)
from .options import ON_DIVERGENCE

#: Largest |w_j . x_i + b_j| at which the phase-1 step counts as linear in W
#: (docs/theory.md, "Phase 1"); the C++ loop uses the same bound.
LINEAR_REGIME_MAX_PREACTIVATION = 1e-4


class Phase1RunSettings:
    """Validated settings of a ``phase1_run`` call (shared by the core and the reference)."""

    # Its parameters are phase1_run's, passed on in order by the deliberate twins core.phase1_run,
    # reference.phase1_run and distributed.phase1_run_dask.
    def __init__(
        self,
        args: Phase1Inputs,
        lr,
        weight_decay,
        n_steps,
        record_steps,
        record_basis,
        keep_scale,
        progress,
        on_divergence,
        check_finite=True,
    ):
        self.lr = check_positive_number(lr, "lr")
        self.weight_decay = check_positive_number(weight_decay, "weight_decay", allow_zero=True)
        self.n_steps = check_count(n_steps, "n_steps", below=2**62)
        # The loss and scale histories hold one float64 each per step.
        check_fits(
            16 * (self.n_steps + 1),
            f"n_steps = {short_number(self.n_steps)} (its per-step loss and scale history)",
            "use fewer steps (mimkit.training.default_n_steps(d) is a few dozen).",
        )
        self.record_steps = check_record_steps(record_steps, self.n_steps)
        self.keep_scale = check_keep_scale(keep_scale)
        self.record_basis = None
        if record_basis is not None:
            self.record_basis = as_matrix(
                record_basis,
                "record_basis",
                args.dtype,
                shape=(args.X.shape[1], None),
                check_finite=check_finite,
            )
        if progress is not None and not callable(progress):
            raise TypeError("progress must be a callable taking the step number, or None.")
        self.on_divergence = check_name(on_divergence, "on_divergence", ON_DIVERGENCE)


@dataclass(frozen=True, eq=False)
class Phase1Result:
    """Outcome of ``phase1_run``.

    Attributes
    ----------
    W : ndarray, shape (m, d)
        Inner weights after ``n_steps`` steps (rescaled if ``keep_scale`` was on).
    record_steps : ndarray of int64, shape (s,)
        The recorded steps, sorted; step 0 is the initial W, step t the weights after t updates.
    recorded : ndarray, shape (s, m, d) or (s, m, k)
        ``W_t`` at each recorded step, or ``W_t @ record_basis`` when a basis (d, k) was given.
    loss : ndarray, shape (n_steps,)
        Mean training loss at ``W_t`` before update t.
    log_scale : ndarray, shape (n_steps + 1,)
        Natural log of the global factor removed by ``keep_scale`` up to step t: in the linear
        regime the un-rescaled run has weights ``exp(log_scale[t]) * W_t``. Zero when off.
    keep_scale : bool
        Whether rescaling was active (``'auto'`` resolves to True or False at step 0).
    diverged_at : int or None
        With ``on_divergence='warn'``: the step whose loss or update stopped being finite. The
        run stopped there; ``W`` is ``W_t`` (the last finite weights) and the losses, log scales
        and records after it are NaN. None when the run finished.
    step_seconds : float
        Wall time spent inside the steps (gradient passes and updates); the rest of a run
        (recording, progress and Ctrl-C checks between steps) is its loop overhead.
    """

    W: np.ndarray
    record_steps: np.ndarray
    recorded: Optional[np.ndarray]
    loss: np.ndarray
    log_scale: np.ndarray
    keep_scale: bool
    diverged_at: Optional[int] = None
    step_seconds: float = 0.0


def report_divergence(on_divergence: str, step: int, loss: float, lr: float) -> None:
    """Raise FloatingPointError or warn (RuntimeWarning) that phase 1 diverged at ``step``."""
    message = (
        f"phase 1 diverged at step {step}: mean loss = {loss!r} (or non-finite weights); "
        f"lower lr (now {lr}) or the initial weight scale."
    )
    if on_divergence == "raise":
        raise FloatingPointError(message)
    warnings.warn(message + " Returning the weights of that step.", RuntimeWarning, stacklevel=3)


def report_collapse(on_divergence: str, log_scale: np.ndarray, y: Optional[np.ndarray]) -> None:
    """Raise FloatingPointError (or warn) when W collapsed to exactly zero (log scale -inf)
    although the labels are not all zero: then the gradient underflowed, it did not vanish.
    (All-zero labels, S = 0, send W to zero legitimately.)"""
    collapsed = np.flatnonzero(np.isneginf(log_scale))
    if collapsed.size == 0 or y is None or not np.any(y != 0):
        return
    message = (
        f"phase 1's weights underflowed to exactly zero at step {collapsed[0] - 1} although "
        f"the labels are not all zero: the gradient is the product of the labels y, the outer "
        f"weights a and X, and fell below the float range; rescale them (e.g. standardise y)."
    )
    if on_divergence == "raise":
        raise FloatingPointError(message)
    warnings.warn(message, RuntimeWarning, stacklevel=3)


#: ``gradient(W) -> (grad_W (m, d), mean_loss, max |X W^T + b|)`` at the weights W.
GradientFunction = Callable[[np.ndarray], tuple[np.ndarray, float, float]]


def phase1_descent(
    gradient: GradientFunction,
    W0: np.ndarray,
    run: Phase1RunSettings,
    progress: Optional[Callable[[int], None]] = None,
) -> Phase1Result:
    """The phase-1 gradient-descent loop around any gradient oracle.

    One implementation of the loop of ``phase1_run`` (recording, ``keep_scale`` and its
    ``'auto'`` rule, ``log_scale``, divergence handling, progress, ``step_seconds``) for every
    Python-side runner: the numpy reference and :func:`mimkit.distributed.phase1_run_dask`.
    It follows the order of operations of the C++ loop (``cpp/two_layer.hpp``): the update is
    computed in the dtype of W with ``lr`` and ``weight_decay`` cast to it, norms are taken in
    that dtype and their ratio in float64.

    Parameters
    ----------
    gradient : callable(W) -> (grad, mean_loss, max_abs_z)
        grad : (m, d) in the dtype of W; mean_loss : float; max_abs_z : float, the largest
        ``|X W^T + b|`` of the pass (only step 0's is used, for ``keep_scale``).
    W0 : (m, d) validated initial weights (float32 or float64; not modified).
    run : validated settings of the call.
    progress : callable(step), optional; called after each step with the steps done.

    Returns
    -------
    Phase1Result
    """
    n_steps, steps, basis, mode = run.n_steps, run.record_steps, run.record_basis, run.keep_scale
    dtype = W0.dtype
    lr, weight_decay = dtype.type(run.lr), dtype.type(run.weight_decay)
    W = W0.copy()
    norm0 = np.float64(np.linalg.norm(W))
    losses = np.full(n_steps, np.nan)
    log_scale = np.full(n_steps + 1, np.nan)
    log_scale[0] = 0.0
    width = W.shape[1] if basis is None else basis.shape[1]
    recorded = np.full((steps.size, W.shape[0], width), np.nan, dtype=dtype)
    keep = False
    diverged_at = None
    step_seconds = 0.0
    for t in range(n_steps + 1):
        if t in steps:
            recorded[np.searchsorted(steps, t)] = W if basis is None else W @ basis
        if t == n_steps:
            break
        step_start = time.perf_counter()
        with np.errstate(over="ignore", invalid="ignore"):  # detected just below
            grad, losses[t], max_abs_z = gradient(W)
            candidate = W - lr * (grad + weight_decay * W)
        if t == 0:
            keep = _resolve_keep_scale(mode, max_abs_z)
        next_log_scale, norm = log_scale[t], np.float64(1.0)
        if keep:
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                norm = np.float64(np.linalg.norm(candidate))
                next_log_scale = log_scale[t] + np.log(norm / norm0)
        # A rescaling that overflows (the norm of finite weights, or its log: +inf) diverges
        # too: W scaled by 0 would hide it. A zero W (log scale -inf) is no divergence.
        finite = np.isfinite(losses[t]) and np.isfinite(candidate).all()
        if not (finite and next_log_scale < np.inf):
            report_divergence(run.on_divergence, t, float(losses[t]), run.lr)
            diverged_at = t
            break
        W = candidate
        log_scale[t + 1] = next_log_scale
        if keep and norm > 0:  # a zero W (S = 0, e.g. constant labels) stays zero
            W *= dtype.type(norm0 / norm)
        step_seconds += time.perf_counter() - step_start
        if progress is not None:
            progress(t + 1)
    return Phase1Result(
        W=W.astype(dtype, copy=False),
        record_steps=steps,
        recorded=recorded if steps.size else None,
        loss=losses,
        log_scale=log_scale,
        keep_scale=keep,
        diverged_at=diverged_at,
        step_seconds=step_seconds,
    )


def _resolve_keep_scale(mode: str, max_abs_z: float) -> bool:
    linear = max_abs_z < LINEAR_REGIME_MAX_PREACTIVATION
    if mode == "on" and not linear:
        raise ValueError(
            f"keep_scale=True needs the linear regime, but max |X W0^T + b| = {max_abs_z:.3g} "
            f">= {LINEAR_REGIME_MAX_PREACTIVATION}; use a smaller initial scale or "
            "keep_scale=False."
        )
    return mode == "on" or (mode == "auto" and linear)
