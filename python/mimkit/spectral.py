"""Spectral methods on the local Hessian ``S = (1/n) sum_i t_i x_i x_i^T - s I``.

Theory: docs/theory.md, "Spectral methods".

``t_i`` are label weights ``T(y_i)`` from a preprocessing (a name, a callable or the optimal
one, :mod:`mimkit.preprocessing`). ``center`` fixes how the trivial identity component of
``E[T(y) x x^T] = E[T] I + U^T E[T (z z^T - I)] U`` is removed:

* ``"mean"`` (default for names and callables): ``t = T(y) - mean T(y)``, ``s = 0``: mean-zero
  weights, as in the network's phase-1 matrix (its offset ``c`` makes ``sum_i loss'(c, y_i)``
  zero; docs/theory.md, "Phase 1") and pHd's.
* ``"identity"``: ``t = T(y)``, ``s = mean T(y)``, i.e. ``(1/n) sum T(y_i) (x_i x_i^T - I)``.
  Same eigenvectors as ``"none"``; only the eigenvalues move, which matters for ranking by |lambda|.
* ``"none"`` (default for ``"optimal"``): ``t = T(y)``, ``s = 0``. The optimal ``T* = 1 - 1/(1 +
  lambda)`` is designed for the top eigenvector of this uncentred matrix, and its mean can be
  huge (``E[T*] = -inf`` for phase retrieval), so it is not centred.

Centring changes the bulk of the spectrum (``mean(T) (Sigma_hat - I)`` is not a multiple of I),
so the weak-recovery threshold depends on it; :mod:`mimkit.theory` uses the same convention.

S is applied through :func:`mimkit.core.local_hessian_matvec` (one fused pass over X per block)
or formed once by :func:`mimkit.core.local_hessian` when that is cheaper (:func:`top_eigenpairs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Union

import numpy as np
import scipy.linalg
import scipy.sparse.linalg

from . import core
from ._inputs import as_rows
from ._lanczos import lanczos_lockstep, wanted_order
from ._random import RandomState, as_generator
from ._validation import (
    as_matrix,
    as_vector,
    check_count,
    check_finite_number,
    check_n_threads,
    check_name,
    check_positive_number,
    check_record_steps,
)
from .bulk_edges import BulkEdges, leading_outliers, predict_bulk_edges
from .options import CENTERINGS, EIGEN_METHODS, EIGEN_WHICH
from .preprocessing import (
    OptimalPreprocessing,
    apply_preprocessing,
    default_center,
    optimal_preprocessing,
)
from .stream import StreamedData

#: The cost ratio of a memory-bound matvec flop to a BLAS-3 flop of the explicit path
#: (measured: one single-vector matvec costs ~1/6 of forming S at n = 2000, d = 1000), which
#: prices the Lanczos budget of method="auto" (_lanczos_budget).
_MATVEC_FLOP_COST = 4.0

#: Default relative tolerance of Lanczos (top_eigenpairs).
_LANCZOS_TOL = 1e-10


class _BudgetSpent(Exception):
    """Lanczos used the matvecs that forming S would have cost (method="auto")."""


def resolve_preprocessing(
    preprocessing, link=None, r: Optional[int] = None, random_state: RandomState = None
):
    """Resolve a name, callable or ``"optimal"`` (needs ``link``) for :func:`label_weights`."""
    if isinstance(preprocessing, str) and preprocessing == "optimal":
        if link is None:
            raise ValueError(
                "preprocessing='optimal' needs the link (link=...), since "
                "T*(y) = G(y)(I + G(y))^{-1} depends on it."
            )
        return optimal_preprocessing(link, r, random_state=random_state)
    return preprocessing


def label_weights(
    y, preprocessing="identity", *, center: Optional[str] = None
) -> tuple[np.ndarray, float]:
    """Weights ``t`` and identity shift ``s`` with ``S = X^T diag(t) X / n - s I``.

    Parameters
    ----------
    y : (n,) array of labels.
    preprocessing : str or callable
        A name of :func:`mimkit.preprocessing.make_preprocessing`, a callable ``T(y)``, or an
        :class:`~mimkit.preprocessing.OptimalPreprocessing`.
    center : {"mean", "identity", "none"} or None
        None picks :func:`default_center`.

    Returns
    -------
    t : (n,) float64 array.
    shift : float
    """
    if isinstance(preprocessing, str) and preprocessing == "optimal":
        raise ValueError(
            "resolve preprocessing='optimal' with its link first "
            "(resolve_preprocessing or optimal_preprocessing)."
        )
    center = default_center(preprocessing) if center is None else center
    check_name(center, "center", CENTERINGS)
    t = apply_preprocessing(preprocessing, y)
    if t.size == 0:
        raise ValueError("y is empty; pass at least one label.")
    if center == "mean" and t.size < 2:
        raise ValueError(
            "center='mean' needs at least 2 labels (a single label centres to 0, "
            "so S = 0); pass more samples or center='none'."
        )
    if center == "mean":
        return t - t.mean(), 0.0
    if center == "identity":
        return t, float(t.mean())
    return t, 0.0


class LocalHessian:
    """The operator ``V -> S V``, ``S = X^T diag(t) X / n - shift I`` (formed only if asked).

    Parameters
    ----------
    X : (n, d) array, float32 or float64 (converted once to C order), or a
        :class:`~mimkit.stream.StreamedData` (every matvec is then one pass over regenerated rows).
    t : (n,) weights.
    shift : float
    n_threads : int, optional
        Passed to the core.
    """

    def __init__(self, X, t, shift: float = 0.0, *, n_threads: Optional[int] = None):
        self.X = as_rows(X)
        self.t = as_vector(t, "t", self.X.dtype, self.X.shape[0])
        self.shift = check_finite_number(shift, "shift")
        check_n_threads(n_threads)
        self.n_threads: Optional[int] = n_threads

    @classmethod
    def from_labels(
        cls,
        X,
        y,
        preprocessing="identity",
        *,
        center: Optional[str] = None,
        link=None,
        r: Optional[int] = None,
        random_state: RandomState = None,
        n_threads: Optional[int] = None,
    ) -> "LocalHessian":
        """Build S from labels: ``t, shift = label_weights(y, preprocessing, center=center)``.

        ``link`` (and ``r``) are needed for ``preprocessing="optimal"``; y=None takes a
        StreamedData's own labels.
        """
        if y is None and isinstance(X, StreamedData):
            y = X.labels
        if np.ndim(X) == 2 and np.ndim(y) == 1 and np.shape(y)[0] != np.shape(X)[0]:
            raise ValueError(
                f"y has length {np.shape(y)[0]}; expected {np.shape(X)[0]} (the rows of X)."
            )
        prep = resolve_preprocessing(preprocessing, link, r, random_state)
        t, shift = label_weights(y, prep, center=center)
        return cls(X, t, shift, n_threads=n_threads)

    @property
    def shape(self) -> tuple[int, int]:
        d = self.X.shape[1]
        return d, d

    @property
    def dtype(self) -> np.dtype:
        return self.X.dtype

    def matvec(self, V) -> np.ndarray:
        """``S V`` for V of shape (d,) or (d, k), in the dtype of X."""
        V = np.asarray(V, dtype=self.dtype)
        out = core.local_hessian_matvec(
            self.X, self.t, V, n_threads=self.n_threads, check_finite=False
        )
        if self.shift:
            out -= self.shift * V
        return out

    def explicit(self) -> np.ndarray:
        """S as a dense symmetric (d, d) array (of a stream: S I, one pass, symmetrised)."""
        if isinstance(self.X, StreamedData):
            S = core.local_hessian_matvec(
                self.X,
                self.t,
                np.eye(self.X.d, dtype=self.dtype),
                n_threads=self.n_threads,
                check_finite=False,
            )
            S = 0.5 * (S + S.T)
        else:
            S = core.local_hessian(self.X, self.t, n_threads=self.n_threads, check_finite=False)
        if self.shift:
            S[np.diag_indices_from(S)] -= self.shift
        return S

    def aslinearoperator(self) -> scipy.sparse.linalg.LinearOperator:
        """S as a scipy LinearOperator (block products go through one core call)."""
        return scipy.sparse.linalg.LinearOperator(
            self.shape,
            matvec=self.matvec,
            matmat=self.matvec,
            rmatvec=self.matvec,
            dtype=self.dtype,
        )


@dataclass(frozen=True, eq=False)
class PowerIterationResult:
    """Output of :func:`power_iteration`.

    Attributes
    ----------
    V : (d, k) array, the final unit-norm (orthonormal if orthogonalised) iterates.
    rayleigh : (k,) array, ``v_j^T S v_j`` of the final iterates.
    record_steps : (s,) int array, the steps stored in ``recorded``.
    recorded : (s, d, k) array of iterates (or (s, q, k) projections ``basis^T V``), or None.
    log_growth : (k,) array, ``sum_t log ||column before normalisation||``: the log of the norm
        an unnormalised iteration would have reached (neuron-by-neuron mode only, else NaN).
    """

    V: np.ndarray
    rayleigh: np.ndarray
    record_steps: np.ndarray
    recorded: Optional[np.ndarray]
    log_growth: np.ndarray


def power_iteration(
    op: LocalHessian,
    V0,
    n_steps: int,
    *,
    orthogonalize: bool = True,
    identity_weight: float = 0.0,
    scale: Union[float, np.ndarray] = 1.0,
    record_steps=None,
    record_basis=None,
    progress: Optional[Callable[[int], None]] = None,
) -> PowerIterationResult:
    """Fixed-step (early-stopped) power iteration ``V <- identity_weight * V + S V diag(scale)``.

    With ``identity_weight = 1 - lr * weight_decay`` and ``scale = -lr * a`` on S built from
    ``loss'(c, y)`` (``scale = lr * a`` on S built from ``T(y) = -loss'(c, y)``) this is exactly
    the linearised phase-1 step of the network (docs/theory.md, "Phase 1"), neuron by neuron;
    the defaults are plain power iteration on S, which favours the largest |eigenvalues|.

    Parameters
    ----------
    op : LocalHessian
    V0 : (d, k) or (d,) array, starting vectors (e.g. the network's initial W^T).
    n_steps : int >= 0
    orthogonalize : bool
        True: orthonormalise the block (QR) after every step (subspace iteration); False:
        normalise each column separately (independent neurons, which all drift to the leading
        eigenvector).
    identity_weight : float
    scale : float or (k,) array
        Per-column multiplier of ``S V`` (the network's ``-lr * a_j``).
    record_steps : iterable of int in [0, n_steps], optional
        Steps at which to store the (normalised) iterates.
    record_basis : (d, q) array, optional
        Store ``record_basis^T V`` instead of V (e.g. the true U^T: overlaps per step).
    progress : callable(step), optional

    Returns
    -------
    PowerIterationResult
    """
    _check_operator(op)
    d = op.shape[0]
    V = np.asarray(V0)
    V = as_matrix(
        V[:, None] if V.ndim == 1 else V, "V0", op.dtype, shape=(d, None), exact_dtype=False
    )
    if not np.all(np.any(V != 0, axis=0)):
        raise ValueError("V0 has a zero column; every starting vector must be nonzero.")
    if progress is not None and not callable(progress):
        raise TypeError("progress must be a callable taking the step number, or None.")
    n_steps = check_count(n_steps, "n_steps")
    steps = check_record_steps(record_steps, n_steps)
    k = V.shape[1]
    scale_arr = (
        np.broadcast_to(np.asarray(scale, dtype=op.dtype), (k,))
        if np.ndim(scale) == 0
        else np.asarray(scale, dtype=op.dtype)
    )
    if scale_arr.shape != (k,) or not np.isfinite(scale_arr).all():
        raise ValueError(
            f"scale must be a finite number or an array of shape ({k},), "
            f"got shape {np.shape(scale)}."
        )
    check_finite_number(identity_weight, "identity_weight")
    basis = None
    if record_basis is not None:
        basis = as_matrix(record_basis, "record_basis", op.dtype, shape=(d, None))

    log_growth = np.zeros(k) if not orthogonalize else np.full(k, np.nan)
    V = _normalise(V, orthogonalize, None)
    recorded = []
    for step in range(n_steps + 1):
        if step in steps:
            recorded.append(V.copy() if basis is None else basis.T @ V)
        if step == n_steps:
            break
        W = op.matvec(V)
        W *= scale_arr
        if identity_weight:
            W += identity_weight * V
        V = _normalise(W, orthogonalize, log_growth)
        if progress is not None:
            progress(step + 1)
    rayleigh = np.einsum("ij,ij->j", V, op.matvec(V))
    rec = np.stack(recorded) if recorded else None
    return PowerIterationResult(V, rayleigh, steps, rec, log_growth)


def _normalise(V: np.ndarray, orthogonalize: bool, log_growth: Optional[np.ndarray]) -> np.ndarray:
    if orthogonalize:
        if V.shape[1] > V.shape[0]:
            raise ValueError(
                f"cannot orthogonalise {V.shape[1]} vectors in dimension {V.shape[0]}."
            )
        Q, R = np.linalg.qr(V)
        # Fix QR's sign freedom so that each column keeps the direction of its input column.
        return Q * np.where(np.diag(R) < 0, -1.0, 1.0).astype(V.dtype)
    norms = np.linalg.norm(V, axis=0)
    if not (np.isfinite(norms).all() and (norms > 0).all()):
        raise FloatingPointError(
            "power iteration produced a zero or non-finite column; "
            "S V vanished (check the weights t and scale)."
        )
    if log_growth is not None:
        log_growth += np.log(norms)
    return V / norms


def _check_operator(op) -> None:
    if not isinstance(op, LocalHessian):
        raise TypeError(
            f"op must be a LocalHessian (e.g. LocalHessian.from_labels(X, y)), "
            f"got {type(op).__name__}."
        )


def _lanczos_budget(n: int, d: int) -> int:
    """Matvecs (``4 n d`` flops each, memory-bound: counted ``_MATVEC_FLOP_COST`` times) that
    cost as much as forming S (``n d^2``, SYRK) and a dense ``eigh`` (``~4 d^3``)."""
    return int((n * d * d + 4.0 * d**3) / (_MATVEC_FLOP_COST * 4.0 * n * d))


def top_eigenpairs(
    op: LocalHessian,
    k: int,
    *,
    which: str = "abs",
    method: str = "auto",
    tol: float = _LANCZOS_TOL,
    random_state: RandomState = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The k leading eigenpairs of S, converged.

    Parameters
    ----------
    op : LocalHessian
    k : int, 1 <= k <= d
    which : {"abs", "largest", "smallest"}
        Rank by |lambda| (the network's power iteration with ``lr * weight_decay = 1``), by
        signed value descending, or ascending.
    method : {"auto", "explicit", "lanczos"}
        ``explicit``: form S (:func:`mimkit.core.local_hessian`) and use LAPACK ``eigh``
        (``n d^2 + ~4 d^3`` flops); ``lanczos``: Lanczos on the core's matvec (``4 n d`` flops
        per vector, never forming S): unrestarted with full reorthogonalisation
        (:mod:`mimkit._lanczos`), stopping at the first step where the wanted Ritz pairs have
        converged, and continued by ARPACK (implicitly restarted) from its Ritz vectors if its
        basis (twice ARPACK's) fills up first; ``auto``: Lanczos with as many matvecs as the
        explicit path would cost, then the explicit path if Lanczos has not converged by then
        (near a threshold, where the spectral gap is small) -- so at most about twice the
        cheaper of the two, and O(n d) memory whenever Lanczos converges. Lanczos needs
        ``k < d``; with ``k >= d - 1`` explicit is used.
    tol : float
        Lanczos tolerance, a backward error: each pair's residual ``||S x - theta x||`` is at
        most ``tol * ||S||``, so the eigenvalues are within ``tol * ||S||`` and the vectors
        within ``tol * ||S|| / gap`` of the exact ones (0: machine precision). The ARPACK
        continuation uses ARPACK's stricter test, residual at most ``tol * |theta|``.
    random_state : None, int or Generator
        Starting vector of Lanczos (reproducibility).

    Returns
    -------
    eigenvalues : (k,) float64 array, in the order of ``which``.
    vectors : (d, k) array, orthonormal columns; each column's largest-|entry| is positive.
    """
    _check_operator(op)
    return _top_eigenpairs_together([op], [k], which, method, tol, random_state)[0]


def _top_eigenpairs_together(
    ops: list[LocalHessian],
    ks: list[int],
    which: str,
    method: str,
    tol: float,
    random_state: RandomState,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`top_eigenpairs` of each ``ops[j]`` (``ks[j]`` pairs); operators that share X
    (the same array) take their Lanczos steps together, one pass over X per step."""
    n, d = ops[0].X.shape
    ks = [check_count(k, "k", minimum=1) for k in ks]
    tol = check_positive_number(tol, "tol", allow_zero=True)
    if max(ks) > d:
        raise ValueError(f"k = {max(ks)} eigenpairs requested but S is only {d} x {d}.")
    which = check_name(which, "which", EIGEN_WHICH)
    check_name(method, "method", EIGEN_METHODS)
    budget = _lanczos_budget(n, d) if method == "auto" else None
    # "auto" tries Lanczos where its budget covers ARPACK's first pass (ncv matvecs).
    lanczos = [
        j
        for j, k in enumerate(ks)
        if method != "explicit"
        and k < d - 1
        and (budget is None or budget >= _krylov_size(k, which, d))
    ]
    found: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    if lanczos:
        converged = _lanczos_eigenpairs(
            [ops[j] for j in lanczos], [ks[j] for j in lanczos], which, tol, random_state, budget
        )
        found = {lanczos[i]: pairs for i, pairs in converged.items()}
    out = []
    for j, (op, k) in enumerate(zip(ops, ks)):
        if j in found:
            vals, vecs = found[j]
        else:
            vals, vecs = _explicit_eigenpairs(
                op.explicit().astype(np.float64, copy=False), k, which
            )
        order = wanted_order(vals, which)[:k]
        out.append((vals[order].astype(np.float64), orient_signs(vecs[:, order])))
    return out


def _matvec_each(ops: list[LocalHessian], V: np.ndarray) -> np.ndarray:
    """Column j is ``ops[j]`` applied to ``V[:, j]``: one pass over the X they share."""
    if len(ops) == 1:
        return ops[0].matvec(V)
    if any(op.X is not ops[0].X for op in ops):
        raise ValueError("operators applied together must share X (the same array).")
    V = np.asarray(V, dtype=ops[0].dtype)
    t = np.stack([op.t for op in ops], axis=1)
    out = core.local_hessian_matvec(ops[0].X, t, V, n_threads=ops[0].n_threads, check_finite=False)
    out -= V * np.array([op.shift for op in ops], dtype=out.dtype)
    return out


def _lanczos_eigenpairs(
    ops: list[LocalHessian],
    ks: list[int],
    which: str,
    tol: float,
    random_state: RandomState,
    max_matvecs: Optional[int],
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Lanczos in lock-step (:func:`mimkit._lanczos.lanczos_lockstep`), then ARPACK from the
    Ritz vectors of any operator whose basis filled up unconverged. At most ``max_matvecs``
    matvecs per operator (None: no limit); those that spend them are left out of the result.
    """
    d = ops[0].shape[0]
    rng = as_generator(random_state)
    starts = rng.standard_normal((len(ops), d)).T
    tol = tol if tol > 0 else float(np.finfo(np.float64).eps)
    # Twice ARPACK's basis, kept whole: fewer products than ARPACK's restarts would need.
    max_steps = min(d, 2 * max(_krylov_size(k, which, d) for k in ks))
    if max_matvecs is not None:
        max_steps = min(max_steps, max_matvecs)
    results = lanczos_lockstep(
        lambda V, active: _matvec_each([ops[j] for j in active], V),
        starts,
        ks,
        which,
        tol,
        max_steps,
    )
    found = {}
    for j, (op, k, res) in enumerate(zip(ops, ks, results)):
        if res.converged:
            found[j] = (res.values, res.vectors.astype(op.dtype, copy=False))
            continue
        left = None if max_matvecs is None else max_matvecs - res.n_matvecs
        if left is not None and left <= 0:
            continue
        try:
            found[j] = _arpack_eigenpairs(op, k, which, tol, res.vectors.sum(axis=1), left)
        except _BudgetSpent:
            pass
    return found


def _arpack_eigenpairs(
    op: LocalHessian,
    k: int,
    which: str,
    tol: float,
    v0: np.ndarray,
    max_matvecs: Optional[int],
) -> tuple[np.ndarray, np.ndarray]:
    """ARPACK on the core's matvec from ``v0``; raises _BudgetSpent after ``max_matvecs``."""
    arpack_which = {"abs": "LM", "largest": "LA", "smallest": "SA"}[which]
    operator = op.aslinearoperator()
    if max_matvecs is not None:
        spent = [0]

        def matvec(v: np.ndarray) -> np.ndarray:
            spent[0] += 1
            if spent[0] > max_matvecs:
                raise _BudgetSpent
            return op.matvec(v)

        operator = scipy.sparse.linalg.LinearOperator(op.shape, matvec=matvec, dtype=op.dtype)
    return scipy.sparse.linalg.eigsh(
        operator,
        k=k,
        which=arpack_which,
        v0=v0.astype(op.dtype),
        tol=tol,
        ncv=_krylov_size(k, which, op.shape[0]),
    )


def _krylov_size(k: int, which: str, d: int) -> int:
    """ARPACK's Lanczos basis size (the unrestarted Lanczos keeps up to twice it). A signed
    end of the spectrum ("largest", "smallest") is often a small spike beside a long tail on the
    other side (the optimal T of z1 z2 at alpha = 32: spike 0.005-0.01 above a bulk edge near
    -0.6, bottom at -214 (d = 512) to -309 (d = 2048)), a gap of ~2e-3 of the spread. Restarted
    Lanczos converges slowly on such a gap (ARPACK's default 20 vectors: 130-150 matvecs at
    d = 512; 64 vectors: 929 at d = 2048), one unrestarted pass of 128 vectors finds it (129
    matvecs at d = 512 and 2048; the unrestarted Lanczos with its backward-error test stops
    at 55-89). For |lambda| the spike dominates and 20 suffice."""
    size = max(2 * k + 1, 20 if which == "abs" else 128)
    return min(size, d - 1)


def _explicit_eigenpairs(S: np.ndarray, k: int, which: str) -> tuple[np.ndarray, np.ndarray]:
    d = S.shape[0]
    if which == "largest":
        return scipy.linalg.eigh(S, subset_by_index=[d - k, d - 1])
    if which == "smallest":
        return scipy.linalg.eigh(S, subset_by_index=[0, k - 1])
    if 2 * k >= d:
        return scipy.linalg.eigh(S)
    # The k largest |lambda| are among the k smallest and the k largest eigenvalues.
    lo = scipy.linalg.eigh(S, subset_by_index=[0, k - 1])
    hi = scipy.linalg.eigh(S, subset_by_index=[d - k, d - 1])
    return np.concatenate([lo[0], hi[0]]), np.concatenate([lo[1], hi[1]], axis=1)


def orient_signs(vecs: np.ndarray) -> np.ndarray:
    """Make each column's largest-magnitude entry positive (eigenvectors have no sign)."""
    idx = np.argmax(np.abs(vecs), axis=0)
    signs = np.sign(vecs[idx, np.arange(vecs.shape[1])])
    signs[signs == 0] = 1
    return vecs * signs


def outlier_eigenpairs(
    op: LocalHessian,
    which: str = "abs",
    *,
    limit: Optional[int] = None,
    method: str = "auto",
    random_state: RandomState = None,
) -> tuple[np.ndarray, np.ndarray, BulkEdges]:
    """The eigenpairs of S outside its predicted bulk (:mod:`mimkit.bulk_edges`): the number of
    directions S sees, for Gaussian X at any ``n / d``.

    Parameters
    ----------
    op : LocalHessian
    which : {"abs", "largest", "smallest"}
        Count outliers above the upper edge, below the lower one, or both.
    limit : int, optional
        At most this many (default d).
    method, random_state : as :func:`top_eigenpairs`.

    Returns
    -------
    eigenvalues : (m,) array, in the order of ``which``.  vectors : (d, m) array.
    edges : BulkEdges, the predicted edges and margins.
    """
    check_name(which, "which", EIGEN_WHICH)
    d = op.shape[0]
    limit = d if limit is None else min(check_count(limit, "limit", minimum=1), d)
    edges = predict_bulk_edges(op.t, op.shift, d)
    sides = {"largest": ("largest",), "smallest": ("smallest",), "abs": ("largest", "smallest")}
    values, vectors = [], []
    for side in sides[which]:
        bound = edges.bounds[1] if side == "largest" else edges.bounds[0]
        k = min(8, limit)
        while True:  # ask for more eigenpairs until one falls inside the bulk
            vals, vecs = top_eigenpairs(op, k, which=side, method=method, random_state=random_state)
            m = leading_outliers(vals, bound, "upper" if side == "largest" else "lower")
            if m < k or k == limit:
                break
            k = min(2 * k, limit)
        values.append(vals[:m])
        vectors.append(vecs[:, :m])
    vals, vecs = np.concatenate(values), np.concatenate(vectors, axis=1)
    order = wanted_order(vals, which)[:limit]
    return vals[order], vecs[:, order], edges


def spectral_subspace(
    X,
    y,
    n_directions: Union[int, str],
    preprocessing="optimal",
    *,
    link=None,
    r: Optional[int] = None,
    center: Optional[str] = None,
    which: Optional[str] = None,
    method: str = "auto",
    random_state: RandomState = None,
    n_threads: Optional[int] = None,
    return_edges: bool = False,
):
    """The spectral estimate of the index subspace: the baseline ``mimkit run`` reports.

    Parameters
    ----------
    X : (n, d) array, or a StreamedData.  y : (n,) array (None: a StreamedData's labels).
    n_directions : int or "auto"
        Number of directions k to return (usually r). ``"auto"``: the eigenvalues outside the
        bulk edges predicted from the observed weights (:func:`outlier_eigenpairs`), per
        matrix (at most its group's size for a per-direction optimal preprocessing); k may
        be 0.
    preprocessing : "optimal", a name, a callable T(y), or an OptimalPreprocessing
        ``"optimal"`` needs ``link``. When the optimal weighting differs between directions
        (e.g. ``z1*z2``: one weighting per eigen-direction of G), each group of directions gets
        its own matrix ``S_{T_g}`` and contributes its top eigenvectors; the union is
        orthonormalised. Otherwise one matrix and its top-k eigenvectors.
    link, r : the link (and r) for ``"optimal"``.
    center : {"mean", "identity", "none"} or None
        See the module docstring; None: "none" for optimal, else "mean".
    which : {"abs", "largest", "smallest"} or None
        None: "largest" for optimal (T* puts every direction at the top), else "abs".
    method : {"auto", "explicit", "lanczos"}
    random_state : None, int or Generator
        Seeds the Monte Carlo of the optimal preprocessing and the Lanczos start.
    n_threads : int, optional
    return_edges : bool
        With ``"auto"``: also return the predicted bulk edges.

    Returns
    -------
    directions : (k, d) float64 array with orthonormal rows.
    eigenvalues : (k,) float64 array, the eigenvalue each direction came from.
    edges : list of BulkEdges, one per matrix (only with ``return_edges=True``).
    """
    rng = as_generator(random_state)
    auto = isinstance(n_directions, str) and n_directions == "auto"
    if return_edges and not auto:
        raise ValueError('return_edges=True needs n_directions="auto" (edges decide the count).')
    k = None if auto else check_count(n_directions, "n_directions", minimum=1, hint='Or "auto".')
    prep = resolve_preprocessing(preprocessing, link, r, rng)
    if which is None:
        which = "largest" if isinstance(prep, OptimalPreprocessing) else "abs"
    check_name(which, "which", EIGEN_WHICH)
    edges = []

    def eigenpairs(op, count):
        if not auto:
            return top_eigenpairs(op, count, which=which, method=method, random_state=rng)
        vals, vecs, bulk = outlier_eigenpairs(
            op, which, limit=count, method=method, random_state=rng
        )
        edges.append(bulk)
        return vals, vecs

    if isinstance(prep, OptimalPreprocessing) and len(prep.groups) > 1:
        ops = []
        for group in prep.groups:
            op = LocalHessian.from_labels(
                X, y, prep.with_direction(int(group[0])), center=center, n_threads=n_threads
            )
            X = op.X  # converted once; sharing it lets Lanczos step all groups in one pass
            ops.append(op)
        if auto:
            pairs = [eigenpairs(op, len(group)) for op, group in zip(ops, prep.groups)]
        else:
            assert k is not None
            counts = [min(len(group), k) for group in prep.groups]
            pairs = _top_eigenpairs_together(ops, counts, which, method, _LANCZOS_TOL, rng)
        vecs = np.concatenate([vecs for _, vecs in pairs], axis=1)[:, :k]
        vals = np.concatenate([vals for vals, _ in pairs])[:k]
        if not auto and vecs.shape[1] < k:
            raise ValueError(
                f"n_directions = {k} exceeds the link's r = {prep.basis.shape[0]} "
                f"for the per-direction optimal preprocessing."
            )
        Q, R = np.linalg.qr(vecs.astype(np.float64))
        out = (Q * np.where(np.diag(R) < 0, -1.0, 1.0)).T, vals
    else:
        op = LocalHessian.from_labels(X, y, prep, center=center, n_threads=n_threads)
        vals, vecs = eigenpairs(op, op.shape[0] if auto else k)
        out = vecs.T.astype(np.float64), vals
    return (*out, edges) if return_edges else out
