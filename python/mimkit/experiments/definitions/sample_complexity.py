"""Experiment 1: sample complexity is linear in d (docs/experiments/sample-complexity.md).

Recovery and test error against ``alpha = n1 / d`` for several d: the curves collapse onto one,
and recovery starts where the theory's weak-recovery threshold ``alpha_c`` of the loss's
preprocessing says. Each point also reports the converged spectral method on the same matrix S
(top-r eigenvectors by |eigenvalue|), which phase 1 approximates. The plot draws the predicted
overlap of that matrix (:func:`mimkit.theory.network_overlap`) and, as the best spectral
method, that of the optimal preprocessing (:func:`mimkit.theory.spectral_overlap`).
"""

from __future__ import annotations

import functools
import time
from typing import Any, Optional

import numpy as np
import pandas as pd

from ...metrics import subspace_distance
from ...spectral import LocalHessian, top_eigenpairs
from ...theory import (
    network_overlap,
    spectral_overlap,
)
from ...theory_cache import cached_theory
from ..plots import errorbar_lines, mean_sem, new_figure, sweep_title, threshold_line, title_figure
from ..registry import Experiment
from ._amp_curve import draw_amp
from ._common import (
    THEORY_SEED,
    draw_problem,
    fixed_defaults,
    loss_arguments,
    network_phase1,
    phase1_label_weights,
    resolve_link,
    scalar_transform,
    subspace_metrics,
    test_error,
    theory_threshold,
)

#: Points of every predicted curve (log-spaced over the swept alphas).
_CURVE_POINTS = 40
#: Monte Carlo samples of the predicted curves (standard errors ~ 0.003 on the overlaps).
_THEORY_SAMPLES = 100_000


def point(params: dict, seed: int) -> dict:
    """Train the network once at (d, alpha); recovery, test error, spectral baseline, timings."""
    return measure(params, seed, loss_arguments(params, resolve_link(params["link"])))


def measure(params: dict, seed: int, loss_args: dict) -> dict:
    """:func:`point` with the phase-1 loss given as ``run_phase1`` keyword arguments."""
    problem = draw_problem(params, seed)
    link = resolve_link(params["link"])
    p1, time_phase1 = network_phase1(
        problem.X1, problem.y1, params, loss_args, params["steps"], problem.rng
    )
    U = problem.model.U
    record = {"n1": problem.X1.shape[0], **subspace_metrics(p1.W, U)}
    start = time.perf_counter()
    record["test_error"] = test_error(problem, p1.W, params["activation"])
    time_phase2 = time.perf_counter() - start
    t = phase1_label_weights(problem.y1, p1.c, loss_args)
    start = time.perf_counter()
    _, vecs = top_eigenpairs(
        LocalHessian(problem.X1, t), link.r, which="abs", random_state=problem.rng
    )
    record["spectral_overlap"] = 1.0 - subspace_distance(vecs.T, U)
    record.update(
        time_phase1_s=time_phase1,
        time_phase2_s=time_phase2,
        time_spectral_s=time.perf_counter() - start,
    )
    return record


@functools.lru_cache(maxsize=None)
@cached_theory(samples=_THEORY_SAMPLES, seed=THEORY_SEED)
def theory_overlap(
    link_name: str, loss: str, huber_delta: float, noise: float, alphas: tuple
) -> Optional[np.ndarray]:
    """Predicted ``1 - subspace distance`` (n, d -> inf) at ``alphas``, or None outside the
    theory.

    A network loss: its converged phase-1 matrix (:func:`mimkit.theory.network_overlap`);
    ``"optimal"`` / ``"best_scalar"``: the squared loss on that transform, i.e. the spectral
    method of ``T`` centred by its mean; ``"optimal_spectral"``: the optimal preprocessing's
    spectral method (one matrix per group of directions), the best spectral curve.
    """
    link = resolve_link(link_name)
    if not link.theory_covers:
        return None
    common: dict[str, Any] = {
        "noise": noise,
        "n_samples": _THEORY_SAMPLES,
        "random_state": THEORY_SEED,
    }
    if loss == "optimal_spectral":
        res = spectral_overlap(link, "optimal", alphas, **common)
    elif loss in ("optimal", "best_scalar"):
        res = spectral_overlap(
            link, scalar_transform(link_name, loss), alphas, center="mean", **common
        )
    else:
        res = network_overlap(link, loss, alphas, huber_delta=huber_delta, **common)
    return res.subspace_overlap


def curve_alphas(df: pd.DataFrame) -> tuple:
    """Log-spaced alphas over the swept range and the swept alphas, for the predicted curves
    (plot and table share them, so each curve is computed once)."""
    swept = df["alpha"].unique().astype(float)
    grid = np.geomspace(swept.min(), swept.max(), _CURVE_POINTS)
    return tuple(np.unique(np.concatenate([grid, swept])))


def predicted_at(df: pd.DataFrame, loss: str) -> Optional[dict]:
    """``{alpha: predicted overlap}`` of ``loss`` on :func:`curve_alphas`, or None."""
    row = df.iloc[0]
    alphas = curve_alphas(df)
    values = theory_overlap(
        row["link"], loss, float(row["huber_delta"]), float(row["noise"]), alphas
    )
    return None if values is None else dict(zip(alphas, values))


def plot(df: pd.DataFrame, manifest: dict):
    """Overlap (network and spectral) and test error against alpha, one line per d, with the
    predicted curves of the loss (solid) and of the optimal preprocessing (dotted)."""
    stats = mean_sem(df, ["d", "alpha"], ["overlap", "spectral_overlap", "test_error"])
    fig, axes = new_figure(3, figsize=(13, 3.9), sharex=True)
    row = df.iloc[0]
    predicted = predicted_at(df, row["loss"])
    best = predicted_at(df, "optimal_spectral")
    panels = [
        ("overlap", "network: overlap with span(U)"),
        ("spectral_overlap", "spectral method on the same S"),
        ("test_error", "network: test MSE / Var(y)"),
    ]
    th = _threshold(df)
    for ax, (col, title) in zip(axes, panels):
        errorbar_lines(ax, stats, "alpha", col, hue="d", label_fmt="d = {}")
        if col != "test_error" and th is not None:
            threshold_line(ax, th.first)
        if col != "test_error" and predicted is not None:
            ax.plot(*zip(*predicted.items()), color="k", lw=1.3, label=f"theory, {row['loss']}")
        if col == "spectral_overlap" and best is not None:
            ax.plot(*zip(*best.items()), color="0.45", ls=":", lw=1.6, label="theory, optimal T")
        ax.set_xscale("log", base=2)
        ax.set_xlabel(r"$\alpha = n_1 / d$")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("1 - subspace distance")
    axes[1].set_ylabel("1 - subspace distance")
    axes[2].set_ylabel("relative test error")
    draw_amp(axes[0], axes[2], df)
    axes[0].legend(fontsize=8)
    axes[1].legend(fontsize=8)
    settings = ("link", "loss", "width", "steps")
    return title_figure(fig, sweep_title(df, "sample complexity", settings))


def _threshold(df: pd.DataFrame):
    row = df.iloc[0]
    return theory_threshold(
        row["link"], row["loss"], float(row["huber_delta"]), float(row["noise"])
    )


def table(df: pd.DataFrame) -> pd.DataFrame:
    """Means (and s.e.) over seeds per (d, alpha), with the theory threshold, the predicted
    overlap of the loss and that of the optimal preprocessing (best spectral method)."""
    stats = mean_sem(
        df,
        ["d", "alpha"],
        ["overlap", "spectral_overlap", "coverage_min", "test_error", "time_point_s"],
    )
    th = _threshold(df)
    stats["alpha_c"] = np.nan if th is None else th.first
    loss = df.iloc[0]["loss"]
    for col, method in (("theory_overlap", loss), ("optimal_overlap", "optimal_spectral")):
        values = predicted_at(df, method)
        stats[col] = np.nan if values is None else stats["alpha"].astype(float).map(values)
    return stats


_SWEPT = {"d": [256, 512, 1024], "alpha": [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0]}


EXPERIMENT = Experiment(
    name="sample-complexity",
    summary="recovery and test error vs alpha = n1/d for several d: collapse, and the "
    "transition at the theory's alpha_c",
    point=point,
    swept=_SWEPT,
    fixed=fixed_defaults(_SWEPT, phase2=True, steps=30),
    seeds=3,
    full_swept={
        "d": [256, 512, 1024, 2048, 4096],
        "alpha": [0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 32.0],
    },
    full_seeds=10,
    plot=plot,
    table=table,
)
