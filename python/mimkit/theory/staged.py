r"""The second stage's overlap: Lu–Li's formula with the conditional label kernel.

Derivation: docs/theory.md, "Hierarchies", "The second stage's overlap". The sequential spectral
method (:mod:`mimkit.staged_spectral`) and the staged network (:mod:`mimkit.staged_training`)
learn a block of directions first (the *learned block*, k rows ``L`` in the link's coordinates)
and then build

    D2 = (1/n) sum_i T2(y_i, h_i) P x_i x_i^T P,   h = B_hat x,   P = I - B_hat^T B_hat,

from fresh samples, with ``B_hat`` the first stage's estimate. Let each estimated row be
``u_hat = sqrt(q1) u + sqrt(1 - q1) xi`` with ``q1`` the first stage's overlap and ``xi`` a unit
vector outside span(U) (the first stage's error lies outside span(U) to leading order). Then
``z_L = sqrt(q1) h + sqrt(1 - q1) zeta``, where ``zeta = (P u / |P u|) . x`` is the *residual*
of the learned direction: one more index direction of the complement of ``B_hat``. On that
complement the rows ``P x`` are standard Gaussian, ``h`` is independent of them, and the weight
depends on them only through ``z' = (zeta, z_C)`` (``z_C = C x``, C the link's directions
outside the learned block). So D2 is the spectral matrix of an r-index model in d - k
dimensions whose weight ``t = T2(y, h)`` carries ``h`` as independent noise: Lu–Li's outliers
and overlaps (:mod:`.overlap`) apply to the joint law of ``(z', t)`` at ``alpha = n2 / d``.

Every outlier ``o`` has an overlap ``c_o`` along ``v_o`` in ``z'`` coordinates; the predicted
overlap (mean squared cosine) of the stage's directions with span(C) is
``sum_o c_o |v_o[C]|^2 / (r - k)``. The stage keeps every outlier beyond its side's bulk edge.

Expectations: with ``q1 = 1`` (the first block known exactly) ``zeta`` drops out and the
expectations are over the link's own r coordinates, by quadrature for r <= 3 (checked at half
the nodes; "auto" falls back to Monte Carlo when the check fails, as elsewhere in
:mod:`mimkit.theory`); with ``q1 < 1`` they live in ``k + r`` dimensions and are by Monte
Carlo with common random numbers across ``q1`` (smooth curves in alpha).

Bounded weights: the law of the weights is that of the sample (its extremes stand for the
sup). A fitted polynomial's residual can have Gaussian tails on one side (``sign_committee``'s
linear part of ``E[y | h]`` under the sign gate): strictly an unbounded side, whose edge grows
like ``max_i t_i / alpha ~ sqrt(2 log n) / alpha``, far below the outliers at any practical n,
so it is not declared unbounded as :mod:`.thresholds` does for a label transform.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

import numpy as np
from numpy.polynomial import hermite_e
from scipy import optimize

from .._label_law import LabelSample, QuadratureLaw
from .._random import RandomState
from .._scale import nearest_power_of_two
from .._validation import check_name, check_positive_number
from ..options import LOSSES
from ..preprocessing import apply_preprocessing, default_center, loss_transform
from .overlap import check_alphas, matrix_outliers, network_overlap, spectral_overlap
from .thresholds import Problem, quadrature_errors, thresholds_from_sample

#: Degree of the Hermite polynomial in h that stands for the network's fit E[y | h].
CONDITIONAL_MEAN_DEGREE = 7
#: First-order signals with ``n |mu|^2 / E[T^2]`` below this many chi-square standard
#: deviations above its mean (per direction) count as zero on a Monte Carlo sample.
_FIRST_ORDER_MARGIN = 5.0


@dataclass(frozen=True, eq=False)
class StagedOverlapResult:
    """Predicted recovery of the second stage (from :func:`staged_spectral_overlap`).

    Attributes
    ----------
    alpha : (A,) array
        ``n / d`` of each stage (fresh samples per stage: each stage's own n).
    stage_1_overlap : (A,) array
        The first stage's overlap with the learned block, given or predicted.
    stage_1_kind : str
        How stage 1 learns: "trivial" (first-order, ``E[T(y) z] != 0``: visible at any alpha),
        "easy" (the spectral method's outlier), or "given" (both arguments passed).
    stage_1_threshold : float
        Where stage 1 becomes visible: 0 for "trivial", the spectral threshold of its first
        direction for "easy", nan for "given".
    overlap : (A,) array
        Mean squared cosine of the second stage's directions with the complement of the
        learned block (0 where D2 has no outlier).
    overlap_stderr : (A,) array
        Monte Carlo's standard error, or quadrature's error bound.
    residual_overlap : (A,) array
        Mean squared cosine of the second stage's directions with the residual ``zeta`` of the
        learned block (module docstring).
    n_outliers : (A,) int array
        Outliers of D2 beyond the bulk edges.
    bulk_edges : (A, 2) array
        Lower and upper edge of D2's bulk (the stage keeps the eigenvalues beyond them).
    threshold : (A,) array
        The alpha at which D2 first has an outlier, at that alpha's stage-1 overlap (inf if
        never): the stage is visible where ``alpha >= threshold``.
    learned : (k, r) array
        The learned block's directions in the link's coordinates.
    complement : (r - k, r) array
        Orthonormal rows spanning the rest.
    n_samples : int
    method : "quadrature" or "monte_carlo"
    """

    alpha: np.ndarray
    stage_1_overlap: np.ndarray
    stage_1_kind: str
    stage_1_threshold: float
    overlap: np.ndarray
    overlap_stderr: np.ndarray
    residual_overlap: np.ndarray
    n_outliers: np.ndarray
    bulk_edges: np.ndarray
    threshold: np.ndarray
    learned: np.ndarray
    complement: np.ndarray
    n_samples: int
    method: str


class _SpectralKernel:
    """The sequential spectral method's kernels (:mod:`mimkit.staged_spectral`)."""

    def __init__(self, preprocessing, center: Optional[str]):
        self.preprocessing = preprocessing
        self.center = default_center(preprocessing) if center is None else center

    def prepare(self, sample: LabelSample) -> None:
        """Nothing to fit: the spectral method takes y as it is."""

    def stage_one(self, link, alphas, r, common: dict):
        return spectral_overlap(link, self.preprocessing, alphas, r, center=self.center, **common)

    def first_order_weights(self, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
        t = apply_preprocessing(self.preprocessing, y)
        return t - np.sum(weights * t) if self.center == "mean" else t

    def stage_two_weights(self, y: np.ndarray, H: np.ndarray, weights: np.ndarray):
        """``T(y, h) = sum_l sign(h_l) T(y - q(h))``, q the weighted least-squares quadratic,
        T centred under ``weights`` as ``center`` says."""
        from ..staged_spectral import quadratic_features  # the method's own features

        Q = quadratic_features(H)
        t = apply_preprocessing(self.preprocessing, y - Q @ _weighted_lstsq(Q, y, weights))
        if self.center == "mean":
            t = t - np.sum(weights * t)
        return np.sum(np.where(H >= 0, 1.0, -1.0), axis=1) * t


class _NetworkKernel:
    """The staged network's kernels (:mod:`mimkit.staged_training`): ``-loss'`` at the
    residual's location, the residual of ``E[y | h]`` (what phase 2 fits on the learned
    features), gated by the odd part of ``sigma''``. The network divides y by ``y_scale``
    first, so its Huber threshold is ``huber_delta * y_scale`` in units of y."""

    def __init__(self, loss, huber_delta, activation, gate_scale, gate_bias, y_scale):
        self.loss, self.huber_delta, self.y_scale = loss, huber_delta, y_scale
        self.activation, self.gate_scale, self.gate_bias = activation, gate_scale, gate_bias
        self.delta = huber_delta if y_scale is None else huber_delta * y_scale

    def prepare(self, sample: LabelSample) -> None:
        """The estimator's scale of y where none was given: the power of two nearest its
        standard deviation (:func:`mimkit._scale.data_scale`)."""
        if self.y_scale is None:
            spread = float(np.sqrt(sample.mean((sample.y - sample.mean(sample.y)) ** 2)))
            self.delta = self.huber_delta * (nearest_power_of_two(spread) if spread > 0 else 1.0)

    def stage_one(self, link, alphas, r, common: dict):
        return network_overlap(link, self.loss, alphas, r, huber_delta=self.delta, **common)

    def _transformed(self, values: np.ndarray, weights: np.ndarray) -> np.ndarray:
        c = _weighted_location(self.loss, values, weights, self.delta)
        return loss_transform(self.loss, c, self.delta)(values)

    def first_order_weights(self, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return self._transformed(y, weights)

    def stage_two_weights(self, y: np.ndarray, H: np.ndarray, weights: np.ndarray):
        """``gamma(h) T(y - E[y | h])``, E[y | h] a weighted least-squares Hermite fit."""
        from ..staged_training import stage_gate  # mimkit.staged_training imports the theory

        features = hermite_e.hermevander(H[:, 0], CONDITIONAL_MEAN_DEGREE)
        residual = y - features @ _weighted_lstsq(features, y, weights)
        gate = stage_gate(H, self.activation, self.gate_scale, self.gate_bias)
        return gate * self._transformed(residual, weights)


def staged_spectral_overlap(
    link,
    alpha=1.0,
    r: Optional[int] = None,
    *,
    preprocessing="identity",
    center: Optional[str] = None,
    stage_1_overlap=None,
    learned=None,
    noise: float = 0.0,
    n_samples: int = 400_000,
    method: str = "auto",
    random_state: RandomState = None,
) -> StagedOverlapResult:
    """The sequential spectral method's second-stage overlap at ``alpha = n / d`` per stage.

    Parameters
    ----------
    link, r, noise, n_samples, method, random_state
        As for :func:`mimkit.theory.spectral_overlap`.
    alpha : float or (A,) array
        Each stage's ``n / d`` (fresh samples per stage).
    preprocessing : str or callable
        T of both stages (not "optimal": it is not conditional).
    center : {"mean", "identity", "none"} or None
        As in :mod:`mimkit.spectral` (None: "mean").
    stage_1_overlap : None, float in [0, 1], or (A,) array
        The first stage's overlap with the learned block; None predicts it at the same alpha
        (the first-order ``cos^2`` when ``E[T(y) z] != 0``, else the spectral overlap of the
        first direction).
    learned : None or (k, r) array
        The learned block in the link's coordinates (rows, orthonormalised here); None takes
        the first stage's: ``E[T(y) z]`` or the first spectral direction.

    Returns
    -------
    StagedOverlapResult
    """
    if isinstance(preprocessing, str) and preprocessing == "optimal":
        raise ValueError(
            "the staged spectral method conditions T on the learned projections; "
            "preprocessing='optimal' is the unconditional optimum. Pass a named or callable T."
        )
    kernel = _SpectralKernel(preprocessing, center)
    return _staged_overlap(
        kernel, link, alpha, r, stage_1_overlap, learned,
        dict(noise=noise, n_samples=n_samples, method=method, random_state=random_state),
    )  # fmt: skip


def staged_network_overlap(
    link,
    alpha=1.0,
    r: Optional[int] = None,
    *,
    loss: str = "huber",
    huber_delta: float = 1.0,
    activation: str = "logcosh",
    gate_scale: float = 1.0,
    gate_bias: float = 1.0,
    y_scale: Optional[float] = None,
    stage_1_overlap=None,
    learned=None,
    noise: float = 0.0,
    n_samples: int = 400_000,
    method: str = "auto",
    random_state: RandomState = None,
) -> StagedOverlapResult:
    """The staged network's second-stage overlap, as the spectral limit of its gated phase 1.

    The kernel is the network's (docs/theory.md, "Hierarchies"): ``T(rho) = -loss'(c, rho)``
    of the residual ``rho = y - E[y | h]`` (a degree-:data:`CONDITIONAL_MEAN_DEGREE` Hermite
    fit stands for phase 2's fit on the learned features) at its location c, times the gate
    ``sigma''(c_g h + b_g) - sigma''(-c_g h + b_g)``. One learned direction (k = 1).

    Parameters
    ----------
    loss, huber_delta, activation, gate_scale, gate_bias
        As for :class:`mimkit.estimators.LayerwiseRegressor`.
    y_scale : float or None
        What the network divides y by (``huber_delta`` acts on ``y / y_scale``). None: as
        LayerwiseRegressor, the power of two nearest the standard deviation of y (2 for
        ``sq_sign3`` and ``sign_committee``, whose variance is 3).
    link, alpha, r, stage_1_overlap, learned, noise, n_samples, method, random_state
        As for :func:`staged_spectral_overlap` (stage 1 predicted by
        :func:`mimkit.theory.network_overlap`, or the first-order ``cos^2`` of ``-loss'``).

    Returns
    -------
    StagedOverlapResult
    """
    check_name(loss, "loss", LOSSES)
    huber_delta = check_positive_number(huber_delta, "huber_delta")
    gate_scale = check_positive_number(gate_scale, "gate_scale")
    from ..staged_training import check_gate_activation  # it imports the theory

    check_gate_activation(activation)
    if learned is not None and np.atleast_2d(learned).shape[0] != 1:
        raise ValueError(
            "the network's stage-2 theory fits E[y | h] for one learned direction; got learned "
            f"of shape {np.shape(learned)} (use staged_spectral_overlap for a larger block)."
        )
    if y_scale is not None:
        y_scale = check_positive_number(y_scale, "y_scale")
    kernel = _NetworkKernel(loss, huber_delta, activation, gate_scale, float(gate_bias), y_scale)
    return _staged_overlap(
        kernel, link, alpha, r, stage_1_overlap, learned,
        dict(noise=noise, n_samples=n_samples, method=method, random_state=random_state),
    )  # fmt: skip


def _staged_overlap(kernel, link, alpha, r, stage_1_overlap, learned, common: dict):
    alphas = check_alphas(alpha)
    problem = Problem.check(link, r, **common)
    r = problem.link.r
    base = _base_sample(problem)
    kernel.prepare(base)
    kind, threshold = "given", np.nan
    if learned is None or stage_1_overlap is None:
        kind, threshold, first, q1_first = _first_stage(kernel, problem, base, alphas, common)
        learned = first if learned is None else learned
        stage_1_overlap = q1_first if stage_1_overlap is None else stage_1_overlap
    learned = _check_learned(learned, r)
    q1 = _check_stage_1_overlap(stage_1_overlap, alphas.size)
    k = learned.shape[0]
    complement = np.linalg.svd(np.eye(r) - learned.T @ learned)[0][:, : r - k].T

    def compute(law):
        stage_1 = (q1, kind, threshold)
        return _stage_two(kernel, problem, law, alphas, stage_1, learned, complement)

    if np.all(q1 == 1.0):
        return problem.run(compute, _gaps, _with_errors, "staged_spectral_overlap")
    if common["method"] == "quadrature":
        raise ValueError(
            "method='quadrature' needs stage_1_overlap = 1 (with q1 < 1 the residual of the "
            f"learned block adds {k} dimension(s) to the rule); use method='monte_carlo' or "
            "'auto'."
        )
    return compute(None)


def _base_sample(problem: Problem) -> LabelSample:
    """The link's own law (its rule, or Monte Carlo draws from a generator split off the
    problem's): for the first stage and the network's scale of y."""
    if problem.method == "quadrature":
        return QuadratureLaw(problem.link, problem.noise).sample()
    return replace(problem, rng=np.random.default_rng(problem.rng.integers(2**63))).sample(None)


def _first_stage(kernel, problem: Problem, sample: LabelSample, alphas: np.ndarray, common: dict):
    """The first stage's kind, threshold, direction(s) (k, r) and overlap (A,): first-order
    ("trivial") when ``E[T z]`` stands out (``cos^2 = |mu|^2 / (|mu|^2 + E[T^2] / alpha)``),
    else spectral ("easy")."""
    t = kernel.first_order_weights(sample.y, sample.weights)
    mu = sample.mean(t[:, None] * sample.z)
    power = float(sample.mean(t * t))
    r = problem.link.r
    if sample.is_quadrature:
        significant = float(mu @ mu) > 1e-10 * power
    else:
        significant = sample.size * float(mu @ mu) / power > r + _FIRST_ORDER_MARGIN * np.sqrt(
            2 * r
        )
    if significant:
        norm2 = float(mu @ mu)
        q1 = norm2 / (norm2 + power / alphas)
        return "trivial", 0.0, (mu / np.sqrt(norm2))[None, :], q1
    result = kernel.stage_one(problem.link, alphas, r, common)
    first = result.thresholds
    return "easy", float(first.alpha_c[0]), first.directions[:1], result.overlap[:, 0]


def _check_learned(learned, r: int) -> np.ndarray:
    L = np.atleast_2d(np.asarray(learned, dtype=np.float64))
    if L.ndim != 2 or L.shape[1] != r or not 1 <= L.shape[0] < r or not np.isfinite(L).all():
        raise ValueError(
            f"learned must be k x {r} rows (1 <= k < r = {r}), finite, got shape "
            f"{np.shape(learned)}."
        )
    Q, R = np.linalg.qr(L.T)
    if np.min(np.abs(np.diag(R))) < 1e-8 * np.max(np.abs(np.diag(R))):
        raise ValueError("learned must have linearly independent rows.")
    return (Q * np.sign(np.diag(R))).T  # the rows' own orientation: the gate is odd in h


def _check_stage_1_overlap(q1, size: int) -> np.ndarray:
    values = np.asarray(q1, dtype=np.float64)
    if values.ndim == 0:
        values = np.full(size, float(values))
    if values.shape != (size,) or not np.all((values >= 0) & (values <= 1)):
        raise ValueError(
            f"stage_1_overlap must be in [0, 1], one number or one per alpha ({size}), got {q1!r}."
        )
    return values


def _stage_two(kernel, problem: Problem, law, alphas, stage_1, learned, complement):
    """The result on one rule (``law``, all q1 = 1) or on Monte Carlo draws (law None);
    ``stage_1``: the first stage's overlaps (A,), kind and threshold."""
    q1, kind, threshold = stage_1
    k, r = learned.shape[0], problem.link.r
    A = alphas.size
    out = {
        name: np.zeros(A)
        for name in ("overlap", "overlap_se", "residual", "threshold", "n_outliers")
    }
    edges = np.zeros((A, 2))
    if law is not None:
        base = law.sample()
        draws = None
    else:
        rng = problem.rng
        draws = rng.standard_normal((problem.n_samples, k + r))
        eps = rng.standard_normal(problem.n_samples) if problem.noise > 0 else None
    for value in np.unique(q1):
        at = np.nonzero(q1 == value)[0]
        if law is not None:
            sample, n_zeta = _rule_sample(kernel, base, learned, complement), 0
        else:
            sample, n_zeta = (
                _draws_sample(kernel, problem, draws, eps, value, learned, complement),
                k,
            )
        cache: dict = {}
        outliers, edges[at] = matrix_outliers("identity", "none", alphas[at], sample, "abs", cache)
        found = thresholds_from_sample("identity", "none", sample, cache).alpha_c
        out["threshold"][at] = float(np.min(found))
        for i, a in enumerate(at):
            here = [o for o in outliers if o.alpha_index == i]
            on_c = [float(o.direction[n_zeta:] @ o.direction[n_zeta:]) for o in here]
            out["overlap"][a] = sum(o.overlap * w for o, w in zip(here, on_c)) / (r - k)
            out["overlap_se"][a] = np.sqrt(
                sum((o.overlap_se * w) ** 2 for o, w in zip(here, on_c))
            ) / (r - k)
            out["residual"][a] = sum(o.overlap * (1 - w) for o, w in zip(here, on_c)) / k
            out["n_outliers"][a] = len(here)
    return StagedOverlapResult(
        alphas,
        q1,
        kind,
        threshold,
        out["overlap"],
        out["overlap_se"],
        out["residual"],
        out["n_outliers"].astype(int),
        edges,
        out["threshold"],
        learned,
        complement,
        problem.n_samples if law is None else base.size,
        "monte_carlo" if law is None else "quadrature",
    )


def _draws_sample(kernel, problem, draws, eps, q1, learned, complement) -> LabelSample:
    """The stage-2 law at overlap q1 on Gaussian draws ``(h, zeta, z_C)`` (module docstring)."""
    k = learned.shape[0]
    H, zeta, zc = draws[:, :k], draws[:, k : 2 * k], draws[:, 2 * k :]
    z = (np.sqrt(q1) * H + np.sqrt(1.0 - q1) * zeta) @ learned + zc @ complement
    y = np.asarray(problem.link(z), dtype=np.float64)
    if eps is not None:
        y = y + problem.noise * eps
    uniform = np.full(y.size, 1.0 / y.size)
    t = kernel.stage_two_weights(y, H, uniform)
    return _weights_sample(np.c_[zeta, zc], t, uniform, "monte_carlo")


def _rule_sample(kernel, base: LabelSample, learned, complement) -> LabelSample:
    """The stage-2 law given the learned block exactly (q1 = 1) on a quadrature rule: h and
    z_C are rotations of the rule's z, and zeta is absent."""
    H = base.z @ learned.T
    t = kernel.stage_two_weights(base.y, H, base.weights)
    return _weights_sample(base.z @ complement.T, t, base.weights, "quadrature")


def _weights_sample(z: np.ndarray, t: np.ndarray, weights: np.ndarray, method: str):
    """The law of ``(z', t)`` as a LabelSample whose label is the weight itself. Its probe is
    the sample: both sides count as bounded by the sample's extremes (module docstring)."""
    return LabelSample(z, t, weights, t, method)


def _gaps(result: StagedOverlapResult, reference: StagedOverlapResult) -> list:
    finite = np.isfinite(result.threshold) & np.isfinite(reference.threshold)
    return [
        (result.overlap, reference.overlap),
        (np.where(finite, result.threshold, 0.0), np.where(finite, reference.threshold, 0.0)),
    ]


def _with_errors(result: StagedOverlapResult, reference: StagedOverlapResult):
    return replace(result, overlap_stderr=quadrature_errors(result.overlap, reference.overlap))


def _weighted_lstsq(Q: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    root = np.sqrt(weights)
    return np.linalg.lstsq(Q * root[:, None], y * root, rcond=None)[0]


def _weighted_location(loss: str, values: np.ndarray, weights: np.ndarray, delta: float) -> float:
    """The loss's location of ``values`` under ``weights``: mean, median or Huber location."""
    if loss == "squared":
        return float(np.sum(weights * values))
    if loss == "absolute":
        order = np.argsort(values, kind="stable")
        at = int(np.searchsorted(np.cumsum(weights[order]), 0.5))
        return float(values[order][min(at, values.size - 1)])
    lo, hi = float(values.min()), float(values.max())
    if lo == hi:
        return lo
    return float(
        optimize.brentq(lambda c: np.sum(weights * np.clip(values - c, -delta, delta)), lo, hi)
    )
