"""Cheap pure-numpy point functions for the sweep-infrastructure tests (importable by workers)."""

from __future__ import annotations

import os
import time

import numpy as np


def toy_point(params: dict, seed: int) -> dict:
    """A tiny least-squares fit at dimension ``d``: deterministic in (params, seed).

    ``sleep`` (seconds, optional) makes points slow (to kill a sweep at random moments).
    """
    rng = np.random.default_rng(seed)
    d = int(params["d"])
    n = int(params["alpha"] * d)
    X = rng.standard_normal((n, d))
    w = rng.standard_normal(d) / np.sqrt(d)
    y = X @ w + params.get("noise", 0.1) * rng.standard_normal(n)
    w_hat = np.linalg.lstsq(X, y, rcond=None)[0]
    time.sleep(params.get("sleep", 0.0))
    return {
        "error": float(np.sum((w_hat - w) ** 2)),
        "y_mean": float(y.mean()),
        "time_fit_s": 0.0,
        "pid": os.getpid(),
    }


def toy_gated(params: dict, seed: int) -> dict:
    """:func:`toy_point`, except that a point with ``d >= gated_from`` first waits until the
    file ``gate`` exists: a test holds points in flight for as long as it needs, and lets them
    finish when it is ready, whatever the machine's load."""
    if params["d"] >= params["gated_from"]:
        while not os.path.exists(params["gate"]):
            time.sleep(0.01)
    return toy_point(params, seed)


def toy_multirow(params: dict, seed: int) -> list:
    """Several rows per point, as a stopping-time sweep returns (one per recorded step)."""
    rng = np.random.default_rng(seed)
    return [{"step": s, "value": float(rng.standard_normal())} for s in range(params["steps"])]


def toy_failing(params: dict, seed: int) -> dict:
    """Raises for ``bad=True`` points."""
    if params["bad"]:
        raise ArithmeticError(f"bad point {params}")
    return {"ok": 1.0}
