"""Streamed data (issue 8): how fast the core makes Gaussian rows, and what a phase-1 step costs
when its rows are regenerated on every pass instead of read from memory.

* Generator: standard normals per second per core (``native.gaussian_rows`` into a
  preallocated array, so only the generator is timed), 1 and N threads.
* Step: the fused phase-1 step on a StreamedData against the same step on the same rows held
  as an array (paired per round), and the share of the streamed step spent generating
  (generating the n rows alone, N threads, over the streamed step).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import core
from .._native import native
from ..data import MultiIndexModel
from .phase1_step import step_problem
from .timing import Column, case_fields, interleaved_times, median, paired_ratio


def measure(
    n: int = 32768,
    d: int = 1024,
    widths=(256, 64),
    threads: int = 2,
    repeats: int = 7,
    dtypes=(np.float32, np.float64),
) -> list[dict]:
    rows = []
    model = MultiIndexModel(d, "z1z2", random_state=0)
    for dtype in dtypes:
        stream = model.stream(n, dtype=dtype, random_state=1)
        X = stream.rows()
        out = np.empty_like(X)
        for m in widths:
            _, y, W, b, a = step_problem(8, d, m, dtype, 1e-6)  # phase-1 weights; X, y replaced
            y = np.random.default_rng(2).standard_normal(n).astype(dtype)
            kw: dict[str, Any] = dict(
                activation="logcosh", loss="huber", n_threads=threads, check_finite=False
            )
            times = interleaved_times(
                {
                    "array": lambda: core.phase1_gradient(X, y, W, b, a, **kw),
                    "stream": lambda: core.phase1_gradient(stream, y, W, b, a, **kw),
                    "generate": lambda: native.gaussian_rows(stream.row_address(), out, threads),
                    "generate_1": lambda: native.gaussian_rows(stream.row_address(), out, 1),
                },
                repeats,
            )
            rows.append(
                {
                    **case_fields(dtype, n=n, d=d, m=m, threads=threads, repeats=repeats),
                    "array_step_s": median(times["array"]),
                    "stream_step_s": median(times["stream"]),
                    "stream_over_array": paired_ratio(times, "stream", "array"),
                    "generating_fraction": paired_ratio(times, "generate", "stream"),
                    "normals_per_s_per_core": n * d / median(times["generate_1"]),
                    "normals_per_s": n * d / median(times["generate"]),
                }
            )
    return rows


#: The table's columns: header and the row's key (or a function of the row).
COLUMNS: list[Column] = [
    ("dtype", "dtype"),
    ("m", "m"),
    ("in-memory step (s)", "array_step_s"),
    ("streamed step (s)", "stream_step_s"),
    ("streamed / in-memory", "stream_over_array"),
    ("share of streamed step generating", lambda r: f"{100 * r['generating_fraction']:.0f}%"),
    ("normals/s, 1 core (M)", lambda r: r["normals_per_s_per_core"] / 1e6),
    ("normals/s, all threads (M)", lambda r: r["normals_per_s"] / 1e6),
]
