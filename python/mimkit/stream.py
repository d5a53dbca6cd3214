"""Streamed data sets: samples of a multi-index model that are never stored.

Row ``i`` of a streamed X is made by the C++ core from ``(seed, i)`` alone, with a counter-based
generator (Philox4x32-10) and exact inversion of the normal CDF (Wichura's AS 241): every pass
over the data set sees bit-identical rows, and any chunk of rows can be made on its own, by any
thread or machine. Phase 1, the local-Hessian operator and phase 2 read such a data set chunk by
chunk, so memory stays O(m d + chunk) whatever n and d are -- only the labels, O(n), are kept.

Labels ``y = g(z) + noise * xi`` with ``z = U x``: for a library link the core makes them in one
pass (rows, z, g and the noise); for a user's callable the core computes ``z`` chunk by chunk
(the expensive part, d numbers per row) and the callable runs in Python on each block of ``z``
(r numbers per row). The noise ``xi`` comes from the same generator (its own counter stream),
so labels are reproducible too.

Rows are bitwise identical on every machine running the same ISA variant of the core
(``mimkit.show_config()``); across variants fused multiply-adds may move the last bit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator, Optional, Union

import numpy as np
from tqdm.auto import tqdm

from ._native import native
from ._progress import PROGRESS_DELAY_S
from ._validation import check_count, check_n_threads

if TYPE_CHECKING:
    from ._core_base import RowAddress

#: Rows per block of the label pass.
_BLOCK_ROWS = 16384


class StreamedData:
    """``n`` samples ``(x_i, y_i)`` of a :class:`~mimkit.data.MultiIndexModel`, regenerated on
    demand. Make one with :meth:`MultiIndexModel.stream <mimkit.data.MultiIndexModel.stream>`.

    Accepted as ``X`` by :func:`mimkit.core.phase1_run`, :func:`mimkit.core.phase1_gradient`,
    :func:`mimkit.core.forward`, :func:`mimkit.core.local_hessian_matvec`, the training
    functions and :class:`~mimkit.LayerwiseRegressor` (with ``y=None``: the stream's labels).

    Parameters
    ----------
    model : MultiIndexModel
        The model whose samples these are.
    n : int
        Number of samples (>= 1).
    seed : int
        The data set's key: rows are a function of ``(seed, row index)`` alone.
    dtype : {numpy.float32, numpy.float64}
        dtype of the rows.
    row_begin : int
        First row of the underlying infinite stream.

    Attributes
    ----------
    model : MultiIndexModel.  n : int.  d : int.  seed : int (the data set's key).
    dtype : numpy dtype (float32 or float64) of the rows.  row_begin : int, the first row of
    the underlying infinite stream (a :meth:`subset` shifts it).  shape : (n, d).
    """

    def __init__(self, model, n: int, seed: int, dtype=np.float32, row_begin: int = 0):
        self.model = model
        self.n = check_count(n, "n", minimum=1)
        self.d = model.d
        self.seed = int(seed)
        self.dtype = np.dtype(dtype)
        self.row_begin = int(row_begin)
        if self.dtype not in (np.float32, np.float64):
            raise TypeError(f"dtype must be float32 or float64, got {self.dtype}.")
        if not 0 <= self.seed < 2**64:
            raise ValueError(f"seed must be in [0, 2**64), got {seed!r}.")
        if not 0 <= self.row_begin <= 2**63 - self.n:
            raise ValueError(f"row_begin must be in [0, 2**63 - n], got {row_begin!r}.")
        self._labels: Optional[np.ndarray] = None

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n, self.d)

    @property
    def ndim(self) -> int:
        return 2

    @property
    def nbytes(self) -> int:
        """What X would occupy in memory (it never does)."""
        return self.n * self.d * self.dtype.itemsize

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        return (
            f"StreamedData(n={self.n}, d={self.d}, link={self.model.link.name!r}, "
            f"dtype={self.dtype.name}, seed={self.seed}, row_begin={self.row_begin})"
        )

    def row_address(self, start: int = 0, stop: Optional[int] = None) -> RowAddress:
        """The core's ``RowAddress`` of rows [start, stop) of this data set: all a process
        needs to make them (a few numbers; picklable, so it can be sent to other machines)."""
        stop = self.n if stop is None else stop
        return native.RowAddress(self.seed, self.row_begin + start, stop - start, self.d)

    def subset(self, start: int, stop: int) -> "StreamedData":
        """Rows [start, stop) as a data set of their own (labels shared, not recomputed)."""
        if not 0 <= start < stop <= self.n:
            raise ValueError(f"need 0 <= start < stop <= n = {self.n}, got [{start}, {stop}).")
        part = StreamedData(self.model, stop - start, self.seed, self.dtype, self.row_begin + start)
        if self._labels is not None:
            part._labels = self._labels[start:stop]
        return part

    def rows(
        self, start: int = 0, stop: Optional[int] = None, *, n_threads: Optional[int] = None
    ) -> np.ndarray:
        """Rows [start, stop) of X as an array, shape (stop - start, d)."""
        stop = self.n if stop is None else stop
        if not 0 <= start < stop <= self.n:
            raise ValueError(f"need 0 <= start < stop <= n = {self.n}, got [{start}, {stop}).")
        out = np.empty((stop - start, self.d), dtype=self.dtype)
        native.gaussian_rows(self.row_address(start, stop), out, check_n_threads(n_threads))
        return out

    @property
    def labels(self) -> np.ndarray:
        """y, shape (n,), float64: computed by one pass over the rows on first use, then kept."""
        if self._labels is None:
            self._labels = self._compute_labels()
        return self._labels

    def _compute_labels(self) -> np.ndarray:
        U = self.model.U.astype(self.dtype)
        y = np.empty(self.n)
        for start, stop in self._ranges(_BLOCK_ROWS, "labels"):
            address = self.row_address(start, stop)
            if self.model.link.in_core:  # rows, z = U x, g(z) and noise in one core pass
                y[start:stop] = native.stream_labels(
                    address, U, self.model.link.name, float(self.model.noise), 0, 0
                )
                continue
            z = native.project_rows(address, U, 0, 0).astype(np.float64, copy=False)
            block = np.asarray(self.model.link(z), dtype=np.float64)
            if not np.isfinite(block).all():
                raise ValueError(
                    f"link {self.model.link.name!r} produced NaN or inf labels; a "
                    f"link must be finite on Gaussian inputs."
                )
            if self.model.noise:
                block = block + self.model.noise * native.gaussian_noise(address)
            y[start:stop] = block
        return y

    def chunks(
        self, chunk_rows: int = 1024, *, n_threads: Optional[int] = None
    ) -> Iterator[tuple[int, np.ndarray]]:
        """``(start, X[start:start + chunk_rows])`` over the data set, one chunk in memory (a
        progress bar appears after a few seconds)."""
        for start, stop in self._ranges(chunk_rows, "rows"):
            yield start, self.rows(start, stop, n_threads=n_threads)

    def _ranges(self, rows: int, what: str) -> Iterator[tuple[int, int]]:
        """``(start, stop)`` over the data set in steps of ``rows``, with a progress bar that
        appears only when the pass takes more than a few seconds."""
        steps = tqdm(
            range(0, self.n, rows), desc=what, unit="block", delay=PROGRESS_DELAY_S, leave=False
        )
        for start in steps:
            yield start, min(start + rows, self.n)


def row_blocks(X, block_rows: int) -> Iterator[tuple[int, Union[np.ndarray, StreamedData]]]:
    """``(start, X[start:start + block_rows])`` of an array (views) or a StreamedData (subsets,
    no rows made): for splitting a long core pass into calls, between which Ctrl-C is honoured
    and progress reported."""
    n = X.shape[0]
    for start in range(0, n, block_rows):
        stop = min(start + block_rows, n)
        yield start, X.subset(start, stop) if isinstance(X, StreamedData) else X[start:stop]


def native_rows(X):
    """What the core reads rows from: a validated array as is, a StreamedData's address."""
    return X.row_address() if isinstance(X, StreamedData) else X
