"""Which loss to use: every built-in loss against the optimal spectral method, and the best
scalar label transform.

Each loss is the preprocessing ``T(y) = -loss'(c, y)`` (docs/theory.md, "Phase 1"), so its
threshold, overlap and finite-d stopping window follow from :mod:`.thresholds`,
:mod:`.overlap` and :mod:`.phase1`; all rows are computed by one quadrature rule (cut at each
row's kinks) for r <= 3, else on one Monte Carlo sample (:mod:`mimkit._label_law`). The
reference row is the optimal preprocessing ``G (I + G)^{-1}`` (one matrix per group of
directions), the best spectral method of this family.

:func:`best_label_transform` searches scalar transforms ``T(y)``, piecewise linear between
label quantiles, for the smallest *full-recovery* threshold of a network trained with the
squared loss on ``T(y)`` (``label_transform``): ``max_k alpha_c,k`` with ``T`` centred by its
mean, both ends of the spectrum. For links such as ``z1*z2``, whose optimal preprocessing is
matrix-valued (two different weightings), no single loss reaches the optimum; this is the best
a network with one scalar transform can do within the family.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Callable, Optional, Sequence, Union

import numpy as np
from scipy import optimize

from .._label_law import monte_carlo_sample
from .._random import RandomState, as_generator
from .._validation import check_count, check_positive_number
from ..links import get_link
from ..preprocessing import loss_preprocessing, optimal_preprocessing, quadrature_tabulates
from .overlap import check_alphas, overlap_from_sample
from .phase1 import curve_from_sample
from .thresholds import Problem, thresholds_from_sample

if TYPE_CHECKING:
    import pandas as pd

#: The reference row: the optimal spectral method.
OPTIMAL_ROW = "optimal (spectral)"
#: Huber thresholds of the table (the network's ``huber_delta``).
HUBER_DELTAS = (0.5, 1.0, 2.0)


def compare_losses(
    link,
    alpha=None,
    d: Optional[int] = None,
    r: Optional[int] = None,
    *,
    huber_deltas: Sequence[float] = HUBER_DELTAS,
    max_steps: int = 300,
    n_hidden: int = 64,
    noise: float = 0.0,
    n_samples: int = 200_000,
    method: str = "auto",
    random_state: RandomState = None,
    as_frame: bool = True,
) -> Union[pd.DataFrame, list[dict]]:
    """Thresholds, predicted overlaps and T1 windows of every built-in loss, and the optimum.

    Parameters
    ----------
    link : str, Link or callable
        As for :func:`mimkit.links.get_link` (a callable needs ``r``).
    alpha : float or sequence of floats, optional
        Sample ratios ``n1 / d`` at which to predict the overlap ``1 - subspace_distance``.
    d : int, optional
        Input dimension for the predicted T1 window (needs ``alpha``).
    r : int, optional
    huber_deltas : sequence of float
        Huber thresholds (``huber_delta`` of the network).
    max_steps : int
        Longest T1 considered for the window.
    n_hidden : int
        Network width (coverage is a fraction of neurons).
    noise : float
    n_samples : int
        Monte Carlo sample size, shared by every row (``method="monte_carlo"``).
    method : {"auto", "quadrature", "monte_carlo"}
        As for :func:`mimkit.theory.weak_recovery_threshold`; with quadrature the thresholds
        and overlaps of every row are checked at half the nodes.
    random_state : None, int or Generator
    as_frame : bool
        False: the rows as a list of dicts (what ``mimkit theory`` prints, without importing
        pandas).

    Returns
    -------
    pandas.DataFrame, or list of dicts (``as_frame=False``)
        One row per method (``method``): ``alpha_c`` (every direction), ``alpha_c_first``
        (some direction), ``alpha_c_1..r``; per alpha ``a``: ``overlap@a``; with d also
        ``T1_window@a`` ("first-last" steps where every direction has coverage >= 0.1, "-"
        if none; the optimal row is a spectral method and has none).
    """
    alphas = check_alphas(alpha) if alpha is not None else np.zeros(0)
    if d is not None:
        if alphas.size == 0:
            raise ValueError("d needs alpha: the T1 window depends on both (pass alpha=...).")
        d = check_count(d, "d", minimum=2)
    max_steps = check_count(max_steps, "max_steps", minimum=1)
    n_hidden = check_count(n_hidden, "n_hidden", minimum=1)
    deltas = [check_positive_number(v, "huber_deltas") for v in huber_deltas]
    problem = Problem.check(link, r, noise, n_samples, method, random_state)
    neuron_seed = int(problem.rng.integers(2**63)) if problem.method == "quadrature" else 0
    methods = [("squared", "squared", 1.0), ("absolute", "absolute", 1.0)]
    methods += [(f"huber({v:g})", "huber", v) for v in deltas]

    def compute(law):
        # Quadrature: the same simulated neurons for both rules of the convergence check.
        rng = problem.rng if law is None else np.random.default_rng(neuron_seed)
        shared = problem.sample(None) if law is None else None
        rows = []
        for name, loss, delta in methods:
            if shared is not None:
                transform, _ = loss_preprocessing(loss, shared.y, delta)
                sample = shared
            else:
                transform = problem.loss_transform(loss, delta, law)
                sample = law.sample(transform.breaks)
            rows.append(_row(name, transform, "none", alphas, d, sample, rng, max_steps, n_hidden))
        if law is None or quadrature_tabulates(problem.link, law):
            optimal, _ = problem.preprocessing("optimal", None, law)
            sample = shared if shared is not None else problem.sample_for(optimal, law)
            rows.append(_row(OPTIMAL_ROW, optimal, "none", alphas, None, sample, rng, 0, 0))
        else:
            rows.append(monte_carlo_optimal_row())
        return rows

    @functools.lru_cache(maxsize=1)
    def monte_carlo_optimal_row() -> dict:
        """The optimal row when its table is Monte Carlo's (a user link's continuous label at
        r = 3), once: both rules of the convergence check reuse it."""
        optimal = optimal_preprocessing(
            problem.link,
            noise=problem.noise,
            n_samples=problem.n_samples,  # the table from as many draws as the row
            random_state=problem.rng,
            method="monte_carlo",
        )
        sample = monte_carlo_sample(problem.link, problem.noise, problem.n_samples, problem.rng)
        return _row(OPTIMAL_ROW, optimal, "none", alphas, None, sample, problem.rng, 0, 0)

    rows = problem.run(compute, _table_gaps, lambda table, _: table, "compare_losses")
    if not as_frame:
        return rows
    import pandas as pd  # on demand: `import mimkit.theory` stays free of it (~0.2 s)

    return pd.DataFrame(rows)


def _table_gaps(rows: list[dict], reference: list[dict]) -> list:
    """The numeric columns (thresholds, overlaps) of two tables (lists of rows)."""
    columns = [c for c in rows[0] if c.startswith(("alpha_c", "overlap@"))]
    return [
        (np.array([row[c] for row in rows], float), np.array([row[c] for row in reference], float))
        for c in columns
    ]


def _row(name, transform, center, alphas, d, sample, rng, max_steps, n_hidden) -> dict:
    cache: dict = {}
    th = thresholds_from_sample(transform, center, sample, cache)
    row = {"method": name, "alpha_c": th.overall, "alpha_c_first": th.first}
    row.update({f"alpha_c_{k + 1}": float(a) for k, a in enumerate(np.sort(th.alpha_c))})
    if alphas.size:
        res = overlap_from_sample(transform, center, alphas, sample, cache)
        row.update({f"overlap@{a:g}": float(v) for a, v in zip(alphas, res.subspace_overlap)})
    if d is not None:
        for a in alphas:
            row[f"T1_window@{a:g}"] = _window(
                transform, center, sample, a, d, max_steps, n_hidden, rng
            )
    return row


def _window(transform, center, sample, alpha, d, max_steps, n_hidden, rng) -> str:
    try:
        curve = curve_from_sample(transform, center, sample, alpha, d, max_steps, n_hidden, rng)
    except ValueError:  # unbounded weights: no finite-d curve
        return "-"
    window = curve.window()
    if window is None:
        return "-"
    first, last = window
    return f"{first}-{last}" + ("+" if last == max_steps else "")


def best_label_transform(
    link,
    r: Optional[int] = None,
    *,
    n_knots: int = 7,
    noise: float = 0.0,
    n_samples: int = 50_000,
    max_evaluations: int = 300,
    random_state: RandomState = None,
) -> Callable[[np.ndarray], np.ndarray]:
    """The scalar ``T(y)`` with the smallest full-recovery threshold in a piecewise-linear family.

    Parameters
    ----------
    link : str, Link or callable
    r : int, optional
    n_knots : int
        Knots at label quantiles equally spaced in (0, 1); T is linear between them and
        constant beyond (so bounded, as a finite threshold needs).
    noise : float
    n_samples : int
        Monte Carlo sample size of each threshold evaluation.
    max_evaluations : int
        Budget of the Nelder–Mead search over the knot values (from the better of
        ``clip(y)`` at the outer knots and the easiest direction's optimal weighting).
    random_state : None, int or Generator

    Returns
    -------
    callable
        ``T(y)`` on (n,) arrays, usable as ``label_transform`` (the squared loss on it); its
        attributes ``knots``, ``values``, ``breaks`` (the knots: its kinks) and ``alpha_c`` (the
        full-recovery threshold, network convention: T centred by its mean) describe it.
    """
    link = get_link(link, r)
    n_knots = check_count(n_knots, "n_knots", minimum=2)
    noise = check_positive_number(noise, "noise", allow_zero=True)
    n_samples = check_count(n_samples, "n_samples", minimum=1000)
    max_evaluations = check_count(max_evaluations, "max_evaluations", minimum=1)
    rng = as_generator(random_state)
    sample = monte_carlo_sample(link, noise, n_samples, rng)
    knots = np.unique(np.quantile(sample.y, np.linspace(0.02, 0.98, n_knots)))

    def make(values):
        def transform(v):
            return np.interp(np.asarray(v, dtype=np.float64), knots, values)

        transform.breaks = tuple(knots)  # type: ignore[attr-defined]  # its kinks, for quadrature
        return transform

    def objective(values):
        if np.ptp(values) <= 0:
            return 1e12
        th = thresholds_from_sample(make(values), "mean", sample)
        return min(th.overall, 1e12)

    optimal = optimal_preprocessing(link, noise=noise, random_state=rng, method="monte_carlo")
    starts = [knots.copy(), optimal(knots)]
    start = min(starts, key=objective)
    found = optimize.minimize(
        objective,
        start,
        method="Nelder-Mead",
        options={"maxfev": max_evaluations, "xatol": 1e-3, "fatol": 1e-4},
    )
    values = found.x if found.fun <= objective(start) else start
    transform = make(values)
    transform.__name__ = "best_scalar"
    transform.knots, transform.values = knots, values
    transform.alpha_c = float(min(found.fun, objective(start)))
    return transform
