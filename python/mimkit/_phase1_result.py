"""The record of one phase-1 run, shared by `mimkit.core` and `mimkit.reference`."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Optional

import numpy as np


@dataclass(frozen=True)
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
