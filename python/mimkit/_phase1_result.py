"""The record of one phase-1 run, shared by `mimkit.core` and `mimkit.reference`."""
from __future__ import annotations

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
    """

    W: np.ndarray
    record_steps: np.ndarray
    recorded: Optional[np.ndarray]
    loss: np.ndarray
    log_scale: np.ndarray
    keep_scale: bool
