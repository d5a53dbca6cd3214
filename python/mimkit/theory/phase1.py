r"""Finite d, finite T1: phase 1 as power iteration from a random start, predicted step by step.

Derivation: docs/theory.md, section "Finite d and finite T1". With ``lr * weight_decay = 1`` a
small-init neuron follows ``w_t = (-lr a_j S)^t w_0`` (only |eigenvalues| matter), and
``w_0`` is uniform on the sphere: in the eigenbasis of S its coefficients are independent
``N(0, 1/d)``. So

* each outlier k (eigenvalue ``zeta_k``, squared overlap ``rho_k`` with span(U) along the
  z-direction ``v_k``, :mod:`.overlap`) contributes ``zeta_k^t g_k / sqrt(d)``, ``g_k ~ N(0, 1)``;
  its U-part is ``sqrt(rho_k) v_k`` times that;
* the d bulk directions together contribute a squared norm ``m_{2t} = int x^{2t} dmu(x)`` (mu the
  bulk's limiting law, :mod:`.bulk`), of which the share ``(r - sum rho_k) / d`` lies in span(U),
  spread evenly over its r directions.

Hence ``|P_U w_t|^2 / |w_t|^2`` and the per-direction cosines ``|u_k . w_t| / |w_t|`` of a
neuron are explicit functions of ``g`` and a Gaussian bulk part; their means over many
simulated neurons give the expected alignment and coverage. The signal beats the bulk when
``(|zeta| / edge)^{2t} ~ d``, i.e. after ``~ log d / (2 log(|zeta| / edge))`` steps; unequal
outliers then collapse every neuron onto the largest after ``~ log(...) / log(zeta_1 / zeta_2)``
more.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

import numpy as np

from .._label_law import LabelSample
from .._random import RandomState, as_generator
from .._validation import check_count, check_name, check_positive_number
from ..metrics import COVERAGE_THRESHOLD
from ..options import LOSSES
from ..preprocessing import apply_preprocessing
from .bulk import BulkLaw, bulk_law
from .overlap import matrix_outliers
from .thresholds import Problem, quadrature_errors

#: Simulated neurons behind each expectation (their Monte Carlo error is ~ 0.5 / sqrt of this).
_NEURONS = 20_000
#: Longest curve: each step simulates _NEURONS neurons (about 1 ms), so 10^4 steps take seconds.
MAX_STEPS = 10_000
#: Smallest alpha: below it the bulk's edge ~ 1/alpha leaves floating point (overflow in psi).
MIN_ALPHA = 1e-8


@dataclass(frozen=True, eq=False)
class Phase1Curve:
    """Predicted phase-1 recovery against the step count (from :func:`phase1_curve`).

    Attributes
    ----------
    steps : (S,) int array, ``0..n_steps``.
    alignment : (S,) array
        Expected mean over neurons of ``|P_U w_t|^2 / |w_t|^2``.
    alignment_spread : (S,) array
        Standard deviation of the mean over ``n_hidden`` neurons (seed-to-seed spread).
    coverage : (S, r) array
        Expected fraction of neurons with ``|u_k . w_t| / |w_t| >= 0.5`` (as
        :func:`mimkit.metrics.coverage`), directions in z coordinates (the rows of U).
    coverage_spread : (S, r) array
    eigenvalues : (K,) array
        Outliers of D (the local Hessian up to sign), by decreasing |value|.
    eigenvalue_stderr : (K,) array
        Their Monte Carlo standard errors (``* sqrt(n_samples / n)``: their finite-n spread).
    overlaps : (K,) array
        Their squared overlaps with span(U).
    overlap_stderr : (K,) array
    directions : (K, r) array
        Their directions in z coordinates.
    bulk : BulkLaw
        Edges and scaled moments of the bulk (:func:`mimkit.theory.bulk.bulk_law`).
    alpha : float
    d : int
    n_hidden : int
    """

    steps: np.ndarray
    alignment: np.ndarray
    alignment_spread: np.ndarray
    coverage: np.ndarray
    coverage_spread: np.ndarray
    eigenvalues: np.ndarray
    eigenvalue_stderr: np.ndarray
    overlaps: np.ndarray
    overlap_stderr: np.ndarray
    directions: np.ndarray
    bulk: BulkLaw
    alpha: float
    d: int
    n_hidden: int
    n_samples: int

    @property
    def bulk_edges(self) -> np.ndarray:
        """(2,) lower and upper edge of the bulk."""
        return self.bulk.edges

    def window(self, coverage: float = 0.1) -> Optional[tuple[int, int]]:
        """First and last step at which every direction is carried by a fraction >=
        ``coverage`` of the neurons (noise neurons carry none); None if there is none. The last
        step is ``n_steps`` when the window is still open there."""
        idx = np.nonzero(self.coverage.min(axis=1) >= coverage)[0]
        if idx.size == 0:
            return None
        return int(self.steps[idx[0]]), int(self.steps[idx[-1]])


def phase1_curve(
    link,
    loss: str,
    alpha: float,
    d: int,
    n_steps: int,
    r: Optional[int] = None,
    *,
    huber_delta: float = 1.0,
    n_hidden: int = 64,
    noise: float = 0.0,
    n_samples: int = 400_000,
    method: str = "auto",
    random_state: RandomState = None,
) -> Phase1Curve:
    """Finite-d prediction of phase 1 (power iteration on S from a random start).

    Parameters
    ----------
    link : str, Link or callable
        As for :func:`mimkit.links.get_link` (a callable needs ``r``).
    loss : {"squared", "absolute", "huber"}
        Phase 1 iterates on S with ``T(y) = -loss'(c, y)`` (c at its population value).
    alpha : float
        ``n1 / d``, at least ``MIN_ALPHA`` (1e-8).
    d : int
        Input dimension (the bulk's weight grows with d; the signal's does not).
    n_steps : int
        Last step T1 of the curve, at most ``MAX_STEPS`` (10^4).
    r : int, optional
    huber_delta : float
    n_hidden : int
        Width of the network: sets the spreads of the means over neurons.
    noise : float
        Label noise standard deviation.
    n_samples : int
        Monte Carlo sample size in r dimensions (``method="monte_carlo"``).
    method : {"auto", "quadrature", "monte_carlo"}
        How the expectations behind the outliers and the bulk are computed (as for
        :func:`mimkit.theory.weak_recovery_threshold`; the neurons are always simulated).
    random_state : None, int or Generator
        The Monte Carlo sample and the simulated neurons.

    Returns
    -------
    Phase1Curve

    Raises
    ------
    ValueError
        For a loss whose weights are unbounded on this link (the squared loss on labels with
        unbounded tails): the top of S is then a few extreme samples, outside this theory.
    """
    alpha = check_positive_number(alpha, "alpha")
    if alpha < MIN_ALPHA:
        raise ValueError(
            f"alpha must be at least {MIN_ALPHA:g} (got {alpha:g}): below it the bulk's edge "
            "leaves floating point, and no direction is recovered anyway."
        )
    d = check_count(d, "d", minimum=2)
    n_steps = check_count(n_steps, "n_steps", minimum=0)
    if n_steps > MAX_STEPS:
        raise ValueError(
            f"n_steps must be at most {MAX_STEPS} (got {n_steps}): each step simulates "
            f"{_NEURONS} neurons; a longer curve would run for minutes. Pass a smaller n_steps."
        )
    n_hidden = check_count(n_hidden, "n_hidden", minimum=1)
    check_name(loss, "loss", LOSSES)
    huber_delta = check_positive_number(huber_delta, "huber_delta")
    problem = Problem.check(link, r, noise, n_samples, method, random_state)
    neuron_seed = int(problem.rng.integers(2**63)) if problem.method == "quadrature" else 0

    def compute(law):
        transform = problem.loss_transform(loss, huber_delta, law)
        sample = problem.sample(law, transform.breaks)
        # Quadrature: the same neurons for both rules, so the check compares expectations alone.
        rng = problem.rng if law is None else np.random.default_rng(neuron_seed)
        try:
            return curve_from_sample(transform, "none", sample, alpha, d, n_steps, n_hidden, rng)
        except ValueError as err:
            raise ValueError(
                f"loss {loss!r} on link {problem.link.name!r}: {err} Use a bounded loss "
                "('huber' or 'absolute')."
            ) from None

    return problem.run(compute, curve_gaps, with_curve_errors, "phase1_curve")


def curve_gaps(result: "Phase1Curve", reference: "Phase1Curve") -> list:
    """The compared values of two curves: the outliers and the bulk's edges."""
    same = result.eigenvalues.shape == reference.eigenvalues.shape
    return [
        (
            result.eigenvalues,
            reference.eigenvalues if same else np.full_like(result.eigenvalues, np.inf),
        ),
        (result.overlaps, reference.overlaps if same else np.full_like(result.overlaps, np.inf)),
        (result.bulk.edges, reference.bulk.edges),
    ]


def with_curve_errors(result: "Phase1Curve", reference: "Phase1Curve") -> "Phase1Curve":
    """``result`` with quadrature's standard errors of the outliers."""
    return replace(
        result,
        eigenvalue_stderr=quadrature_errors(result.eigenvalues, reference.eigenvalues),
        overlap_stderr=quadrature_errors(result.overlaps, reference.overlaps),
    )


def curve_from_sample(
    transform,
    center: str,
    sample: LabelSample,
    alpha: float,
    d: int,
    n_steps: int,
    n_hidden: int,
    rng,
) -> Phase1Curve:
    """:func:`phase1_curve` for weights ``T(y)`` centred as ``center`` ("none" or "mean"), on a
    given :class:`~mimkit._label_law.LabelSample`."""
    outliers, edges = matrix_outliers(transform, center, np.array([alpha]), sample, "abs", {})
    if not np.all(np.isfinite(edges)):
        raise ValueError(
            "the weights T(y) are unbounded: the top of S is a few extreme samples and no "
            "finite-d curve follows."
        )
    t = apply_preprocessing(transform, sample.y)
    if center == "mean":
        t = t - sample.mean(t)
    law = bulk_law(t, alpha, 2 * n_steps, sample.weights)
    outliers.sort(key=lambda o: -abs(o.eigenvalue))
    zeta = _merge_equal(
        np.array([o.eigenvalue for o in outliers]), np.array([o.eigenvalue_se for o in outliers])
    )
    zeta_se = np.array([o.eigenvalue_se for o in outliers])
    rho = np.array([o.overlap for o in outliers])
    rho_se = np.array([o.overlap_se for o in outliers])
    dirs = np.array([o.direction for o in outliers]).reshape(len(outliers), sample.z.shape[1])
    alignment, alignment_spread, coverage, coverage_spread = simulate_neurons(
        zeta, rho, dirs, law, d, n_steps, n_hidden, as_generator(rng)
    )
    return Phase1Curve(
        np.arange(n_steps + 1),
        alignment,
        alignment_spread,
        coverage,
        coverage_spread,
        zeta,
        zeta_se,
        rho,
        rho_se,
        dirs,
        law,
        float(alpha),
        d,
        n_hidden,
        sample.size,
    )


def _merge_equal(zeta: np.ndarray, se: np.ndarray) -> np.ndarray:
    """Give runs of |locations| (sorted, descending) within 3 combined standard errors their
    mean |location|: power iteration only sees |zeta|, and equal spikes (a symmetric link, or
    +-zeta of an odd one) must not collapse on Monte Carlo noise."""
    size = np.abs(zeta)
    out = size.copy()
    start = 0
    for i in range(1, zeta.size + 1):
        if i == zeta.size or size[i - 1] - size[i] > 3.0 * np.hypot(se[i], se[i - 1]):
            out[start:i] = size[start:i].mean()
            start = i
    return np.sign(zeta) * out


def simulate_neurons(zeta, rho, dirs, law: BulkLaw, d: int, n_steps: int, n_hidden: int, rng):
    """Alignment and coverage means and spreads per step (module docstring).

    ``zeta`` (K,) outliers, ``rho`` (K,) their squared overlaps, ``dirs`` (K, r) their
    z-directions, ``law`` the bulk; returns ``(alignment, alignment_spread, coverage,
    coverage_spread)`` with shapes (S,), (S,), (S, r), (S, r).
    """
    r = dirs.shape[1]
    g = rng.standard_normal((_NEURONS, zeta.size))
    bulk_u = rng.standard_normal((_NEURONS, r))
    # Everything is divided by top^t, top the largest |eigenvalue| (outlier or edge): no overflow.
    top = max(law.scale, float(np.max(np.abs(zeta), initial=0.0)))
    ratio, bulk_ratio = np.abs(zeta) / top, law.scale / top
    bulk_share = max(r - float(rho.sum()), 0.0) / (r * d)
    S = n_steps + 1
    alignment, alignment_spread = np.empty(S), np.empty(S)
    coverage, coverage_spread = np.empty((S, r)), np.empty((S, r))
    for t in range(S):
        amp = ratio**t * g / np.sqrt(d)  # (M, K) outlier coefficients
        bulk = law.scaled_moments[2 * t] * bulk_ratio ** (2 * t)
        in_u = (amp * np.sqrt(rho)) @ dirs + np.sqrt(bulk * bulk_share) * bulk_u  # (M, r)
        norm2 = np.sum(amp**2, axis=1) + bulk
        align = np.sum(in_u**2, axis=1) / norm2
        covered = np.abs(in_u) >= COVERAGE_THRESHOLD * np.sqrt(norm2)[:, None]
        alignment[t], alignment_spread[t] = align.mean(), align.std() / np.sqrt(n_hidden)
        coverage[t] = covered.mean(axis=0)
        coverage_spread[t] = np.sqrt(coverage[t] * (1 - coverage[t]) / n_hidden)
    return alignment, alignment_spread, coverage, coverage_spread
