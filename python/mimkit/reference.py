"""Plain-numpy twin of :mod:`mimkit.core`, written for clarity.

Every function has the same signature and semantics as its namesake in ``mimkit.core`` (a
deliberate twin: signatures and argument handling repeat the core's line for line); it is
the test oracle and the benchmark baseline. It materialises the full ``n x m`` matrices the core
never builds, so it is slow and memory-hungry by design. ``n_threads`` is accepted and ignored
(numpy's BLAS decides).
"""

from __future__ import annotations

from typing import Optional, Union

import numpy as np

from ._inputs import (
    Phase1Inputs,
    local_hessian_inputs,
    local_hessian_matvec_inputs,
    row_weights,
)
from ._phase1_descent import Phase1Result, Phase1RunSettings, phase1_descent, report_collapse
from ._validation import check_n_threads

_LN2 = np.log(2.0)


def activation_value(z: np.ndarray, activation: str) -> np.ndarray:
    """sigma(z), elementwise, accurate for tiny and huge |z|."""
    if activation == "logcosh":
        az = np.abs(z)
        # Small |z|: log cosh z = -log(1 - tanh^2 z) / 2 has no cancellation;
        # large |z|: |z| + log(1 + e^{-2|z|}) - log 2 cannot overflow.
        small = -0.5 * np.log1p(-(np.tanh(np.minimum(az, 1.0)) ** 2))
        large = az + np.log1p(np.exp(-2.0 * np.maximum(az, 1.0))) - _LN2
        return np.where(az < 1.0, small, large).astype(z.dtype, copy=False)
    if activation == "quadratic":
        return 0.5 * z * z
    if activation == "cos":
        s = np.sin(0.5 * z)
        return 2.0 * s * s  # 1 - cos z without cancellation near 0
    raise ValueError(f"unknown activation {activation!r}")


def activation_derivative(z: np.ndarray, activation: str) -> np.ndarray:
    """sigma'(z), elementwise."""
    if activation == "logcosh":
        return np.tanh(z)
    if activation == "quadratic":
        return z.copy()
    if activation == "cos":
        return np.sin(z)
    raise ValueError(f"unknown activation {activation!r}")


def loss_value(p: np.ndarray, y: np.ndarray, loss: str, huber_delta: float = 1.0) -> np.ndarray:
    """Per-sample loss(p_i, y_i); squared loss is (p - y)^2 / 2."""
    r = p - y
    if loss == "squared":
        return 0.5 * r * r
    if loss == "absolute":
        return np.abs(r)
    if loss == "huber":
        ar = np.abs(r)
        return np.where(ar <= huber_delta, 0.5 * r * r, huber_delta * (ar - 0.5 * huber_delta))
    raise ValueError(f"unknown loss {loss!r}")


def loss_derivative(
    p: np.ndarray, y: np.ndarray, loss: str, huber_delta: float = 1.0
) -> np.ndarray:
    """d loss / d p; 0 at a kink."""
    r = p - y
    if loss == "squared":
        return r
    if loss == "absolute":
        return np.sign(r)
    if loss == "huber":
        return np.clip(r, -huber_delta, huber_delta)
    raise ValueError(f"unknown loss {loss!r}")


def forward(
    X, W, b, a, activation: str, *, n_threads: Optional[int] = None, check_finite: bool = True
) -> np.ndarray:
    """Network output ``p = sigma(X W^T + b) a``.

    Parameters
    ----------
    X : (n, d) array.  W : (m, d).  b, a : (m,).  activation : name.

    Returns
    -------
    p : (n,) array in the dtype of X.
    """
    check_n_threads(n_threads)
    args = Phase1Inputs(X, None, W, b, a, activation, None, 1.0, check_finite)
    Z = args.X @ args.W.T + args.b
    return activation_value(Z, args.activation) @ args.a


def hidden_features(
    X, W, b, activation: str, *, n_threads: Optional[int] = None, check_finite: bool = True
) -> np.ndarray:
    """Hidden features ``H = sigma(X W^T + b)``, shape (n, m), in the dtype of X."""
    check_n_threads(n_threads)
    args = Phase1Inputs(X, None, W, b, None, activation, None, 1.0, check_finite)
    return activation_value(args.X @ args.W.T + args.b, args.activation)


def hidden_statistics(
    X, y, W, b, activation: str, *, n_threads: Optional[int] = None, check_finite: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``sum_i h_i`` (m,), ``H^T H`` (m, m) and ``H^T y`` (m,) in float64, H in the dtype of X."""
    check_n_threads(n_threads)
    args = Phase1Inputs(X, y, W, b, None, activation, None, 1.0, check_finite)
    H = activation_value(args.X @ args.W.T + args.b, args.activation).astype(np.float64)
    return H.sum(axis=0), H.T @ H, H.T @ args.y.astype(np.float64)


def _backward(
    args: Phase1Inputs, W: np.ndarray, weight: Optional[np.ndarray] = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Z = X W^T + b (n, m), H = sigma(Z) (n, m) and the residual slopes
    g = s * loss'(p, y) / n (n,) for validated inputs (s = weight, or 1)."""
    Z = args.X @ W.T + args.b
    H = activation_value(Z, args.activation)
    g = loss_derivative(H @ args.a, args.y, args.loss, args.huber_delta) / args.X.shape[0]
    return Z, H, g if weight is None else weight * g


def _mean_loss(args: Phase1Inputs, H: np.ndarray, weight: Optional[np.ndarray] = None) -> float:
    losses = loss_value(H @ args.a, args.y, args.loss, args.huber_delta)
    return float(np.mean(losses if weight is None else weight * losses))


def _gradient(
    args: Phase1Inputs, W: np.ndarray, weight: Optional[np.ndarray] = None
) -> tuple[np.ndarray, float, float]:
    """(grad_W, mean (weighted) loss, max |Z|) for validated inputs."""
    Z, H, g = _backward(args, W, weight)
    G = (g[:, None] * activation_derivative(Z, args.activation)) * args.a
    return G.T @ args.X, _mean_loss(args, H, weight), float(np.max(np.abs(Z)))


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
    """Gradient of ``L = (1/n) sum_i s_i loss(p_i, y_i)`` with respect to W (``s_i`` =
    ``sample_weight``, of either sign, or 1).

    Returns
    -------
    grad_W : (m, d) array.
    mean_loss : float, L at W.
    """
    check_n_threads(n_threads)
    args = Phase1Inputs(X, y, W, b, a, activation, loss, huber_delta, check_finite)
    grad, mean_loss, _ = _gradient(args, args.W, row_weights(sample_weight, args, check_finite))
    return grad, mean_loss


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
    to all of W, b and a.

    Returns
    -------
    grad_W : (m, d) array.  grad_b : (m,) array.  grad_a : (m,) array.
    mean_loss : float, L at (W, b, a).
    """
    check_n_threads(n_threads)
    args = Phase1Inputs(X, y, W, b, a, activation, loss, huber_delta, check_finite)
    Z, H, g = _backward(args, args.W)
    D = g[:, None] * activation_derivative(Z, args.activation)
    grad_b = args.a * D.sum(axis=0)
    return (D * args.a).T @ args.X, grad_b, H.T @ g, _mean_loss(args, H)


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
    progress=None,
    on_divergence: str = "raise",
    check_finite: bool = True,
) -> Phase1Result:
    """Full-batch GD on W: ``W <- W - lr * (grad_W L + weight_decay * W)``, ``n_steps`` times.

    Parameters
    ----------
    X : (n, d).  y : (n,).  W0 : (m, d) initial weights.  b, a : (m,) frozen.
    record_steps : iterable of int in [0, n_steps], optional
        Steps at which to store ``W_t`` (or ``W_t @ record_basis``).
    record_basis : (d, k) array, optional
        Store the projections ``W_t @ record_basis`` instead of full weights.
    keep_scale : bool or 'auto'
        Rescale W globally after each step back to ``||W0||_F``. In the linear (small-weight)
        regime this is exactly a change of init scale and keeps weights from overflowing or
        underflowing over long runs. True requires ``max |X W0^T + b| < 1e-4`` at step 0
        (ValueError otherwise); 'auto' switches it on exactly when that holds. The mode is
        resolved at the first step (with ``n_steps = 0`` it reports False).
    sample_weight : (n,) array, optional
        Weight ``s_i`` of each row's loss, of either sign: L = (1/n) sum_i s_i loss(p_i, y_i).
    progress : callable(step) or None
        Called after every step (for progress bars).
    on_divergence : {'raise', 'warn'}
        On a non-finite loss or update at step t: raise, or warn and return the run stopped
        at W_t (``diverged_at = t``; later losses, log scales and records NaN).

    Raises
    ------
    FloatingPointError
        If the loss or the weights stop being finite; the message names the step.
    """
    check_n_threads(n_threads)
    args = Phase1Inputs(X, y, W0, b, a, activation, loss, huber_delta, check_finite)
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
    result = phase1_descent(lambda W: _gradient(args, W, weight), args.W, run, progress)
    report_collapse(run.on_divergence, result.log_scale, args.y)
    return result


def local_hessian_matvec(
    X, t, V, *, n_threads: Optional[int] = None, check_finite: bool = True
) -> np.ndarray:
    """``S V = X^T (t[:, None] * (X V)) / n`` without forming S.

    Parameters
    ----------
    X : (n, d).  V : (d, k) or (d,).
    t : (n,) label weights T(y), or (n, k): one weighting per column of V (column j of the
        result is ``X^T (t[:, j] * (X V[:, j])) / n``), k matrices S applied in one pass.

    Returns
    -------
    (d, k) array, or (d,) when V is 1-D.
    """
    check_n_threads(n_threads)
    X, t, V2 = local_hessian_matvec_inputs(X, t, V, check_finite)
    out = X.T @ ((t if t.ndim == 2 else t[:, None]) * (X @ V2)) / X.shape[0]
    return out[:, 0] if np.ndim(V) == 1 else out


def local_hessian(
    X, t, *, n_threads: Optional[int] = None, check_finite: bool = True
) -> np.ndarray:
    """Explicit ``S = X^T diag(t) X / n``, shape (d, d), symmetric."""
    check_n_threads(n_threads)
    X, t = local_hessian_inputs(X, t, check_finite)
    return (X.T * t) @ X / X.shape[0]
