"""Run a grid through a backend into a results store, with a progress bar."""

from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import dataclass, field
from typing import Optional, Union

from tqdm.auto import tqdm

from .backends import DaskBackend, LocalBackend, PointFunction
from .grid import Grid
from .store import PathLike, ResultStore


@dataclass
class SweepSummary:
    """What a call to :func:`run_sweep` did.

    Attributes
    ----------
    out : str
        The output folder.
    total : int
        Points in the grid.
    skipped : int
        Points already in the store before this call (not recomputed).
    computed : int
        Points computed and stored by this call.
    failed : list of (point key, traceback text)
        Points whose function raised; nothing was stored for them, a rerun retries them.
    elapsed_s : float
        Wall time of the call.
    """

    out: str
    total: int
    skipped: int = 0
    computed: int = 0
    failed: list = field(default_factory=list)
    elapsed_s: float = 0.0


class PointsFailedError(RuntimeError):
    """Some points raised; every other point was computed and stored.

    Attributes
    ----------
    summary : SweepSummary
    """

    def __init__(self, summary: SweepSummary):
        self.summary = summary
        key, tb = summary.failed[0]
        last = tb.strip().splitlines()[-1]
        super().__init__(
            f"{len(summary.failed)} of {summary.total} points failed; the first, {key}, "
            f"raised {last}\n{tb}"
        )


def run_sweep(
    fn: PointFunction,
    grid: Grid,
    out: PathLike,
    *,
    experiment: str,
    backend: Union[LocalBackend, DaskBackend, None] = None,
    progress: bool = True,
    command: Optional[str] = None,
) -> SweepSummary:
    """Compute every point of ``grid`` not yet in ``out`` and store each as it finishes.

    Parameters
    ----------
    fn : callable ``(params: dict, seed: int) -> dict or list of dicts``
        The point function; must be importable by name (it is pickled by reference).
    grid : Grid
    out : path
        Output folder (see :mod:`mimkit.experiments.store`).
    experiment : str
        Name stored in the manifest; a folder holds one experiment only.
    backend : LocalBackend or DaskBackend, optional
        Default: ``LocalBackend()`` (a process pool sized to the cores).
    progress : bool
        Show a tqdm bar (points done / total, rate, ETA) on stderr.
    command : str, optional
        Command line recorded in the manifest (default: ``sys.argv``).

    Returns
    -------
    SweepSummary

    Raises
    ------
    PointsFailedError
        After the sweep, if any point raised (the others are stored).
    KeyboardInterrupt
        On Ctrl-C, after stopping the workers; finished points are already stored.
    """
    start = time.perf_counter()
    backend = backend if backend is not None else LocalBackend()
    store = ResultStore(out)
    store.begin(experiment, grid, command if command is not None else " ".join(sys.argv))
    done = store.finished_ids()
    points = list(grid)
    todo = [p for p in points if p.id not in done]
    summary = SweepSummary(
        out=str(store.folder), total=len(points), skipped=len(points) - len(todo)
    )
    if todo and progress:
        print(
            f"{experiment}: {len(todo)} of {len(points)} points to compute "
            f"({backend.describe(len(todo))}) -> {store.folder}",
            file=sys.stderr,
        )
    bar = tqdm(
        total=len(points),
        initial=summary.skipped,
        unit="pt",
        disable=not progress,
        desc=experiment,
        dynamic_ncols=True,
        smoothing=0.1,
    )
    try:
        with contextlib.closing(backend.run(fn, todo)) as outcomes:
            for outcome in outcomes:
                if outcome.error is None:
                    store.write_point(outcome.point, outcome.records)
                    summary.computed += 1
                else:
                    summary.failed.append((outcome.point.key, outcome.error))
                bar.update(1)
    finally:
        bar.close()
        summary.elapsed_s = time.perf_counter() - start
    if summary.failed:
        raise PointsFailedError(summary)
    return summary
