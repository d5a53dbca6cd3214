"""scikit-learn regressor: the two-layer network trained end to end, as standard practice does.

The baseline that the layer-wise algorithm (docs/theory.md, "The network") is measured against:
the same network and core, but a standard random initialisation and all of (W, b, a) trained
jointly by :func:`mimkit.joint_training.train_joint` (Adam on mini-batches or full-batch
L-BFGS, early stopping on a held-out slice). Theory: docs/theory.md, "Beyond layer-wise".
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .._random import as_generator
from .._scale import r2_score_scaled
from .._validation import check_count
from ..joint_training import DEFAULT_TOL, check_settings, train_joint
from ..metrics import gradient_subspace
from ..network import TwoLayerNetwork
from ..stream import StreamedData
from ._fit_state import atomic_fit, data_scales, divided, fitted_stream

_FLOAT_DTYPES = (np.float64, np.float32)


def standard_init(
    n_hidden: int, n_features: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Standard (fan-in) random initialisation of ``f(x) = c + sum_j a_j sigma(w_j . x + b_j)``.

    ``w_j ~ N(0, I/d)``: on standardised inputs every pre-activation ``w_j . x`` starts with
    unit variance, inside the activations' curved range (neither their linear tails nor, for
    log-cosh, the quadratic regime near 0 that phase 1's tiny init relies on). ``b_j ~ N(0, 1)``:
    the neurons' offsets spread over that same range, so the network is not even in x at the
    start. ``a_j ~ N(0, 1/m)``: the output has O(1) variance whatever the width (LeCun's
    fan-in rule, the scale of PyTorch's and scikit-learn's default layers).

    Returns
    -------
    W : (n_hidden, n_features).  b : (n_hidden,).  a : (n_hidden,).  All float64.
    """
    W = rng.standard_normal((n_hidden, n_features)) / np.sqrt(n_features)
    b = rng.standard_normal(n_hidden)
    a = rng.standard_normal(n_hidden) / np.sqrt(n_hidden)
    return W, b, a


class JointRegressor(RegressorMixin, BaseEstimator):
    """Two-layer network ``f(x) = c + sum_j a_j sigma(w_j . x + b_j)`` trained end to end.

    Standard practice on mimkit's core: a random fan-in initialisation (:func:`standard_init`),
    ``c`` fixed to the mean of y, and all of (W, b, a) trained jointly on the full loss, by
    Adam on mini-batches or by full-batch L-BFGS, with early stopping on a held-out slice
    (the best-validation weights are kept). Inputs are expected standardised, as for
    :class:`~mimkit.estimators.LayerwiseRegressor`, and rescaled the same way: X and y - mean
    are divided by the powers of two nearest their root-mean-square (``x_scale_``,
    ``y_scale_``; 1 for standardised data), so the fit is exactly equivariant under powers of
    two and ``huber_delta``, ``learning_rate`` and ``l2`` act in the units of the rescaled data.

    Parameters
    ----------
    n_hidden : int, default 64
        Width m.
    activation : {'logcosh', 'quadratic', 'cos'}, default 'logcosh'
    loss : {'squared', 'absolute', 'huber'}, default 'squared'
    huber_delta : float, default 1.0
        Huber threshold in units of ``y / y_scale_``.
    solver : {'adam', 'lbfgs'}, default 'adam'
        'adam': mini-batches of ``batch_size``, one evaluation per epoch (scikit-learn's and
        PyTorch users' default); 'lbfgs': full batch, one core pass per evaluation.
    max_iter : int or None, default None
        Adam epochs or L-BFGS iterations; None takes the trainer's default (200 / 500).
    tol : float, default 1e-5
        Relative validation-loss improvement that counts as progress.
    validation_fraction : float in [0, 1), default 0.1
        Share of the samples held out for early stopping; 0 trains on all and keeps the last
        weights.
    n_iter_no_change : int, default 10
        Evaluations without progress before the fit stops.
    batch_size : int, default 256
    learning_rate : float, default 1e-3
        Adam's step size.
    l2 : float, default 0.0
        Weight decay on W and a.
    n_threads : int or None
        Core threads; None uses all.
    random_state : int, Generator or None
        Draws the initial weights, the held-out slice and Adam's batch order.
    verbose : bool, default False
        Show a progress bar when the fit runs longer than 2 s.
    callback : callable or None
        ``callback(iteration, W, b, a)`` at every evaluation with copies of the weights (the
        network is ``intercept_ + sum_j a_j sigma(w_j . x / x_scale_ + b_j)``, ``intercept_``
        the mean of the y passed to fit); its time is not part of the training.

    Attributes
    ----------
    W_ : (n_hidden, n_features_in_) inner weights, acting on ``X / x_scale_``.
    b_ : (n_hidden,) biases.  a_ : (n_hidden,) outer weights.  intercept_ : float, c.
    x_scale_, y_scale_ : float, the powers of two X and y - mean were divided by.
    n_features_in_ : int.
    n_iter_ : int, iterations (epochs) run.  best_iter_ : int, the one the weights come from.
    loss_curve_ : (n_iter_ + 1,) training loss per evaluation (index 0: the initialisation), of
        the rescaled data.
    validation_loss_curve_ : (n_iter_ + 1,) held-out loss per evaluation (empty without one).
    stop_reason_ : {'converged', 'no_improvement', 'max_iter', 'interrupted', 'diverged'}.
    fit_seconds_ : float, wall time of the training (callbacks excluded).
    """

    # Deliberate twin of train_joint's keywords: scikit-learn reads an estimator's parameters
    # from its own __init__ signature and wants them stored unchanged, so they are listed here
    # and passed on one by one in fit.
    def __init__(
        self,
        n_hidden: int = 64,
        activation: str = "logcosh",
        loss: str = "squared",
        huber_delta: float = 1.0,
        solver: str = "adam",
        max_iter: Optional[int] = None,
        tol: float = DEFAULT_TOL,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        batch_size: int = 256,
        learning_rate: float = 1e-3,
        l2: float = 0.0,
        n_threads: Optional[int] = None,
        random_state=None,
        verbose: bool = False,
        callback: Optional[Callable] = None,
    ):
        self.n_hidden = n_hidden
        self.activation = activation
        self.loss = loss
        self.huber_delta = huber_delta
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.l2 = l2
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose
        self.callback = callback

    def _check_params(self) -> None:
        """Parameter errors before any data is looked at; each names its parameter."""
        check_count(self.n_hidden, "n_hidden", minimum=1, hint="The width m, e.g. 64.")
        check_settings(
            activation=self.activation,
            loss=self.loss,
            huber_delta=self.huber_delta,
            method=self.solver,
            max_iter=self.max_iter,
            tol=self.tol,
            validation_fraction=self.validation_fraction,
            n_iter_no_change=self.n_iter_no_change,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            l2=self.l2,
            n_threads=self.n_threads,
            method_name="solver",
        )
        if self.callback is not None and not callable(self.callback):
            raise TypeError(
                f"callback={self.callback!r}; pass a callable(iteration, W, b, a) or None."
            )

    def fit(self, X, y) -> "JointRegressor":
        """Initialise at random and train all weights on (X, y).

        Parameters
        ----------
        X : (n, d) array.  y : (n,) array.

        Returns
        -------
        self
        """
        with atomic_fit(self):
            return self._fit(X, y)

    def _fit(self, X, y) -> "JointRegressor":
        self._check_params()
        X, y = validate_data(self, X, y, dtype=_FLOAT_DTYPES, y_numeric=True)
        self.x_scale_, self.y_scale_ = data_scales(X, y)
        rng = as_generator(self.random_state)
        W, b, a = standard_init(self.n_hidden, X.shape[1], rng)
        # The offset is not trained: with it fixed at mean(y) the network fits y - c, as the
        # layer-wise network's phase 2 does with its intercept.
        self.intercept_ = float(np.mean(y, dtype=np.float64))
        fit = train_joint(
            divided(X, self.x_scale_),
            divided(y - self.intercept_, self.y_scale_).astype(X.dtype, copy=False),
            W,
            b,
            a,
            activation=self.activation,
            loss=self.loss,
            huber_delta=self.huber_delta,
            method=self.solver,
            max_iter=self.max_iter,
            tol=self.tol,
            validation_fraction=self.validation_fraction,
            n_iter_no_change=self.n_iter_no_change,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            l2=self.l2,
            n_threads=self.n_threads,
            random_state=rng,
            progress=bool(self.verbose),
            callback=self._scaled_callback(),
        )
        # Outer weights in units of y (exact: y_scale_ is a power of two).
        self.W_, self.b_, self.a_ = fit.W, fit.b, fit.a * self.y_scale_
        self.n_iter_, self.best_iter_, self.stop_reason_ = (
            fit.n_iter,
            fit.best_iter,
            fit.stop_reason,
        )
        self.loss_curve_, self.validation_loss_curve_ = fit.train_loss, fit.validation_loss
        self.fit_seconds_ = fit.seconds
        self._network = TwoLayerNetwork(fit.W, fit.b, self.a_, self.intercept_, self.activation)
        return self

    def _scaled_callback(self) -> Optional[Callable]:
        """The user's callback, given outer weights in units of y (as ``a_``)."""
        callback, y_scale = self.callback, self.y_scale_
        if callback is None or y_scale == 1.0:
            return callback
        return lambda iteration, W, b, a: callback(iteration, W, b, a * y_scale)

    def predict(self, X) -> np.ndarray:
        """Network output, shape (n,), in the dtype of X; X may be a StreamedData."""
        X = self._inputs(X)  # checks the fit first
        return self._network.predict(X, n_threads=self.n_threads)

    def score(self, X, y, sample_weight=None) -> float:
        """R^2 of the predictions (finite for labels up to float64's largest)."""
        return r2_score_scaled(y, self.predict(X), sample_weight)

    def subspace(self, X, k: int) -> np.ndarray:
        """The k directions the fitted network varies along most on the inputs X (top
        eigenvectors of its average gradient outer product; :func:`mimkit.metrics.
        gradient_subspace`): (k, n_features_in_) orthonormal rows.

        Not W's singular vectors: end-to-end training keeps rows of W at random directions
        whose outer weights have shrunk to nearly zero, and those would count there.
        """
        if isinstance(X, StreamedData):
            raise TypeError(
                "subspace needs X as an array (it forms an n x n_hidden matrix); pass X.rows() "
                "of a moderate test set."
            )
        X = self._inputs(X)
        return gradient_subspace(self._network.input_gradients(X), k)

    def _inputs(self, X):
        """X checked against the fit and divided by ``x_scale_``, as the network sees it; a
        StreamedData as it is."""
        check_is_fitted(self)
        if isinstance(X, StreamedData):
            return fitted_stream(self, X)
        X = validate_data(self, X, dtype=_FLOAT_DTYPES, reset=False)
        return divided(X, getattr(self, "x_scale_", 1.0))
