"""Standardise and whiten X by its sample covariance (1/n), and map directions back.

Shared by the SDR estimators and ``LayerwiseRegressor(whiten=True)``: with ``Sigma = L L^T``
(Cholesky of ``X_c^T X_c / n``), the whitened data ``Z = X_c L^{-T}`` has identity sample
covariance, and a direction ``v`` of Z is the direction ``L^{-T} v`` of X (up to scale):
``Z v = X_c (L^{-T} v)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

#: Smallest Cholesky pivot of the covariance, relative to the largest, accepted for whitening
#: (a condition number of the covariance up to 1e12).
_MIN_RELATIVE_PIVOT = 1e-6


@dataclass(frozen=True, eq=False)
class Whitener:
    """Centre and (optionally) whiten.

    Attributes
    ----------
    mean : (d,) array.  factor : (d, d) lower-triangular L, or None (centring only).
    """

    mean: np.ndarray
    factor: Optional[np.ndarray]

    @classmethod
    def fit(cls, X: np.ndarray, whiten: bool = True) -> "Whitener":
        """From the rows of X (n, d); refuses a singular covariance when whitening."""
        mean = X.mean(axis=0)
        if not whiten:
            return cls(mean, None)
        Xc = X - mean
        message = (
            "the covariance of X is singular (collinear or constant features, or "
            "n_samples <= n_features); remove them or pass whiten=False."
        )
        try:
            L = np.linalg.cholesky(Xc.T @ Xc / X.shape[0])
        except np.linalg.LinAlgError:
            raise ValueError(message) from None
        # Rounding can let Cholesky "succeed" on an exactly singular covariance with a pivot of
        # relative size ~1e-8; whitening by it would amplify noise ~1e8-fold.
        pivots = np.diag(L)
        if pivots.min() <= _MIN_RELATIVE_PIVOT * pivots.max():
            raise ValueError(message)
        return cls(mean, L)

    def transform(self, X: np.ndarray) -> np.ndarray:
        """``Z = (X - mean) L^{-T}``, shape (n, d), C-contiguous."""
        Xc = X - self.mean
        if self.factor is None:
            return Xc
        # L^{-1} once (d x d, well conditioned by the pivot check), then a product: a triangular
        # solve with n right-hand sides is much slower for n >> d.
        return Xc @ np.linalg.inv(self.factor).T

    def directions(self, vectors: np.ndarray) -> np.ndarray:
        """Directions (d, k) of Z as directions of X, ``L^{-T} V``, each of unit length."""
        if self.factor is not None:
            vectors = np.linalg.inv(self.factor).T @ vectors
        return vectors / np.linalg.norm(vectors, axis=0)
