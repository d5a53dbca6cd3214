"""scikit-learn transformer: Bayes-optimal GAMP for a known link (the best polynomial-time
subspace estimate known; docs/theory.md, "Bayes-optimal AMP")."""

from __future__ import annotations

import numbers
import warnings
from typing import Optional

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .._validation import check_count, check_positive_number
from ..amp.factory import make_channel
from ..amp.gamp import gamp
from ..amp.state_evolution import channel_threshold
from ..links import get_link


class AMPEstimator(TransformerMixin, BaseEstimator):
    """GAMP with the Bayes-optimal channel of ``link``, from an uninformed start.

    Inputs are taken as ``x ~ N(0, I_d)`` (no centring or whitening), the prior on the
    weights is Gaussian (rows of ``sqrt(d) U^T`` iid ``N(0, I_r)``).

    Parameters
    ----------
    link : str, Link or callable
        The link the labels follow (a callable needs ``n_directions``).
    n_directions : int or None
        r; None: the link's r.
    noise : float >= 0
        Gaussian label noise std (a noiseless link without a closed-form channel is run at a
        small regularising noise: :func:`mimkit.amp.make_channel`).
    max_iter : int, default 200.  damping : float in [0, 1), default 0.8
    tol : float, default 1e-3
        Stop when GAMP's overlap estimate ``W^T W / d`` has converged: its eigenvalues move
        by less than tol (relative) per undamped step (:func:`mimkit.amp.gamp`).
    random_state : None, int or Generator
        The small random start.
    verbose : bool
        tqdm progress bar.

    Attributes
    ----------
    directions_ : (r, d) array, orthonormal rows spanning the estimated subspace.
    weights_ : (d, r) array, GAMP's posterior mean of ``sqrt(d) U^T``.
    n_iter_ : int.  converged_ : bool
    overlap_history_ : (n_iter_, r) array or None
        Squared cosines of the principal angles with the truth per iteration, when
        ``fit(X, y, U=...)`` was given it.
    channel_ : str, the channel rule used.  n_features_in_ : int
    alpha_ : float
        The sample ratio ``n / d``.
    weak_recovery_threshold_ : float or None
        AMP's weak-recovery threshold for this link and noise
        (:func:`mimkit.amp.amp_threshold`; 0 for a link with a linear part). None where it is
        not computed: a generic (quadrature) channel with r >= 2, whose threshold takes
        minutes.
    informative_ : bool or None
        ``alpha_ > weak_recovery_threshold_``. When False, ``fit`` warns (``UserWarning``):
        below the threshold neither AMP nor any known polynomial-time method recovers the
        subspace as ``d -> inf``, and ``directions_`` is no better than chance (a subspace
        distance near 1), although GAMP converges. None where the threshold is not computed.
    """

    def __init__(
        self,
        link=None,
        n_directions: Optional[int] = None,
        *,
        noise: float = 0.0,
        max_iter: int = 200,
        damping: float = 0.8,
        tol: float = 1e-3,
        random_state=None,
        verbose: bool = False,
    ):
        self.link = link
        self.n_directions = n_directions
        self.noise = noise
        self.max_iter = max_iter
        self.damping = damping
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    def _check_params(self):
        if self.n_directions is not None:
            check_count(
                self.n_directions,
                "n_directions",
                minimum=1,
                hint="n_directions is r, the number of index directions (None: the link's).",
            )
        if self.link is None:
            raise ValueError(
                "link is required: AMP is Bayes-optimal for a known link; pass a library "
                "name (e.g. link='z1z2') or a callable with n_directions."
            )
        link = get_link(self.link, self.n_directions)
        noise = check_positive_number(self.noise, "noise", allow_zero=True)
        check_count(self.max_iter, "max_iter", minimum=1)
        check_positive_number(self.tol, "tol")
        damp = self.damping
        if isinstance(damp, bool) or not isinstance(damp, numbers.Real) or not 0 <= damp < 1:
            raise ValueError(f"damping must be a number in [0, 1), got {damp!r}.")
        return link, noise

    def fit(self, X, y, U=None) -> "AMPEstimator":
        """Run GAMP on (X, y).

        Parameters
        ----------
        X : (n, d) array, rows ~ N(0, I_d).  y : (n,) array.
        U : (r, d) array, optional
            The true directions: records ``overlap_history_``.

        Returns
        -------
        self
        """
        link, noise = self._check_params()
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        if np.ptp(y) == 0:
            raise ValueError(
                f"y has a single value ({float(y[0])!r}); AMPEstimator needs a response that "
                "varies."
            )
        X = np.ascontiguousarray(X)
        n, d = X.shape
        if d < link.r:
            raise ValueError(f"n_features = {d} is below the link's r = {link.r}.")
        callback = None
        if U is not None:
            U = np.asarray(U, dtype=np.float64)
            if U.shape != (link.r, d):
                raise ValueError(f"U must have shape (r, d) = ({link.r}, {d}), got {U.shape}.")

            QU = np.linalg.qr(U.T)[0]

            def callback(W):
                # Squared cosines of the principal angles (QR never fails on a degenerate W).
                return np.linalg.svd(np.linalg.qr(W)[0].T @ QU, compute_uv=False) ** 2

        channel = make_channel(link, noise)
        res = gamp(
            X,
            np.asarray(y, dtype=np.float64),
            channel,
            max_iter=self.max_iter,
            damping=self.damping,
            tol=self.tol,
            random_state=self.random_state,
            callback=callback,
            progress=bool(self.verbose),
        )
        self.weights_ = res.W
        self.directions_ = np.linalg.qr(res.W)[0].T.copy()
        self.n_iter_, self.converged_ = res.n_iter, res.converged
        self.overlap_history_ = np.array(res.overlaps) if U is not None else None
        self.channel_ = channel.kind
        self.alpha_ = n / d
        self.weak_recovery_threshold_ = channel_threshold(link, channel)
        self.informative_ = (
            None
            if self.weak_recovery_threshold_ is None
            else bool(self.alpha_ > self.weak_recovery_threshold_)
        )
        if self.informative_ is False:
            warnings.warn(
                f"n / d = {self.alpha_:.3g} is below AMP's weak-recovery threshold "
                f"{self.weak_recovery_threshold_:.3g} for link {link.name!r}: no known "
                "polynomial-time method recovers the subspace there, and directions_ is no "
                "better than chance (informative_ is False). Use more samples.",
                UserWarning,
                stacklevel=2,
            )
        return self

    def transform(self, X) -> np.ndarray:
        """Project onto the estimated directions: ``X @ directions_.T``, shape (n, r)."""
        check_is_fitted(self, "directions_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X @ self.directions_.T
