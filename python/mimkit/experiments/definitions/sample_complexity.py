"""Experiment 1: sample complexity is linear in d (docs/experiments/sample-complexity.md).

Recovery and test error against ``alpha = n1 / d`` for several d: the curves collapse onto one,
and recovery starts where the theory's weak-recovery threshold ``alpha_c`` of the loss's
preprocessing says. Each point also reports the converged spectral method on the same matrix S
(top-r eigenvectors by |eigenvalue|), which phase 1 approximates.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ...metrics import subspace_distance
from ...spectral import LocalHessian, top_eigenpairs
from ...training import run_phase1
from ..plots import errorbar_lines, mean_sem, new_figure, threshold_line
from ..registry import Experiment
from ._common import (
    draw_problem,
    fixed_defaults,
    loss_arguments,
    phase1_label_weights,
    resolve_link,
    subspace_metrics,
    test_error,
    theory_threshold,
)


def point(params: dict, seed: int) -> dict:
    """Train the network once at (d, alpha); recovery, test error, spectral baseline, timings."""
    problem = draw_problem(params, seed)
    link = resolve_link(params["link"])
    start = time.perf_counter()
    p1 = run_phase1(
        problem.X1,
        problem.y1,
        n_hidden=params["width"],
        activation=params["activation"],
        lr=params["lr"],
        weight_decay=params["weight_decay"],
        n_steps=params["steps"],
        init_scale=params["init_scale"],
        random_state=problem.rng,
        **loss_arguments(params, link),
    )
    time_phase1 = time.perf_counter() - start
    U = problem.model.U
    record = {"n1": problem.X1.shape[0], **subspace_metrics(p1.W, U)}
    start = time.perf_counter()
    record["test_error"] = test_error(problem, p1.W, params["activation"])
    time_phase2 = time.perf_counter() - start
    t = phase1_label_weights(problem.y1, p1.c, loss_arguments(params, link))
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


def plot(df: pd.DataFrame, manifest: dict):
    """Overlap (network and spectral) and test error against alpha, one line per d."""
    stats = mean_sem(df, ["d", "alpha"], ["overlap", "spectral_overlap", "test_error"])
    fig, axes = new_figure(3, figsize=(13, 3.9), sharex=True)
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
        ax.set_xscale("log", base=2)
        ax.set_xlabel(r"$\alpha = n_1 / d$")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("1 - subspace distance")
    axes[1].set_ylabel("1 - subspace distance")
    axes[2].set_ylabel("relative test error")
    axes[0].legend(fontsize=8)
    fig.suptitle(_title(df), fontsize=11)
    fig.tight_layout()
    return fig


def _threshold(df: pd.DataFrame):
    row = df.iloc[0]
    return theory_threshold(
        row["link"], row["loss"], float(row["huber_delta"]), float(row["noise"])
    )


def _title(df: pd.DataFrame) -> str:
    row = df.iloc[0]
    seeds = df["seed_index"].nunique()
    return (
        f"sample complexity: link {row['link']}, loss {row['loss']}, width {row['width']}, "
        f"T1 = {row['steps']}; mean $\\pm$ s.e. over {seeds} seeds"
    )


def table(df: pd.DataFrame) -> pd.DataFrame:
    """Means (and s.e.) over seeds per (d, alpha), with the theory threshold."""
    stats = mean_sem(
        df,
        ["d", "alpha"],
        ["overlap", "spectral_overlap", "coverage_min", "test_error", "time_point_s"],
    )
    th = _threshold(df)
    stats["alpha_c"] = np.nan if th is None else th.first
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
