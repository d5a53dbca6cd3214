"""Gaussian multi-index models ``y = g(U x) + noise`` with ``x ~ N(0, I_d)``.

Definitions: docs/theory.md, "The model".
"""

from __future__ import annotations

from typing import Callable, Optional, Union

import numpy as np

from ._limits import check_fits, short_number
from ._native import native
from ._random import RandomState, as_generator
from ._validation import as_matrix, check_count, check_n_threads, check_name, check_positive_number
from .links import Link, get_link
from .options import SAMPLE_GENERATORS
from .stream import StreamedData

LinkLike = Union[str, Link, Callable[[np.ndarray], np.ndarray]]

#: Rows generated per chunk: the only temporaries are (chunk, r) index values and (chunk,)
#: labels, so sampling never holds more than its output.
_CHUNK_ROWS = 8192


def random_subspace(r: int, d: int, random_state: RandomState = None) -> np.ndarray:
    """Uniformly random r-dimensional subspace of R^d (Haar measure).

    Returns
    -------
    U : (r, d) array with orthonormal rows.
    """
    rng = as_generator(random_state)
    q, rr = np.linalg.qr(rng.standard_normal((d, r)))
    # Fixing the signs of R's diagonal makes Q exactly Haar-distributed.
    return (q * np.sign(np.diag(rr))).T.copy()


class MultiIndexModel:
    """The model ``y = g(U x) + noise * N(0, 1)``, ``x ~ N(0, I_d)``.

    Parameters
    ----------
    d : int
        Input dimension.
    link : str, Link or callable
        See :func:`mimkit.links.get_link`.
    r : int, optional
        Number of index directions; needed only for a callable link (or to size ``he2_sum``,
        ``norm2``, ``tanh_committee``).
    noise : float
        Standard deviation of the additive Gaussian label noise.
    U : (r, d) array with orthonormal rows, optional
        The index directions; a uniformly random subspace by default.
    random_state : int, Generator or None
        Seeds the random U and the stream :meth:`sample` draws from when it gets no seed.

    Attributes
    ----------
    U : (r, d) array.  r : int.  d : int.  link : Link.  noise : float.
    """

    def __init__(
        self,
        d: int,
        link: LinkLike,
        r: Optional[int] = None,
        noise: float = 0.0,
        U: Optional[np.ndarray] = None,
        random_state: RandomState = None,
    ):
        self.d = check_count(d, "d", minimum=1)
        if U is not None and r is None and not isinstance(link, (str, Link)) and np.ndim(U) == 2:
            r = np.shape(U)[0]
        self.link = get_link(link, r)
        self.r = self.link.r
        if self.d < self.r:
            raise ValueError(
                f"d = {self.d} is smaller than the link's r = {self.r}; the r index "
                f"directions need d >= r."
            )
        self.noise = check_positive_number(noise, "noise", allow_zero=True)
        rng = as_generator(random_state)
        self._rng = rng
        self.U = random_subspace(self.r, self.d, rng) if U is None else self._check_U(U)

    def _check_U(self, U) -> np.ndarray:
        if np.shape(U) != (self.r, self.d):
            raise ValueError(f"U must have shape (r, d) = ({self.r}, {self.d}), got {np.shape(U)}.")
        U = as_matrix(U, "U", np.dtype(np.float64), exact_dtype=False).copy()
        if not np.allclose(U @ U.T, np.eye(self.r), atol=1e-8):
            raise ValueError("U must have orthonormal rows; pass np.linalg.qr(U.T)[0].T.")
        return U

    def __repr__(self) -> str:
        return (
            f"MultiIndexModel(d={self.d}, link={self.link.name!r}, r={self.r}, noise={self.noise})"
        )

    def sample(
        self,
        n: int,
        dtype=np.float64,
        random_state: RandomState = None,
        *,
        generator: str = "philox",
        n_threads: Optional[int] = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` samples.

        Parameters
        ----------
        n : int
        dtype : float32 or float64
        random_state : int, Generator or None
            Draws the data's seed; None draws from the model's own stream (successive calls
            give fresh data).
        generator : {"philox", "numpy"}
            ``"philox"`` (default): the core's counter-based generator, multithreaded; X is
            exactly the rows of ``self.stream(n, dtype, random_state).rows()`` and the label
            noise is that stream's, so the same seed gives the same data on any thread count
            (bitwise, on one core variant: ``mimkit.show_config()``). ``"numpy"``: numpy's
            PCG64 ``standard_normal``, one thread -- the stream of mimkit 0.x before the core
            generator, kept to reproduce results drawn with it.
        n_threads : int, optional
            Threads of the core generator (default: all OpenMP threads); the data do not
            depend on it.

        Returns
        -------
        X : (n, d) array of dtype.  y : (n,) array of dtype.
        """
        n = check_count(n, "n", minimum=1)
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            pass
        if dtype not in (np.float32, np.float64):
            raise TypeError(f"dtype must be float32 or float64, got {dtype!r}.")
        generator = check_name(generator, "generator", SAMPLE_GENERATORS)
        check_n_threads(n_threads)
        check_fits(
            n * (self.d + 1) * dtype.itemsize,
            f"n = {short_number(n)} samples of d = {self.d} ({dtype.name})",
            "draw fewer, or use MultiIndexModel.stream (rows never stored).",
        )
        rng = self._rng if random_state is None else as_generator(random_state)
        if generator == "numpy":
            return self._sample_numpy(n, dtype, rng)
        data = StreamedData(self, n, _stream_seed(rng), dtype)
        X = data.rows(n_threads=n_threads)
        xi = native.gaussian_noise(data.row_address()) if self.noise else np.zeros(n)
        return X, self._labels(X, lambda start, stop: self.noise * xi[start:stop])

    def _sample_numpy(
        self, n: int, dtype: np.dtype, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        # Separate streams for X and noise so that chunking cannot change the draws.
        rng_x, rng_noise = (np.random.default_rng(s) for s in rng.integers(0, 2**63, size=2))
        X = np.empty((n, self.d), dtype=dtype)
        for start in range(0, n, _CHUNK_ROWS):
            rng_x.standard_normal(out=X[start : start + _CHUNK_ROWS], dtype=dtype)
        return X, self._labels(
            X, lambda start, stop: self.noise * rng_noise.standard_normal(stop - start)
        )

    def _labels(self, X: np.ndarray, noise: Callable[[int, int], np.ndarray]) -> np.ndarray:
        """``y = g(X U^T) + noise(start, stop)`` (the noise of rows [start, stop), called only
        when the model has noise), in chunks of rows so that temporaries stay small."""
        n = X.shape[0]
        y = np.empty(n, dtype=X.dtype)
        U = self.U.astype(X.dtype)
        for start in range(0, n, _CHUNK_ROWS):
            stop = min(start + _CHUNK_ROWS, n)
            z = (X[start:stop] @ U.T).astype(np.float64, copy=False)
            y_chunk = self.link(z)
            if not np.isfinite(y_chunk).all():
                raise ValueError(
                    f"link {self.link.name!r} produced NaN or inf labels; a link "
                    f"must be finite on Gaussian inputs."
                )
            if self.noise:
                y_chunk = y_chunk + noise(start, stop)
            y[start:stop] = y_chunk
        return y

    def stream(self, n: int, dtype=np.float32, random_state: RandomState = None) -> "StreamedData":
        """``n`` samples that are never stored: rows regenerated on demand (:mod:`mimkit.stream`).

        Parameters
        ----------
        n : int
        dtype : float32 (default: half the arithmetic of float64) or float64
        random_state : int, Generator or None
            Draws the data set's 63-bit seed; None draws from the model's own stream.

        Returns
        -------
        StreamedData, shape (n, d); its labels are computed on first use.
        """
        n = check_count(n, "n", minimum=1)
        if n >= 2**63:
            raise ValueError(f"n must be below 2**63 (rows are addressed by int64), got {n}.")
        rng = self._rng if random_state is None else as_generator(random_state)
        return StreamedData(self, n, _stream_seed(rng), dtype)


def _stream_seed(rng: np.random.Generator) -> int:
    """A data set's 63-bit key for the core generator (:meth:`MultiIndexModel.stream`)."""
    return int(rng.integers(0, 2**63))


def make_multi_index(
    n_samples: int,
    n_features: int,
    link: LinkLike,
    noise: float = 0.0,
    random_state: RandomState = None,
    return_subspace: bool = False,
    *,
    r: Optional[int] = None,
):
    """Sample a Gaussian multi-index regression problem (scikit-learn ``make_*`` style).

    Parameters
    ----------
    n_samples : int.  n_features : int (d).
    link : str, Link or callable.  noise : float, label noise sd.
    random_state : int, Generator or None
    return_subspace : bool
        Also return the index directions U.
    r : int, optional
        Needed for a callable link.

    Returns
    -------
    X : (n_samples, n_features).  y : (n_samples,).  U : (r, n_features), if return_subspace.
    """
    check_count(n_samples, "n_samples", minimum=1)
    check_count(n_features, "n_features", minimum=1)
    rng = as_generator(random_state)
    model = MultiIndexModel(n_features, link, r=r, noise=noise, random_state=rng)
    X, y = model.sample(n_samples)
    return (X, y, model.U) if return_subspace else (X, y)
