r"""How many directions? The eigenvalues of S outside its predicted bulk, for ``n ~ d``.

For ``S = (1/n) sum_i t_i x_i x_i^T - s I`` with x ~ N(0, I_d), the d - r coordinates of x
outside the index subspace are independent of the weights t, so the bulk of S is the
Marchenko–Pastur-type law of :mod:`mimkit.theory.bulk`
(docs/theory.md, section "Finite d and finite T1")
evaluated at the observed weights (plug-in: no link needed) and ``alpha = n / d``, shifted
by -s. An eigenvalue outside its edges comes from a direction of the index subspace.

Finite-d margin: near an edge E the limiting density is ``(c / pi) sqrt(|E - x|)``
(:func:`mimkit.theory.bulk.edge_law`); the Airy edge of a d x d matrix with that density sits on
the scale ``delta = (c d)^{-2/3}`` (match ``d rho(E + s delta) delta`` with the Airy density
``sqrt(-s) / pi``), where the extreme bulk eigenvalue is ``E + delta TW1`` (Tracy–Widom,
beta = 1: mean -1.21, standard deviation 1.27, P(TW1 > 3) ~ 0.2%). An eigenvalue counts as an
outlier beyond ``E + 3 delta`` (or below ``E_- - 3 delta``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .theory.bulk import edge_law

#: Tracy–Widom units of the margin beyond each edge (a null false-outlier rate ~ 0.2% per edge).
TRACY_WIDOM_MARGIN = 3.0


@dataclass(frozen=True, eq=False)
class BulkEdges:
    """Predicted edges of S's bulk and their finite-d margins.

    Attributes
    ----------
    edges : (2,) array, lower and upper limiting edges.
    scales : (2,) array, the Tracy–Widom scale ``(c d)^{-2/3}`` at each.
    """

    edges: np.ndarray
    scales: np.ndarray

    @property
    def bounds(self) -> np.ndarray:
        """(2,) array: eigenvalues outside ``[bounds[0], bounds[1]]`` are outliers."""
        return self.edges + TRACY_WIDOM_MARGIN * self.scales * np.array([-1.0, 1.0])


def predict_bulk_edges(t, shift: float, d: int) -> BulkEdges:
    """The bulk edges of ``S = X^T diag(t) X / n - shift I`` for Gaussian X (module docstring).

    Parameters
    ----------
    t : (n,) the observed weights.  shift : float.  d : int, the dimension.
    """
    t = np.asarray(t, dtype=np.float64)
    if not np.any(t):
        # S = -shift I exactly: no bulk spread and no outlier.
        return BulkEdges(np.full(2, -float(shift)), np.zeros(2))
    edges, c = edge_law(t, t.size / d)
    return BulkEdges(edges - shift, (c * d) ** (-2.0 / 3.0))


def leading_outliers(values: np.ndarray, bound: float, side: str) -> int:
    """How many of ``values`` (sorted away from the bulk: descending for ``side="upper"``,
    ascending for ``"lower"``) lie beyond ``bound`` before the first one inside."""
    outside = values > bound if side == "upper" else values < bound
    return int(np.argmin(outside)) if not outside.all() else outside.size
