"""Where grid points run: a local process pool (default) or a Dask cluster.

A backend maps :func:`execute_point` over points and yields each :class:`PointOutcome` as it
finishes, in completion order. The main process stores outcomes as they arrive, so whatever has
been yielded survives an interruption.

Threads: every point runs under a cap on BLAS / OpenMP threads (``threadpoolctl``, plus the
usual environment variables in local workers), so ``workers x threads`` never exceeds the cores
and parallel points do not oversubscribe the machine. The same point computed under the same
thread cap gives bit-identical metrics on either backend.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence, Union

from threadpoolctl import threadpool_limits

from .grid import Point

#: A point function: ``fn(params, seed) -> record or list of records`` (flat dicts).
PointFunction = Callable[[dict, int], Union[Mapping[str, Any], Sequence[Mapping[str, Any]]]]

_THREAD_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def available_cores() -> int:
    """CPU cores this process may use (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@dataclass(frozen=True)
class PointOutcome:
    """What computing one point gave: records, or the error that stopped it."""

    point: Point
    records: Optional[list]
    error: Optional[str] = None


def execute_point(fn: PointFunction, point: Point, threads: int) -> PointOutcome:
    """Run ``fn`` on ``point`` under a thread cap; never raises for an error inside ``fn``.

    Every record gets ``time_point_s``, the wall time of the whole point. An exception inside
    ``fn`` is returned as text (with its traceback) so one bad point cannot end a sweep.
    """
    try:
        with threadpool_limits(limits=threads):
            start = time.perf_counter()
            out = fn(dict(point.params), point.seed)
            elapsed = time.perf_counter() - start
        records = [dict(out)] if isinstance(out, Mapping) else [dict(r) for r in out]
    except Exception:
        return PointOutcome(point, None, traceback.format_exc())
    for rec in records:
        rec["time_point_s"] = elapsed
    return PointOutcome(point, records)


def _init_local_worker(threads: int) -> None:
    # The parent handles Ctrl-C and terminates the pool; a worker that also raised
    # KeyboardInterrupt mid-task would only print noise.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in _THREAD_ENV:
        os.environ[name] = str(threads)
    # Libraries already loaded by the unpickling of the task ignore the variables above.
    threadpool_limits(limits=threads)


def _split_cores(
    n_points: int, n_workers: Optional[int], threads_per_worker: Optional[int]
) -> tuple[int, int]:
    cores = available_cores()
    workers = n_workers if n_workers is not None else max(1, min(cores, n_points))
    if workers < 1:
        raise ValueError(f"n_workers must be >= 1, got {workers}")
    threads = threads_per_worker if threads_per_worker is not None else max(1, cores // workers)
    if threads < 1:
        raise ValueError(f"threads_per_worker must be >= 1, got {threads}")
    return workers, threads


class LocalBackend:
    """A pool of worker processes on this machine.

    Parameters
    ----------
    n_workers : int, optional
        Worker processes; default ``min(cores, points)``. With one worker the points run in
        this process (no start-up cost, plain tracebacks).
    threads_per_worker : int, optional
        BLAS / OpenMP threads per worker; default ``cores // n_workers``.

    Notes
    -----
    Workers are started with ``spawn``: a forked child of a process whose OpenMP runtime is
    already initialised can deadlock. On Ctrl-C (KeyboardInterrupt in the caller) the pool is
    terminated at once; points already yielded are kept by the caller.
    """

    name = "local"

    def __init__(self, n_workers: Optional[int] = None, threads_per_worker: Optional[int] = None):
        self.n_workers = n_workers
        self.threads_per_worker = threads_per_worker

    def describe(self, n_points: int) -> str:
        workers, threads = _split_cores(n_points, self.n_workers, self.threads_per_worker)
        return f"local: {workers} worker(s) x {threads} thread(s)"

    def run(self, fn: PointFunction, points: Sequence[Point]) -> Iterator[PointOutcome]:
        """Yield the outcome of every point as it finishes."""
        workers, threads = _split_cores(len(points), self.n_workers, self.threads_per_worker)
        if workers == 1:
            for point in points:
                yield execute_point(fn, point, threads)
            return
        ctx = multiprocessing.get_context("spawn")
        pool = ctx.Pool(workers, initializer=_init_local_worker, initargs=(threads,))
        try:
            tasks = ((fn, p, threads) for p in points)
            yield from pool.imap_unordered(_execute_packed, tasks, chunksize=1)
            pool.close()
        finally:
            # Reached early on Ctrl-C or when the consumer stops: do not wait for points in
            # flight (they may take minutes); their results are lost by design.
            pool.terminate()
            pool.join()


def _execute_packed(args: tuple) -> PointOutcome:
    return execute_point(*args)


class DaskBackend:
    """Points as tasks on a ``dask.distributed`` cluster.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``). When None, a ``LocalCluster``
        of worker processes is started on the loopback interface and closed afterwards.
    n_workers : int, optional
        Workers of the LocalCluster; default ``min(cores, points)``. Ignored with a scheduler.
    threads_per_worker : int
        BLAS / OpenMP threads each point may use (default 1). On a remote cluster start the
        workers with ``--nthreads 1`` and as many processes as cores so that points do not
        share a process.

    Notes
    -----
    Workers must be able to import mimkit and the point function. Results come back to this
    process, which writes them: workers need no access to the output folder.
    """

    name = "dask"

    def __init__(
        self,
        scheduler: Optional[str] = None,
        n_workers: Optional[int] = None,
        threads_per_worker: int = 1,
    ):
        self.scheduler = scheduler
        self.n_workers = n_workers
        self.threads_per_worker = threads_per_worker

    def describe(self, n_points: int) -> str:
        if self.scheduler:
            return f"dask: scheduler {self.scheduler}"
        workers, _ = _split_cores(n_points, self.n_workers, 1)
        return f"dask: LocalCluster, {workers} worker process(es)"

    def run(self, fn: PointFunction, points: Sequence[Point]) -> Iterator[PointOutcome]:
        """Yield the outcome of every point as it finishes."""
        try:
            from distributed import Client, LocalCluster, as_completed
        except ImportError as exc:
            raise ImportError(
                "the dask backend needs dask.distributed: pip install 'mimkit[dask]'"
            ) from exc
        cluster = None
        if self.scheduler:
            client = Client(self.scheduler)
        else:
            workers, _ = _split_cores(len(points), self.n_workers, 1)
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            )
            client = Client(cluster)
        futures = []
        try:
            futures = [
                client.submit(
                    execute_point,
                    fn,
                    p,
                    self.threads_per_worker,
                    pure=False,
                    key=f"mimkit-point-{p.id}",
                )
                for p in points
            ]
            for future in as_completed(futures):
                yield future.result()
        finally:
            if futures:
                client.cancel(futures)
            client.close()
            if cluster is not None:
                cluster.close()


def make_backend(
    name: str,
    *,
    scheduler: Optional[str] = None,
    n_workers: Optional[int] = None,
    threads_per_worker: Optional[int] = None,
) -> Union[LocalBackend, DaskBackend]:
    """Backend by name: ``'local'`` or ``'dask'``.

    Raises
    ------
    ValueError
        For an unknown name, or a scheduler address given to the local backend.
    """
    if name == "local":
        if scheduler:
            raise ValueError("--scheduler needs --backend dask")
        return LocalBackend(n_workers, threads_per_worker)
    if name == "dask":
        return DaskBackend(scheduler, n_workers, threads_per_worker or 1)
    raise ValueError(f"unknown backend {name!r}; choose 'local' or 'dask'")
