"""One GAMP iteration against what it is made of: its two GEMMs (``X W``, ``X^T g``) and its
channel call ``g_out`` measured alone. ``iteration / 2 GEMMs`` is the target of the fast-GAMP
work (<= 3: the channel's O(n r) work costs at most twice the products); ``iteration /
(GEMMs + channel)`` says what the iteration adds (the Onsager term, the r x r algebra), the
channel share where the time goes. Ratios are medians of ratios timed in the same round.
For ``z1z2``, ``z1_plus_z1z2`` and ``sign_z1z2`` the iteration is one fused pass of the core over X
(products and channel per chunk of rows, X read once): it may cost less than the two GEMMs.
``threads`` limits BLAS and OpenMP alike.

The GEMMs are the products the iteration calls (:func:`mimkit.amp.channel.project` and
:func:`~mimkit.amp.channel.back_project`), on one BLAS thread as :func:`mimkit.amp.gamp` runs them
(``threads``); ``numpy X @ W, X^T g`` times numpy's plain expressions on the same thread count,
for reference."""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from ..amp import make_channel
from ..amp.channel import back_project, project
from ..amp.gamp import gamp_step
from ..links import get_link
from .timing import Column, interleaved_times, median, paired_ratio

#: (link, r) measured by default: closed forms and the generic quadrature.
CASES = (
    ("z1z2", None),
    ("sign_z1z2", None),
    ("he2_sum", 2),
    ("he2_sum", 3),
    ("tanh_committee", None),
)


def measure(
    n: int = 16384, d: int = 1024, cases=CASES, threads: int = 1, repeats: int = 5
) -> list[dict]:
    rows = []
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d))
    for name, r in cases:
        link = get_link(name, r)
        channel = make_channel(link)
        k = link.r
        # A mid-run state: overlap 1/2, so the posteriors are neither flat nor points.
        U = np.linalg.qr(rng.standard_normal((d, k)))[0].T
        W = np.sqrt(d) * (0.5 * U.T + 0.5 * rng.standard_normal((d, k)) / np.sqrt(d))
        y = link(X @ U.T)
        C, A = 0.5 * np.eye(k), np.eye(k)
        g = 0.1 * rng.standard_normal((n, k))
        omega = X @ W / np.sqrt(d)
        with threadpool_limits(limits=threads):
            times = interleaved_times(
                {
                    "step": lambda: gamp_step(X, y, channel, W, C, g, A, 0.2),
                    "gemms": lambda: (project(X, W), back_project(X, g)),
                    "numpy": lambda: (X @ W, X.T @ g),
                    "channel": lambda: channel.g_out(omega, C, y),
                },
                repeats,
            )
        times["parts"] = [a + b for a, b in zip(times["gemms"], times["channel"])]
        rows.append(
            {
                "link": link.name,
                "r": k,
                "channel": channel.kind,
                "n": n,
                "d": d,
                "threads": threads,
                "repeats": repeats,
                "step_s": median(times["step"]),
                "gemms_s": median(times["gemms"]),
                "numpy_gemms_s": median(times["numpy"]),
                "channel_s": median(times["channel"]),
                "step_over_gemms": paired_ratio(times, "step", "gemms"),
                "step_over_parts": paired_ratio(times, "step", "parts"),
                "channel_share": median(times["channel"]) / median(times["step"]),
            }
        )
    return rows


#: The table's columns: header and the row's key.
COLUMNS: list[Column] = [
    ("link", "link"),
    ("r", "r"),
    ("channel", "channel"),
    ("iteration (s)", "step_s"),
    ("2 GEMMs (s)", "gemms_s"),
    ("numpy X @ W, X^T g (s)", "numpy_gemms_s"),
    ("channel alone (s)", "channel_s"),
    ("iteration / 2 GEMMs (target <= 3)", "step_over_gemms"),
    ("iteration / (GEMMs + channel)", "step_over_parts"),
    ("channel share", "channel_share"),
]
