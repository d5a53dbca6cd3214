"""Targets 4 and 5: ``LayerwiseRegressor.fit`` end to end.

* Overhead: phase 1 as ``fit`` runs it (validation, offset, init, the step loop) against the
  time the core spent inside its steps in the same run; the difference is the loop's overhead.
* Scaling: at fixed alpha = n1/d, width and T1 the work is O(alpha d^2 m T1), so fit time over
  d = 256..2048 should have log-log slope 2. Each d runs in a fresh process, which also reports
  its peak resident memory during ``fit`` above what it held before (the data), read from
  ``/proc/self/status`` after resetting the high-water mark (``/proc/self/clear_refs``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np

from ..data import MultiIndexModel
from ..estimators import LayerwiseRegressor
from .timing import SETTLE_S, Column, median


def measure_overhead(
    d: int = 1024,
    alpha: float = 16,
    m: int = 256,
    n_steps: int = 20,
    threads: int = 2,
    repeats: int = 5,
) -> dict:
    """Phase 1 inside ``fit`` (validation, offset, initialisation, the step loop with its
    per-step Ctrl-C and progress checks) against the time the core spent inside the steps of
    that same run. Both clocks run in one call, so the machine's drifting speed cancels."""
    model = MultiIndexModel(d, "z1z2", random_state=0)
    X, y = model.sample(int(alpha * d), random_state=1)
    X2, y2 = model.sample(int(alpha * d), random_state=2)
    est = LayerwiseRegressor(n_hidden=m, n_steps=n_steps, n_threads=threads, random_state=0)
    runs = []
    for _ in range(repeats):
        time.sleep(SETTLE_S)
        history = est.fit(X, y, X2=X2, y2=y2).history_
        runs.append((history["phase1_seconds"], history["phase1_step_seconds"]))
    fractions = [(total - steps) / total for total, steps in runs]
    total, steps = runs[int(np.argsort(fractions)[len(fractions) // 2])]
    return {
        "d": d,
        "n1": X.shape[0],
        "m": m,
        "n_steps": n_steps,
        "threads": threads,
        "repeats": repeats,
        "phase1_s": total,
        "steps_s": steps,
        "overhead_fraction": median(fractions),
        "overhead_fraction_max": max(fractions),
    }


def _rss_bytes(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def fit_once(d: int, alpha: float, m: int, n_steps: int, threads: int) -> dict:
    """One fit in this process on D1 and an explicit D2 (no split copy): time and peak memory
    above the data."""
    model = MultiIndexModel(d, "z1z2", random_state=0)
    X, y = model.sample(int(alpha * d), random_state=1)
    X2, y2 = model.sample(int(alpha * d), random_state=2)
    est = LayerwiseRegressor(n_hidden=m, n_steps=n_steps, n_threads=threads, random_state=0)
    # a tiny fit first, so that lazily imported libraries do not count as fit's memory
    LayerwiseRegressor(n_hidden=4, n_steps=1, random_state=0).fit(X[:64, :8], y[:64])
    before = _rss_bytes("VmRSS")
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # reset VmHWM (peak RSS) to the current RSS
    time.sleep(SETTLE_S)  # sampling's BLAS threads spin ~0.1 s after it; not fit's time
    start = time.perf_counter()
    est.fit(X, y, X2=X2, y2=y2)
    seconds = time.perf_counter() - start
    extra = _rss_bytes("VmHWM") - before
    n = X.shape[0] + X2.shape[0]
    return {
        "d": d,
        "n": n,
        "m": m,
        "n_steps": n_steps,
        "fit_s": seconds,
        "phase1_s": est.history_["phase1_seconds"],
        "data_bytes": X.nbytes + X2.nbytes,
        "peak_extra_bytes": extra,
        "n_by_m_bytes": n * m * X.itemsize,
        "m_by_d_bytes": m * d * X.itemsize,
    }


def measure_scaling(
    ds=(256, 512, 1024, 2048),
    alpha: float = 16,
    m: int = 256,
    n_steps: int = 10,
    threads: int = 2,
    repeats: int = 3,
) -> dict:
    rows = []
    for d in ds:
        runs = []
        for _ in range(repeats):
            code = (
                f"import json; from mimkit.benchmarks.fit import fit_once; "
                f"print(json.dumps(fit_once({d}, {alpha}, {m}, {n_steps}, {threads})))"
            )
            out = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            )
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        runs.sort(key=lambda r: r["fit_s"])
        rows.append(runs[len(runs) // 2])
    logd = np.log([r["d"] for r in rows])
    slope_fit = float(np.polyfit(logd, np.log([r["fit_s"] for r in rows]), 1)[0])
    slope_phase1 = float(np.polyfit(logd, np.log([r["phase1_s"] for r in rows]), 1)[0])
    return {"rows": rows, "slope_fit": slope_fit, "slope_phase1": slope_phase1}


#: Columns of the scaling table (one row per d; sizes in MB).
SCALING_COLUMNS: list[Column] = [
    ("d", "d"),
    ("n = n1 + n2", "n"),
    ("fit (s)", "fit_s"),
    ("phase 1 (s)", "phase1_s"),
    ("data (MB)", lambda r: r["data_bytes"] / 1e6),
    ("peak above data (MB)", lambda r: r["peak_extra_bytes"] / 1e6),
    ("n x m array would be (MB)", lambda r: r["n_by_m_bytes"] / 1e6),
]


#: Columns of the overhead table (one row).
OVERHEAD_COLUMNS: list[Column] = [
    ("d", "d"),
    ("n1", "n1"),
    ("m", "m"),
    ("T1", "n_steps"),
    ("phase 1 in fit (s)", "phase1_s"),
    ("inside the steps (s)", "steps_s"),
    ("overhead (median)", lambda r: f"{100 * r['overhead_fraction']:.1f}%"),
    ("overhead (worst run)", lambda r: f"{100 * r['overhead_fraction_max']:.1f}%"),
]
