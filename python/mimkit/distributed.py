"""Phase 1 on a Dask cluster, for streamed data sets (needs ``pip install mimkit[dask]``).

A :class:`~mimkit.stream.StreamedData` is an address, not an array: row ``i`` is made from
``(seed, i)`` alone, on any machine. So a cluster can run phase 1 on a data set far larger than
any one machine's memory while moving almost nothing: the rows are split into contiguous parts,
each worker *makes its own rows* and returns the mean gradient of its part, and the client
combines the parts and takes the step. Per step only ``m x d`` arrays travel (W out, one
gradient per part back); the labels, the only O(n) data, are sent to the workers once.

The result has the semantics of :func:`mimkit.core.phase1_run` on the same stream (validation,
``keep_scale`` and its ``'auto'`` rule, ``log_scale``, divergence, recording, progress), and
agrees with it to rounding: the parts are summed in a fixed order weighted by their row counts,
so a run is deterministic (independent of which worker finishes first) for fixed ``n_parts``
and threads per task, and changing ``n_parts`` moves only the last bits of the sums.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence, Union

import numpy as np

from ._inputs import Phase1Inputs
from ._phase1_descent import Phase1Result, Phase1RunSettings, phase1_descent
from ._validation import check_count, check_n_threads
from .stream import StreamedData

if TYPE_CHECKING:  # dask.distributed is optional: imported only when a run starts
    from distributed import Client

    from ._core_base import RowAddress


def split_rows(n: int, n_parts: int) -> list[tuple[int, int]]:
    """``n_parts`` contiguous, non-empty ranges ``[start, stop)`` covering ``range(n)``, sizes
    differing by at most one (``1 <= n_parts <= n``)."""
    bounds = [k * n // n_parts for k in range(n_parts + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


def part_gradient(
    address: RowAddress,
    y: np.ndarray,
    W: np.ndarray,
    b: np.ndarray,
    a: np.ndarray,
    activation: str,
    loss: str,
    huber_delta: float,
    n_threads: int,
) -> tuple[np.ndarray, float, float]:
    """The task run on a worker: make the part's rows in the core and take one gradient pass.

    Parameters
    ----------
    address : RowAddress, the part's rows (:meth:`StreamedData.row_address
        <mimkit.stream.StreamedData.row_address>`; the dtype is y's and W's).
    y : (n_rows,) its labels.  W : (m, d).  b, a : (m,).
    n_threads : OpenMP threads of the pass (0: the worker's default).

    Returns
    -------
    grad : (m, d), the mean gradient over the part's rows.  mean_loss : float.
    max_abs_z : float, the part's largest ``|x_i . w_j + b_j|``.
    """
    from ._native import native  # the worker imports the core itself

    grad, mean_loss, max_abs_z = native.phase1_gradient(
        address, y, W, b, a, activation, loss, huber_delta, n_threads, 0
    )
    return grad, float(mean_loss), float(max_abs_z)


def _check_client(client: Any) -> None:
    """A connected ``distributed.Client``, or a TypeError / ValueError saying what to pass."""
    if not callable(getattr(client, "submit", None)):
        raise TypeError(f"client must be a dask.distributed Client, got {client!r}.")
    status = getattr(client, "status", "running")  # a stand-in without one is trusted
    if status != "running":
        raise ValueError(
            f"client is not connected (status {status!r}): it was closed or never reached "
            f"its scheduler; pass a connected Client (Client(address), used inside its "
            f"`with` block)."
        )


def _require_distributed() -> None:
    try:
        import distributed  # noqa: F401 -- only its presence is checked here
    except ImportError as exc:
        raise ImportError(
            "phase1_run_dask needs dask.distributed: pip install 'mimkit[dask]'"
        ) from exc


class _DaskGradient:
    """The gradient oracle of :func:`mimkit._phase1_descent.phase1_descent`, computed on a cluster.

    Scatters each part's labels once (they stay on the workers until :meth:`close`); each call
    sends W once per worker, runs one task per part and combines the parts on the client.
    """

    def __init__(
        self,
        client: "Client",
        X: StreamedData,
        args: Phase1Inputs,
        parts: Sequence[tuple[int, int]],
        n_threads: int,
    ):
        self.client = client
        self.args = args
        self.n = X.n
        self.n_threads = n_threads
        self.parts = [X.row_address(start, stop) for start, stop in parts]
        self.key = f"mimkit-phase1-{uuid.uuid4().hex[:12]}"
        self.step = 0
        # hash=False: no O(n) hashing on the client, and two runs never share label keys.
        self.labels = client.scatter([args.y[start:stop] for start, stop in parts], hash=False)

    def task_args(self, k: int, W_ref: Any) -> tuple:
        """The arguments of part ``k``'s task: its address, its labels (a future), W (a
        future or the (m, d) array) and the frozen (m,) vectors -- nothing O(n)."""
        a = self.args
        return (
            self.parts[k],
            self.labels[k],
            W_ref,
            a.b,
            a.a,
            a.activation,
            a.loss,
            a.huber_delta,
            self.n_threads,
        )

    def __call__(self, W: np.ndarray) -> tuple[np.ndarray, float, float]:
        client = self.client
        # One copy of W per worker (broadcast), not one per task through the scheduler.
        W_ref = client.scatter(W, broadcast=True, hash=False)
        futures = [
            client.submit(
                part_gradient, *self.task_args(k, W_ref), key=f"{self.key}-step{self.step}-part{k}"
            )
            for k in range(len(self.parts))
        ]
        try:
            results = client.gather(futures)
        except BaseException:  # Ctrl-C or a failed task: nothing of this step keeps running
            client.cancel(futures + [W_ref])
            raise
        self.step += 1
        # Fixed order, float64 sums: the step does not depend on which part finished first.
        grad = np.zeros(W.shape)
        mean_loss = 0.0
        max_abs_z = 0.0
        for part, (part_grad, part_loss, part_max) in zip(self.parts, results):
            weight = part.n_rows / self.n
            grad += weight * part_grad
            mean_loss += weight * part_loss
            max_abs_z = max(max_abs_z, part_max)
        return grad.astype(W.dtype, copy=False), mean_loss, max_abs_z

    def close(self) -> None:
        """Release the labels held by the workers."""
        self.client.cancel(self.labels)


# Deliberate twin of mimkit.core.phase1_run (a drop-in for it on a cluster): same parameters,
# validated by the same Phase1Inputs / Phase1RunSettings, run by the shared phase1_descent loop.
def phase1_run_dask(
    client: "Client",
    X: StreamedData,
    y,
    W0,
    b,
    a,
    *,
    activation: str,
    loss: str,
    huber_delta: float = 1.0,
    lr: float,
    weight_decay: float,
    n_steps: int,
    record_steps=None,
    record_basis=None,
    keep_scale: Union[bool, str] = False,
    n_parts: Optional[int] = None,
    n_threads_per_task: Optional[int] = None,
    progress: Optional[Callable[[int], None]] = None,
    on_divergence: str = "raise",
) -> Phase1Result:
    """:func:`mimkit.core.phase1_run` on a Dask cluster: full-batch GD on W,
    ``W <- W - lr * (grad_W L + weight_decay * W)``, ``n_steps`` times, over a streamed data
    set whose rows each worker makes itself.

    Parameters
    ----------
    client : distributed.Client
        Connected to the cluster. Workers must be able to import mimkit (the same ISA variant
        of the core on every worker gives bit-identical rows; see :mod:`mimkit.stream`).
    X : StreamedData, shape (n, d)
        Only streamed data sets: the workers regenerate their rows from its seed.
    y : (n,) labels (e.g. ``X.labels`` minus the output offset). Cast to X's dtype and sent to
        the workers once, one contiguous slice per part.
    W0 : (m, d) initial weights (not modified), in X's dtype.  b, a : (m,) frozen.
    activation, loss, huber_delta, lr, weight_decay, n_steps, record_steps, record_basis,
    keep_scale, progress, on_divergence
        As in :func:`mimkit.core.phase1_run`. ``progress(step)`` runs on the client after
        each step.
    n_parts : int, optional
        Number of contiguous row ranges, one task each per step; default twice the number of
        workers (so a slow worker holds up a step by half a share). Capped at n.
    n_threads_per_task : int, optional
        OpenMP threads of each task's gradient pass. Default: the worker's own default, which
        under a Dask nanny is ``OMP_NUM_THREADS=1``; with one Dask thread per worker process,
        pass that process's share of the cores.

    Returns
    -------
    Phase1Result
        As from :func:`mimkit.core.phase1_run`; ``step_seconds`` includes the network time of
        each step.

    Raises
    ------
    TypeError
        If X is an array (use :func:`mimkit.core.phase1_run` for data in memory), or client
        is not a dask.distributed Client.
    ImportError
        If dask.distributed is not installed.
    ValueError
        For invalid arguments (as the core), a client that is closed, or a cluster without
        workers and no ``n_parts``.
    FloatingPointError
        If the loss or the weights become NaN/inf (``on_divergence='raise'``); the message
        names the step and the loss.
    KeyboardInterrupt
        On Ctrl-C; the step's tasks are cancelled.

    Notes
    -----
    Per step the client sends W (m x d) to each worker and receives one m x d gradient per
    part: the traffic is independent of n. The labels are scattered once and released at the
    end; a worker lost mid-run loses its labels and the run fails (rerun it).
    """
    if not isinstance(X, StreamedData):
        raise TypeError(
            "phase1_run_dask takes X as a mimkit.stream.StreamedData (made with "
            "MultiIndexModel.stream), whose rows the workers make themselves; "
            "distributing an in-memory array would ship it over the network. For "
            "data in memory use mimkit.core.phase1_run."
        )
    _require_distributed()
    _check_client(client)
    threads = check_n_threads(n_threads_per_task)
    args = Phase1Inputs(X, y, W0, b, a, activation, loss, huber_delta, allow_stream=True)
    run = Phase1RunSettings(
        args,
        lr,
        weight_decay,
        n_steps,
        record_steps,
        record_basis,
        keep_scale,
        progress,
        on_divergence,
    )
    if n_parts is None:
        workers = len(client.nthreads())
        if workers == 0:
            raise ValueError(
                "the Dask cluster has no workers; start some (or call "
                "client.wait_for_workers) or pass n_parts."
            )
        n_parts = 2 * workers
    n_parts = min(check_count(n_parts, "n_parts", minimum=1), X.n)
    gradient = _DaskGradient(client, X, args, split_rows(X.n, n_parts), threads)
    try:
        return phase1_descent(gradient, args.W, run, progress)
    finally:
        gradient.close()
