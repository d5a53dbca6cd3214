"""What a user waits for: the wall time of the user-facing commands, cold and warm theory cache,
each next to the learning time it contains.

Each command runs in a fresh interpreter (``python -m mimkit.cli ...``, as the ``mimkit``
script runs it), so start-up and imports count. "Cold" runs with an empty theory cache folder
(``MIMKIT_CACHE_DIR``), "warm" with the folder the cold run filled; the sweep's rerun and
``mimkit plot`` read the curves the first run stored in the sweep's database. The learning time
is what the command reports for sampling and training (``mimkit run --json``), the points' own
wall time (a sweep), or the matrix products of GAMP's iterations (``AMPEstimator``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from .timing import Column


def _learning(row: dict) -> str:
    return "-" if row["learning_s"] is None else f"{row['learning_s']:.2f}"


COLUMNS: list[Column] = [
    ("what the user does", "command"),
    ("cache", "cache"),
    ("wall time (s)", lambda r: f"{r['wall_s']:.2f}"),
    ("of which learning (s)", _learning),
    ("learning is", "learning"),
]

#: The sweep of the latency table: 4 points at d = 64.
SWEEP = ["sample-complexity", "--set", "d=64", "--set", "alpha=2,8", "--seeds", "2"]


def _run(arguments: Sequence[str], cache: Path, *, module: bool = True) -> tuple[float, str]:
    """Wall seconds and stdout of ``python -m mimkit.cli ARGUMENTS`` (or ``python ARGUMENTS``)
    with the theory cache in ``cache``."""
    command = [sys.executable, *(["-m", "mimkit.cli"] if module else []), *arguments]
    env = {**os.environ, "MIMKIT_CACHE_DIR": str(cache)}
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        failed = f"{' '.join(arguments)} failed (exit status {done.returncode})"
        raise RuntimeError(f"{failed}: {done.stderr[-2000:]}")
    return wall, done.stdout


def _row(command: str, cache: str, wall: float, learning: Optional[float], what: str) -> dict:
    return {
        "command": command,
        "cache": cache,
        "wall_s": wall,
        "learning_s": learning,
        "learning": what,
    }


def _run_rows(arguments: Sequence[str], label: str, cache: Path) -> list[dict]:
    """``mimkit run ARGUMENTS --json``, cold then warm cache; learning: sampling + phases (the
    baselines' own time, which should not exceed it, is named beside it)."""
    rows = []
    for state in ("cold", "warm"):
        wall, out = _run(["run", *arguments, "--json"], cache)
        seconds = json.loads(out)["seconds"]
        learning = seconds["sampling"] + seconds["phase1"] + seconds["phase2"]
        what = "sampling + phase 1 + phase 2"
        if "baselines" in seconds:
            what += f"; baselines {seconds['baselines']:.2f} s"
        rows.append(_row(label, state, wall, learning, what))
    return rows


def _sweep_rows(folder: Path, cache: Path) -> list[dict]:
    from ..experiments.store import load

    label = "mimkit sweep " + " ".join(SWEEP)
    out = ["--out", str(folder), "--quiet"]
    first, _ = _run(["sweep", *SWEEP, *out], cache)
    points = float(load(folder)["time_point_s"].sum())
    rerun, _ = _run(["sweep", *SWEEP, *out], cache)
    plot, _ = _run(["plot", str(folder)], cache)
    return [
        _row(label, "cold", first, points, "its points (sum of their wall times)"),
        _row("the same sweep again (nothing to compute)", "warm", rerun, 0.0, "nothing"),
        _row("mimkit plot (that sweep)", "warm", plot, 0.0, "nothing"),
    ]


def _amp_row(d: int = 1000, n: int = 2000, repeats: int = 3) -> dict:
    """``AMPEstimator("z1z2", n_directions=2).fit`` at d, n (best of ``repeats`` in this
    process); learning: as many pairs of its matrix products as it ran iterations."""
    from threadpoolctl import threadpool_limits

    from ..amp.channel import back_project, project
    from ..data import MultiIndexModel
    from ..estimators import AMPEstimator

    X, y = MultiIndexModel(d, "z1z2", random_state=0).sample(n, random_state=1)
    walls, iterations, converged = [], 0, True
    for _ in range(repeats):
        with warnings.catch_warnings():  # its non-convergence is reported in the row
            warnings.simplefilter("ignore", RuntimeWarning)
            start = time.perf_counter()
            est = AMPEstimator("z1z2", n_directions=2, random_state=0).fit(X, y)
            walls.append(time.perf_counter() - start)
        iterations, converged = est.n_iter_, bool(est.converged_)
    V, U = np.ones((d, 2)), np.ones((n, 2))
    start = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):  # as GAMP runs them
        for _ in range(iterations):
            project(X, V), back_project(X, U)
    products = time.perf_counter() - start
    return _row(
        f"AMPEstimator('z1z2', n_directions=2).fit, d = {d}, n = {n}",
        "-",
        min(walls),
        products,
        f"its {iterations} iterations' two matrix products"
        + ("" if converged else " (GAMP did not converge)"),
    )


def _spectral_overlap_row(n_alphas: int = 20) -> dict:
    """``spectral_overlap("z1z2", "huber", alphas)`` on ``n_alphas`` alphas in this process,
    no cache (its imports done by a first call at one alpha)."""
    from ..theory import spectral_overlap

    alphas = np.geomspace(1.0, 64.0, n_alphas)
    spectral_overlap("z1z2", "huber", alpha=alphas[:1])
    start = time.perf_counter()
    spectral_overlap("z1z2", "huber", alpha=alphas)
    wall = time.perf_counter() - start
    return _row(f'spectral_overlap("z1z2", "huber"), {n_alphas} alphas', "cold", wall, None, "-")


def measure(quick: bool = False, links: Optional[Sequence[str]] = None) -> list[dict]:
    """The latency table's rows (``quick``: no ``--d 4096`` run, theory of z1z2 only).

    Returns
    -------
    list of dicts with ``command``, ``cache`` (cold / warm / -), ``wall_s``, ``learning_s``
    (None where the command learns nothing) and ``learning`` (what that time is).
    """
    from ..links import LINKS

    rows = []
    with tempfile.TemporaryDirectory(prefix="mimkit-latency-") as tmp:
        root = Path(tmp)
        empty = root / "no-cache"
        wall, _ = _run(["-c", "import mimkit"], empty, module=False)
        rows.append(_row('python -c "import mimkit"', "-", wall, None, "-"))
        wall, _ = _run(["--help"], empty)
        rows.append(_row("mimkit --help", "-", wall, None, "-"))
        rows += _run_rows([], "mimkit run (defaults, d = 512)", root / "run-cache")
        rows += _sweep_rows(root / "sweep", root / "sweep-cache")
        chosen = links if links is not None else (["z1z2"] if quick else sorted(LINKS))
        for name in chosen:
            if LINKS[name].r > 3:
                continue
            for state in ("cold", "warm"):
                wall, _ = _run(["theory", name], root / "theory-cache")
                rows.append(_row(f"mimkit theory {name}", state, wall, None, "-"))
        rows.append(_spectral_overlap_row())
        rows.append(_amp_row())
        if not quick:
            rows += _run_rows(["--d", "4096"], "mimkit run --d 4096", root / "big-cache")
    return rows
