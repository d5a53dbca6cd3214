"""Joint (end-to-end) training of all of (W, b, a) of the two-layer network on the full loss.

The paper's network is trained layer by layer; this module trains the whole network
``p(x) = sum_j a_j sigma(w_j . x + b_j)`` at once, as standard practice does: full-batch
L-BFGS or Adam on mini-batches, with early stopping on a held-out slice of the samples and the
best-validation weights returned. :func:`mimkit.training.train_layerwise` uses it to refine the
layer-wise network (``refine``); the gradient is the core's fused pass
:func:`mimkit.core.full_gradient`, so no ``n x m`` array is ever built.

The network has no output offset here: pass labels centred by the offset you use (the
layer-wise network's ``c``), i.e. ``y - c``.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
from threadpoolctl import threadpool_limits

from . import core
from ._inputs import as_rows
from ._progress import progress_callback
from ._random import RandomState, as_generator
from ._validation import (
    as_matrix,
    as_vector,
    check_count,
    check_n_threads,
    check_name,
    check_positive_number,
)
from .options import ACTIVATIONS, JOINT_METHODS, LOSSES, ON_DIVERGENCE
from .stream import StreamedData

#: Default iteration budgets: caps for a fit that keeps improving slowly, not its usual end.
#: Adam: 200 epochs, MLPRegressor's default, with the same early stopping (10 evaluations).
#: L-BFGS: from the layer-wise network on z1*z2 (n = 64 d, 64 neurons) it stops by itself
#: ('converged') after 200-270 iterations at d = 256-512; 500 leaves room for harder starts.
DEFAULT_MAX_ITER = {"lbfgs": 500, "adam": 200}
#: Relative improvement of the validation loss that counts as progress (and L-BFGS's own
#: relative-decrease stop). Small: early stopping, not this, should end a fit.
DEFAULT_TOL = 1e-5

#: ``callback(iteration, W, b, a)`` at every evaluation (iteration 0 is the start).
Callback = Callable[[int, np.ndarray, np.ndarray, np.ndarray], None]


@dataclass(frozen=True, eq=False)
class JointFit:
    """Result of :func:`train_joint`.

    Attributes
    ----------
    W : (m, d), b : (m,), a : (m,) float64
        The weights with the lowest validation loss seen (the last ones without a validation
        slice); the start itself when no iteration improved on it.
    n_iter : int
        Iterations done (L-BFGS iterations or Adam epochs).
    best_iter : int
        The iteration ``W, b, a`` come from (0: the start).
    train_loss : (n_iter + 1,) float64
        Training objective (mean loss plus the l2 term) per evaluation, index 0 at the start.
        L-BFGS: at the iterate; Adam: the mean over the epoch's mini-batches, each before its
        step.
    validation_loss : (n_iter + 1,) float64
        Mean loss on the held-out slice per evaluation; empty when ``validation_fraction=0``.
    stop_reason : {'converged', 'no_improvement', 'max_iter', 'interrupted', 'diverged'}
        'converged': the optimiser's own test (L-BFGS's, or for Adam the training loss
        improving by less than ``tol`` for ``n_iter_no_change`` epochs); 'no_improvement':
        early stopping; 'diverged': a non-finite loss with ``on_divergence='warn'``.
    seconds : float
        Wall time of the fit, callbacks excluded.
    n_train, n_validation : int
        Samples trained on and held out.
    """

    W: np.ndarray
    b: np.ndarray
    a: np.ndarray
    n_iter: int
    best_iter: int
    train_loss: np.ndarray = field(repr=False)
    validation_loss: np.ndarray = field(repr=False)
    stop_reason: str
    seconds: float
    n_train: int
    n_validation: int


class _Diverged(Exception):
    """A non-finite loss or gradient with ``on_divergence='warn'``: leave the optimiser."""


@dataclass(frozen=True)
class _Settings:
    """Validated settings of a fit."""

    activation: str
    loss: str
    huber_delta: float
    method: str
    max_iter: int
    tol: float
    n_iter_no_change: int
    batch_size: int
    learning_rate: float
    l2: float
    n_threads: Optional[int]
    on_divergence: str
    validation_fraction: float


def check_settings(
    *,
    activation,
    loss,
    huber_delta,
    method,
    max_iter,
    tol,
    validation_fraction,
    n_iter_no_change,
    batch_size,
    learning_rate,
    l2,
    n_threads,
    on_divergence="raise",
    method_name: str = "method",
) -> _Settings:
    """:func:`train_joint`'s settings checked (each error names its argument; the method's
    argument as ``method_name``), ``max_iter=None`` resolved to the method's default."""
    method = check_name(method, method_name, JOINT_METHODS)
    settings = _Settings(
        activation=check_name(activation, "activation", ACTIVATIONS),
        loss=check_name(loss, "loss", LOSSES),
        huber_delta=check_positive_number(huber_delta, "huber_delta"),
        method=method,
        max_iter=check_count(
            DEFAULT_MAX_ITER[method] if max_iter is None else max_iter,
            "max_iter",
            hint="It counts L-BFGS iterations or Adam epochs; None picks the default.",
        ),
        tol=check_positive_number(tol, "tol", allow_zero=True),
        n_iter_no_change=check_count(n_iter_no_change, "n_iter_no_change", minimum=1),
        batch_size=check_count(batch_size, "batch_size", minimum=1),
        learning_rate=check_positive_number(learning_rate, "learning_rate"),
        l2=check_positive_number(l2, "l2", allow_zero=True),
        n_threads=None if check_n_threads(n_threads) == 0 else n_threads,
        on_divergence=check_name(on_divergence, "on_divergence", ON_DIVERGENCE),
        validation_fraction=check_positive_number(
            validation_fraction, "validation_fraction", allow_zero=True
        ),
    )
    if settings.validation_fraction >= 1:
        raise ValueError(
            f"validation_fraction must be in [0, 1), got {validation_fraction!r}; e.g. 0.1 "
            "holds out a tenth of the samples for early stopping (0 turns it off)."
        )
    return settings


class _Objective:
    """The objective and its gradient on the flattened parameters ``theta = (W, b, a)``,
    through the core's fused pass in the dtype of X."""

    def __init__(self, settings: _Settings, shape: tuple[int, int], dtype: np.dtype):
        self.settings, self.shape, self.dtype = settings, shape, dtype
        self.iteration = 0  # the evaluation the next pass belongs to, for divergence messages

    def unpack(self, theta: np.ndarray):
        m, d = self.shape
        return theta[: m * d].reshape(m, d), theta[m * d : m * d + m], theta[m * d + m :]

    def data_loss(self, theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
        """Mean loss on (X, y), without the weight decay."""
        with np.errstate(over="ignore", invalid="ignore"):  # the caller checks the value
            return self._pass(theta, X, y)[3]

    def value_and_gradient(self, theta: np.ndarray, X: np.ndarray, y: np.ndarray):
        """(objective, gradient (float64, like theta)) on the rows (X, y)."""
        s = self.settings
        with np.errstate(over="ignore", invalid="ignore"):  # detected just below
            grad_W, grad_b, grad_a, value = self._pass(theta, X, y)
            grad = np.concatenate([grad_W.ravel(), grad_b, grad_a]).astype(np.float64, copy=False)
            if s.l2:
                W, _, a = self.unpack(theta)
                m, d = self.shape
                value += 0.5 * s.l2 * (float(W.ravel() @ W.ravel()) + float(a @ a))
                grad[: m * d] += s.l2 * W.ravel()
                grad[m * d + m :] += s.l2 * a
        if not (np.isfinite(value) and np.isfinite(grad).all()):
            self.diverged(value)
        return value, grad

    def _pass(self, theta, X, y):
        s = self.settings
        W, b, a = self.unpack(theta)
        return core.full_gradient(
            X,
            y,
            W.astype(self.dtype),
            b,
            a,
            activation=s.activation,
            loss=s.loss,
            huber_delta=s.huber_delta,
            n_threads=s.n_threads,
            check_finite=False,
        )

    def diverged(self, value: float) -> None:
        s = self.settings
        fix = "lower learning_rate" if s.method == "adam" else "try method='adam'"
        message = (
            f"joint training diverged at iteration {self.iteration}: objective = {value!r} (or "
            f"a non-finite gradient); {fix}, or check the scales of X and y."
        )
        if s.on_divergence == "raise":
            raise FloatingPointError(message)
        warnings.warn(message + " Returning the best weights so far.", RuntimeWarning, stacklevel=2)
        raise _Diverged


class _Tracker:
    """Evaluations of a fit: losses, best weights, early stopping, callback and progress."""

    def __init__(self, objective: _Objective, validation, callback, progress):
        self.objective, self.validation = objective, validation
        self.callback, self.progress = callback, progress
        self.train: list[float] = []
        self.val: list[float] = []
        self.best: Optional[np.ndarray] = None
        self.best_iter, self.best_val = 0, np.inf
        self.reference_val: Optional[float] = None
        self.reference_train: Optional[float] = None
        self.stale = self.train_stale = 0
        self.callback_seconds = 0.0

    def evaluate(self, theta: np.ndarray, train_loss: float) -> Optional[str]:
        """Record the next evaluation; the stop reason when early stopping fires, else None."""
        s = self.objective.settings
        iteration = len(self.train)
        self.train.append(float(train_loss))
        stop = None
        if self.validation is None:
            self.best, self.best_iter = theta.copy(), iteration
        else:
            val = self.objective.data_loss(theta, *self.validation)
            if not np.isfinite(val):
                self.objective.diverged(val)
            self.val.append(val)
            if val < self.best_val:
                self.best, self.best_iter, self.best_val = theta.copy(), iteration, val
            if _improves(val, self.reference_val, s.tol):
                self.reference_val, self.stale = val, 0
            else:
                self.stale += 1
            if self.stale >= s.n_iter_no_change:
                stop = "no_improvement"
        if self.callback is not None:
            start = time.perf_counter()
            W, b, a = self.objective.unpack(theta)
            self.callback(iteration, W.copy(), b.copy(), a.copy())
            self.callback_seconds += time.perf_counter() - start
        if self.progress is not None and iteration > 0:
            self.progress(iteration)
        self.objective.iteration = iteration + 1
        return stop

    def training_stalled(self, train_loss: float) -> bool:
        """Adam's convergence test: the epoch's training loss stopped improving."""
        s = self.objective.settings
        if _improves(train_loss, self.reference_train, s.tol):
            self.reference_train, self.train_stale = train_loss, 0
        else:
            self.train_stale += 1
        return self.train_stale >= s.n_iter_no_change


def _improves(value: float, reference: Optional[float], tol: float) -> bool:
    """Whether ``value`` is below ``reference`` (None: nothing yet) by more than ``tol`` of it."""
    return reference is None or value < reference - tol * abs(reference)


def train_joint(
    X,
    y,
    W,
    b,
    a,
    *,
    activation: str,
    loss: str = "squared",
    huber_delta: float = 1.0,
    method: str = "lbfgs",
    max_iter: Optional[int] = None,
    tol: float = DEFAULT_TOL,
    validation_fraction: float = 0.1,
    n_iter_no_change: int = 10,
    batch_size: int = 256,
    learning_rate: float = 1e-3,
    l2: float = 0.0,
    n_threads: Optional[int] = None,
    random_state: RandomState = None,
    progress: bool = False,
    callback: Optional[Callback] = None,
    on_divergence: str = "raise",
) -> JointFit:
    """Train all of (W, b, a) of ``p(x) = sum_j a_j sigma(w_j . x + b_j)`` on the objective
    ``(1/n) sum_i loss(p(x_i), y_i) + (l2 / 2)(|W|^2 + |a|^2)``, starting from (W, b, a).

    Parameters
    ----------
    X : (n, d) float32/float64 array, or a tuple of (n_k, d) arrays of one dtype
        Training data; a tuple is the union of its arrays' rows (y then a tuple of (n_k,)
        labels), copied once into the training and held-out sets instead of concatenated first.
    y : (n,) labels, centred by your output offset.
    W : (m, d), b : (m,), a : (m,)
        Starting weights (trained in float64; each gradient pass runs in the dtype of X).
    activation : {'logcosh', 'quadratic', 'cos'}.  loss : {'squared', 'absolute', 'huber'}.
    huber_delta : float > 0.
    method : {'lbfgs', 'adam'}
        'lbfgs': full batch, scipy's L-BFGS-B on the flattened parameters (one core gradient
        pass per function evaluation; X is never copied per iteration). 'adam': mini-batches
        of ``batch_size`` in a fresh random order each epoch, one evaluation per epoch.
    max_iter : int >= 0, optional
        L-BFGS iterations or Adam epochs; default ``DEFAULT_MAX_ITER[method]``.
    tol : float >= 0
        A validation loss counts as an improvement when it is below the last improvement by
        more than ``tol`` times its size. L-BFGS stops ('converged') when an iteration
        decreases the objective by less than ``tol`` times its starting value; Adam when its
        epoch's training loss has not improved by ``tol`` for ``n_iter_no_change`` epochs.
    validation_fraction : float in [0, 1)
        Share of the samples (at least one) held out, drawn by ``random_state``, for early
        stopping: the fit stops after ``n_iter_no_change`` evaluations without improvement
        and returns the best-validation weights. 0: no held-out slice, the last weights.
    n_iter_no_change : int >= 1.  batch_size : int >= 1 (Adam).
    learning_rate : float > 0
        Adam's step size.
    l2 : float >= 0
        Weight decay on W and a (not on the biases).
    n_threads : int, optional
        Core threads (None: all); a fixed seed and thread count reproduce a fit. A core call
        uses at most one thread per cache chunk of rows, so Adam's mini-batches (a batch of
        256 rows at d <= 512 is one chunk) run on one thread whatever is asked.
    random_state : int, Generator or None
        Draws the held-out slice and Adam's batch order.
    progress : bool
        A tqdm bar once the fit has run 2 s.
    callback : callable(iteration, W, b, a), optional
        Called at every evaluation with copies of the weights (iteration 0: the start); its
        time is excluded from ``seconds``.
    on_divergence : {'raise', 'warn'}
        A non-finite objective raises FloatingPointError naming the iteration, or warns and
        returns the best weights so far (stop_reason 'diverged').

    Returns
    -------
    JointFit

    Ctrl-C stops the fit and returns the best weights so far, with stop_reason 'interrupted'
    and a RuntimeWarning.
    """
    start_time = time.perf_counter()
    parts = _parts(X, y)
    dtype, d = parts[0][0].dtype, parts[0][0].shape[1]
    W = as_matrix(W, "W", np.dtype(np.float64), shape=(None, d), exact_dtype=False)
    m = W.shape[0]
    b = as_vector(b, "b", np.float64, m)
    a = as_vector(a, "a", np.float64, m)
    settings = check_settings(
        activation=activation,
        loss=loss,
        huber_delta=huber_delta,
        method=method,
        max_iter=max_iter,
        tol=tol,
        validation_fraction=validation_fraction,
        n_iter_no_change=n_iter_no_change,
        batch_size=batch_size,
        learning_rate=learning_rate,
        l2=l2,
        n_threads=n_threads,
        on_divergence=on_divergence,
    )
    fraction = settings.validation_fraction
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable(iteration, W, b, a) or None, got {callback!r}.")
    rng = as_generator(random_state)
    n = sum(X.shape[0] for X, _ in parts)
    # At least one sample on each side whenever there is a held-out slice.
    n_val = min(max(1, round(fraction * n)), n - 1) if fraction > 0 else 0
    if n - n_val < 1 or (fraction > 0 and n < 2):
        raise ValueError(
            f"n_samples = {n}: joint training needs at least 1 training sample and, with "
            f"validation_fraction > 0, 1 held-out sample; pass more samples."
        )
    order = rng.permutation(n)
    # Sorted indices keep the copies' memory access sequential.
    train = _gather(parts, np.sort(order[n_val:]), dtype)
    validation = _gather(parts, np.sort(order[:n_val]), dtype) if n_val else None
    objective = _Objective(settings, (m, d), dtype)
    theta = np.concatenate([W.ravel(), b, a])
    run = _lbfgs if method == "lbfgs" else _adam
    # BLAS on one thread: the optimiser's own work is on vectors of the parameters' size, where
    # a multithreaded BLAS only spins against the core's OpenMP threads (scipy's L-BFGS-B
    # update measured 25 ms per iteration with 2 OpenBLAS threads, 3.5 ms with one).
    with (
        threadpool_limits(limits=1, user_api="blas"),
        progress_callback(progress, settings.max_iter, "joint training", "iter") as bar,
    ):
        tracker = _Tracker(objective, validation, callback, bar)
        try:
            stop_reason = run(objective, tracker, theta, train, rng)
        except KeyboardInterrupt:
            warnings.warn(
                f"joint training interrupted at iteration {objective.iteration}; returning the "
                "best weights so far.",
                RuntimeWarning,
                stacklevel=2,
            )
            stop_reason = "interrupted"
        except _Diverged:
            stop_reason = "diverged"
    # The start when stopped before it was evaluated.
    W_best, b_best, a_best = objective.unpack(theta if tracker.best is None else tracker.best)
    # An interrupt between an evaluation's training and held-out loss leaves that one out.
    n_evaluations = len(tracker.train) if validation is None else len(tracker.val)
    return JointFit(
        W=W_best.copy(),
        b=b_best.copy(),
        a=a_best.copy(),
        n_iter=max(n_evaluations - 1, 0),
        best_iter=tracker.best_iter,
        train_loss=np.array(tracker.train[:n_evaluations]),
        validation_loss=np.array(tracker.val),
        stop_reason=stop_reason,
        seconds=time.perf_counter() - start_time - tracker.callback_seconds,
        n_train=train[0].shape[0],
        n_validation=n_val,
    )


def _parts(X, y) -> list[tuple[np.ndarray, np.ndarray]]:
    """(X, y), or the pairs of a tuple X and tuple y, validated: arrays of one dtype and
    width, labels of matching length."""
    if isinstance(X, tuple):
        if not (isinstance(y, tuple) and len(y) == len(X) > 0):
            raise TypeError(
                "X is a tuple of data sets: pass y as a tuple of their labels, one per set."
            )
        pairs = list(zip(X, y))
    else:
        pairs = [(X, y)]
    checked: list[tuple[np.ndarray, np.ndarray]] = []
    for k, (Xk, yk) in enumerate(pairs):
        if isinstance(Xk, StreamedData):
            raise TypeError(
                "joint training needs X as an array (it draws mini-batches and a held-out "
                "slice by row); pass X.rows() to materialise a StreamedData."
            )
        Xk = as_rows(Xk, allow_stream=False)
        if checked and (Xk.dtype, Xk.shape[1]) != (checked[0][0].dtype, checked[0][0].shape[1]):
            raise ValueError(
                f"data set {k} of X has dtype {Xk.dtype} and {Xk.shape[1]} features but the "
                f"first has {checked[0][0].dtype} and {checked[0][0].shape[1]}; they must agree."
            )
        checked.append((Xk, as_vector(yk, "y", Xk.dtype, Xk.shape[0])))
    return checked


def _gather(parts, rows: np.ndarray, dtype) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``rows`` (sorted, numbered across the parts in order) of the union, one copy."""
    d = parts[0][0].shape[1]
    X = np.empty((rows.size, d), dtype=dtype)
    y = np.empty(rows.size, dtype=dtype)
    offset, done = 0, 0
    for Xk, yk in parts:
        nk = Xk.shape[0]
        lo, hi = np.searchsorted(rows, [offset, offset + nk])
        np.take(Xk, rows[lo:hi] - offset, axis=0, out=X[done : done + hi - lo])
        y[done : done + hi - lo] = yk[rows[lo:hi] - offset]
        offset, done = offset + nk, done + hi - lo
    return X, y


def _lbfgs(objective: _Objective, tracker: _Tracker, theta, train, rng) -> str:
    """Full-batch L-BFGS-B; the stop reason."""
    from scipy import optimize  # on demand: `mimkit --help` and `import mimkit` skip it

    s = objective.settings
    value, grad = objective.value_and_gradient(theta, *train)
    tracker.evaluate(theta, value)
    if s.max_iter == 0:
        return "max_iter"
    # scipy's ftol test is relative only above 1: dividing by the starting objective makes
    # ``tol`` a fraction of it, whatever the scale of the labels.
    scale = 1.0 / value if value > 0 else 1.0
    start = (theta, value * scale, grad * scale)  # scipy starts at theta: reuse this pass

    def fun(x):
        if np.array_equal(x, start[0]):
            return start[1], start[2]
        value, grad = objective.value_and_gradient(x, *train)
        return value * scale, grad * scale

    stopped = []

    def callback(intermediate_result):
        stop = tracker.evaluate(intermediate_result.x, intermediate_result.fun / scale)
        if stop is not None:
            stopped.append(stop)
            raise StopIteration

    result = optimize.minimize(
        fun,
        theta,
        jac=True,
        method="L-BFGS-B",
        callback=callback,
        # gtol 0: the gradient's size depends on the labels' scale, so only the relative
        # decrease (ftol) and early stopping end a fit.
        options={"maxiter": s.max_iter, "maxfun": 20 * s.max_iter, "ftol": s.tol, "gtol": 0.0},
    )
    if stopped:
        return stopped[0]
    return "max_iter" if result.nit >= s.max_iter or result.status == 1 else "converged"


def _adam(objective: _Objective, tracker: _Tracker, theta, train, rng) -> str:
    """Adam on mini-batches (the usual betas 0.9, 0.999 and eps 1e-8); the stop reason."""
    s = objective.settings
    X, y = train
    n = X.shape[0]
    value, _ = objective.value_and_gradient(theta, X, y)
    if tracker.evaluate(theta, value) is not None:
        return "no_improvement"
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    moment1, moment2 = np.zeros_like(theta), np.zeros_like(theta)
    batch = min(s.batch_size, n)
    X_batch, y_batch = np.empty((batch, X.shape[1]), X.dtype), np.empty(batch, y.dtype)
    step = 0
    for _ in range(s.max_iter):
        order = rng.permutation(n)
        total = 0.0
        for start in range(0, n, batch):
            rows = np.sort(order[start : start + batch])
            k = rows.size
            np.take(X, rows, axis=0, out=X_batch[:k])
            np.take(y, rows, out=y_batch[:k])
            value, grad = objective.value_and_gradient(theta, X_batch[:k], y_batch[:k])
            total += value * k
            step += 1
            moment1 = beta1 * moment1 + (1 - beta1) * grad
            moment2 = beta2 * moment2 + (1 - beta2) * grad * grad
            theta = theta - s.learning_rate * (moment1 / (1 - beta1**step)) / (
                np.sqrt(moment2 / (1 - beta2**step)) + eps
            )
        epoch_loss = total / n
        stop = tracker.evaluate(theta, epoch_loss)
        if stop is not None:
            return stop
        if tracker.training_stalled(epoch_loss):
            return "converged"
    return "max_iter"
