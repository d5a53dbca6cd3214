"""Run a grid through a backend into a results store, with a progress bar.

Several sweeps may run on one store at once (on one machine or several sharing the folder):
each claims a point in the store just before handing it to a worker, so every point of the
union of their grids is computed once. A sweep that has no point left to claim waits for the
points other live sweeps are computing, and takes over those of a sweep that died.
"""

from __future__ import annotations

import contextlib
import sqlite3
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable, Iterator, Optional, Union

from tqdm.auto import tqdm

from .backends import DaskBackend, LocalBackend, PointFunction
from .grid import Grid, Point
from .store import LEASE_S, PathLike, ResultStore, heartbeat

#: Seconds between two looks at the store while other sweeps finish their points.
POLL_S = 0.2


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
    by_others : int
        Points stored during this call by other sweeps sharing the store.
    failed : list of (point key, traceback text)
        Points whose function raised; nothing was stored for them, a rerun retries them.
    elapsed_s : float
        Wall time of the call.
    """

    out: str
    total: int
    skipped: int = 0
    computed: int = 0
    by_others: int = 0
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
    points = list(grid)
    # The backend connects before the sweep is recorded (store.begin): a cluster that cannot
    # be reached leaves a store this call created bound to no experiment.
    with ResultStore(out, create=True) as store, backend.connect(len(points)):
        _drop_damaged(store)
        done = store.finished_ids()
        todo = [p for p in points if p.id not in done]
        workers, threads = backend.settings(len(todo))
        run_id = store.begin(
            experiment,
            grid,
            command if command is not None else " ".join(sys.argv),
            backend=backend.name,
            workers=workers,
            threads=threads,
        )
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
        owner = store.register_owner()
        heartbeat = _Heartbeat(store, owner)
        try:
            _compute(fn, todo, store, owner, backend, summary, bar, run_id, threads)
        finally:
            heartbeat.stop()
            bar.close()
            with contextlib.suppress(sqlite3.Error):  # an interrupted store stays consistent
                store.release_owner(owner)
            summary.elapsed_s = time.perf_counter() - start
    if summary.failed:
        raise PointsFailedError(summary)
    return summary


def _drop_damaged(store: ResultStore) -> None:
    """Points whose stored records fail their checksum or do not parse are computed again."""
    dropped = store.drop_damaged_points()
    if dropped:
        warnings.warn(
            f"{store.path}: {len(dropped)} stored point(s) failed their check and will be "
            f"computed again: {'; '.join(dropped[:5])}",
            stacklevel=3,
        )


def _compute(
    fn: PointFunction,
    todo: list,
    store: ResultStore,
    owner: str,
    backend: Union[LocalBackend, DaskBackend],
    summary: SweepSummary,
    bar: tqdm,
    run_id: int,
    threads: int,
) -> None:
    """Claim, compute and store ``todo`` until every point is stored or failed here."""

    def by_others(point: Point) -> None:
        summary.by_others += 1
        bar.update(1)

    failed: set[str] = set()
    while todo:
        claims = _Claims(store, owner, todo, by_others)
        with contextlib.closing(backend.run(fn, claims)) as outcomes:
            for outcome in outcomes:
                if outcome.error is None:
                    store.write_point(
                        outcome.point, outcome.records, run_id=run_id, threads=threads
                    )
                    summary.computed += 1
                else:
                    store.release_claim(outcome.point.id, owner)
                    summary.failed.append((outcome.point.key, outcome.error))
                    failed.add(outcome.point.id)
                bar.update(1)
        todo = _wait_for_others(store, claims.busy, by_others)
        todo = [p for p in todo if p.id not in failed]


def _wait_for_others(store: ResultStore, busy: list, on_done: Callable[[Point], None]) -> list:
    """Wait while other live sweeps compute ``busy``; returns the points left free to claim."""
    while busy:
        state = store.status(p.id for p in busy)
        for p in busy:
            if state[p.id] == "done":
                on_done(p)
        free = [p for p in busy if state[p.id] == "free"]
        busy = [p for p in busy if state[p.id] == "busy"]
        if free:
            return free + busy
        if busy:
            time.sleep(POLL_S)
    return []


class _Claims:
    """The points of ``todo`` this sweep manages to claim, taken one by one as workers free up.

    Points stored by another sweep are reported to ``on_done``; points another live sweep is
    computing are kept in ``busy`` for later.
    """

    def __init__(
        self, store: ResultStore, owner: str, todo: list, on_done: Callable[[Point], None]
    ):
        self.store, self.owner, self.todo, self.on_done = store, owner, todo, on_done
        self.busy: list = []

    def __len__(self) -> int:
        return len(self.todo)

    def __iter__(self) -> Iterator[Point]:
        for point in self.todo:
            state = self.store.try_claim(point.id, self.owner)
            if state == "claimed":
                yield point
            elif state == "done":
                self.on_done(point)
            else:
                self.busy.append(point)


class _Heartbeat:
    """Refreshes ``owner``'s claims from a thread, with its own connection to the store."""

    def __init__(self, store: ResultStore, owner: str):
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(store.path, owner), name="mimkit-sweep-heartbeat", daemon=True
        )
        self._thread.start()

    def _run(self, path, owner: str) -> None:
        conn = sqlite3.connect(path, timeout=60.0)
        try:
            while not self._stop.wait(LEASE_S / 4):
                with contextlib.suppress(sqlite3.Error):  # a busy store: try again next time
                    heartbeat(conn, owner)
        finally:
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
