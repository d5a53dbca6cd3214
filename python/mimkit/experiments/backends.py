"""Where grid points run: a local process pool (default) or a Dask cluster.

A backend maps :func:`execute_point` over points and yields each :class:`PointOutcome` as it
finishes, in completion order. The main process stores outcomes as they arrive, so whatever has
been yielded survives an interruption. Points are taken from their iterable only when a worker
is free (``len(points)`` sizes the pool): the runner claims each point as it is taken, so
sweeps sharing a results store split the grid between them.

Threads: every point runs under a cap on BLAS / OpenMP threads (``threadpoolctl``, plus the
usual environment variables in local workers), so ``workers x threads`` never exceeds the cores
and parallel points do not oversubscribe the machine. The same point computed under the same
thread cap gives bit-identical metrics on either backend.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
import time
import traceback
from dataclasses import dataclass
from typing import (
    Any,
    Callable,
    ContextManager,
    Generator,
    Iterator,
    Mapping,
    Optional,
    Protocol,
    Sequence,
    Union,
)

from threadpoolctl import threadpool_limits

from .grid import Point

#: A point function: ``fn(params, seed) -> record or list of records`` (flat dicts).
PointFunction = Callable[[dict, int], Union[Mapping[str, Any], Sequence[Mapping[str, Any]]]]
#: Seconds to wait for a Dask scheduler before giving up (``mimkit sweep --timeout``).
DEFAULT_TIMEOUT_S = 30.0

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
    records: list  # empty when the point failed
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
        return PointOutcome(point, [], traceback.format_exc())
    for rec in records:
        rec["time_point_s"] = elapsed
    return PointOutcome(point, records)


class PointSource(Protocol):
    """Points a backend computes: sized (to plan workers), iterated lazily as workers free up."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Point]: ...


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
    if n_workers is not None and n_workers < 1:
        raise ValueError(f"n_workers must be >= 1, got {n_workers}")
    # A worker without a point to compute would only cost memory (a process and its imports).
    workers = min(n_workers if n_workers is not None else cores, max(1, n_points))
    threads = threads_per_worker if threads_per_worker is not None else max(1, cores // workers)
    if threads < 1:
        raise ValueError(f"threads_per_worker must be >= 1, got {threads}")
    return workers, threads


class LocalBackend:
    """A pool of worker processes on this machine.

    Parameters
    ----------
    n_workers : int, optional
        Worker processes; default the cores; never more than the points to compute. With one
        worker the points run in this process (no start-up cost, plain tracebacks).
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

    def settings(self, n_points: int) -> tuple[Optional[int], int]:
        """(worker processes, threads per point) for ``n_points`` points."""
        return _split_cores(n_points, self.n_workers, self.threads_per_worker)

    def connect(self, n_points: int) -> ContextManager[None]:
        """Nothing to reach for a local pool (see :meth:`DaskBackend.connect`)."""
        return contextlib.nullcontext()

    def run(self, fn: PointFunction, points: PointSource) -> Generator[PointOutcome, None, None]:
        """Yield the outcome of every point as it finishes."""
        workers, threads = _split_cores(len(points), self.n_workers, self.threads_per_worker)
        if workers == 1:
            for point in points:
                yield execute_point(fn, point, threads)
            return
        ctx = multiprocessing.get_context("spawn")
        pool = ctx.Pool(workers, initializer=_init_local_worker, initargs=(threads,))
        done: queue.SimpleQueue = queue.SimpleQueue()
        source = iter(points)

        def submit() -> bool:
            point = next(source, None)
            if point is None:
                return False
            pool.apply_async(
                _execute_packed,
                ((fn, point, threads),),
                callback=done.put,
                error_callback=lambda exc: done.put(PointOutcome(point, [], _format(exc))),
            )
            return True

        try:
            in_flight = sum(submit() for _ in range(workers))
            while in_flight:
                try:
                    outcome = done.get(timeout=0.1)  # short waits: Ctrl-C is seen at once
                except queue.Empty:
                    continue
                in_flight -= 1
                yield outcome
                in_flight += submit()
            pool.close()
        finally:
            # Reached early on Ctrl-C or when the consumer stops: do not wait for points in
            # flight (they may take minutes); their results are lost by design.
            pool.terminate()
            pool.join()


def _execute_packed(args: tuple) -> PointOutcome:
    return execute_point(*args)


def _format(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


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
    timeout : float
        Seconds to wait for the scheduler (or the LocalCluster) to answer.

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
        timeout: float = DEFAULT_TIMEOUT_S,
    ):
        self.scheduler = scheduler
        self.n_workers = n_workers
        self.threads_per_worker = threads_per_worker
        self.timeout = timeout
        self._session: Optional[tuple] = None

    def describe(self, n_points: int) -> str:
        if self.scheduler:
            return f"dask: scheduler {self.scheduler}"
        workers, _ = _split_cores(n_points, self.n_workers, 1)
        return f"dask: LocalCluster, {workers} worker process(es)"

    def settings(self, n_points: int) -> tuple[Optional[int], int]:
        """(worker processes, or None on a remote cluster; threads per point)."""
        if self.scheduler:
            return None, self.threads_per_worker
        return _split_cores(n_points, self.n_workers, 1)[0], self.threads_per_worker

    def _client(self, n_points: int):
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise ImportError(
                "the dask backend needs dask.distributed: pip install 'mimkit[dask]'"
            ) from exc
        where = f"the dask scheduler {self.scheduler}" if self.scheduler else "a dask LocalCluster"
        cluster = None
        try:
            if self.scheduler:
                return Client(self.scheduler, timeout=self.timeout), None
            workers, _ = _split_cores(n_points, self.n_workers, 1)
            # The scheduler always serves HTTP; ':0' picks a free port (8787 may be taken).
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=":0",
                timeout=self.timeout,
            )
            return Client(cluster, timeout=self.timeout), cluster
        except (OSError, TimeoutError) as exc:
            if cluster is not None:
                cluster.close()
            raise ConnectionError(
                f"cannot reach {where} within {self.timeout:g} s ({type(exc).__name__}); "
                f"check the address or raise --timeout"
            ) from None

    @contextlib.contextmanager
    def connect(self, n_points: int) -> Iterator[None]:
        """Reach the cluster (start the LocalCluster) for a sweep of ``n_points`` points;
        :meth:`run` calls inside the block share the client. A sweep connects before it
        records anything in its store, so an unreachable scheduler leaves no trace there.

        Raises
        ------
        ConnectionError
            If the scheduler does not answer within ``timeout`` seconds.
        """
        client, cluster = self._client(n_points)
        self._session = (client, cluster)
        try:
            yield
        finally:
            self._session = None
            client.close()
            if cluster is not None:
                cluster.close()

    def run(self, fn: PointFunction, points: PointSource) -> Generator[PointOutcome, None, None]:
        """Yield the outcome of every point as it finishes (on the client of :meth:`connect`
        when called inside its block, else on one of its own).

        Raises
        ------
        ConnectionError
            If the scheduler does not answer within ``timeout`` seconds.
        """
        from distributed import as_completed

        session = self._session
        own = session is None
        client, cluster = self._client(len(points)) if session is None else session
        source = iter(points)
        futures = []

        def submit() -> bool:
            point = next(source, None)
            if point is None:
                return False
            future = client.submit(
                execute_point,
                fn,
                point,
                self.threads_per_worker,
                pure=False,
                key=f"mimkit-point-{point.id}",
            )
            futures.append(future)
            pending.add(future)
            return True

        try:
            slots = max(1, sum(w["nthreads"] for w in client.scheduler_info()["workers"].values()))
            pending = as_completed([])
            for _ in range(slots):
                if not submit():
                    break
            for future in pending:
                yield future.result()
                submit()
        finally:
            if futures:
                client.cancel(futures)
            if own:
                client.close()
                if cluster is not None:
                    cluster.close()


def make_backend(
    name: str,
    *,
    scheduler: Optional[str] = None,
    n_workers: Optional[int] = None,
    threads_per_worker: Optional[int] = None,
    timeout: Optional[float] = None,
) -> Union[LocalBackend, DaskBackend]:
    """Backend by name: ``'local'`` or ``'dask'`` (``timeout``: seconds to reach Dask, default
    :data:`DEFAULT_TIMEOUT_S`).

    Parameters
    ----------
    name : {'local', 'dask'}
    scheduler : str, optional
        Dask scheduler address (``tcp://HOST:8786``); none starts a local cluster.
    n_workers, threads_per_worker : int, optional
        As for :class:`LocalBackend` and :class:`DaskBackend`.
    timeout : float
        Seconds to reach the Dask scheduler.

    Returns
    -------
    LocalBackend or DaskBackend

    Raises
    ------
    ValueError
        For an unknown name, a scheduler address or a timeout given to the local backend
        (which would ignore them), or a worker, thread or timeout count below its minimum.
    """
    for value, option in ((n_workers, "--workers"), (threads_per_worker, "--threads")):
        if value is not None and value < 1:
            raise ValueError(f"{option} must be >= 1, got {value}")
    if name == "local":
        if scheduler:
            raise ValueError("--scheduler needs --backend dask")
        if timeout is not None:
            raise ValueError(
                "--timeout is how long --backend dask waits for its scheduler; the local "
                "backend has none: drop it (or add --backend dask)"
            )
        return LocalBackend(n_workers, threads_per_worker)
    if name == "dask":
        timeout = DEFAULT_TIMEOUT_S if timeout is None else timeout
        if not 0 < timeout < float("inf"):
            raise ValueError(f"--timeout must be a positive number of seconds, got {timeout:g}")
        return DaskBackend(scheduler, n_workers, threads_per_worker or 1, timeout)
    raise ValueError(f"unknown backend {name!r}; choose 'local' or 'dask'")
