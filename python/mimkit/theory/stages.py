r"""Which directions of a multi-index model are learnable, in which order: trivial, easy, hard.

Derivation: docs/theory.md, section "Hierarchies". Bayes-optimal AMP's state evolution on the
overlap Q (r x r) learns a target in stages (Troiani, Dandi, Defilippis, Zdeborová, Loureiro &
Krzakala 2024):

* **trivial**: the range of ``E_y[E[z|y] E[z|y]^T]``. There ``g_out`` is nonzero at ``Q = 0``,
  so any ``alpha > 0`` gives an overlap (``alpha_c = 0``);
* **easy**: the top eigenpair of ``F(M) = E_y[G(y) M G(y)]`` over symmetric r x r matrices,
  ``G(y) = E[z z^T | y] - I`` (the Jacobian of ``g_out`` at ``Q = 0``): ``Q = 0`` turns unstable
  at ``alpha_c = 1 / rho(F)`` along the range of the top eigen-matrix (degenerate eigenvalues
  grouped: a symmetric link gives one stage with several directions);
* **hard**: directions where F restricted to them is 0 (``alpha_c = inf``).

A later stage is the same test on the directions not yet learned, ``w``, with moments given y
*and* the learned block ``v``: ``alpha_c_known`` with v known exactly, ``alpha_c`` with v
observed through AMP's estimate at its state-evolution fixed point ``q*(alpha)`` at that alpha
(``omega = sqrt(q) v + sqrt(1 - q) xi``), solving ``alpha rho(F(q*(alpha))) = 1``. The
self-consistent value is computed for a learned block of one direction (every library link);
for larger blocks it is nan and ``alpha_c_known`` is its lower bound.

Expectations: :mod:`mimkit.theory._slice_tables` (quadrature for r <= 3, checked at half the
nodes; Monte Carlo beyond).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

import numpy as np

from .._label_law import ATOL, RTOL, LabelSample, QuadratureLaw, half_rule, resolve_method
from .._quadrature import check_agreement
from .._random import RandomState, as_generator
from .._validation import check_count, check_positive_number
from ..links import get_link
from ._slice_tables import coarser, label_cells, slice_table, unconditional_table
from ._stage_maps import first_order_matrix, known_map, self_consistent_threshold

KINDS = ("trivial", "easy", "hard")
#: Quadrature: a first-order matrix or a map F with no eigenvalue above these is zero. Exact
#: zeros by symmetry come out ~1e-15; zeros the rule does not see by symmetry ~1e-7 in F and
#: up to ~5e-4 in the first-order matrix (sign_committee's complement at half the nodes: its
#: slices jump on lines off the origin), so a first-order part with E|E[w|y]|^2 < 1e-3 counts
#: as none and is tested as second order.
_ZERO_FIRST, _ZERO_MAP = 1e-3, 1e-5
#: Monte Carlo: products of two independent halves' estimates are unbiased, with an error of
#: ~cells/draws: below this many times that, a matrix counts as zero.
_NOISE_FLOORS = 10.0
#: Eigen-matrices of F within this fraction of the top eigenvalue are one degenerate stage
#: (Monte Carlo: wider, its eigenvalues carry an error of ~1e-2 at the default draws).
_DEGENERATE, _DEGENERATE_MONTE_CARLO = 2e-2, 6e-2
#: Singular values of the stacked top eigen-matrices above this fraction of the largest span
#: the stage's directions.
_RANGE = 0.2
#: Monte Carlo standard errors: the spread over this many disjoint batches of the draws.
_BATCHES = 5


@dataclass(frozen=True, eq=False)
class LearningStage:
    """One stage of the learning order (from :func:`learning_stages`).

    Attributes
    ----------
    kind : {"trivial", "easy", "hard"}
    directions : (k, r) array
        Orthonormal rows in the link's coordinates (``z``).
    alpha_c : float
        AMP's weak-recovery threshold of the stage: 0 (trivial), inf (hard), or with the
        earlier stages at their state-evolution fixed point at that alpha; nan where not
        computed (a learned block of two or more directions before it). A later trivial stage
        (first-order given the earlier ones) grows with them: the earlier stages' largest.
    alpha_c_known : float
        The same with the earlier directions known exactly (equal to ``alpha_c`` for the first
        stage; 0 for a trivial stage).
    stderr : float
        Error estimate of ``alpha_c_known``: the quadrature's stated bound or observed
        half-node gap, or Monte Carlo's standard error (first stage only; nan for later
        ones); 0 for trivial stages, nan for hard ones.
    """

    kind: str
    directions: np.ndarray
    alpha_c: float
    alpha_c_known: float
    stderr: float = float("nan")


@dataclass(frozen=True, eq=False)
class LearningStages:
    """The learning order of a link (from :func:`learning_stages`).

    Attributes
    ----------
    link : str.  r : int.  noise : float
    stages : tuple of LearningStage, in learning order; their directions together span R^r.
    method : "quadrature" or "monte_carlo".  n_samples : int (Monte Carlo draws; 0 for quadrature)
    """

    link: str
    r: int
    noise: float
    stages: tuple
    method: str
    n_samples: int = 0

    def records(self) -> list[dict]:
        """One dict per stage: stage (1-based), kind, directions (text), vectors (the rows, as
        lists), alpha_c, alpha_c_known, stderr."""
        return [
            {
                "stage": j + 1,
                "kind": s.kind,
                "directions": describe_directions(s.directions),
                "vectors": np.round(s.directions, 12).tolist(),
                "alpha_c": float(s.alpha_c),
                "alpha_c_known": float(s.alpha_c_known),
                "stderr": float(s.stderr),
            }
            for j, s in enumerate(self.stages)
        ]

    def table(self) -> str:
        """The stages as an aligned text table."""
        lines = [f"{'stage':>5}  {'kind':8}{'directions':34}{'alpha_c':>10}{'given earlier':>15}"]
        for rec in self.records():
            lines.append(
                f"{rec['stage']:>5}  {rec['kind']:8}{rec['directions']:34}"
                f"{_number(rec['alpha_c']):>10}{_number(rec['alpha_c_known']):>15}"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return (
            f"learning order of {self.link} (AMP thresholds alpha_c = n/d; 'given earlier': "
            f"the earlier directions known exactly)\n{self.table()}"
        )


def _number(value: float) -> str:
    return "n/a" if np.isnan(value) else ("inf" if np.isinf(value) else f"{value:.4g}")


def describe_directions(directions: np.ndarray) -> str:
    """Short text for a set of orthonormal rows: ``e1``, ``span(e2, e3)``, ``all``, a vector
    ``(0.577, 0.577, 0.577)``, or the complement of one."""
    D = np.asarray(directions, dtype=np.float64)
    k, r = D.shape
    if k == r:
        return "all" if r > 1 else "e1"
    P = D.T @ D
    axes = np.nonzero(np.diag(P) > 0.5)[0]
    if axes.size == k and np.allclose(P, np.diag(np.diag(P)), atol=1e-6):
        names = ", ".join(f"e{a + 1}" for a in axes)
        return names if k == 1 else f"span({names})"
    if k == 1:
        v = D[0] * np.sign(D[0][np.argmax(np.abs(D[0]))])
        return "(" + ", ".join(f"{x:.3g}" for x in v) + ")"
    if k == r - 1:
        normal = np.linalg.svd(np.eye(r) - P)[0][:, 0]
        return "complement of " + describe_directions(normal[None, :])
    return "span of " + "; ".join(describe_directions(row[None, :]) for row in D)


def learning_stages(
    link,
    r: Optional[int] = None,
    *,
    noise: float = 0.0,
    n_samples: int = 200_000,
    method: str = "auto",
    random_state: RandomState = None,
) -> LearningStages:
    """The stages in which Bayes-optimal AMP learns the directions of ``link`` (module
    docstring; docs/theory.md, "Hierarchies").

    Parameters
    ----------
    link : str, Link or callable
        As for :func:`mimkit.links.get_link` (a callable needs ``r``).
    r : int, optional
    noise : float
        Label noise standard deviation.
    n_samples : int
        Monte Carlo draws (per learned-coordinate node for a later stage).
    method : {"auto", "quadrature", "monte_carlo"}
        "auto": quadrature for r <= 3 (label noise: r <= 2), checked against the rule at half
        the nodes (the larger of the gap and the stated bound is ``stderr``; "quadrature" also
        warns with a :class:`~mimkit.theory.QuadratureWarning` where the gap exceeds the
        bound), else Monte Carlo.
    random_state : None, int or Generator
        Monte Carlo only.

    Returns
    -------
    LearningStages
    """
    link = get_link(link, r)
    noise = check_positive_number(noise, "noise", allow_zero=True)
    n_samples = check_count(n_samples, "n_samples", minimum=1000)
    resolved = resolve_method(method, link.r, noise)
    rng = as_generator(random_state)
    if resolved == "quadrature":
        law = QuadratureLaw(link, noise)
        full = _stages(link, noise, law, None)
        half = _stages(link, noise, half_rule(law), None)
        # An unconverged rule is kept (its half-node gap is the stated error): Monte Carlo's
        # conditional moments in label bins are noisier than the rule, not a better answer.
        check_agreement(
            _compared(full, half), RTOL, ATOL, "learning_stages", warn=method == "quadrature"
        )
        stages = tuple(_with_quadrature_error(s, h) for s, h in zip(full, _aligned(full, half)))
        return LearningStages(link.name, link.r, noise, stages, "quadrature")
    draws = rng.standard_normal((n_samples, link.r + 1))
    found = _stages(link, noise, None, draws)
    parts = np.array_split(draws, _BATCHES)
    batches = [_stages(link, noise, None, part, first_only=True) for part in parts]
    stages = tuple(_with_batch_error(s, j, batches) for j, s in enumerate(found))
    return LearningStages(link.name, link.r, noise, stages, "monte_carlo", n_samples)


def _stages(
    link,
    noise: float,
    law: Optional[QuadratureLaw],
    draws: Optional[np.ndarray],
    first_only: bool = False,
) -> list:
    """The stages by quadrature on ``law`` (full or half rule: its fraction of the nodes), or on
    Monte Carlo ``draws`` ((N, r + 1): z, then the label noise); ``first_only``: the first
    stage alone."""
    r = link.r
    fraction = law.fraction if law is not None else 1.0
    if draws is not None:
        cells = label_cells(_draws_sample(link, noise, draws), noise, link)
        floor_first = floor_map = _NOISE_FLOORS * cells.size / draws.shape[0]
    elif law is not None:
        cells = label_cells(law.sample(), noise, link)
        floor_first, floor_map = _ZERO_FIRST, _ZERO_MAP
    else:
        raise ValueError("_stages needs a quadrature law or Monte Carlo draws.")
    learned = np.zeros((0, r))
    stages: list[LearningStage] = []
    while learned.shape[0] < r:
        rest = _complement(learned)
        tables = _tables(link, noise, learned, rest, cells, fraction, draws)
        table, other = tables
        first_vals, first_vecs = np.linalg.eigh(first_order_matrix(table, other))
        if first_vals[-1] > floor_first:
            # Conditionally first-order: it grows as soon as the block it is conditioned on.
            onset = max((s.alpha_c for s in stages), default=0.0)
            picked = first_vecs[:, first_vals > floor_first].T
            stages.append(LearningStage("trivial", picked @ rest, onset, 0.0, 0.0))
        else:
            spread = _DEGENERATE if draws is None else _DEGENERATE_MONTE_CARLO
            stage = _second_order_stage(tables, cells.discrete, learned.shape[0], spread, floor_map)
            stages.append(replace(stage, directions=stage.directions @ rest))
            if stage.kind == "hard":
                break
        if first_only:
            break
        learned = np.concatenate([learned, stages[-1].directions])
    return stages


def _tables(link, noise, learned, rest, cells, fraction, draws) -> tuple:
    """Two :class:`SliceTable` s for ``learned``/``rest``: the same one twice by quadrature, or
    one per half of the Monte Carlo ``draws``, so that products of the two estimates carry no
    noise bias. Slices of at most two dimensions are integrated by quadrature also on the
    Monte Carlo path: their polar rule is accurate where the r-dimensional one is not."""
    r, k = link.r, rest.shape[0]
    if draws is None or (learned.shape[0] > 0 and k + (noise > 0) <= 2):
        if learned.shape[0] == 0:
            table = unconditional_table(link, noise, cells, fraction)
        else:
            table = slice_table(link, noise, learned, rest, cells, fraction)
        return table, table
    out = []
    for half in (draws[0::2], draws[1::2]):
        shared = (half[:, :k], half[:, r])
        if learned.shape[0] == 0:
            out.append(unconditional_table(link, noise, cells, fraction, shared))
        else:
            out.append(slice_table(link, noise, learned, rest, cells, fraction, shared))
    return tuple(out)


def _second_order_stage(
    tables: tuple, discrete: bool, n_learned: int, spread: float, floor: float
) -> LearningStage:
    """The easy stage of the top eigen-matrices of F on ``tables`` (directions in their rest
    coordinates), or a hard stage of all of them when F is zero.

    ``rho`` of a continuous label is extrapolated from the tables and those with their bins
    merged in pairs; the self-consistent threshold needs one learned direction (else nan).
    """
    vals, mats = known_map(*tables)
    k = mats.shape[-1]
    if vals[0] <= floor:
        return LearningStage("hard", np.eye(k), np.inf, np.inf)
    group = vals >= vals[0] * (1.0 - spread) - floor
    u, sing, _ = np.linalg.svd(np.concatenate(list(mats[group]), axis=1))
    picked = u[:, sing > _RANGE * sing[0]].T
    # Under Monte Carlo noise the largest of a degenerate group is biased up (a maximum of
    # noisy copies of one value): its mean is not.
    monte_carlo = tables[0] is not tables[1]
    rho = float(np.mean(vals[group])) if monte_carlo else vals[0]
    if not discrete:
        coarse = known_map(*(coarser(t) for t in tables))[0]
        rho = 2.0 * rho - (float(np.mean(coarse[group])) if monte_carlo else coarse[0])
    known = 1.0 / rho
    if n_learned == 0:
        alpha_c = known
    elif n_learned == 1:
        alpha_c = self_consistent_threshold(tables[0], rho)
    else:
        alpha_c = np.nan
    return LearningStage("easy", picked, alpha_c, known)


def _draws_sample(link, noise: float, draws: np.ndarray):
    """The label law on Monte Carlo ``draws`` (for its cells)."""
    return LabelSample(
        draws[:, : link.r],
        np.asarray(link(draws[:, : link.r]), dtype=np.float64) + noise * draws[:, link.r],
        np.full(draws.shape[0], 1.0 / draws.shape[0]),
        np.zeros(0),
        "monte_carlo",
    )


def _complement(rows: np.ndarray) -> np.ndarray:
    """Orthonormal rows spanning the orthogonal complement of ``rows`` (b, r)."""
    r = rows.shape[1]
    if rows.shape[0] == 0:
        return np.eye(r)
    u, _, _ = np.linalg.svd(np.eye(r) - rows.T @ rows)
    return u[:, : r - rows.shape[0]].T


def _aligned(full: list, half: list) -> list:
    """``half``'s stages, or None per stage where the two rules disagree on the structure."""
    if [(s.kind, s.directions.shape[0]) for s in full] != [
        (s.kind, s.directions.shape[0]) for s in half
    ]:
        return [None] * len(full)
    return half


def _compared(full: list, half: list) -> list:
    """(value, half-node value) pairs of the convergence check: every threshold, and the
    structure (a mismatch of kinds or sizes counts as a failure)."""
    aligned = _aligned(full, half)
    if aligned[0] is None:
        return [(np.zeros(1), np.full(1, np.inf))]
    return [
        (np.array([s.alpha_c, s.alpha_c_known]), np.array([h.alpha_c, h.alpha_c_known]))
        for s, h in zip(full, aligned)
    ]


def _with_quadrature_error(stage: LearningStage, half: Optional[LearningStage]) -> LearningStage:
    """The stage with ``stderr`` = max(stated bound, half-node gap) of ``alpha_c_known``."""
    if stage.kind == "hard":
        return stage
    if stage.kind == "trivial":
        return replace(stage, stderr=0.0)
    gap = abs(stage.alpha_c_known - half.alpha_c_known) if half is not None else 0.0
    return replace(stage, stderr=max(RTOL * stage.alpha_c_known, gap))


def _with_batch_error(stage: LearningStage, j: int, batches: list) -> LearningStage:
    """The stage with the Monte Carlo standard error of ``alpha_c_known`` over the batches
    (which compute the first stage only: later ones get nan, not estimated)."""
    if stage.kind != "easy":
        return replace(stage, stderr=0.0 if stage.kind == "trivial" else np.nan)
    values = [
        b[j].alpha_c_known
        for b in batches
        if len(b) > j and b[j].kind == "easy" and np.isfinite(b[j].alpha_c_known)
    ]
    if len(values) < 2:
        return replace(stage, stderr=np.nan)
    return replace(stage, stderr=float(np.std(values, ddof=1) / np.sqrt(len(values))))


__all__ = ["KINDS", "LearningStage", "LearningStages", "describe_directions", "learning_stages"]
