"""Sufficient dimension reduction as scikit-learn transformers: PHD, SIR, SAVE, SpectralEstimator.

PHD, SIR and SAVE follow the conventions of R's ``dr`` package (Weisberg 2002, "Dimension
reduction regression in R", J. Stat. Software 7(1)):

* whitening: centre X, ``Sigma = X_c^T X_c / n = L L^T``, work with ``Z = X_c L^{-T}`` (dr's
  ``sqrt(n) Q`` of the QR decomposition of X_c spans the same coordinates up to signs);
* a kernel matrix M of Z; eigenvalues sorted by decreasing |value|; directions ``L^{-T} v``
  scaled to unit Euclidean length in the original coordinates (dr's ``evectors``);
* SIR: ``M = sum_s (n_s / n) zbar_s zbar_s^T``; SAVE: ``M = sum_s (n_s / n) (I - V_s)^2`` with
  V_s the 1/n_s covariance of Z in slice s; pHd: ``M = (1/n) sum_i e_i z_i z_i^T`` with e the
  centred y (dr's ``"phdy"``) or, ``resid=True``, its least-squares residuals on X (dr's
  default ``"phd"`` / ``"phdres"``);
* slices from :func:`mimkit.estimators.slicing.slice_response` (dr's rule, ties never split),
  ``max(8, p + 3)`` asked for by default.

``dimension_tests_`` holds dr's "large-sample marginal dimension tests"
(:mod:`mimkit.estimators.dimension_tests`), and ``n_directions="auto"`` keeps the first
dimension i whose test "iD vs >= (i+1)D" is not rejected at ``level``.

Correspondence with ``statsmodels.regression.dimred``: SIR with ``slicing="equal"`` and
``n_slices = n // slice_n`` is statsmodels' ``SlicedInverseReg(...).fit(slice_n=slice_n)``;
statsmodels' pHd whitens by the 1/(n - 1) covariance, so its eigenvalues are ``(n - 1) / n``
times these (same directions); its SAVE uses 1/(n_s - 1) slice covariances and divides by the
number of slices instead of n (``bias_correction=True``, Li & Zhu's CSAVE, is statsmodels'
``bc=True`` exactly, with equal slicing).

``transform(X)`` returns ``(X - mean_) @ directions_.T``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .._random import as_generator
from .._validation import check_count, check_name
from ..links import get_link
from ..options import CENTERINGS, DIMENSION_TESTS, EIGEN_METHODS, EIGEN_WHICH, SLICINGS
from ..spectral import orient_signs, spectral_subspace
from ..staged_spectral import staged_spectral_subspace
from ..staged_training import check_stages
from ..stream import StreamedData
from . import dimension_tests as dt
from ._fit_state import fitted_stream
from .slicing import default_n_slices, equal_slices, slice_response
from .whitening import Whitener

#: Rows of a StreamedData made at a time by transform (8 MiB of float64 at d = 1024).
_TRANSFORM_CHUNK_ROWS = 1024
#: The p-value column of ``dimension_tests_`` read by each ``dimension_test``.
_PVALUE_COLUMN = {
    "normal": "p_value",
    "general": "p_value_general",
    "permutation": "p_value_permutation",
}


@dataclass(frozen=True, eq=False)
class _Kernel:
    """The eigen-decomposition of a kernel matrix, in whitened coordinates.

    Z : (n, p) whitened X.  eigenvalues : (p,), by decreasing |value|.  vectors : (p, p).
    labels : (n,) slices (SIR, SAVE) or None.  response : (n,) pHd's e, or None.
    """

    Z: np.ndarray
    eigenvalues: np.ndarray
    vectors: np.ndarray
    labels: Optional[np.ndarray] = None
    response: Optional[np.ndarray] = None


def _eigen_by_abs(M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    vals, vecs = np.linalg.eigh(M)
    order = np.argsort(-np.abs(vals), kind="stable")
    return vals[order], vecs[:, order]


class _SDRBase(TransformerMixin, BaseEstimator):
    """Shared fit/transform plumbing; subclasses implement ``_fit_directions(X, y, k)``."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    def _check_params(self) -> None:
        """Check the parameters that need no data (before the data is looked at)."""
        if self.n_directions is not None and not (
            isinstance(self.n_directions, str) and self.n_directions == "auto"
        ):
            check_count(
                self.n_directions, "n_directions", minimum=1, hint='Or pass None or "auto".'
            )
        if getattr(self, "n_slices", None) is not None:
            check_count(self.n_slices, "n_slices", minimum=1)

    def _check_n_directions(self, d: int) -> Union[int, str]:
        k = self.n_directions
        if k is None:
            return d
        if k == "auto":
            return k
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
        if np.ptp(y) == 0:
            raise ValueError(
                f"y has a single value ({float(y[0])!r}); {type(self).__name__} needs a response "
                "that varies."
            )
        k = self._check_n_directions(X.shape[1])
        vecs, vals, mean = self._fit_directions(X, np.asarray(y, dtype=np.float64), k)
        self.directions_ = orient_signs(vecs).T
        self.eigenvalues_ = vals
        self.mean_ = mean
        self.n_directions_ = vecs.shape[1]
        return self

    def transform(self, X):
        """Project onto the directions: ``(X - mean_) @ directions_.T``, shape (n, k), float64;
        X may be a :class:`~mimkit.stream.StreamedData` (projected chunk by chunk)."""
        check_is_fitted(self, "directions_")
        if not isinstance(X, StreamedData):
            X = validate_data(self, X, reset=False, dtype=np.float64)
            return (X - self.mean_) @ self.directions_.T
        fitted_stream(self, X)
        out = np.empty((X.n, self.directions_.shape[0]))
        for start, rows in X.chunks(_TRANSFORM_CHUNK_ROWS):
            out[start : start + rows.shape[0]] = (rows - self.mean_) @ self.directions_.T
        return out


class _KernelSDR(_SDRBase):
    """PHD, SIR, SAVE: a kernel matrix of whitened X, dimension tests, ``"auto"``.

    Subclasses implement ``_kernel(Z, y) -> _Kernel`` and ``_test_row(kernel, i) -> dict``,
    and set ``_tests`` (the dimension tests they have) and ``_max_rows(kernel)``.
    """

    _tests: tuple[str, ...] = DIMENSION_TESTS

    def _check_params(self) -> None:
        super()._check_params()
        dt.check_level(self.level)
        check_name(self.dimension_test, "dimension_test", self._tests)
        if self.dimension_test == "permutation":
            dt.check_n_permutations(self.n_permutations)

    def _fit_directions(self, X, y, k):
        whitener = Whitener.fit(X, self.whiten)
        kernel = self._kernel(whitener.transform(X), y)
        rng = as_generator(self.random_state) if self.dimension_test == "permutation" else None
        self.dimension_tests_, dimension = dt.sequential_table(
            lambda i: self._row_with_permutation(kernel, y, i, rng),
            self._max_rows(kernel),
            self.level,
            _PVALUE_COLUMN[self.dimension_test],
        )
        if k == "auto":
            k = dimension
        return whitener.directions(kernel.vectors[:, :k]), kernel.eigenvalues[:k], whitener.mean

    def _max_rows(self, kernel: _Kernel) -> int:
        return kernel.Z.shape[1]

    def _row_with_permutation(self, kernel: _Kernel, y, i: int, rng) -> dict:
        row = self._test_row(kernel, i)
        if self.dimension_test != "permutation":
            return row
        # The eigen-coordinates of the whitened X: the first i kept, the rest permuted.
        V = kernel.Z @ kernel.vectors
        n = V.shape[0]

        def permuted(perm):
            Vp = dt.permuted_predictors(V, i, perm)
            return self._tail_statistic(self._kernel(Whitener.fit(Vp).transform(Vp), y), i)

        observed = self._tail_statistic(kernel, i)
        return {
            **row,
            "p_value_permutation": dt.permutation_pvalue(
                observed, permuted, n, self.n_permutations, rng
            ),
        }

    def _tail_statistic(self, kernel: _Kernel, i: int) -> float:
        """The permutation test's statistic: n * sum of the p - i smallest |eigenvalues|."""
        return kernel.Z.shape[0] * float(np.sum(np.abs(kernel.eigenvalues[i:])))


class _SlicedSDR(_KernelSDR):
    """SIR and SAVE: the slices of y."""

    def _check_params(self) -> None:
        super()._check_params()
        check_name(self.slicing, "slicing", SLICINGS)

    def _slices(self, y: np.ndarray, p: int) -> np.ndarray:
        h = default_n_slices(p) if self.n_slices is None else self.n_slices
        labels = (slice_response if self.slicing == "dr" else equal_slices)(y, h)
        self.slice_sizes_ = np.bincount(labels)
        self.n_slices_ = self.slice_sizes_.size
        return labels


_SDR_PARAMETERS_DOC = """
    level : float in (0, 1)
        Size of each dimension test (``n_directions="auto"``).
    dimension_test : {"normal", "general", "permutation"}
        The test ``"auto"`` reads: normal theory, general (no normality of X), or a
        permutation test (``n_permutations`` random permutations, ``random_state``)."""

_SDR_ATTRIBUTES_DOC = """
    directions_ : (k, d) array, unit rows.  eigenvalues_ : (k,) array, by decreasing |value|.
    mean_ : (d,) array.  n_directions_ : int, the k kept.
    dimension_tests_ : pandas DataFrame with columns hypothesis ("iD vs >= (i+1)D"),
        statistic, df, p_value (normal theory) and, where they apply, p_value_general and
        p_value_permutation; rows i = 0, 1, ... through the first hypothesis not rejected
        at ``level`` (at least 4 rows as far as the dimension allows, as dr prints). The tests
        read the whitened X: with ``whiten=False`` they assume X has identity covariance."""


class PHD(_KernelSDR):
    __doc__ = f"""Principal Hessian directions (Li 1992) on dr's conventions (module docstring).

    Eigenvectors of ``M = (1/n) sum_i e_i z_i z_i^T`` (z the whitened x), ranked by |eigenvalue|.

    Parameters
    ----------
    n_directions : int, None or "auto"
        Number of directions kept (None: all d; "auto": by the dimension tests).
    whiten : bool
        Whiten X by its sample covariance (1/n).
    resid : bool
        e = the residuals of a least-squares fit of y on X (dr's ``"phd"``) instead of the
        centred y (dr's ``"phdy"``).{_SDR_PARAMETERS_DOC}
    n_permutations : int
    random_state : None, int or Generator

    Attributes
    ----------{_SDR_ATTRIBUTES_DOC}
    """

    def __init__(
        self,
        n_directions: Union[int, str, None] = None,
        *,
        whiten: bool = True,
        resid: bool = False,
        level: float = 0.05,
        dimension_test: str = "general",
        n_permutations: int = 200,
        random_state=None,
    ):
        self.n_directions = n_directions
        self.whiten = whiten
        self.resid = resid
        self.level = level
        self.dimension_test = dimension_test
        self.n_permutations = n_permutations
        self.random_state = random_state

    def _kernel(self, Z, y):
        e = y - y.mean()
        if self.resid:
            e = e - Z @ np.linalg.lstsq(Z, e, rcond=None)[0]
        M = (Z * e[:, None]).T @ Z / Z.shape[0]
        vals, vecs = _eigen_by_abs(0.5 * (M + M.T))
        return _Kernel(Z, vals, vecs, response=e)

    def _test_row(self, kernel, i):
        return dt.phd_row(kernel.Z, kernel.response, kernel.eigenvalues, kernel.vectors, i)

    def _tail_statistic(self, kernel, i):
        return self._test_row(kernel, i)["statistic"]


class SIR(_SlicedSDR):
    __doc__ = f"""Sliced inverse regression (Li 1991) on dr's conventions (module docstring).

    Eigenvectors of the weighted covariance of the slice means of the whitened X.

    Parameters
    ----------
    n_directions : int, None or "auto"
    n_slices : int or None
        Slices asked for (None: ``max(8, d + 3)``, dr's default); ``n_slices_`` is the count
        used.
    slicing : {{"dr", "equal"}}
        dr's rule (:func:`~mimkit.estimators.slicing.slice_response`) or equal counts of
        sorted y (statsmodels).
    whiten : bool
        Whiten X by its sample covariance (1/n).{_SDR_PARAMETERS_DOC}
        SIR has one asymptotic test (chi-square): ``dimension_test`` is "normal" or
        "permutation".
    n_permutations : int
    random_state : None, int or Generator

    Attributes
    ----------{_SDR_ATTRIBUTES_DOC}
    slice_sizes_ : (H,) int array.  n_slices_ : int, H.
    """

    _tests = ("normal", "permutation")

    def __init__(
        self,
        n_directions: Union[int, str, None] = None,
        *,
        n_slices: Optional[int] = None,
        slicing: str = "dr",
        whiten: bool = True,
        level: float = 0.05,
        dimension_test: str = "normal",
        n_permutations: int = 200,
        random_state=None,
    ):
        self.n_directions = n_directions
        self.n_slices = n_slices
        self.slicing = slicing
        self.whiten = whiten
        self.level = level
        self.dimension_test = dimension_test
        self.n_permutations = n_permutations
        self.random_state = random_state

    def _kernel(self, Z, y):
        labels = self._slices(y, Z.shape[1])
        sizes = np.bincount(labels).astype(np.float64)
        means = np.zeros((sizes.size, Z.shape[1]))
        np.add.at(means, labels, Z)
        means /= sizes[:, None]
        vals, vecs = _eigen_by_abs(means.T @ (sizes[:, None] * means) / sizes.sum())
        return _Kernel(Z, vals, vecs, labels=labels)

    def _max_rows(self, kernel):
        return dt.sir_rows(kernel.Z.shape[1], int(kernel.labels.max()) + 1)

    def _test_row(self, kernel, i):
        n = kernel.Z.shape[0]
        return dt.sir_row(kernel.eigenvalues, n, int(kernel.labels.max()) + 1, i)


class SAVE(_SlicedSDR):
    __doc__ = f"""Sliced average variance estimation (Cook & Weisberg 1991) on dr's
    conventions (module docstring).

    Eigenvectors of ``sum_s (n_s / n) (I - V_s)^2`` with ``V_s`` the 1/n_s covariance of the
    whitened X in slice s; ``bias_correction=True`` is the CSAVE matrix of Li & Zhu (2007)
    (statsmodels ``bc=True``; 1/(n_s - 1) covariances, each slice needs >= 2 samples).

    Parameters
    ----------
    n_directions : int, None or "auto"
    n_slices : int or None
        Slices asked for (None: ``max(8, d + 3)``, dr's default).
    slicing : {{"dr", "equal"}}
    whiten : bool
    bias_correction : bool{_SDR_PARAMETERS_DOC}
    n_permutations : int
    random_state : None, int or Generator

    Attributes
    ----------{_SDR_ATTRIBUTES_DOC}
    slice_sizes_ : (H,) int array.  n_slices_ : int, H.
    """

    # Deliberate twin of SIR.__init__: scikit-learn reads an estimator's parameters from its own
    # __init__ signature and wants them stored unchanged, so each estimator lists them (SAVE adds
    # bias_correction and defaults to the general test).
    def __init__(
        self,
        n_directions: Union[int, str, None] = None,
        *,
        n_slices: Optional[int] = None,
        slicing: str = "dr",
        whiten: bool = True,
        bias_correction: bool = False,
        level: float = 0.05,
        dimension_test: str = "general",
        n_permutations: int = 200,
        random_state=None,
    ):
        self.n_directions = n_directions
        self.n_slices = n_slices
        self.slicing = slicing
        self.whiten = whiten
        self.bias_correction = bias_correction
        self.level = level
        self.dimension_test = dimension_test
        self.n_permutations = n_permutations
        self.random_state = random_state

    def _kernel(self, Z, y):
        n, d = Z.shape
        labels = self._slices(y, d)
        groups = [Z[labels == s] for s in range(int(labels.max()) + 1)]
        eye = np.eye(d)
        if not self.bias_correction:
            M = np.zeros((d, d))
            for G in groups:
                R = G - G.mean(axis=0)
                B = eye - R.T @ R / G.shape[0]
                M += G.shape[0] * B @ B
            M /= n
        else:
            M = self._csave(Z, labels, groups)
        vals, vecs = _eigen_by_abs(M)
        return _Kernel(Z, vals, vecs, labels=labels)

    def _csave(self, Z, labels, groups):
        n, d = Z.shape
        if min(G.shape[0] for G in groups) < 2:
            raise ValueError(
                "bias_correction=True needs >= 2 samples per slice; pass fewer n_slices or "
                "bias_correction=False."
            )
        covs = [np.cov(G.T).reshape(d, d) for G in groups]
        H = len(groups)
        av = sum(V @ V for V in covs) / H
        vn = np.zeros((d, d))
        for G in groups:
            R = G - G.mean(axis=0)
            # (u u^T)(u u^T) = |u|^2 u u^T, summed over the slice.
            vn += (R * np.sum(R * R, axis=1)[:, None]).T @ R
        vn /= n
        c = n / H
        k1 = c * (c - 1) / ((c - 1) ** 2 + 1)
        k2 = (c - 1) / ((c - 1) ** 2 + 1)
        return np.eye(d) - 2 * sum(covs) / H + k1 * av - k2 * vn

    def _test_row(self, kernel, i):
        return dt.save_row(kernel.Z, kernel.labels, kernel.vectors, i)


class SpectralEstimator(_SDRBase):
    """The preprocessed spectral method (docs/theory.md, "Spectral methods") as a transformer.

    Top eigenvectors of ``S = (1/n) sum T(y_i) x_i x_i^T`` (centred as ``center`` says) via
    :func:`mimkit.spectral.spectral_subspace`.

    Parameters
    ----------
    n_directions : int, None or "auto"
        None: the link's r when ``link`` is given, else all d. ``"auto"``: the eigenvalues of S
        outside its bulk edges predicted from the observed weights T(y) plus a Tracy–Widom
        margin (:mod:`mimkit.bulk_edges`; Gaussian X, any n / d; may keep 0).
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
    stages : int >= 1 or "auto", default 1
        1: the spectral method above. Otherwise the sequential spectral method
        (:func:`mimkit.staged_spectral.staged_spectral_subspace`;
        docs/theory.md, "Hierarchies"): a first-order stage when ``E[T(y) x]`` stands out,
        then stages whose label kernel ``T(y, h)`` is conditioned on the projections h found so
        far; each keeps the eigenvalues outside its bulk, so it needs ``n_directions="auto"``,
        no whitening and a preprocessing other than "optimal".

    Attributes
    ----------
    directions_ : (k, d) array.  eigenvalues_ : (k,) array (with ``stages != 1``: per
        direction, its stage's statistic).  mean_ : (d,) array.
    n_directions_ : int.
    bulk_edges_, outlier_bounds_ : (m, 2) arrays, with ``"auto"`` only: the predicted edges of
        each matrix's bulk (m = 1 unless the optimal preprocessing has per-direction groups),
        and the bounds (edges and margins) beyond which an eigenvalue counted; with
        ``stages != 1`` the outlier bounds of each stage.
    stages_ : tuple of :class:`~mimkit.staged_training.Stage`, with ``stages != 1`` only.
    """

    def __init__(
        self,
        n_directions: Union[int, str, None] = None,
        *,
        preprocessing="identity",
        link=None,
        r: Optional[int] = None,
        center: Optional[str] = None,
        which: Optional[str] = None,
        whiten: bool = False,
        method: str = "auto",
        random_state=None,
        stages: Union[int, str] = 1,
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
        self.stages = stages

    def _check_n_directions(self, d: int) -> Union[int, str]:
        if self.n_directions is None and self.link is not None:
            return min(get_link(self.link, self.r).r, d)
        return super()._check_n_directions(d)

    def _check_params(self) -> None:
        super()._check_params()
        if self.r is not None and self.link is None:
            raise ValueError(
                f"r={self.r!r} is the r of link, and there is no link: pass link too (r is "
                f"needed with a callable link), or leave r=None."
            )
        if self.center is not None:
            check_name(self.center, "center", CENTERINGS)
        if self.which is not None:
            check_name(self.which, "which", EIGEN_WHICH)
        check_name(self.method, "method", EIGEN_METHODS)
        if check_stages(self.stages) != 1 and (self.n_directions != "auto" or self.whiten):
            raise ValueError(
                "stages != 1 keeps each stage's eigenvalues outside its bulk: pass "
                'n_directions="auto" and whiten=False (or stages=1).'
            )

    def _fit_directions(self, X, y, k):
        if self.stages != 1:
            return self._fit_stages(X, y)
        if k == "auto" and self.whiten:
            # Whitening by the sample covariance makes (1/n) Z^T Z = I: the bulk of S is no
            # longer the law predicted for x ~ N(0, I).
            raise ValueError(
                'n_directions="auto" predicts the bulk of S for X ~ N(0, I); it does not hold '
                "after whitening. Pass whiten=False."
            )
        if self.whiten:
            whitener = Whitener.fit(X)
            Z = whitener.transform(X)
        else:
            Z = X
        found = spectral_subspace(
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
            return_edges=k == "auto",
        )
        D, vals = found[:2]
        if k == "auto":
            self.bulk_edges_ = np.array([e.edges for e in found[2]])
            self.outlier_bounds_ = np.array([e.bounds for e in found[2]])
        if not self.whiten:
            return D.T / np.linalg.norm(D.T, axis=0), vals, np.zeros(X.shape[1])
        return whitener.directions(D.T), vals, whitener.mean

    def _fit_stages(self, X, y):
        D, stages, _ = staged_spectral_subspace(
            X,
            y,
            self.stages,
            self.preprocessing,
            center=self.center,
            method=self.method,
            random_state=self.random_state,
        )
        self.stages_ = stages
        self.outlier_bounds_ = np.array([stage.bounds for stage in stages])
        # one statistic per direction; NaN where a stage kept a leading direction without one
        statistics = [
            stage.statistic if stage.statistic.size else np.full(stage.directions.shape[0], np.nan)
            for stage in stages
        ]
        return D.T, np.concatenate(statistics), np.zeros(X.shape[1])
