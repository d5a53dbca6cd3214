"""scikit-learn regressor: a two-layer network trained layer by layer.

Theory: docs/theory.md, "The network", "Phase 1" and "Phase 2".
"""

from __future__ import annotations

import numbers
from typing import Callable, Optional, Union

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .._random import as_generator
from .._scale import data_scale, r2_score_scaled
from .._validation import check_count, check_n_threads, check_name
from ..joint_training import DEFAULT_TOL
from ..options import ACTIVATIONS, JOINT_METHODS, LOSSES, PHASE2_DATA
from ..staged_training import (
    STAGE_DATA,
    Stage,
    check_gate_activation,
    check_stages,
    staged_subspace,
    train_staged,
)
from ..stream import StreamedData
from ..training import default_n_steps, neuron_subspace, train_layerwise
from ._fit_state import atomic_fit, data_scales, divided, fitted_stream
from .whitening import Whitener

_FLOAT_DTYPES = (np.float64, np.float32)
#: Estimator parameters passed to :func:`~mimkit.training.train_layerwise` as they are (a test
#: checks both sides have each name).
TRAINING_PARAMETERS = tuple(
    "n_hidden activation loss huber_delta label_transform lr weight_decay init_scale ridge "
    "phase2_data refine refine_max_iter refine_tol n_threads".split()
)


class LayerwiseRegressor(RegressorMixin, TransformerMixin, BaseEstimator):
    """Two-layer network ``f(x) = c + sum_j a_j sigma(w_j . x + b_j)`` trained layer-wise.

    Phase 1 runs ``n_steps`` steps of full-batch GD with weight decay on W from a symmetric
    tiny initialisation on D1 (power iteration on the local Hessian); phase 2 keeps the unit
    directions ``w_j / |w_j|``, draws fresh N(0, 1) biases and fits the outer weights and the
    intercept on D2 by ridge regression. Inputs are expected standardised (the theory's
    ``x ~ N(0, I)``): unit directions then give unit-variance pre-activations.

    Real data (``whiten=True``): X is centred and whitened by its sample covariance, as
    sufficient dimension reduction does (``z = L^{-1} (x - mean)``, ``L L^T`` the 1/n
    covariance of the X passed to fit), the network is trained on z, and every later X is
    mapped the same way. This gives the inputs the theory's first two moments, not its
    Gaussian law: the phase-1 analysis (docs/theory.md) does not cover it.

    Scale: X and y are first divided by ``x_scale_`` and ``y_scale_``, the powers of two nearest
    the root-mean-square of X and the standard deviation of y (1 for standardised data, which
    is then fitted exactly as without this step). The fit is therefore equivariant: for
    ``c = 2^k``, ``fit(c X, y)`` predicts on ``c X`` exactly what ``fit(X, y)`` predicts on X,
    and ``fit(X, c y)`` predicts exactly c times as much. For other c a factor in [0.71, 1.41]
    remains, which ``huber_delta`` and ``label_transform`` see (both act on ``y / y_scale_``):
    the fit is of the same quality, not the same bits. Scales outside about [1e-289, 1e289]
    are refused, naming X or y.

    Parameters
    ----------
    n_hidden : int, even, default 64
        Width m; neurons come in symmetric pairs.
    activation : {'logcosh', 'quadratic', 'cos'}, default 'logcosh'
    loss : {'huber', 'squared', 'absolute'}, default 'huber'
        Phase-1 loss; its derivative is the label preprocessing (Huber: ``clip(y - c)``).
    huber_delta : float, default 1.0
        Huber threshold in units of ``y / y_scale_`` (of y for standardised labels).
    label_transform : callable or None
        Phase 1 trains on ``label_transform(y / y_scale_)`` ("squared on T(y)"); phase 2
        fits y.
    lr, weight_decay : float, default 1.0
        eta1, beta1; their product 1 makes phase 1 clean power iteration.
    n_steps : int or 'auto', default 'auto'
        T1; 'auto' is :func:`mimkit.training.default_n_steps` of ``n_features``.
    init_scale : float, default 1e-6
        Standard deviation of the initial pre-activations on isotropic data (eps0).
    ridge : 'gcv' or float >= 0, default 'gcv'
        Phase-2 per-sample ridge penalty; 'gcv' chooses it by generalised cross-validation.
    phase2_fraction : float in (0, 1), default 0.5
        Share of the samples used as D2 (at random); ignored when ``X2, y2`` are passed to fit
        and with ``phase2_data='reuse'``.
    phase2_data : {'fresh', 'reuse'}, default 'fresh'
        'fresh': the paper's sample splitting (D1 for phase 1, D2 for phase 2). 'reuse': no
        split; phase 1 trains on all the samples and phase 2 fits the outer layer on them
        again (no ``X2, y2`` then).
    refine : {None, 'lbfgs', 'adam'}, default None
        None: the paper's layer-wise algorithm. Otherwise, after phase 2, train all weights
        jointly on the squared loss over D1 and D2 from the layer-wise network, with early
        stopping on a held-out tenth (:func:`mimkit.training.train_layerwise`); better test
        error, no longer the analysed algorithm.
    refine_max_iter : int or None, default None
        L-BFGS iterations or Adam epochs of the refinement; None: 30 / 15
        (``mimkit.training.REFINE_MAX_ITER``).
    refine_tol : float, default 1e-5
        Relative validation improvement that counts as progress in the refinement.
    n_threads : int or None
        Core threads; None uses all.
    random_state : int, Generator or None
        Drives the D1/D2 split, the initial directions and the phase-2 biases.
    verbose : bool, default False
        Show a progress bar when phase 1 runs longer than 2 s.
    whiten : bool, default False
        Centre and whiten X first (above); arrays only, not streams.
    stages : int >= 1 or 'auto', default 1
        1: the paper's algorithm (one phase 1). Otherwise learn the index directions stage
        by stage (:mod:`mimkit.staged_training`, docs/theory.md, "Hierarchies"): a
        first-order stage for ``E[T(y) x]`` when significant, then phase-1 stages on the
        part of x outside the learned directions, against the residual of the network so
        far, gated by ``sigma''`` of the learned projections; 'auto' stops at the first stage
        whose matrix has no eigenvalue outside its predicted bulk. Arrays only.
    stage_data : {'reuse', 'fresh'}, default 'reuse'
        With ``stages != 1``: every stage trains on all of D1, or each on its own random part.

    Attributes
    ----------
    W_ : (n_hidden, n_features_in_) unit directions, acting on ``X / x_scale_`` (on the
        whitened X if ``whiten``); after ``refine`` the jointly trained weights (norms no longer 1).
    b_ : (n_hidden,) phase-2 (or refined) biases.
    a_ : (n_hidden,) outer weights.  intercept_ : float, c.  Both in units of y: the
        prediction is ``intercept_ + sum_j a_j sigma(w_j . x / x_scale_ + b_j)`` (w_j . z
        with z the whitened x if ``whiten``).
    x_scale_, y_scale_ : float
        The powers of two X and y were divided by (above; 1 for a StreamedData's rows; with
        ``whiten`` the whitening of X makes its scale irrelevant).
    n_features_in_ : int.
    whitener_ : :class:`~mimkit.estimators.whitening.Whitener` or None
        The centring and whitening of X (``whiten=True``).
    history_ : dict, in the units of the rescaled data:
        ``n_steps``, ``phase1_loss`` (per step), ``log_scale``, ``keep_scale``,
        ``offset`` (phase-1 c), ``ridge`` (chosen lam), ``n1``, ``n2``,
        ``phase1_seconds`` (all of phase 1), ``phase1_step_seconds`` (inside its steps),
        ``phase2_seconds``, ``phase1_weights`` (raw W after phase 1).
    refinement_ : :class:`~mimkit.joint_training.JointFit` or None
        What ``refine`` did (iterations, losses, stop reason, seconds); None without it.
    stages_ : tuple of :class:`~mimkit.staged_training.Stage`
        Per stage: ``kind`` ('trivial' or 'easy'), ``directions``, ``n_steps``,
        ``n_samples`` and the statistics that found them; empty with ``stages=1``.
    """

    # Deliberate twin of train_layerwise's signature (scikit-learn reads the parameters from
    # __init__); TRAINING_PARAMETERS passes the shared ones on.
    def __init__(
        self,
        n_hidden: int = 64,
        activation: str = "logcosh",
        loss: str = "huber",
        huber_delta: float = 1.0,
        label_transform: Optional[Callable[[np.ndarray], np.ndarray]] = None,
        lr: float = 1.0,
        weight_decay: float = 1.0,
        n_steps: Union[int, str] = "auto",
        init_scale: float = 1e-6,
        ridge: Union[str, float] = "gcv",
        phase2_fraction: float = 0.5,
        phase2_data: str = "fresh",
        refine: Optional[str] = None,
        refine_max_iter: Optional[int] = None,
        refine_tol: float = DEFAULT_TOL,
        n_threads: Optional[int] = None,
        random_state=None,
        verbose: bool = False,
        whiten: bool = False,
        stages: Union[int, str] = 1,
        stage_data: str = "reuse",
    ):
        self.n_hidden = n_hidden
        self.activation = activation
        self.loss = loss
        self.huber_delta = huber_delta
        self.label_transform = label_transform
        self.lr = lr
        self.weight_decay = weight_decay
        self.n_steps = n_steps
        self.init_scale = init_scale
        self.ridge = ridge
        self.phase2_fraction = phase2_fraction
        self.phase2_data = phase2_data
        self.refine = refine
        self.refine_max_iter = refine_max_iter
        self.refine_tol = refine_tol
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose
        self.whiten = whiten
        self.stages = stages
        self.stage_data = stage_data

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # transform computes in the dtype of X (the core runs float32 and float64).
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        # Phase 1 is blind to a linear target (sigma'(0) = 0 and the symmetric init leave only
        # the second-order local Hessian), and scikit-learn's regression check uses a linear
        # make_regression target: its R^2 > 0.5 requirement measures what the method is
        # designed not to see.
        tags.regressor_tags.poor_score = True
        return tags

    def _check_params(self) -> None:
        """Errors name the parameter; numeric ranges are re-checked by training."""
        check_n_threads(self.n_threads)
        check_name(self.activation, "activation", ACTIVATIONS)
        check_name(self.loss, "loss", LOSSES)
        check_name(self.phase2_data, "phase2_data", PHASE2_DATA)
        if self.refine is not None:
            check_name(self.refine, "refine", JOINT_METHODS)
        if not (isinstance(self.n_steps, str) and self.n_steps == "auto"):
            check_count(self.n_steps, "n_steps", hint="Or pass 'auto'.")
        frac = self.phase2_fraction
        if isinstance(frac, bool) or not isinstance(frac, numbers.Real) or not 0 < frac < 1:
            raise ValueError(
                f"phase2_fraction={frac!r}; pass a number in (0, 1), the share of "
                f"samples used for phase 2."
            )
        if self.label_transform is not None and not callable(self.label_transform):
            raise TypeError(f"label_transform={self.label_transform!r}; pass a callable or None.")
        if check_stages(self.stages) != 1:
            check_gate_activation(self.activation)
        check_name(self.stage_data, "stage_data", STAGE_DATA)
        if self.stages != 1 and self.label_transform is not None:
            raise ValueError(
                "stages != 1 trains every stage on the loss's own preprocessing of the residual; "
                "pass label_transform=None (or stages=1)."
            )

    def fit(self, X, y=None, *, X2=None, y2=None) -> "LayerwiseRegressor":
        """Phase 1 on D1 and phase 2 on D2.

        Parameters
        ----------
        X : (n, d) array, or a :class:`~mimkit.stream.StreamedData` (then y is None: its own
            labels; memory stays O(m d + chunk) whatever n and d).
        y : (n,) array.
        X2, y2 : (n2, d), (n2,) arrays, optional
            An explicit phase-2 data set; then all of (X, y) is D1. Otherwise (X, y) is split
            at random by ``phase2_fraction`` (one copy of X; a stream is split into its first
            and last rows instead, which costs nothing: its rows are independent already), or
            with ``phase2_data='reuse'`` not split at all.

        Returns
        -------
        self
        """
        with atomic_fit(self):
            return self._fit(X, y, X2, y2)

    def _fit(self, X, y, X2, y2) -> "LayerwiseRegressor":
        self._check_params()
        if isinstance(X, StreamedData):
            if self.whiten:
                raise ValueError(
                    "whiten=True needs the covariance of X in memory; pass an array, or "
                    "whiten the stream's rows yourself and use whiten=False."
                )
            if self.stages != 1:
                raise ValueError(
                    "stages != 1 needs X as an array (each stage projects the rows); pass "
                    "X.rows() to materialise a StreamedData, or stages=1."
                )
            self.whitener_ = None
            return self._fit_stream(X, y, X2, y2)
        X, y = validate_data(self, X, y, dtype=_FLOAT_DTYPES, y_numeric=True)
        self.x_scale_, self.y_scale_ = data_scales(X, y)
        y = divided(y, self.y_scale_)
        self.whitener_ = self._fit_whitener(X) if self.whiten else None
        X = self._inputs(X)
        rng = as_generator(self.random_state)
        if (X2 is None) != (y2 is None):
            raise ValueError("pass both X2 and y2 (the phase-2 data set), or neither.")
        if self.phase2_data == "reuse":
            self._no_phase2_set(X2)
            X1, y1, X2, y2 = X, y, None, None
        elif X2 is not None:
            X1, y1 = X, y
            X2, y2 = validate_data(self, X2, y2, dtype=X.dtype, y_numeric=True, reset=False)
            X2, y2 = self._inputs(X2), divided(y2, self.y_scale_)
        else:
            X1, y1, X2, y2 = self._split(X, y, rng)
        return self._fit_data(X1, y1, X2, y2, rng)

    def _fit_stream(self, X, y, X2, y2) -> "LayerwiseRegressor":
        if y is not None or y2 is not None:
            raise ValueError("a StreamedData carries its own labels: pass y=None (and y2=None).")
        if X2 is not None and not isinstance(X2, StreamedData):
            raise TypeError("with a streamed X, X2 must be a StreamedData too (or None).")
        if self.phase2_data == "reuse":
            self._no_phase2_set(X2)
        elif X2 is None:
            if X.n < 3:
                raise ValueError(
                    f"n_samples = {X.n}: need at least 3 samples to split into D1 "
                    f"and D2 (phase 2 needs 2); stream more samples or pass X2."
                )
            n2 = min(max(2, round(self.phase2_fraction * X.n)), X.n - 1)
            X, X2 = X.subset(0, X.n - n2), X.subset(X.n - n2, X.n)
        elif X2.d != X.d:
            raise ValueError(
                f"X2 has {X2.d} features but X has {X.d}; both phases need the same n_features."
            )
        self.n_features_in_ = X.d
        # A stream's rows are N(0, 1) by construction; its labels are those of its link.
        self.x_scale_, self.y_scale_ = 1.0, data_scale(X.labels, "y", centre=True)
        y1, y2 = (None if Xk is None else divided(Xk.labels, self.y_scale_) for Xk in (X, X2))
        return self._fit_data(X, y1, X2, y2, as_generator(self.random_state))

    def _no_phase2_set(self, X2) -> None:
        if X2 is not None:
            raise ValueError(
                "phase2_data='reuse' fits phase 2 on X itself: pass no X2, y2 (or use "
                "phase2_data='fresh')."
            )

    def _fit_data(self, X1, y1, X2, y2, rng) -> "LayerwiseRegressor":
        n_steps = (
            default_n_steps(X1.shape[1])
            if self.n_steps == "auto"
            else check_count(self.n_steps, "n_steps")
        )
        if self.stages != 1:
            return self._fit_staged(X1, y1, X2, y2, rng, n_steps)
        self.stages_: tuple[Stage, ...] = ()
        fit = train_layerwise(
            X1,
            y1,
            X2,
            y2,
            **{name: getattr(self, name) for name in TRAINING_PARAMETERS},
            n_steps=n_steps,
            random_state=rng,
            progress=bool(self.verbose),
        )
        net, p1, p2 = fit.network, fit.phase1, fit.phase2
        # Outer weights and offset in the units of y (exact: y_scale_ is a power of two).
        self.W_, self.b_ = net.W, net.b
        self.a_, self.intercept_ = net.a * self.y_scale_, net.c * self.y_scale_
        self.history_ = {
            "n_steps": n_steps,
            "phase1_loss": p1.result.loss,
            "log_scale": p1.result.log_scale,
            "keep_scale": p1.result.keep_scale,
            "offset": p1.c,
            "ridge": p2.ridge,
            "n1": X1.shape[0],
            "n2": (X1 if X2 is None else X2).shape[0],
            "phase1_seconds": p1.seconds,
            "phase1_step_seconds": p1.result.step_seconds,
            "phase2_seconds": p2.seconds,
            "phase1_weights": p1.W,
        }
        self.refinement_ = fit.refinement
        self._network = net
        return self

    def _fit_staged(self, X1, y1, X2, y2, rng, n_steps: int) -> "LayerwiseRegressor":
        reuse = X2 is None
        shared = {name: getattr(self, name) for name in TRAINING_PARAMETERS}
        for name in ("label_transform", "phase2_data"):
            del shared[name]
        fit = train_staged(
            X1,
            y1,
            X1 if reuse else X2,
            y1 if reuse else y2,
            stages=self.stages,
            stage_data=self.stage_data,
            **shared,
            n_steps=n_steps,
            random_state=rng,
        )
        net = fit.network
        self.W_, self.b_, self.a_, self.intercept_ = net.W, net.b, net.a, net.c
        self.stages_ = fit.stages
        self.history_ = {
            "n_steps": n_steps,
            "ridge": fit.phase2.ridge,
            "n1": X1.shape[0],
            "n2": (X1 if reuse else X2).shape[0],
            "phase2_seconds": fit.phase2.seconds,
            "stopped": fit.stopped,
        }
        self.refinement_ = fit.refinement
        self._network = net
        return self

    def _split(self, X, y, rng):
        n = X.shape[0]
        if n < 3:
            raise ValueError(
                f"n_samples = {n}: need at least 3 samples to split into D1 and D2 "
                f"(phase 2 needs 2); pass more samples or X2, y2."
            )
        n2 = min(max(2, round(self.phase2_fraction * n)), n - 1)
        perm = rng.permutation(n)
        # Sorted indices keep the copies' memory access sequential.
        i1, i2 = np.sort(perm[n2:]), np.sort(perm[:n2])
        return X[i1], y[i1], X[i2], y[i2]

    def predict(self, X) -> np.ndarray:
        """Network output, shape (n,); X may be a StreamedData."""
        X = self._fitted_inputs(X)  # checks the fit first
        out = self._network.predict(X, n_threads=self.n_threads)
        scale = getattr(self, "y_scale_", 1.0)
        return out if scale == 1.0 else out * scale

    def score(self, X, y=None, sample_weight=None) -> float:
        """R^2 of the predictions (finite for labels up to float64's largest); y=None takes a
        StreamedData's own labels."""
        if y is None and isinstance(X, StreamedData):
            y = X.labels
        return r2_score_scaled(y, self.predict(X), sample_weight)

    def transform(self, X) -> np.ndarray:
        """Hidden features ``sigma(X W_^T + b_)``, shape (n, n_hidden), in the dtype of X;
        X may be a StreamedData."""
        X = self._fitted_inputs(X)
        return self._network.hidden(X, n_threads=self.n_threads)

    def _fitted_inputs(self, X):
        """X checked against the fit: a StreamedData as is, an array validated (and whitened)."""
        check_is_fitted(self)
        if not isinstance(X, StreamedData):
            return self._inputs(validate_data(self, X, dtype=_FLOAT_DTYPES, reset=False))
        if getattr(self, "whitener_", None) is not None:
            raise ValueError("fitted with whiten=True: pass X as an array (it is whitened).")
        return fitted_stream(self, X)

    def _inputs(self, X: np.ndarray) -> np.ndarray:
        """X as the network sees it: whitened (in the dtype of X) when ``whiten``, otherwise
        divided by ``x_scale_``."""
        whitener = getattr(self, "whitener_", None)
        if whitener is None:
            return divided(X, getattr(self, "x_scale_", 1.0))
        return np.ascontiguousarray(whitener.transform(X.astype(np.float64)), dtype=X.dtype)

    def _fit_whitener(self, X: np.ndarray) -> Whitener:
        """The whitening of X, its moments taken on ``X / x_scale_`` (their squares stay in
        range; exact, so the same numbers as on X wherever those did not overflow)."""
        scaled = Whitener.fit(divided(X, self.x_scale_).astype(np.float64))
        assert scaled.factor is not None  # whiten=True
        return Whitener(scaled.mean * self.x_scale_, scaled.factor * self.x_scale_)

    def subspace(self, k: int) -> np.ndarray:
        """Estimated index subspace: top-k right singular vectors of ``W_``, shape (k, d),
        orthonormal rows. A staged network (``stages != 1``) returns its learned directions
        first, in learning order, then (for larger k) the top singular vectors of ``W_``
        outside them. With ``whiten=True`` in the original coordinates of X: the network
        reads ``w . z = (L^{-T} w) . (x - mean)``, so the span of the ``L^{-T} v`` is returned
        (orthonormalised)."""
        check_is_fitted(self)
        V = (
            staged_subspace(self.stages_, self.W_, k)
            if self.stages_
            else neuron_subspace(self.W_, k)
        )
        whitener = getattr(self, "whitener_", None)
        if whitener is None:
            return V
        Q = np.linalg.qr(whitener.directions(V.T))[0]
        return Q.T
