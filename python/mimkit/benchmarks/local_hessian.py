"""Target 3: the local-Hessian block matvec ``X^T (t * (X V)) / n`` for k = 1, 4, 16 against the
numpy expression, and against the time to stream X once from memory (the best of a 2-thread
BLAS GEMV ``X @ v`` and numpy's column sum), its physical limit when k is small."""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from .. import core
from .timing import Column, case_fields, interleaved_times, median, paired_ratio


def measure(
    n: int = 32768,
    d: int = 1024,
    ks=(1, 4, 16),
    threads: int = 2,
    repeats: int = 9,
    dtypes=(np.float64, np.float32),
) -> list[dict]:
    rows = []
    rng = np.random.default_rng(0)
    for dtype in dtypes:
        X = rng.standard_normal((n, d)).astype(dtype)
        t = rng.standard_normal(n).astype(dtype)
        v = rng.standard_normal(d).astype(dtype)
        with threadpool_limits(limits=threads):
            for k in ks:
                V = rng.standard_normal((d, k)).astype(dtype)
                times = interleaved_times(
                    {
                        "core": lambda: core.local_hessian_matvec(
                            X, t, V, n_threads=threads, check_finite=False
                        ),
                        "numpy": lambda: X.T @ (t[:, None] * (X @ V)) / n,
                        "gemv": lambda: X @ v,
                        "sum": lambda: X.sum(axis=0),
                    },
                    repeats,
                )
                # streaming X once: the faster of the two ways numpy reads it, round by round
                times["stream"] = [min(g, s) for g, s in zip(times["gemv"], times["sum"])]
                rows.append(
                    {
                        **case_fields(dtype, k=k, n=n, d=d, threads=threads, repeats=repeats),
                        "core_s": median(times["core"]),
                        "numpy_s": median(times["numpy"]),
                        "stream_s": median(times["stream"]),
                        "numpy_over_core": paired_ratio(times, "numpy", "core"),
                        "core_over_stream": paired_ratio(times, "core", "stream"),
                        "core_gbytes_per_s": X.nbytes / median(times["core"]) / 1e9,
                    }
                )
    return rows


#: The table's columns: header and the row's key (or a function of the row).
COLUMNS: list[Column] = [
    ("dtype", "dtype"),
    ("k", "k"),
    ("core (s)", "core_s"),
    ("numpy (s)", "numpy_s"),
    ("numpy / core", "numpy_over_core"),
    ("stream X once (s)", "stream_s"),
    ("core / stream", "core_over_stream"),
    ("core GB/s of X", "core_gbytes_per_s"),
]
