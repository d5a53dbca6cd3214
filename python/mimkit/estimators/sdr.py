"""Sufficient dimension reduction as scikit-learn transformers: PHD, SIR, SAVE, SpectralEstimator.

PHD, SIR and SAVE follow ``statsmodels.regression.dimred`` (same slicing, same whitening), so
their subspaces agree with statsmodels to round-off:

* whitening (``whiten=True``): centre X, ``Sigma = L L^T`` (Cholesky; ``np.cov`` with ddof 1
  for PHD, ddof 0 for SIR/SAVE, as statsmodels), work with ``Z = X_c L^{-T}``, and map
  eigenvectors back by ``L^{-T}``. Directions are then Sigma-orthogonal; each row of
  ``directions_`` is scaled to unit Euclidean norm.
* slices (SIR, SAVE): sort y with ``np.argsort``, split into ``n_slices`` nearly equal
  consecutive groups (``np.array_split``); statsmodels' ``slice_n`` corresponds to
  ``n_slices = n // slice_n``.
* SAVE's matrix is ``sum_h (n_h / n) (I - V_h)^2`` (Cook's weights); statsmodels divides by the
  number of slices instead of n, so its eigenvalues are ``n / n_slices`` times these.

``transform(X)`` returns ``(X - mean_) @ directions_.T``.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import scipy.linalg
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import core
from .._validation import check_count, check_name
from ..links import get_link
from ..options import CENTERINGS, EIGEN_METHODS, EIGEN_WHICH
from ..spectral import orient_signs, spectral_subspace

#: Smallest Cholesky pivot of the covariance, relative to the largest, accepted for whitening
#: (a condition number of the covariance up to 1e12).
_MIN_RELATIVE_PIVOT = 1e-6


class _SDRBase(TransformerMixin, BaseEstimator):
    """Shared fit/transform plumbing; subclasses implement ``_directions(Xc, y)``."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    def _check_params(self) -> None:
        """Check the parameters that need no data (before the data is looked at)."""
        if self.n_directions is not None:
            check_count(self.n_directions, "n_directions", minimum=1)
        if getattr(self, "n_slices", None) is not None:
            check_count(self.n_slices, "n_slices", minimum=1)

    def _check_n_directions(self, d: int) -> int:
        k = self.n_directions
        if k is None:
            return d
        if k > d:
            raise ValueError(f"n_directions = {k} exceeds n_features = {d}; pass at most {d}.")
        return int(k)

    def fit(self, X, y):
        """Estimate the directions.

        Parameters
        ----------
        X : (n, d) array.  y : (n,) array of real labels.

        Returns
        -------
        self
        """
        self._check_params()
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        if X.shape[0] < 2:
            raise ValueError(f"n_samples = {X.shape[0]}; at least 2 samples are needed.")
        k = self._check_n_directions(X.shape[1])
        vecs, vals, mean = self._directions(X, np.asarray(y, dtype=np.float64), k)
        vecs = vecs / np.linalg.norm(vecs, axis=0)
        self.directions_ = orient_signs(vecs).T
        self.eigenvalues_ = vals
        self.mean_ = mean
        return self

    def transform(self, X):
        """Project onto the directions: ``(X - mean_) @ directions_.T``, shape (n, k)."""
        check_is_fitted(self, "directions_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return (X - self.mean_) @ self.directions_.T


def _whitener(X: np.ndarray, ddof: int, whiten: bool):
    """(centred X, mean, Cholesky factor L or None)."""
    mean = X.mean(axis=0)
    Xc = X - mean
    if not whiten:
        return Xc, mean, None
    cov = Xc.T @ Xc / (X.shape[0] - ddof)
    message = (
        "the covariance of X is singular (collinear or constant features, or "
        "n_samples <= n_features); remove them or pass whiten=False."
    )
    try:
        L = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise ValueError(message) from None
    # Rounding can let Cholesky "succeed" on an exactly singular covariance with a pivot of
    # relative size ~1e-8; whitening by it would amplify noise ~1e8-fold.
    pivots = np.diag(L)
    if pivots.min() <= _MIN_RELATIVE_PIVOT * pivots.max():
        raise ValueError(message)
    return Xc, mean, L


def _white(Xc: np.ndarray, L: Optional[np.ndarray]) -> np.ndarray:
    return Xc if L is None else scipy.linalg.solve_triangular(L, Xc.T, lower=True).T


def _unwhiten(vecs: np.ndarray, L: Optional[np.ndarray]) -> np.ndarray:
    return vecs if L is None else scipy.linalg.solve_triangular(L.T, vecs, lower=False)


def _slices(y: np.ndarray, n_slices: int, n: int) -> list:
    if n_slices > n:
        raise ValueError(f"n_slices = {n_slices} exceeds n_samples = {n}.")
    return np.array_split(np.argsort(y), n_slices)


def _top(M: np.ndarray, k: int, by_abs: bool = False):
    vals, vecs = np.linalg.eigh(M)
    order = np.argsort(-np.abs(vals) if by_abs else -vals, kind="stable")[:k]
    return vals[order], vecs[:, order]


class PHD(_SDRBase):
    """Principal Hessian directions (Li 1992), as statsmodels ``PrincipalHessianDirections``.

    Eigenvectors of ``Sigma^{-1} (1/n) sum (y_i - ybar) x_i x_i^T`` (x centred), ranked by
    |eigenvalue|.

    Parameters
    ----------
    n_directions : int or None
        Number of directions kept (None: all d).
    whiten : bool
        Whiten X by its sample covariance (ddof 1).
    resid : bool
        Use the residuals of a least-squares fit of y on X instead of y (statsmodels ``resid``).

    Attributes
    ----------
    directions_ : (k, d) array.  eigenvalues_ : (k,) array.  mean_ : (d,) array.
    """

    def __init__(
        self, n_directions: Optional[int] = None, *, whiten: bool = True, resid: bool = False
    ):
        self.n_directions = n_directions
        self.whiten = whiten
        self.resid = resid

    def _directions(self, X, y, k):
        Xc, mean, L = _whitener(X, 1, self.whiten)
        yc = y - y.mean()
        if self.resid:
            coef = np.linalg.lstsq(Xc, yc, rcond=None)[0]
            yc = yc - Xc @ coef
        Z = _white(Xc, L)
        S = core.local_hessian(np.ascontiguousarray(Z), yc)
        vals, vecs = _top(S, k, by_abs=True)
        return _unwhiten(vecs, L), vals, mean


class SIR(_SDRBase):
    """Sliced inverse regression (Li 1991), as statsmodels ``SlicedInverseReg``.

    Eigenvectors of the weighted covariance of slice means of the whitened X.

    Parameters
    ----------
    n_directions : int or None
    n_slices : int
        Number of slices of sorted y.
    whiten : bool
        Whiten X by its sample covariance (ddof 0).

    Attributes
    ----------
    directions_ : (k, d) array.  eigenvalues_ : (k,) array.  mean_ : (d,) array.
    """

    def __init__(
        self, n_directions: Optional[int] = None, *, n_slices: int = 10, whiten: bool = True
    ):
        self.n_directions = n_directions
        self.n_slices = n_slices
        self.whiten = whiten

    def _directions(self, X, y, k):
        slices = _slices(y, self.n_slices, X.shape[0])
        Xc, mean, L = _whitener(X, 0, self.whiten)
        Z = _white(Xc, L)
        means = np.array([Z[idx].mean(axis=0) for idx in slices])
        sizes = np.array([len(idx) for idx in slices], dtype=np.float64)
        M = means.T @ (sizes[:, None] * means) / sizes.sum()
        vals, vecs = _top(M, k)
        return _unwhiten(vecs, L), vals, mean


class SAVE(_SDRBase):
    """Sliced average variance estimation (Cook), as statsmodels
    ``SlicedAverageVarianceEstimation``.

    Eigenvectors of ``sum_h (n_h / n) (I - V_h)^2`` with ``V_h`` the covariance (ddof 1) of the
    whitened X in slice h; ``bias_correction=True`` is the CSAVE matrix of Li & Zhu (2007)
    (statsmodels ``bc=True``).

    Parameters
    ----------
    n_directions : int or None
    n_slices : int
        Number of slices of sorted y (each needs >= 2 samples). The default is smaller than
        SIR's because each slice must estimate a d x d covariance, not only a mean.
    whiten : bool
    bias_correction : bool

    Attributes
    ----------
    directions_ : (k, d) array.  eigenvalues_ : (k,) array.  mean_ : (d,) array.
    """

    def __init__(
        self,
        n_directions: Optional[int] = None,
        *,
        n_slices: int = 5,
        whiten: bool = True,
        bias_correction: bool = False,
    ):
        self.n_directions = n_directions
        self.n_slices = n_slices
        self.whiten = whiten
        self.bias_correction = bias_correction

    def _directions(self, X, y, k):
        n, d = X.shape
        slices = _slices(y, self.n_slices, n)
        if min(len(idx) for idx in slices) < 2:
            raise ValueError(
                f"SAVE needs >= 2 samples per slice; n_samples = {n} is too few "
                f"for n_slices = {self.n_slices}."
            )
        Xc, mean, L = _whitener(X, 0, self.whiten)
        Z = _white(Xc, L)
        covs = [np.cov(Z[idx].T).reshape(d, d) for idx in slices]
        eye = np.eye(d)
        if not self.bias_correction:
            M = sum(len(idx) * (eye - V) @ (eye - V) for idx, V in zip(slices, covs)) / n
        else:
            H = len(slices)
            av = sum(V @ V for V in covs) / H
            vn = np.zeros((d, d))
            for idx in slices:
                R = Z[idx] - Z[idx].mean(axis=0)
                # (u u^T)(u u^T) = |u|^2 u u^T, summed over the slice.
                vn += (R * np.sum(R * R, axis=1)[:, None]).T @ R
            vn /= n
            c = np.mean([len(idx) for idx in slices])
            k1 = c * (c - 1) / ((c - 1) ** 2 + 1)
            k2 = (c - 1) / ((c - 1) ** 2 + 1)
            M = eye - 2 * sum(covs) / H + k1 * av - k2 * vn
        vals, vecs = _top(M, k)
        return _unwhiten(vecs, L), vals, mean


class SpectralEstimator(_SDRBase):
    """The preprocessed spectral method (docs/theory.md, "Spectral methods") as a transformer.

    Top eigenvectors of ``S = (1/n) sum T(y_i) x_i x_i^T`` (centred as ``center`` says) via
    :func:`mimkit.spectral.spectral_subspace`.

    Parameters
    ----------
    n_directions : int or None
        None: the link's r when ``link`` is given, else all d.
    preprocessing : str or callable
        A name (:mod:`mimkit.preprocessing`), a callable ``T(y)``, or ``"optimal"`` (needs link).
    link : str or callable, optional
        The link, for ``"optimal"``.
    r : int, optional
        The link's r when ``link`` is a callable.
    center : {"mean", "identity", "none"} or None
    which : {"abs", "largest", "smallest"} or None
    whiten : bool
        Whiten X by its sample covariance (ddof 0) first. Default False: the theory's setting,
        x ~ N(0, I) with known covariance; X is then used as given (``mean_`` is 0).
    method : {"auto", "explicit", "lanczos"}
    random_state : None, int or Generator

    Attributes
    ----------
    directions_ : (k, d) array.  eigenvalues_ : (k,) array.  mean_ : (d,) array.
    """

    def __init__(
        self,
        n_directions: Optional[int] = None,
        *,
        preprocessing="identity",
        link=None,
        r: Optional[int] = None,
        center: Optional[str] = None,
        which: Optional[str] = None,
        whiten: bool = False,
        method: str = "auto",
        random_state=None,
    ):
        self.n_directions = n_directions
        self.preprocessing = preprocessing
        self.link = link
        self.r = r
        self.center = center
        self.which = which
        self.whiten = whiten
        self.method = method
        self.random_state = random_state

    def _check_n_directions(self, d: int) -> int:
        if self.n_directions is None and self.link is not None:
            return min(get_link(self.link, self.r).r, d)
        return super()._check_n_directions(d)

    def _check_params(self) -> None:
        super()._check_params()
        if self.center is not None:
            check_name(self.center, "center", CENTERINGS)
        if self.which is not None:
            check_name(self.which, "which", EIGEN_WHICH)
        check_name(self.method, "method", EIGEN_METHODS)

    def _directions(self, X, y, k):
        if self.whiten:
            Xc, mean, L = _whitener(X, 0, True)
            Z = np.ascontiguousarray(_white(Xc, L))
        else:
            Z, mean, L = X, np.zeros(X.shape[1]), None
        D, vals = spectral_subspace(
            Z,
            y,
            k,
            self.preprocessing,
            link=self.link,
            r=self.r,
            center=self.center,
            which=self.which,
            method=self.method,
            random_state=self.random_state,
        )
        return _unwhiten(D.T, L), vals, mean
