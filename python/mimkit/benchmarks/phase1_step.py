"""Targets 1 and 6: one phase-1 step (fused forward + backward) against numpy's two bare GEMMs
of the same shapes (``X @ W.T`` and ``G.T @ X``, the physical limit), the numpy reference step,
and 1 vs N threads for both the core and numpy's GEMMs (the machine's own parallel speedup).
Also the full gradient (W, b and a in one pass, for joint training) against the phase-1 step
in the same rounds: its extra O(n m) sums should cost <= 10%.

Two weight regimes: ``phase-1`` (init scale 1e-6, the regime phase 1 actually runs in) and
``nonlinear`` (|w . x| ~ 0.6, every activation evaluated through exp/log).
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np
from threadpoolctl import threadpool_limits

from .. import core, reference
from .timing import Column, interleaved_times, median, paired_ratio

REGIMES = {"phase-1": 1e-6, "nonlinear": 0.6}


def step_problem(n: int, d: int, m: int, dtype, weight_scale: float, seed: int = 0):
    """Random X, y, W with |w_j . x| ~ weight_scale, pairs of +-1 outer weights, zero biases."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    y = rng.standard_normal(n).astype(dtype)
    W = (rng.standard_normal((m, d)) * weight_scale / np.sqrt(d)).astype(dtype)
    a = np.where(np.arange(m) % 2 == 0, 1.0, -1.0).astype(dtype)
    return X, y, W, np.zeros(m, dtype), a


def measure(
    n: int = 32768,
    d: int = 1024,
    m: int = 256,
    threads: int = 2,
    repeats: int = 9,
    dtypes=(np.float64, np.float32),
    regimes=tuple(REGIMES),
) -> list[dict]:
    rows = []
    for dtype in dtypes:
        X, y, W, b, a = step_problem(n, d, m, dtype, 1.0)
        G = np.random.default_rng(1).standard_normal((n, m)).astype(dtype)
        kw: dict[str, Any] = dict(activation="logcosh", loss="huber", check_finite=False)
        for regime in regimes:
            Wr = (W * REGIMES[regime]).astype(dtype)
            contenders: dict[str, Callable[[], Any]] = {}
            for t in sorted({1, threads}):
                contenders[f"core_{t}"] = functools.partial(
                    core.phase1_gradient, X, y, Wr, b, a, n_threads=t, **kw
                )

            def gemms_1thread():
                with threadpool_limits(limits=1):
                    return X @ Wr.T, G.T @ X

            contenders["full"] = lambda: core.full_gradient(X, y, Wr, b, a, n_threads=threads, **kw)
            contenders["gemms_1"] = gemms_1thread
            with threadpool_limits(limits=threads):
                contenders["gemms"] = lambda: (X @ Wr.T, G.T @ X)
                contenders["reference"] = lambda: reference.phase1_gradient(X, y, Wr, b, a, **kw)
                times = interleaved_times(contenders, repeats)
            n_thread_core = f"core_{threads}"
            flops = 4.0 * n * m * d
            rows.append(
                {
                    "dtype": np.dtype(dtype).name,
                    "regime": regime,
                    "n": n,
                    "d": d,
                    "m": m,
                    "threads": threads,
                    "repeats": repeats,
                    "core_s": median(times[n_thread_core]),
                    "core_1thread_s": median(times["core_1"]),
                    "numpy_gemms_s": median(times["gemms"]),
                    "reference_s": median(times["reference"]),
                    "core_over_gemms": paired_ratio(times, n_thread_core, "gemms"),
                    "reference_over_core": paired_ratio(times, "reference", n_thread_core),
                    "full_gradient_s": median(times["full"]),
                    "full_over_step": paired_ratio(times, "full", n_thread_core),
                    "thread_speedup": paired_ratio(times, "core_1", n_thread_core),
                    "numpy_thread_speedup": paired_ratio(times, "gemms_1", "gemms"),
                    "core_gflops": flops / median(times[n_thread_core]) / 1e9,
                    "gemms_gflops": flops / median(times["gemms"]) / 1e9,
                }
            )
    return rows


#: The table's columns: header and the row's key (or a function of the row).
COLUMNS: list[Column] = [
    ("dtype", "dtype"),
    ("weights", "regime"),
    ("core step (s)", "core_s"),
    ("numpy 2 GEMMs (s)", "numpy_gemms_s"),
    ("core / GEMMs", "core_over_gemms"),
    ("reference (s)", "reference_s"),
    ("reference / core", "reference_over_core"),
    ("full gradient (s)", "full_gradient_s"),
    ("full gradient / step", "full_over_step"),
    ("core 1-thread / N-thread", "thread_speedup"),
    ("numpy GEMMs 1-thread / N-thread", "numpy_thread_speedup"),
    ("core GFLOP/s", "core_gflops"),
]
