r"""Large-sample marginal dimension tests of SIR, SAVE and pHd, as R's ``dr`` prints them.

Each row tests "i directions" against "at least i + 1" with a statistic built from the part of
the kernel matrix M (whitened coordinates, eigenvalues sorted by |value|) outside its first i
eigen-directions; ``theta`` (p, p - i) spans the eigenvectors of the p - i smallest |values|.

* SIR (Li 1991): ``n * sum of the p - i smallest eigenvalues``, chi-square with
  ``(p - i)(h - i - 1)`` degrees of freedom (h slices). Normal theory only.
* SAVE (Shao, Cook & Weisberg 2007): with ``A_s = sqrt(n_s / n) (I - V_s)`` (V_s the 1/n_s
  covariance of slice s), ``Lambda = (n / 2) sum_s ||theta^T A_s theta||_F^2``.
  Normal theory: chi-square with ``(h - 1)(p - i)(p - i + 1) / 2`` df. General: with
  ``Sigma = Cov(vec(u u^T)) / 2`` for ``u = theta^T z``, the scaled statistic
  ``Lambda tr(Sigma) / tr(Sigma^2)`` against chi-square with
  ``(h - 1) tr(Sigma)^2 / tr(Sigma^2)`` df.
* pHd (Li 1992; Cook 1998, section 12.3): with e the response (OLS residuals or centred y),
  ``Lambda = n * sum of the p - i smallest squared eigenvalues / (2 var(e))``. Normal theory:
  chi-square with ``(p - i)(p - i + 1) / 2`` df. General: Lambda is asymptotically
  ``sum_k c_k chi2_1`` with c the eigenvalues of ``Cov(e vec(u u^T - I)) / (2 var(e))``;
  its p-value by the Bentler–Xie approximation (match the first two moments with a scaled
  chi-square), dr's default.

Both general tests need only the trace and the squared Frobenius norm of a covariance of the
``q^2`` entries of ``c_i (u_i u_i^T - I)`` (q = p - i), computed from the ``q^2 x q^2`` matrix
or, when cheaper, from the ``n x n`` Gram matrix (the same non-zero spectrum).
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import pandas as pd
from scipy import stats

from .._validation import check_at_most, check_count

#: Rows shown at least (dr's default ``numdir``), as far as the dimension allows.
MIN_ROWS = 4


def hypothesis(i: int) -> str:
    """dr's row label, ``"iD vs >= (i+1)D"``."""
    return f"{i}D vs >= {i + 1}D"


def bentler_xie_pvalue(statistic: float, trace: float, trace_sq: float) -> float:
    """``P(sum_k c_k chi2_1 > statistic)`` by a scaled chi-square matching the mean and
    variance (``trace = sum c``, ``trace_sq = sum c^2``)."""
    df = trace**2 / trace_sq
    return float(stats.chi2.sf(statistic * df / trace, df))


def _centred_moment_traces(H: np.ndarray, c: np.ndarray) -> tuple[float, float]:
    """``tr(C)`` and ``||C||_F^2`` for ``C = W^T W``, W the column-centred (n, q^2) matrix of
    rows ``c_i vec(h_i h_i^T - I)``."""
    n, q = H.shape
    if q**3 <= n:
        W = (H[:, :, None] * H[:, None, :]).reshape(n, q * q) - np.eye(q).ravel()
        W = W * c[:, None]
        W -= W.mean(axis=0)
        C = W.T @ W
    else:
        # W W^T has the non-zero spectrum of W^T W:
        # (W W^T)_ij = c_i c_j ((h_i . h_j)^2 - |h_i|^2 - |h_j|^2 + q), then centred.
        s = np.sum(H * H, axis=1)
        C = (H @ H.T) ** 2 - s[:, None] - s[None, :] + q
        C *= np.outer(c, c)
        C -= C.mean(axis=0)
        C -= C.mean(axis=1)[:, None]
    return float(np.trace(C)), float(np.sum(C * C))


def sir_row(eigenvalues: np.ndarray, n: int, n_slices: int, i: int) -> dict:
    """SIR's chi-square test of ``i`` directions (module docstring)."""
    p = eigenvalues.size
    stat = n * float(np.sum(np.abs(eigenvalues[i:])))
    df = (p - i) * (n_slices - i - 1)
    return {"statistic": stat, "df": df, "p_value": float(stats.chi2.sf(stat, df))}


def sir_rows(p: int, n_slices: int) -> int:
    """How many SIR rows have positive degrees of freedom."""
    return min(p, n_slices - 1)


def save_row(Z: np.ndarray, labels: np.ndarray, vectors: np.ndarray, i: int) -> dict:
    """SAVE's normal-theory and general tests of ``i`` directions.

    Z : (n, p) whitened X.  labels : (n,) slices.  vectors : (p, p) eigenvectors of M sorted
    by decreasing |eigenvalue|.
    """
    n, p = Z.shape
    theta = vectors[:, i:]
    U = Z @ theta
    q = p - i
    h = int(labels.max()) + 1
    stat = 0.0
    for s in range(h):
        Us = U[labels == s]
        Us = Us - Us.mean(axis=0)
        block = np.eye(q) - Us.T @ Us / Us.shape[0]
        stat += Us.shape[0] * float(np.sum(block * block))
    stat *= 0.5  # (n / 2) * sum_s (n_s / n) ||I - theta^T V_s theta||_F^2
    df = (h - 1) * q * (q + 1) // 2
    trace, frob = _centred_moment_traces(U, np.ones(n))
    # Sigma = C / (2 (n - 1)) (a ddof-1 covariance, halved).
    tr_sigma, tr_sigma_sq = trace / (2 * (n - 1)), frob / (2 * (n - 1)) ** 2
    return {
        "statistic": stat,
        "df": df,
        "p_value": float(stats.chi2.sf(stat, df)),
        "p_value_general": float(
            stats.chi2.sf(stat * tr_sigma / tr_sigma_sq, (h - 1) * tr_sigma**2 / tr_sigma_sq)
        ),
    }


def phd_row(
    Z: np.ndarray, response: np.ndarray, eigenvalues: np.ndarray, vectors: np.ndarray, i: int
) -> dict:
    """pHd's normal-theory and general tests of ``i`` directions.

    Z : (n, p) whitened X.  response : (n,) the e of M = (1/n) sum e_i z_i z_i^T.
    eigenvalues, vectors : all p, sorted by decreasing |eigenvalue|.
    """
    n, p = Z.shape
    q = p - i
    var = float(np.var(response, ddof=1))
    stat = n * float(np.sum(eigenvalues[i:] ** 2)) / (2 * var)
    df = q * (q + 1) // 2
    trace, frob = _centred_moment_traces(Z @ vectors[:, i:], response - response.mean())
    scale = 1.0 / (2 * var * n)
    return {
        "statistic": stat,
        "df": df,
        "p_value": float(stats.chi2.sf(stat, df)),
        "p_value_general": bentler_xie_pvalue(stat, scale * trace, scale**2 * frob),
    }


def sequential_table(
    row: Callable[[int], dict], n_rows: int, level: float, column: str
) -> tuple[pd.DataFrame, int]:
    """Rows ``i = 0, 1, ...`` until the first hypothesis not rejected at ``level`` by
    ``column`` (and at least :data:`MIN_ROWS`, as far as ``n_rows`` allows).

    Returns
    -------
    (table, dimension): the DataFrame (column ``hypothesis`` first) and the first i not
    rejected, or ``n_rows`` if every row is rejected.
    """
    records, dimension = [], None
    for i in range(n_rows):
        if dimension is not None and i >= MIN_ROWS:
            break
        records.append({"hypothesis": hypothesis(i), **row(i)})
        if dimension is None and not records[-1][column] <= level:
            dimension = i
    table = pd.DataFrame.from_records(records)
    return table, n_rows if dimension is None else dimension


#: Most permutations a permutation test runs (each refits the kernel): p-values resolve to
#: 1 / (1 + n_permutations), so 1e5 already resolves 1e-5, and more would run for hours.
MAX_PERMUTATIONS = 100_000


def check_n_permutations(n_permutations) -> int:
    """``n_permutations`` as an int in [1, MAX_PERMUTATIONS]."""
    return check_at_most(
        check_count(n_permutations, "n_permutations", minimum=1),
        "n_permutations",
        MAX_PERMUTATIONS,
        "the most a permutation test runs (p-values resolve to 1 / (1 + n_permutations); "
        "1000 is usual)",
    )


def permutation_pvalue(
    observed: float, permuted: Callable[[np.ndarray], float], n: int, n_permutations: int, rng
) -> float:
    """``(1 + #{permuted >= observed}) / (1 + n_permutations)`` over random permutations of
    the n rows (a valid p-value: the observed ordering is one of the equally likely ones)."""
    exceed = sum(permuted(rng.permutation(n)) >= observed for _ in range(n_permutations))
    return (1 + exceed) / (1 + n_permutations)


def permuted_predictors(V: np.ndarray, i: int, perm: np.ndarray) -> np.ndarray:
    """The predictors of the permutation test of ``i`` directions: the first i eigen-
    coordinates V[:, :i] kept, the rest permuted with the response fixed (which makes them
    independent of y and of the first i under the null)."""
    return np.concatenate([V[:, :i], V[perm, i:]], axis=1)


def check_level(level: Optional[float]) -> float:
    """``level`` as a float in (0, 1)."""
    if isinstance(level, bool) or not isinstance(level, (int, float, np.floating)):
        raise ValueError(f"level must be a number in (0, 1), got {level!r}.")
    if not 0.0 < float(level) < 1.0:
        raise ValueError(f"level must be in (0, 1) (a test's size, e.g. 0.05), got {level!r}.")
    return float(level)
