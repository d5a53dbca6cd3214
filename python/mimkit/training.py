"""Layer-wise training of the two-layer network (docs/theory.md, "Phase 1" and "Phase 2").

Phase 1 trains the inner weights W on D1 by full-batch GD with weight decay through
:func:`mimkit.core.phase1_run` (a and b frozen). Phase 2 keeps only the directions
``w_j / |w_j|``, draws fresh biases and fits the outer weights on D2 by ridge regression.

**Output offset.** The network carries ``f = c + sum_j a_j sigma(...)``. Before phase 1, ``c``
is the loss's own location estimate of the (transformed) labels
(:func:`mimkit.preprocessing.loss_location`): the mean (squared), the median (absolute), the
Huber location (huber), so that ``sum_i loss'(c, y_i) = 0`` and the local
Hessian ``S = (1/n) sum_i loss'(c, y_i) x_i x_i^T`` has no multiple of I drowning the signal.
Every built-in loss depends on ``p - y`` only, so the core is simply given ``y - c``.

**Scale.** ``keep_scale='auto'`` (the default) lets the core rescale W globally after each
step while the pre-activations are below 1e-4: in that linear regime this is exactly a smaller
or larger ``eps0``, and it keeps long runs from under- or overflowing. A large ``init_scale``
switches it off by itself.
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable, Optional, Union

import numpy as np
from tqdm.auto import tqdm

from . import core
from ._diagnose import explained, scale_suspects, x_scale_suspects
from ._inputs import as_rows
from ._phase1_descent import Phase1Result
from ._progress import PROGRESS_DELAY_S, Progress, progress_callback
from ._random import RandomState, as_generator
from ._ridge import GramStats, gcv_ridge, gd_ridge, label_scale, solve_ridge
from ._scale import root_mean_square
from ._validation import (
    as_matrix,
    as_vector,
    check_count,
    check_name,
    check_positive_number,
    compute_dtype,
    real_output,
)
from .joint_training import DEFAULT_TOL, JointFit, train_joint
from .network import TwoLayerNetwork, symmetric_init
from .options import ACTIVATIONS, JOINT_METHODS, LOSSES, PHASE2_DATA
from .preprocessing import loss_location
from .stream import StreamedData, row_blocks

#: Entries of D2 per core call of phase 2 (~0.1-0.5 s each): Ctrl-C is honoured and the
#: progress bar advances between calls.
_PHASE2_BLOCK_ENTRIES = 1 << 26
#: Default budgets of ``refine`` (L-BFGS iterations, Adam epochs; one full pass over the data
#: each). On z1*z2 with n = 64 d (d = 256, 512) refinement lowers the layer-wise test error
#: (0.14) about tenfold within the first 5-10 of them; after that it gains slowly (L-BFGS,
#: d = 256: 0.012 at 30, 0.006 at 100, 0.004 at ~200, where it stops by itself) while each
#: iteration costs a pass. These budgets take most of the gain for about half the time
#: of MLPRegressor's 50 epochs at equal threads; raise ``refine_max_iter`` for the rest.
REFINE_MAX_ITER = {"lbfgs": 30, "adam": 15}
#: Adam's step size when refining. The layer-wise network is already good and sensitive (its
#: outer weights are large and cancel), so Adam's usual 1e-3, or even 1e-4, undoes it: at
#: d = 512 the validation loss is lowest after the first epoch at 1e-4, while 1e-5 keeps
#: improving (test error after 15 epochs 0.012 at d = 256 and 512, 0.019 at d = 64).
REFINE_ADAM_LEARNING_RATE = 1e-5


def default_n_steps(d: int) -> int:
    """Default phase-1 step count ``ceil(ln d / (2 ln 1.5))`` (8 at d = 512, 10 at d = 2048).

    A random start has overlap ``~ sqrt(r/d)`` with the index subspace; each power-iteration
    step multiplies the signal-to-bulk ratio by ``|lambda_signal| / bulk edge``, which is
    >= 1.5 for the library links at ``n1 / d >= 8`` with the Huber loss. Amplifying by
    ``sqrt(d)`` therefore takes ``ln d / (2 ln 1.5)`` steps; many more let neurons collapse
    onto the leading eigenvector when the signal eigenvalues differ
    (docs/theory.md, "Finite d and finite T1").
    """
    return max(1, math.ceil(math.log(max(d, 2)) / (2.0 * math.log(1.5))))


def _rms(X) -> float:
    """Root-mean-square entry of X (:func:`mimkit._scale.root_mean_square`); 1 for a
    StreamedData (its entries are N(0, 1) by construction, and measuring would cost a pass over
    the stream)."""
    if isinstance(X, StreamedData):
        return 1.0
    return root_mean_square(X)


def _data(X, y, name: str = "y"):
    """X as an array (or StreamedData) and y as float64 labels; y=None takes a stream's own."""
    X = as_rows(X)
    if y is None:
        if not isinstance(X, StreamedData):
            raise ValueError(f"{name} is None; pass labels (only a StreamedData carries its own).")
        return X, X.labels
    return X, as_vector(y, name, np.float64, X.shape[0])


@dataclass(frozen=True, eq=False)
class Phase1Output:
    """Result of :func:`run_phase1`.

    Attributes
    ----------
    W : (m, d) inner weights after phase 1 (their directions are what phase 2 uses).
    W0 : (m, d) initial weights.  b, a : (m,) frozen phase-1 biases and outer weights.
    c : float, output offset (location of the transformed labels).
    result : :class:`mimkit.core.Phase1Result` (losses, recorded weights, log scale).
    seconds : float, wall time of the whole call (validation, offset, initialisation, the
        core's step loop); ``result.step_seconds`` of it was spent inside the steps.
    """

    W: np.ndarray
    W0: np.ndarray
    b: np.ndarray
    a: np.ndarray
    c: float
    result: Phase1Result = field(repr=False)
    seconds: float


def run_phase1(
    X,
    y=None,
    *,
    n_hidden: int = 64,
    activation: str = "logcosh",
    loss: str = "huber",
    huber_delta: float = 1.0,
    label_transform: Optional[Callable[[np.ndarray], np.ndarray]] = None,
    lr: float = 1.0,
    weight_decay: float = 1.0,
    n_steps: Optional[int] = None,
    init_scale: float = 1e-6,
    keep_scale: Union[bool, str] = "auto",
    record_steps=None,
    record_basis=None,
    n_threads: Optional[int] = None,
    random_state: RandomState = None,
    progress: Progress = False,
    on_divergence: str = "raise",
    client=None,
) -> Phase1Output:
    """Phase 1: train W on (X, y) from the symmetric small initialisation.

    Parameters
    ----------
    X : (n1, d) float32/float64 array, or a :class:`~mimkit.stream.StreamedData`.
    y : (n1,) labels; None for a StreamedData's own.
    n_hidden : int, even
        Width m.
    activation : {'logcosh', 'quadratic', 'cos'}
    loss : {'huber', 'squared', 'absolute'}
        Its derivative at c is the label preprocessing ``T(y) = -loss'(c, y)``.
    huber_delta : float
        Huber threshold, in units of y: ``T(y) = clip(y - c, -delta, delta)``.
    label_transform : callable (n,) -> (n,), optional
        Applied to y once before phase 1 ("loss on T(y)"; with ``loss='squared'`` the
        preprocessing is exactly T). Phase 2 always fits the original y.
    lr, weight_decay : float
        eta1 and beta1. ``lr * weight_decay = 1`` (the default) is clean power iteration.
    n_steps : int, optional
        T1; default :func:`default_n_steps` of d. Constant (transformed) labels carry no
        signal and run 0 steps.
    init_scale : float
        eps0: the initial ``|w_j|`` is ``init_scale / rms(X)``, so each pre-activation has
        standard deviation ``init_scale`` on isotropic data.
    keep_scale : bool or 'auto'
        See the module docstring and :func:`mimkit.core.phase1_run`.
    record_steps, record_basis
        Passed to the core: store ``W_t`` (or ``W_t @ record_basis``) at these steps.
    n_threads : int, optional
    random_state : int, Generator or None
        Draws the initial directions.
    progress : bool or callable(step)
        True shows a tqdm bar once phase 1 has run for 2 s; a callable is passed to the core.
    on_divergence : {'raise', 'warn'}
        A non-finite loss or update raises FloatingPointError naming the step, or warns and
        stops at the last finite weights (see :func:`mimkit.core.phase1_run`).
    client : dask.distributed.Client, optional
        Run the steps on that cluster (X must be a StreamedData: each worker makes its own
        rows; :func:`mimkit.distributed.phase1_run_dask`). ``n_threads`` is then per task.

    Returns
    -------
    Phase1Output
    """
    start = time.perf_counter()
    X, y = _data(X, y)
    dtype = X.dtype
    n, d = X.shape
    activation = check_name(activation, "activation", ACTIVATIONS)
    loss = check_name(loss, "loss", LOSSES)
    huber_delta = check_positive_number(huber_delta, "huber_delta")
    init_scale = check_positive_number(init_scale, "init_scale")
    n_steps = default_n_steps(d) if n_steps is None else check_count(n_steps, "n_steps")
    if label_transform is not None:
        y = _apply_transform(label_transform, y)
    c = loss_location(loss, y, huber_delta)
    if np.all(y == c):
        # Every loss'(c, y_i) is 0 (constant labels): S = 0, so any step with
        # lr * weight_decay = 1 would zero W. There is nothing to learn; keep the init.
        n_steps = 0
    rng = as_generator(random_state)
    x_rms = _rms(X)
    if x_rms == 0.0:
        raise ValueError("X is all zeros: phase 1 has no direction to learn; check the data.")
    W0, b, a = symmetric_init(n_hidden, d, init_scale / x_rms, 1.0, rng, dtype)
    # Evaluated only if phase 1 breaks down (lr and weight_decay are validated by the core).
    suspects = functools.partial(
        scale_suspects,
        dtype,
        x_rms=x_rms,
        y_spread=float(np.max(np.abs(y - c))),
        lr=lr,
        weight_decay=weight_decay,
        loss=loss,
        huber_delta=huber_delta,
        init_scale=init_scale,
    )
    settings = dict(
        activation=activation,
        loss=loss,
        huber_delta=huber_delta,
        lr=lr,
        weight_decay=weight_decay,
        n_steps=n_steps,
        record_steps=record_steps,
        record_basis=record_basis,
        keep_scale=keep_scale,
        on_divergence=on_divergence,
    )
    with progress_callback(progress, n_steps) as callback, _diagnosed(suspects):
        if client is None:
            res = core.phase1_run(
                X,
                (y - c).astype(dtype),
                W0,
                b,
                a,
                n_threads=n_threads,
                progress=callback,
                check_finite=False,  # checked above
                **settings,
            )
        else:
            from .distributed import phase1_run_dask

            res = phase1_run_dask(
                client,
                X,
                (y - c).astype(dtype),
                W0,
                b,
                a,
                n_threads_per_task=n_threads,
                progress=callback,
                **settings,
            )
        seconds = time.perf_counter() - start
    if not np.all(np.linalg.norm(res.W, axis=1) > 0):
        causes = suspects()
        if causes:
            what = "some phase-1 weights are exactly zero (over- or underflow)"
            raise FloatingPointError(explained(what, causes))
    return Phase1Output(res.W, W0, b, a, c, res, seconds)


@contextlib.contextmanager
def _diagnosed(suspects: Callable[[], list]):
    """Re-raise a phase-1 divergence with the arguments that caused it, when they are known."""
    try:
        yield
    except FloatingPointError as err:
        causes = suspects()
        if not causes:
            raise
        raise FloatingPointError(explained(str(err).split(";")[0], causes)) from None


def _apply_transform(fn, y: np.ndarray) -> np.ndarray:
    if not callable(fn):
        raise TypeError(f"label_transform must be a callable on (n,) arrays, got {fn!r}.")
    t = real_output(fn(y), "label_transform", "label transform").astype(np.float64, copy=False)
    if t.shape != y.shape:
        raise ValueError(
            f"label_transform must map y of shape {y.shape} to values of the same shape, got "
            f"shape {t.shape}."
        )
    bad = int(np.count_nonzero(~np.isfinite(t)))
    if bad:
        raise ValueError(
            f"label_transform returned {bad} NaN or inf values (of {t.size}); it must map every "
            f"label to a finite number."
        )
    return t


@dataclass(frozen=True, eq=False)
class Phase2Output:
    """Result of :func:`run_phase2`: the trained network and how its outer layer was fitted.

    Attributes
    ----------
    network : TwoLayerNetwork.  ridge : float, the per-sample regulariser used.
    solver : str.  seconds : float.
    """

    network: TwoLayerNetwork
    ridge: float
    solver: str
    seconds: float


def unit_directions(W) -> np.ndarray:
    """Rows of W scaled to unit norm, shape (m, d); a zero row is an error."""
    W = as_matrix(W, "W", np.dtype(np.float64), exact_dtype=False)
    norms = np.linalg.norm(W, axis=1, keepdims=True)
    if not np.all(norms > 0):
        raise FloatingPointError(
            "some rows of W (phase-1 weights) are exactly zero or not finite, so they carry "
            "no direction: phase 1 over- or underflowed (check the scales of X, y and the "
            "phase-1 settings) or W was not trained."
        )
    return W / norms


def _hidden_statistics(
    X, y: np.ndarray, V: np.ndarray, b: np.ndarray, activation: str, n_threads: Optional[int]
) -> GramStats:
    """Phase 2's ridge statistics of the features ``sigma(X V^T + b)``, from the core in blocks
    of rows (raw sums add across blocks)."""
    dtype = X.dtype
    # Labels divided by a power of two near their largest (exact): see mimkit._ridge.
    scale = label_scale(y)
    y = y / scale if scale != 1.0 else y
    V, b, y_dtype = V.astype(dtype), b.astype(dtype), y.astype(dtype, copy=False)
    block_rows = max(1, _PHASE2_BLOCK_ENTRIES // X.shape[1])
    sums: Optional[list[np.ndarray]] = None
    blocks = row_blocks(X, block_rows)
    for start, X_block in tqdm(
        blocks,
        desc="phase 2",
        unit="block",
        total=-(-X.shape[0] // block_rows),
        delay=PROGRESS_DELAY_S,
        leave=False,
    ):
        part = core.hidden_statistics(
            X_block,
            y_dtype[start : start + X_block.shape[0]],
            V,
            b,
            activation,
            n_threads=n_threads,
            check_finite=False,
        )
        sums = list(part) if sums is None else [total + more for total, more in zip(sums, part)]
    assert sums is not None  # X has at least one row
    sum_h, gram, h_dot_y = sums
    return GramStats.from_sums(sum_h, gram, h_dot_y, y, scale)


def run_phase2(
    X,
    y,
    W,
    *,
    activation: str = "logcosh",
    ridge: Union[str, float] = "gcv",
    solver: str = "ridge",
    gd_steps: int = 1000,
    bias_scale: float = 1.0,
    n_threads: Optional[int] = None,
    random_state: RandomState = None,
) -> Phase2Output:
    """Phase 2: unit directions from W, fresh biases ``N(0, bias_scale^2)``, outer weights on D2.

    Unit directions give pre-activations ``w . x ~ N(0, 1)`` on standardised inputs, and
    N(0, 1) biases then spread the neurons' kinks over the bulk of that distribution, so
    neurons sharing a direction still give different features.

    Parameters
    ----------
    X : (n2, d) array or StreamedData.  y : (n2,), or None for a StreamedData's own labels.
    W : (m, d) phase-1 weights (any norms).
    ridge : 'gcv' or float >= 0
        Per-sample regulariser lam of ``(1/n)|y_c - H_c a|^2 + lam |a|^2``; 'gcv' picks it by
        generalised cross-validation (:func:`mimkit._ridge.gcv_ridge`).
    solver : {'ridge', 'gd'}
        Closed form, or ``gd_steps`` steps of gradient descent from ``a = 0`` on the same
        objective (few steps regularise like early stopping).
    bias_scale : float > 0.  random_state : int, Generator or None (draws the biases).
    n_threads : int, optional
        Threads of the core pass that accumulates the features' statistics (default: all).

    Returns
    -------
    Phase2Output
    """
    activation = check_name(activation, "activation", ACTIVATIONS)
    solver = check_name(solver, "solver", ("ridge", "gd"))
    gd_steps = check_count(gd_steps, "gd_steps")
    bias_scale = check_positive_number(bias_scale, "bias_scale")
    if not (isinstance(ridge, str) and ridge == "gcv"):
        ridge = check_positive_number(ridge, "ridge", allow_zero=True)
    X, y = _data(X, y)
    if X.shape[0] < 2:
        raise ValueError(
            f"phase 2 needs n_samples >= 2 to fit the outer layer, got n_samples = {X.shape[0]}."
        )
    W = as_matrix(W, "W", np.dtype(np.float64), shape=(None, X.shape[1]), exact_dtype=False)
    start = time.perf_counter()
    V = unit_directions(W)
    rng = as_generator(random_state)
    b = bias_scale * rng.standard_normal((V.shape[0],))
    stats = _hidden_statistics(X, y, V, b, activation, n_threads)
    if not (np.isfinite(stats.G).all() and np.isfinite(stats.q).all()):
        what = "phase 2's feature statistics overflow"
        causes = x_scale_suspects(X.dtype, _rms(X))
        raise FloatingPointError(explained(what, causes) if causes else what + ".")
    lam = gcv_ridge(stats) if ridge == "gcv" else float(ridge)
    a, c = solve_ridge(stats, lam) if solver == "ridge" else gd_ridge(stats, lam, gd_steps)
    network = TwoLayerNetwork(V, b, a, c, activation)
    return Phase2Output(network, float(lam), solver, time.perf_counter() - start)


def neuron_subspace(W, k: int) -> np.ndarray:
    """Top-k right singular vectors of the unit directions ``w_j / |w_j|``.

    Normalising first weighs every neuron equally whatever its phase-1 norm.

    Returns
    -------
    (k, d) array with orthonormal rows.
    """
    V = unit_directions(W)
    k = check_count(k, "k", minimum=1)
    if k > min(V.shape):
        raise ValueError(f"k must be at most min(n_hidden, n_features) = {min(V.shape)}, got {k}.")
    return np.linalg.svd(V, full_matrices=False)[2][:k]


@dataclass(frozen=True, eq=False)
class LayerwiseFit:
    """What :func:`train_layerwise` did.

    Attributes
    ----------
    network : TwoLayerNetwork, the final network (refined when ``refine`` was set).
    phase1 : Phase1Output.  phase2 : Phase2Output (``phase2.network`` is the layer-wise network).
    refinement : JointFit or None
        The joint training of all weights after phase 2 (``refine``): iterations, losses,
        stop reason, time.
    """

    network: TwoLayerNetwork
    phase1: Phase1Output
    phase2: Phase2Output
    refinement: Optional[JointFit] = None


def _check_refine(X1, X2, phase2_data, refine, refine_max_iter, refine_tol) -> None:
    """Refinement's settings, and data it can train on: arrays of one dtype."""
    check_name(refine, "refine", JOINT_METHODS)
    if refine_max_iter is not None:
        check_count(refine_max_iter, "refine_max_iter")
    check_positive_number(refine_tol, "refine_tol", allow_zero=True)
    if isinstance(X1, StreamedData) or isinstance(X2, StreamedData):
        raise TypeError(
            "refine needs X1 and X2 as arrays (joint training draws mini-batches and a "
            "held-out slice by row); pass X.rows() to materialise a StreamedData."
        )
    if phase2_data == "fresh" and X2 is not None:
        dtypes = compute_dtype(X1, "X1"), compute_dtype(X2, "X2")
        if dtypes[0] != dtypes[1]:
            raise TypeError(
                f"refine trains on X1 and X2 together, but X1 is {dtypes[0]} and X2 "
                f"{dtypes[1]}; pass both in one dtype."
            )


def _warn_unused_refine_settings(refine_max_iter, refine_tol) -> None:
    """refine_* settings given without refine would be ignored in silence: say so."""
    unused = [
        f"{name}={value!r}"
        for name, value, default in (
            ("refine_max_iter", refine_max_iter, None),
            ("refine_tol", refine_tol, DEFAULT_TOL),
        )
        if value is not default and value != default
    ]
    if unused:
        warnings.warn(
            f"{' and '.join(unused)} without refine: ignored (there is no refinement); pass "
            f"refine='lbfgs' or 'adam' to refine, or leave them at their defaults.",
            UserWarning,
            stacklevel=3,
        )


# Deliberate twin of run_phase1's and run_phase2's signatures: the one-call API takes each
# phase's arguments under the same names and passes them on.
def train_layerwise(
    X1,
    y1,
    X2=None,
    y2=None,
    *,
    n_hidden: int = 64,
    activation: str = "logcosh",
    loss: str = "huber",
    huber_delta: float = 1.0,
    label_transform=None,
    lr: float = 1.0,
    weight_decay: float = 1.0,
    n_steps: Optional[int] = None,
    init_scale: float = 1e-6,
    keep_scale: Union[bool, str] = "auto",
    record_steps=None,
    record_basis=None,
    ridge: Union[str, float] = "gcv",
    solver: str = "ridge",
    gd_steps: int = 1000,
    bias_scale: float = 1.0,
    phase2_data: str = "fresh",
    refine: Optional[str] = None,
    refine_max_iter: Optional[int] = None,
    refine_tol: float = DEFAULT_TOL,
    n_threads: Optional[int] = None,
    random_state: RandomState = None,
    progress: Progress = False,
    client=None,
) -> LayerwiseFit:
    """Phase 1 on (X1, y1), then phase 2 on (X2, y2); arguments as in :func:`run_phase1`
    and :func:`run_phase2` (X1, X2 may be StreamedData with y1, y2 None; ``client`` runs phase 1
    on a Dask cluster). One generator from ``random_state`` draws the initial directions, then
    the phase-2 biases, then refinement's held-out slice and batches.

    Beyond the paper's algorithm (the defaults reproduce it exactly):

    Parameters
    ----------
    X1, y1, n_hidden, activation, loss, huber_delta, label_transform : see :func:`run_phase1`
    lr, weight_decay, n_steps, init_scale, keep_scale, record_steps, record_basis : the same
    X2, y2, ridge, solver, gd_steps, bias_scale : see :func:`run_phase2`
    n_threads, random_state, progress, client : see :func:`run_phase1`
    phase2_data : {'fresh', 'reuse'}
        'fresh': phase 2 on its own samples (X2, y2), the paper's sample splitting. 'reuse':
        no splitting; pass X2 = y2 = None and phase 2 fits the outer layer on (X1, y1) too,
        so every sample goes to phase 1.
    refine : {None, 'lbfgs', 'adam'}
        After phase 2, train all of (W, b, a) jointly on the squared loss of y over D1 and D2
        together (:func:`mimkit.joint_training.train_joint`), starting from exactly
        the layer-wise network (its offset c kept), with early stopping on a held-out tenth.
        Needs arrays (not StreamedData).
    refine_max_iter : int, optional
        L-BFGS iterations or Adam epochs; default ``REFINE_MAX_ITER[refine]`` (30 and 15:
        most of the gain at a bounded cost, see there).
    refine_tol : float
        Relative improvement that counts (:func:`mimkit.joint_training.train_joint`).

    Returns
    -------
    LayerwiseFit
    """
    phase2_data = check_name(phase2_data, "phase2_data", PHASE2_DATA)
    if refine is not None:  # checked before the phases run, not after them
        _check_refine(X1, X2, phase2_data, refine, refine_max_iter, refine_tol)
    else:
        _warn_unused_refine_settings(refine_max_iter, refine_tol)
    if phase2_data == "reuse":
        if X2 is not None or y2 is not None:
            raise ValueError(
                "phase2_data='reuse' fits phase 2 on (X1, y1): pass X2=None and y2=None, "
                "or phase2_data='fresh' to fit it on (X2, y2)."
            )
        X2, y2 = X1, y1
    elif X2 is None:
        raise ValueError(
            "X2 is None: phase2_data='fresh' fits phase 2 on its own samples (X2, y2); pass "
            "them, or phase2_data='reuse' to fit phase 2 on (X1, y1)."
        )
    # Shape mismatches between the two data sets would otherwise be reported as X / y.
    shape = {k: getattr(Xk, "shape", np.shape(Xk)) for k, Xk in ((1, X1), (2, X2))}
    for k, yk in ((1, y1), (2, y2)):
        if (
            len(shape[k]) == 2
            and yk is not None
            and np.ndim(yk) == 1
            and np.shape(yk)[0] != shape[k][0]
        ):
            raise ValueError(
                f"y{k} has length {np.shape(yk)[0]}; expected {shape[k][0]} (the rows of X{k})."
            )
    if len(shape[1]) == 2 and len(shape[2]) == 2 and shape[1][1] != shape[2][1]:
        raise ValueError(
            f"X2 has {shape[2][1]} features but X1 has {shape[1][1]}; both "
            f"phases need the same n_features."
        )
    rng = as_generator(random_state)
    p1 = run_phase1(
        X1,
        y1,
        n_hidden=n_hidden,
        activation=activation,
        loss=loss,
        huber_delta=huber_delta,
        label_transform=label_transform,
        lr=lr,
        weight_decay=weight_decay,
        n_steps=n_steps,
        init_scale=init_scale,
        keep_scale=keep_scale,
        record_steps=record_steps,
        record_basis=record_basis,
        n_threads=n_threads,
        random_state=rng,
        progress=progress,
        client=client,
    )
    p2 = run_phase2(
        X2,
        y2,
        p1.W,
        activation=activation,
        ridge=ridge,
        solver=solver,
        gd_steps=gd_steps,
        bias_scale=bias_scale,
        n_threads=n_threads,
        random_state=rng,
    )
    if refine is None:
        return LayerwiseFit(p2.network, p1, p2)
    net = p2.network
    parts = [(X1, y1)] if phase2_data == "reuse" else [(X1, y1), (X2, y2)]
    joint = train_joint(
        tuple(X for X, _ in parts),
        tuple(_data(X, y)[1] - net.c for X, y in parts),
        net.W,
        net.b,
        net.a,
        activation=activation,
        loss="squared",
        method=refine,
        max_iter=REFINE_MAX_ITER[refine] if refine_max_iter is None else refine_max_iter,
        tol=refine_tol,
        learning_rate=REFINE_ADAM_LEARNING_RATE,
        n_threads=n_threads,
        random_state=rng,
        progress=progress is True,
    )
    refined = TwoLayerNetwork(joint.W, joint.b, joint.a, net.c, activation)
    return LayerwiseFit(refined, p1, p2, joint)
