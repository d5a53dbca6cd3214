"""Experiment 4: the loss is a preprocessing of the labels.

Results and command: docs/experiments/loss-preprocessing.md.

Squared, l1, Huber, the squared loss on the optimal ``T*(y)`` of the easiest direction, and
the squared loss on the best scalar transform (:func:`mimkit.theory.best_label_transform`):
only ``T(y) = -loss'(c, y)`` enters the local Hessian, so each loss recovers the subspace from
its own threshold, drawn from :func:`mimkit.theory.network_threshold` (``inf`` for the squared
loss on heavy-tailed labels: no fixed alpha suffices), along its own predicted overlap curve
(:func:`mimkit.theory.network_overlap`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..plots import mean_sem, new_figure, sweep_title, title_figure
from ..registry import Experiment
from ._amp_curve import draw_amp
from ._common import fixed_defaults, theory_threshold
from .sample_complexity import point, predicted_at


def _threshold(df: pd.DataFrame, loss: str):
    row = df.iloc[0]
    return theory_threshold(row["link"], loss, float(row["huber_delta"]), float(row["noise"]))


def plot(df: pd.DataFrame, manifest: dict):
    """Overlap and test error vs alpha, one colour per loss, its threshold dashed and its
    predicted overlap (n, d -> inf) as a thin line."""
    stats = mean_sem(df, ["loss", "alpha"], ["overlap", "test_error"])
    fig, axes = new_figure(2, figsize=(11.5, 4.0), sharex=True)
    for i, (loss, g) in enumerate(stats.groupby("loss", sort=True)):
        predicted = predicted_at(df, loss)
        if predicted is not None:
            axes[0].plot(*zip(*predicted.items()), color=f"C{i}", lw=1.0, alpha=0.8)
        th = _threshold(df, loss)
        first = math.inf if th is None else th.first
        label = f"{loss} ($\\alpha_c$ = {first:.3g})"
        for ax, col in zip(axes, ("overlap", "test_error")):
            ax.errorbar(
                g["alpha"],
                g[col],
                yerr=g[f"{col}_sem"],
                color=f"C{i}",
                marker="o",
                ms=3.5,
                capsize=2.5,
                label=label,
            )
        if math.isfinite(first):
            axes[0].axvline(first, color=f"C{i}", ls="--", lw=1.1)
    axes[0].set_ylabel("1 - subspace distance")
    axes[0].set_title(
        "recovery; lines: each loss's predicted overlap, dashed: threshold", fontsize=10
    )
    axes[1].set_ylabel("relative test error")
    axes[1].set_title("test MSE / Var(y)", fontsize=10)
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_xlabel(r"$\alpha = n_1 / d$")
        ax.grid(alpha=0.3)
    draw_amp(axes[0], axes[1], df)
    axes[0].legend(fontsize=8)
    settings = ("link", "d", "width", "steps")
    return title_figure(fig, sweep_title(df, "loss as preprocessing", settings))


def table(df: pd.DataFrame) -> pd.DataFrame:
    """Means over seeds per (loss, alpha), with each loss's thresholds (first / all) and
    predicted overlap."""
    stats = mean_sem(df, ["loss", "alpha"], ["overlap", "spectral_overlap", "test_error"])
    curves = {loss: predicted_at(df, loss) for loss in stats["loss"].unique()}
    stats["theory_overlap"] = [
        np.nan if (curve := curves[loss]) is None else curve[float(a)]
        for loss, a in zip(stats["loss"], stats["alpha"])
    ]
    first, overall = {}, {}
    for loss in stats["loss"].unique():
        th = _threshold(df, loss)
        first[loss] = math.nan if th is None else th.first
        overall[loss] = math.nan if th is None else th.overall
    stats["alpha_c_first"] = stats["loss"].map(first)
    stats["alpha_c_all"] = stats["loss"].map(overall)
    return stats


_SWEPT = {
    "loss": ["squared", "absolute", "huber", "optimal", "best_scalar"],
    "alpha": [0.5, 1.0, 2.0, 4.0, 8.0, 16.0],
}


EXPERIMENT = Experiment(
    name="loss-preprocessing",
    summary="squared vs l1 vs Huber vs optimal T*(y) vs the best scalar T(y): recovery vs "
    "alpha, each against its own predicted curve and threshold",
    point=point,
    swept=_SWEPT,
    fixed=fixed_defaults(_SWEPT, phase2=True, d=512, steps=30),
    seeds=2,
    full_swept={"alpha": [0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 32.0]},
    full_fixed={"d": 2048},
    full_seeds=10,
    plot=plot,
    table=table,
)
