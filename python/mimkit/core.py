"""The compiled phase-1 core (C++ / Eigen / OpenMP), float32 and float64.

Same signatures and semantics as :mod:`mimkit.reference` (the numpy oracle): the two modules are
deliberate twins, so their signatures and argument handling repeat each other line for line.
``X`` may also be a :class:`~mimkit.stream.StreamedData` (rows regenerated on demand; results
bitwise equal to passing its rows as an array) in every function but :func:`local_hessian`.
Arrays follow the policy in :mod:`mimkit._validation`: computation in the dtype of X, C-ordered
inputs of that dtype pass without a copy, anything else is converted once per call (never per
step). The GIL is released during the work; Ctrl-C is honoured between phase-1 steps.
``n_threads=None`` uses every OpenMP thread (``OMP_NUM_THREADS``); results are bitwise
reproducible for a fixed thread count and agree to rounding across thread counts.
"""

from __future__ import annotations

from typing import Callable, Optional, Union

import numpy as np

from ._inputs import (
    Phase1Inputs,
    local_hessian_inputs,
    local_hessian_matvec_inputs,
    row_weights,
)
from ._native import native
from ._phase1_descent import (
    Phase1Result,
    Phase1RunSettings,
    report_collapse,
    report_divergence,
)
from ._validation import check_n_threads
from .stream import native_rows

#: Rows per chunk; 0 lets the core size chunks to the cache. Benchmarks may override.
_CHUNK_ROWS = 0


def forward(
    X, W, b, a, activation: str, *, n_threads: Optional[int] = None, check_finite: bool = True
) -> np.ndarray:
    """Network output ``p = sigma(X W^T + b) a``.

    Parameters
    ----------
    X : (n, d) array.  W : (m, d).  b, a : (m,).  activation : 'logcosh', 'quadratic' or 'cos'.

    Returns
    -------
    p : (n,) array in the dtype of X.
    """
    threads = check_n_threads(n_threads)
    args = Phase1Inputs(X, None, W, b, a, activation, None, 1.0, check_finite, allow_stream=True)
    return native.forward(
        native_rows(args.X), args.W, args.b, args.a, args.activation, threads, _CHUNK_ROWS
    )


def hidden_features(
    X, W, b, activation: str, *, n_threads: Optional[int] = None, check_finite: bool = True
) -> np.ndarray:
    """Hidden features ``H = sigma(X W^T + b)``.

    Parameters
    ----------
    X : (n, d) array or StreamedData.  W : (m, d).  b : (m,).  activation : name.

    Returns
    -------
    H : (n, m) array in the dtype of X.
    """
    threads = check_n_threads(n_threads)
    args = Phase1Inputs(X, None, W, b, None, activation, None, 1.0, check_finite, allow_stream=True)
    return native.hidden_features(
        native_rows(args.X), args.W, args.b, args.activation, threads, _CHUNK_ROWS
    )


def hidden_statistics(
    X, y, W, b, activation: str, *, n_threads: Optional[int] = None, check_finite: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw sufficient statistics of ``H = sigma(X W^T + b)`` and y for phase 2's ridge fit, in
    one pass over X without holding H (features in the dtype of X, sums in float64).

    Parameters
    ----------
    X : (n, d) array or StreamedData.  y : (n,).  W : (m, d).  b : (m,).  activation : name.

    Returns
    -------
    sum_h : (m,) ``sum_i h_i``.  gram : (m, m) ``H^T H``, exactly symmetric.
    h_dot_y : (m,) ``H^T y``.
    """
    threads = check_n_threads(n_threads)
    args = Phase1Inputs(X, y, W, b, None, activation, None, 1.0, check_finite, allow_stream=True)
    return native.hidden_statistics(
        native_rows(args.X), args.y, args.W, args.b, args.activation, threads, _CHUNK_ROWS
    )


def _gradient_pass(
    kernel: Callable[..., tuple],
    X,
    y,
    W,
    b,
    a,
    activation: str,
    loss: str,
    huber_delta: float,
    n_threads: Optional[int],
    check_finite: bool,
    sample_weight=None,
) -> tuple:
    """One native gradient pass (``kernel``: the module's phase1_gradient or full_gradient) on
    validated, converted inputs."""
    threads = check_n_threads(n_threads)
    args = Phase1Inputs(
        X, y, W, b, a, activation, loss, huber_delta, check_finite, allow_stream=True
    )
    weight = row_weights(sample_weight, args, check_finite)
    return kernel(
        native_rows(args.X),
        args.y,
        args.W,
        args.b,
        args.a,
        args.activation,
        args.loss,
        args.huber_delta,
        threads,
        _CHUNK_ROWS,
        weight,
    )


def phase1_gradient(
    X,
    y,
    W,
    b,
    a,
    *,
    activation: str,
    loss: str,
    huber_delta: float = 1.0,
    sample_weight=None,
    n_threads: Optional[int] = None,
    check_finite: bool = True,
) -> tuple[np.ndarray, float]:
    """Gradient of ``L = (1/n) sum_i s_i loss(p_i, y_i)`` with respect to W, in one fused pass
    (``s_i`` = ``sample_weight``, of either sign, or 1: a weight per row, e.g. the gate of a
    staged network's phase 1, docs/theory.md, "Hierarchies").

    Squared loss is ``(p - y)^2 / 2``; absolute ``|p - y|``; huber(delta) quadratic inside
    ``|p - y| <= delta``. loss' at a kink is 0.

    Returns
    -------
    grad_W : (m, d) array.
    mean_loss : float, L at W.
    """
    grad, mean_loss, _ = _gradient_pass(
        native.phase1_gradient,
        X,
        y,
        W,
        b,
        a,
        activation,
        loss,
        huber_delta,
        n_threads,
        check_finite,
        sample_weight,
    )
    return grad, mean_loss


# full_gradient spells out phase1_gradient's signature (a deliberate twin: the public API
# names its arguments); both are one _gradient_pass.
def full_gradient(
    X,
    y,
    W,
    b,
    a,
    *,
    activation: str,
    loss: str,
    huber_delta: float = 1.0,
    n_threads: Optional[int] = None,
    check_finite: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Gradient of ``L = (1/n) sum_i loss(p_i, y_i)``, ``p = sigma(X W^T + b) a``, with respect
    to all of W, b and a, in one fused pass over X (the cost of :func:`phase1_gradient`; its
    grad_W is bitwise the same).

    Losses as in :func:`phase1_gradient`. grad_b and grad_a are summed in float64 and returned
    in the dtype of X.

    Returns
    -------
    grad_W : (m, d) array.  grad_b : (m,) array.  grad_a : (m,) array.
    mean_loss : float, L at (W, b, a).
    """
    return _gradient_pass(
        native.full_gradient,
        X,
        y,
        W,
        b,
        a,
        activation,
        loss,
        huber_delta,
        n_threads,
        check_finite,
    )


def phase1_run(
    X,
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
    sample_weight=None,
    n_threads: Optional[int] = None,
    progress: Optional[Callable[[int], None]] = None,
    on_divergence: str = "raise",
    check_finite: bool = True,
) -> Phase1Result:
    """Full-batch GD on W: ``W <- W - lr * (grad_W L + weight_decay * W)``, ``n_steps`` times.

    Parameters
    ----------
    X : (n, d).  y : (n,).  W0 : (m, d) initial weights (not modified).  b, a : (m,) frozen.
    lr, weight_decay : step size eta1 > 0 and decay beta1 >= 0 (``lr * weight_decay = 1`` is
        plain power iteration in the small-weight regime).
    n_steps : number of updates T1.
    record_steps : iterable of int in [0, n_steps], optional
        Steps at which to store ``W_t`` (0 = initial weights), so one trajectory serves every
        stopping time of a sweep.
    record_basis : (d, k) array, optional
        Store ``W_t @ record_basis`` (e.g. the true ``U.T``) instead of the full weights.
    keep_scale : bool or 'auto'
        Rescale W globally back to ``||W0||_F`` after each step. In the linear regime this is
        exactly a change of initial scale (docs/theory.md, "Phase 1") and prevents overflow /
        underflow over long runs. True requires ``max |X W0^T + b| < 1e-4`` at step 0
        (ValueError otherwise); 'auto' turns it on exactly when that holds.
    sample_weight : (n,) array, optional
        Weight ``s_i`` of each row's loss, of either sign: L = (1/n) sum_i s_i loss(p_i, y_i)
        (see :func:`phase1_gradient`).
    progress : callable(step), optional
        Called after each step with the number of steps done (progress bars).
    on_divergence : {'raise', 'warn'}
        When the loss or the weights stop being finite at step t: raise FloatingPointError, or
        warn (RuntimeWarning) and return the run stopped at W_t (``diverged_at = t``).

    Returns
    -------
    Phase1Result

    Raises
    ------
    FloatingPointError
        If the loss or the weights become NaN/inf (``on_divergence='raise'``); the message
        names the step and the loss.
    KeyboardInterrupt
        On Ctrl-C (checked between steps).
    """
    threads = check_n_threads(n_threads)
    args = Phase1Inputs(
        X, y, W0, b, a, activation, loss, huber_delta, check_finite, allow_stream=True
    )
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
        check_finite,
    )
    weight = row_weights(sample_weight, args, check_finite)
    steps = run.record_steps

    def native_run(n_steps: int, record: np.ndarray) -> tuple:
        return native.phase1_run(
            native_rows(args.X),
            args.y,
            args.W,
            args.b,
            args.a,
            args.activation,
            args.loss,
            args.huber_delta,
            run.lr,
            run.weight_decay,
            n_steps,
            record.tolist(),
            run.record_basis,
            run.keep_scale,
            threads,
            _CHUNK_ROWS,
            progress,
            weight,
        )

    W, recorded, losses, log_scale, keep, diverged_at, diverged_loss, step_seconds = native_run(
        run.n_steps, steps
    )
    overflowed = ~(log_scale < np.inf)  # +inf or NaN; -inf is a W that became exactly 0
    if diverged_at < 0 and overflowed.any():
        # The rescaling overflowed (the norm of finite weights, or its ratio to the initial
        # one): the core kept W finite by scaling it to 0. That step diverged. Everything up
        # to it stands; W_t is the same run stopped just before it (deterministic: exact).
        diverged_at = int(np.flatnonzero(overflowed)[0]) - 1
        diverged_loss = float(losses[diverged_at])
        report_divergence(run.on_divergence, diverged_at, diverged_loss, run.lr)
        W = native_run(diverged_at, steps[:0])[0]
        losses[diverged_at + 1 :] = np.nan
        log_scale[diverged_at + 1 :] = np.nan
        recorded[steps > diverged_at] = np.nan
    elif diverged_at >= 0:
        report_divergence(run.on_divergence, diverged_at, diverged_loss, run.lr)
    report_collapse(run.on_divergence, log_scale, args.y)
    return Phase1Result(
        W=W,
        record_steps=steps,
        recorded=recorded if steps.size else None,
        loss=losses,
        log_scale=log_scale,
        keep_scale=bool(keep),
        diverged_at=diverged_at if diverged_at >= 0 else None,
        step_seconds=step_seconds,
    )


def local_hessian_matvec(
    X, t, V, *, n_threads: Optional[int] = None, check_finite: bool = True
) -> np.ndarray:
    """``S V = X^T (t[:, None] * (X V)) / n`` without forming S (one fused pass over X).

    Parameters
    ----------
    X : (n, d).  V : (d, k) or (d,).
    t : (n,) label weights T(y), or (n, k): one weighting per column of V (column j of the
        result is ``X^T (t[:, j] * (X V[:, j])) / n``), k matrices S applied in one pass.

    Returns
    -------
    (d, k) array, or (d,) when V is 1-D.
    """
    threads = check_n_threads(n_threads)
    X, t, V2 = local_hessian_matvec_inputs(X, t, V, check_finite, allow_stream=True)
    out = native.local_hessian_matvec(native_rows(X), t, V2, threads, _CHUNK_ROWS)
    return out[:, 0] if np.ndim(V) == 1 else out


def local_hessian(
    X, t, *, n_threads: Optional[int] = None, check_finite: bool = True
) -> np.ndarray:
    """Explicit ``S = X^T diag(t) X / n``, shape (d, d), exactly symmetric.

    Bitwise identical for every thread count (each entry is summed in one fixed order).
    """
    threads = check_n_threads(n_threads)
    X, t = local_hessian_inputs(X, t, check_finite)
    return native.local_hessian(X, t, threads, _CHUNK_ROWS)
