"""What the shipped experiments share: links by name, data of a point, metrics, theory lines."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from ..._validation import check_name
from ...data import MultiIndexModel
from ...links import LINKS, Link, get_link
from ...metrics import coverage, relative_test_error, subspace_distance
from ...preprocessing import loss_transform, optimal_preprocessing
from ...theory import (
    ThresholdResult,
    best_label_transform,
    network_threshold,
    weak_recovery_threshold,
)
from ...theory_cache import cached_theory
from ...training import neuron_subspace, run_phase1, run_phase2

#: Links the experiments add to the library by name (parameters must be plain strings).
#: ``he2_unequal`` has two same-sign local-Hessian eigenvalues of different size, so phase 1
#: run for too long collapses every neuron onto z1: the stopping-time window
#: (docs/theory.md, "Finite d and finite T1").
EXTRA_LINKS: dict[str, Link] = {
    "he2_unequal": Link(
        "he2_unequal",
        2,
        "He2(z1) + 0.7 He2(z2): two same-sign local-Hessian eigenvalues of "
        "different size (too many phase-1 steps lose z2)",
        True,
        lambda z: (z[:, 0] ** 2 - 1.0) + 0.7 * (z[:, 1] ** 2 - 1.0),
    ),
}
#: Network losses; "optimal" is the squared loss on the optimal preprocessing T*(y)
#: (docs/theory.md, "Spectral methods").
NETWORK_LOSSES = ("squared", "absolute", "huber", "optimal", "best_scalar")
#: Monte Carlo seed of every theory line, so that plots are reproducible.
THEORY_SEED = 12345


def resolve_link(name: str) -> Link:
    """A library link or one of :data:`EXTRA_LINKS`, by name (error lists both)."""
    if name in EXTRA_LINKS:
        return EXTRA_LINKS[name]
    if name not in LINKS:
        raise ValueError(
            f"unknown link {name!r}; choose one of {', '.join(sorted([*LINKS, *EXTRA_LINKS]))}"
        )
    return get_link(name)


@dataclass(frozen=True, eq=False)
class Problem:
    """The data of one grid point: D1 (phase 1), D2 (phase 2), a test set, and the truth."""

    model: MultiIndexModel
    X1: np.ndarray
    y1: np.ndarray
    X2: Optional[np.ndarray]
    y2: Optional[np.ndarray]
    Xt: Optional[np.ndarray]
    yt: Optional[np.ndarray]
    rng: np.random.Generator


def draw_problem(params: dict, seed: int) -> Problem:
    """Sample the point's problem from its seed.

    Uses ``d``, ``alpha`` (n1 = alpha d), ``link`` and ``noise`` from ``params``, and, for
    experiments with a phase 2 (those with an ``alpha2`` parameter), ``alpha2`` (n2 = alpha2 d)
    and ``n_test``. One generator, seeded by ``seed``, draws U, then D1, D2, the test set,
    and is returned for the point's remaining draws (initial weights, biases).
    """
    rng = np.random.default_rng(seed)
    d = int(params["d"])
    model = MultiIndexModel(
        d, resolve_link(params["link"]), noise=float(params["noise"]), random_state=rng
    )
    X1, y1 = model.sample(max(2, round(params["alpha"] * d)), random_state=rng)
    X2 = y2 = Xt = yt = None
    if "alpha2" in params:
        X2, y2 = model.sample(max(2, round(params["alpha2"] * d)), random_state=rng)
        Xt, yt = model.sample(int(params["n_test"]), random_state=rng)
    return Problem(model, X1, y1, X2, y2, Xt, yt, rng)


def loss_arguments(params: dict, link: Link) -> dict:
    """``run_phase1`` keyword arguments for the point's ``loss`` (and ``huber_delta``).

    ``loss="optimal"`` trains with the squared loss on ``T*(y)``, the optimal preprocessing of
    the link for its first (easiest) direction; ``loss="best_scalar"`` with the squared loss on
    :func:`mimkit.theory.best_label_transform` of the link.
    """
    loss = params["loss"]
    check_name(loss, "loss", NETWORK_LOSSES)
    if loss in ("optimal", "best_scalar"):
        return {"loss": "squared", "label_transform": scalar_transform(link.name, loss)}
    return {"loss": loss, "huber_delta": float(params["huber_delta"])}


@functools.lru_cache(maxsize=None)
def scalar_transform(link_name: str, loss: str) -> Callable[[np.ndarray], np.ndarray]:
    """The label transform of ``loss`` ("optimal" or "best_scalar") as a plain function T(y).

    The network applies one scalar weighting. (An OptimalPreprocessing object passed to
    :mod:`mimkit.theory` stands for the matrix-valued optimum, one matrix per group of
    directions, which no single loss builds.) Monte Carlo seeds are fixed: the transform is
    part of the method, not of a point's randomness.
    """
    link = resolve_link(link_name)
    if loss == "best_scalar":
        return best_label_transform(
            link, n_samples=20_000, max_evaluations=150, random_state=THEORY_SEED
        )
    optimal = optimal_preprocessing(link, random_state=THEORY_SEED)

    def easiest_direction_weights(y: np.ndarray) -> np.ndarray:
        return optimal(y)

    return easiest_direction_weights


def phase1_label_weights(y: np.ndarray, c: float, loss_args: dict) -> np.ndarray:
    """``T(y) = -loss'(c, y)``: the label weights of the local Hessian phase 1 iterates on.

    ``loss_args`` is :func:`loss_arguments`; ``c`` the offset phase 1 fitted.
    """
    y = np.asarray(y, dtype=np.float64)
    if "label_transform" in loss_args:
        y = np.asarray(loss_args["label_transform"](y), dtype=np.float64)
    return loss_transform(loss_args["loss"], c, loss_args.get("huber_delta", 1.0))(y)


def network_phase1(X, y, params: dict, loss_args: dict, n_steps: int, rng, record_steps=None):
    """Phase 1 of the network a point describes (``width``, ``activation``, ``lr``,
    ``weight_decay``, ``init_scale`` from ``params``) with the loss ``loss_args``
    (:func:`loss_arguments`); returns ``(phase-1 output, seconds)``."""
    start = time.perf_counter()
    p1 = run_phase1(
        X,
        y,
        n_hidden=params["width"],
        activation=params["activation"],
        lr=params["lr"],
        weight_decay=params["weight_decay"],
        n_steps=int(n_steps),
        init_scale=params["init_scale"],
        record_steps=record_steps,
        random_state=rng,
        **loss_args,
    )
    return p1, time.perf_counter() - start


def subspace_metrics(W: np.ndarray, U: np.ndarray) -> dict:
    """Recovery of span(U) by the neurons' unit directions.

    Returns ``overlap`` (``1 - subspace distance`` of the top-r directions of the neurons:
    mean squared cosine of the principal angles), ``coverage_k`` (fraction of neurons carrying
    true direction k, k = 1..r) and ``coverage_min``.
    """
    r = U.shape[0]
    out = {"overlap": 1.0 - subspace_distance(neuron_subspace(W, r), U)}
    cov = coverage(W, U)
    for k in range(r):
        out[f"coverage_{k + 1}"] = float(cov[k])
    out["coverage_min"] = float(cov.min())
    return out


def test_error(problem: Problem, W: np.ndarray, activation: str) -> float:
    """Phase 2 on D2 from the directions of W, then MSE / Var(y) on the test set."""
    fit = run_phase2(problem.X2, problem.y2, W, activation=activation, random_state=problem.rng)
    return relative_test_error(fit.network.predict(problem.Xt), problem.yt)


@functools.lru_cache(maxsize=None)
@cached_theory(seed=THEORY_SEED)
def theory_threshold(
    link_name: str, loss: str, huber_delta: float = 1.0, noise: float = 0.0
) -> Optional[ThresholdResult]:
    """Predicted weak-recovery threshold of the network trained with ``loss``.

    The loss's preprocessing ``T(y) = -loss'(c, y)`` (:func:`mimkit.theory.network_threshold`);
    for ``"optimal"`` and ``"best_scalar"`` the spectral threshold of that scalar transform
    centred by its mean, which is what the squared loss on it builds. None when the theory
    does not cover the link.
    """
    link = resolve_link(link_name)
    if not link.theory_covers:
        return None
    if loss in ("optimal", "best_scalar"):
        return weak_recovery_threshold(
            link,
            scalar_transform(link_name, loss),
            center="mean",
            noise=noise,
            random_state=THEORY_SEED,
        )
    return network_threshold(
        link, loss, huber_delta=huber_delta, noise=noise, random_state=THEORY_SEED
    )


#: Parameters every network experiment has, with their defaults.
NETWORK_DEFAULTS = {
    "link": "z1z2",
    "noise": 0.0,
    "loss": "huber",
    "huber_delta": 1.0,
    "width": 64,
    "activation": "logcosh",
    "lr": 1.0,
    "weight_decay": 1.0,
    "init_scale": 1e-6,
}
#: Parameters of the experiments that also train phase 2 and measure test error.
PHASE2_DEFAULTS = {"alpha2": 8.0, "n_test": 4096}


def fixed_defaults(swept: dict, *, phase2: bool, **changes) -> dict:
    """Fixed parameters of an experiment: the network defaults (and phase-2 ones), updated by
    ``changes``, less the parameters it sweeps."""
    fixed = {**NETWORK_DEFAULTS, **(PHASE2_DEFAULTS if phase2 else {}), **changes}
    return {k: v for k, v in fixed.items() if k not in swept}
