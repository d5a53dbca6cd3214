r"""Conditional moments of the directions not yet learned, given the label and the learned ones.

For the learning order (:mod:`mimkit.theory.stages`; docs/theory.md, "Hierarchies") every
quantity is an expectation of moments of ``w = R z`` (the k directions not yet learned, rows of
R orthonormal) given the label ``y`` and the learned coordinates ``v = B z`` (b of them). With
``z = B^T v + R^T w``, ``v`` and ``w`` are independent standard Gaussians, so conditioning on
``v`` is a *slice*: the link ``w -> g(B^T v + R^T w)`` in k dimensions. A :class:`SliceTable`
holds, at nodes ``v_i`` of a rule for ``N(0, I_b)``, and for label *cells* ``c``:

    P(c | v_i),   E[w | v_i, c],   E[w w^T | v_i, c].

Cells are the label's atoms when it takes at most :data:`DISCRETE_LEVELS` values (exact
conditioning), else bins between label quantiles and at the link's values next to the origin
(conditioning on ``y`` in a bin: a bias first order in the bin width, removed to leading order
by extrapolation from the table with bins merged in pairs, :func:`coarser`). Each slice is
integrated by the polar rule of :class:`mimkit._quadrature.RayRule` cut at the cell boundaries
(so every radial piece lies in one cell), or, for a slice whose label takes few values
(``sq_sign3`` given ``z1``: ``z1^2 +- 1``), at the midpoints between its own values; slices
with the same label on the whole radial grid share their moments. With nothing learned,
:func:`unconditional_table` integrates a continuous label at r = 3 slice by slice along one
coordinate, or over its law in one dimension where that is known
(:mod:`mimkit.preprocessing._exact_moments`). Monte Carlo (r > 3, or asked for) uses one set of
draws of ``w`` for every slice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy import special

from .._label_law import DISCRETE_LEVELS, LabelSample
from .._quadrature import RayRule, sphere_rule, unit_legendre
from ..preprocessing._exact_moments import conditional_rule, exact_moments

#: Label cells of a continuous label, equally spaced in normal scores between probabilities
#: _TAIL and 1 - _TAIL.
_BINS = 128
_TAIL = 1e-4
#: Slice rules: (angular nodes per sector, radial nodes per piece) by dimension, full rule.
_SLICE_NODES = {1: (1, 12), 2: (12, 6), 3: (6, 6)}
#: The learned coordinate's rule: Gauss-Legendre pieces between these points (the Gaussian
#: weight is part of the integrand), _V_NODES per piece in the full rule. Pieces end at 0,
#: where sign-like links jump.
_V_EDGES = np.array([-7.0, -4.5, -3.0, -2.0, -1.25, -0.5, 0.0, 0.5, 1.25, 2.0, 3.0, 4.5, 7.0])
_V_NODES = 8
#: A block of two or more learned directions: a coarser rule per coordinate (a tensor product).
_V_EDGES_2D = np.array([-6.0, -3.0, -1.5, 0.0, 1.5, 3.0, 6.0])
_V_NODES_2D = 4


@dataclass(frozen=True, eq=False)
class Cells:
    """How labels are cut into cells: atoms (discrete) or bins between ``edges``.

    Attributes
    ----------
    discrete : bool
    values : (C,) array
        The atoms, or a representative label per bin (its lower edge; -inf for the first).
    breaks : (C - 1,) array
        Label levels where the cell changes: midpoints between atoms, or the bin edges.
    """

    discrete: bool
    values: np.ndarray
    breaks: np.ndarray

    @property
    def size(self) -> int:
        return int(self.values.size)

    def index(self, y: np.ndarray) -> np.ndarray:
        """Cell of each label, (n,) ints."""
        return np.searchsorted(self.breaks, y)


def label_cells(sample: LabelSample, noise: float, link=None) -> Cells:
    """The cells of the label law ``sample``: atoms if noiseless with few values, else bins
    (the same bins for the half rule: its check is of the nodes, the bins' bias is removed by
    :func:`coarser`)."""
    atoms = np.unique(sample.y)
    if noise == 0 and atoms.size <= DISCRETE_LEVELS:
        return Cells(True, atoms, (atoms[1:] + atoms[:-1]) / 2.0)
    n_bins = _BINS
    scores = np.linspace(special.ndtri(_TAIL), -special.ndtri(_TAIL), n_bins - 1)
    edges = sample.quantile(sample.y, special.ndtr(scores))
    if link is not None:
        edges = np.concatenate([edges, critical_labels(link, noise)])
    edges = np.unique(edges)
    return Cells(False, np.concatenate([[-np.inf], edges]), edges)


def critical_labels(link, noise: float) -> np.ndarray:
    """Label values of the link next to the origin, approached along every sector of the
    sphere (``sq_sign3``: -1 and 1; ``z1z2``: 0): where the conditional law given y changes
    abruptly (a jump of ``E[z z^T | y]``, a singular density), so bins end there (noiseless
    labels only: noise smooths them)."""
    if noise > 0:
        return np.zeros(0)
    directions, _ = sphere_rule(link.r, 2) if link.r <= 3 else (np.eye(link.r), None)
    with np.errstate(all="ignore"):
        values = np.asarray(link(1e-9 * directions), dtype=np.float64)
    return np.unique(np.round(values[np.isfinite(values)], 9))


@dataclass(frozen=True, eq=False)
class SliceTable:
    """Moments of ``w`` per learned-coordinate node and label cell (module docstring).

    Attributes
    ----------
    v : (n_v, b) array.  v_weights : (n_v,) array, summing to 1
        Rule for ``N(0, I_b)`` (one empty node when nothing is learned yet).
    prob : (n_v, C) array
        ``P(c | v_i)``.
    first : (n_v, C, k) array.  second : (n_v, C, k, k) array
        ``E[w | v_i, c]`` and ``E[w w^T | v_i, c]`` (0 where ``P(c | v_i) = 0``).
    """

    v: np.ndarray
    v_weights: np.ndarray
    prob: np.ndarray
    first: np.ndarray
    second: np.ndarray

    @property
    def joint(self) -> np.ndarray:
        """``P(v_i, c)``, (n_v, C)."""
        return self.v_weights[:, None] * self.prob


def learned_rule(b: int, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes (n_v, b) and weights (n_v,) summing to 1 for ``v ~ N(0, I_b)``: Gauss-Legendre
    pieces per coordinate, a tensor product for b >= 2."""
    if b == 0:
        return np.zeros((1, 0)), np.ones(1)
    edges, per_piece = (_V_EDGES, _V_NODES) if b == 1 else (_V_EDGES_2D, _V_NODES_2D)
    u, w = unit_legendre(max(2, int(round(per_piece * fraction))))
    widths = np.diff(edges)
    x = (edges[:-1, None] + widths[:, None] * u[None, :]).ravel()
    wx = (widths[:, None] * w[None, :]).ravel() * np.exp(-(x**2) / 2.0) / np.sqrt(2.0 * np.pi)
    grids = np.meshgrid(*([x] * b), indexing="ij")
    weights = np.prod(np.meshgrid(*([wx] * b), indexing="ij"), axis=0).ravel()
    return np.stack([g.ravel() for g in grids], axis=1), weights / weights.sum()


def slice_table(
    link,
    noise: float,
    learned: np.ndarray,
    rest: np.ndarray,
    cells: Cells,
    fraction: float,
    draws: Optional[tuple[np.ndarray, np.ndarray]] = None,
) -> SliceTable:
    """The :class:`SliceTable` of ``link`` for learned rows ``learned`` (b, r) and remaining
    rows ``rest`` (k, r), by quadrature (``draws`` None) or on Monte Carlo ``draws`` = (w (N, k),
    label noise (N,)).

    Parameters
    ----------
    link : Link.  noise : float.  learned, rest : orthonormal rows, together a basis of R^r.
    cells : Cells.  fraction : 1.0 (full rule) or 0.5 (the convergence check's half rule).
    draws : optional Monte Carlo draws, shared by every slice.
    """
    b, k = learned.shape[0], rest.shape[0]
    v, v_weights = learned_rule(b, fraction)
    rows = []
    # Slices whose label agrees on the whole radial grid are the same function of w (sq_sign3
    # along z2 depends on v only through its sign): their moments are computed once.
    memo: dict[bytes, tuple] = {}
    for vi in v:
        offset = vi @ learned

        def slice_label(points, offset=offset):
            y = np.asarray(link(offset + points[:, :k] @ rest), dtype=np.float64)
            return y + noise * points[:, k] if noise > 0 else y

        if draws is not None:
            w = draws[0]
            y = slice_label(np.column_stack([w, draws[1]]))
            rows.append(_cell_moments(w, np.full(w.shape[0], 1.0 / w.shape[0]), y, cells))
            continue
        n_angle, n_radial = _SLICE_NODES[k + (noise > 0)]
        rays = RayRule(
            slice_label,
            k + (noise > 0),
            max(1, int(round(n_angle * fraction))),
            max(2, int(round(n_radial * fraction))),
        )
        key = hashlib.blake2b(rays.grid_values.tobytes(), digest_size=16).digest()
        if key not in memo:
            points, weights = rays.nodes(_slice_breaks(rays.grid_values, cells))
            memo[key] = _cell_moments(points[:, :k], weights, slice_label(points), cells)
        rows.append(memo[key])
    prob, first, second = (np.stack(parts) for parts in zip(*rows))
    return SliceTable(v, v_weights, prob, first, second)


def _cell_moments(w: np.ndarray, weights: np.ndarray, y: np.ndarray, cells: Cells) -> tuple:
    """``P(c)`` (C,), ``E[w | c]`` (C, k) and ``E[w w^T | c]`` (C, k, k) of weighted points
    (0 for an empty cell)."""
    C, k = cells.size, w.shape[1]
    cell = cells.index(y)
    mass = np.bincount(cell, weights=weights, minlength=C)
    seen = mass > 0
    first = np.zeros((C, k))
    second = np.zeros((C, k, k))
    for a in range(k):
        first[seen, a] = np.bincount(cell, weights=weights * w[:, a], minlength=C)[seen]
        for c in range(a, k):
            m = np.bincount(cell, weights=weights * w[:, a] * w[:, c], minlength=C)[seen]
            second[seen, a, c] = second[seen, c, a] = m
    first[seen] /= mass[seen, None]
    second[seen] /= mass[seen, None, None]
    return mass / weights.sum(), first, second


def unconditional_table(link, noise: float, cells: Cells, fraction: float, draws=None):
    """The :class:`SliceTable` with nothing learned: moments of ``z`` given the label cell.

    Where the rule would be three-dimensional (r = 3 without noise, r = 2 with) the cells'
    moments are integrated slice by slice along one coordinate (a one-dimensional rule times
    the two-dimensional polar rule of each slice): the three-dimensional polar rule resolves
    the conditional law in narrow label cells too slowly (``z1z2z3``: 4% off). The coordinate
    is the first whose slices keep a continuous label when the label is continuous
    (``sq_sign3``: z2, since its slices along z1 take two values, which cells of a
    continuous label cannot resolve). A link whose law of y is known in one dimension
    (:mod:`mimkit.preprocessing._exact_moments`: ``sq_sign3``, ``z1z2z3``, ``he2_sum``,
    ``norm2``) gets the cells' moments from it, on its rule in y cut at the cell boundaries.
    """
    r = link.r
    exact = exact_moments(link, noise) if draws is None and not cells.discrete else None
    if exact is not None:
        rule = conditional_rule(exact, cells.breaks, fraction, np.zeros(0))
        prob, first, second = _cell_moments(rule.z, rule.weights, rule.y, cells)
        return SliceTable(np.zeros((1, 0)), np.ones(1), prob[None], first[None], second[None])
    # A discrete label jumps on the coordinate planes (the library's sign links), where the
    # r-dimensional rule's sectors end: it needs no slicing.
    if draws is not None or r + (noise > 0) <= 2 or cells.discrete:
        return slice_table(link, noise, np.zeros((0, r)), np.eye(r), cells, fraction, draws)
    axis = _slicing_axis(link, cells)
    order = [axis] + [a for a in range(r) if a != axis]
    basis = np.eye(r)[order]
    table = slice_table(link, noise, basis[:1], basis[1:], cells, fraction)
    joint = table.joint  # (n_v, C)
    prob = joint.sum(axis=0)
    seen = prob > 0
    v = table.v[:, 0]
    first = np.zeros((cells.size, r))
    second = np.zeros((cells.size, r, r))
    first[:, 0] = joint.T @ v
    first[:, 1:] = np.einsum("ic,ica->ca", joint, table.first)
    second[:, 0, 0] = joint.T @ v**2
    second[:, 0, 1:] = np.einsum("ic,i,ica->ca", joint, v, table.first)
    second[:, 1:, 0] = second[:, 0, 1:]
    second[:, 1:, 1:] = np.einsum("ic,icab->cab", joint, table.second)
    first[seen] /= prob[seen, None]
    second[seen] /= prob[seen, None, None]
    # Back to the link's coordinates: row j of basis is coordinate order[j].
    first = first @ basis
    second = np.einsum("ja,cjk,kb->cab", basis, second, basis)
    return SliceTable(np.zeros((1, 0)), np.ones(1), prob[None, :], first[None], second[None])


def _slicing_axis(link, cells: Cells) -> int:
    """The first coordinate whose slice at a generic value keeps a continuous label (if the
    label is continuous), else 0."""
    if cells.discrete:
        return 0
    points = np.random.default_rng(0).standard_normal((4 * DISCRETE_LEVELS, link.r))
    for axis in range(link.r):
        sliced = points.copy()
        sliced[:, axis] = 0.7
        if np.unique(np.asarray(link(sliced), dtype=np.float64)).size > DISCRETE_LEVELS:
            return axis
    return 0


def coarser(table: SliceTable) -> SliceTable:
    """The same table with adjacent label cells merged in pairs (half the bins): the binning
    bias of a continuous label is first order in the bin width, so ``2 x(table) -
    x(coarser(table))`` removes it to leading order (Richardson extrapolation)."""
    odd = table.prob.shape[1] % 2

    def merged(values: np.ndarray) -> np.ndarray:
        padding = [(0, 0), (0, odd)] + [(0, 0)] * (values.ndim - 2)
        padded = np.pad(values, padding)
        return padded.reshape((values.shape[0], -1, 2) + values.shape[2:]).sum(axis=2)

    prob = table.prob
    mass = merged(prob)
    seen = mass > 0
    first = merged(prob[:, :, None] * table.first)
    second = merged(prob[:, :, None, None] * table.second)
    first[seen] /= mass[seen][:, None]
    second[seen] /= mass[seen][:, None, None]
    return SliceTable(table.v, table.v_weights, mass, first, second)


def _slice_breaks(grid_values: np.ndarray, cells: Cells) -> np.ndarray:
    """Where a slice's rays are cut: the cell boundaries within its label range, or the
    midpoints between its own label values when it takes few."""
    own = np.unique(grid_values)
    if own.size <= DISCRETE_LEVELS:
        return (own[1:] + own[:-1]) / 2.0
    return cells.breaks[(cells.breaks > own[0]) & (cells.breaks < own[-1])]
