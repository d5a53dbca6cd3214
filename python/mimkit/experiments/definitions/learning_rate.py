"""Experiment 3: a small learning rate stalls phase 1 (docs/experiments/learning-rate.md).

With weight decay beta1 fixed and ``eta1 * beta1 < 1``, each step is
``w <- (1 - eta1 beta1) w - eta1 a S w``: the identity term dominates as eta1 shrinks, the
effective spectral gap ``(1 - eta1 beta1 + eta1 |a lambda_signal|) / (1 - eta1 beta1 +
eta1 |a lambda_bulk|)`` tends to 1, and recovery after a fixed number of steps vanishes.
One recorded trajectory per point gives every step count.
"""

from __future__ import annotations

import pandas as pd

from ..plots import errorbar_lines, finish_figure, mean_sem, new_figure, sweep_title
from ..registry import Experiment
from ._common import fixed_defaults, subspace_metrics
from .stopping_time import recorded_trajectory


def point(params: dict, seed: int) -> list:
    """One trajectory at learning rate ``lr``; recovery at each recorded step."""
    problem, p1, time_phase1 = recorded_trajectory(params, seed)
    return [
        {
            "T1": int(step),
            "lr_times_decay": params["lr"] * params["weight_decay"],
            **subspace_metrics(W, problem.model.U),
            "time_phase1_s": time_phase1,
        }
        for step, W in zip(p1.result.record_steps, p1.result.recorded)
    ]


def plot(df: pd.DataFrame, manifest: dict):
    """Overlap vs eta1 at several T1, and overlap vs T1 for each eta1."""
    fig, axes = new_figure(2, figsize=(11, 4.0))
    chosen = [t for t in (5, 10, 20, 50, 100, 300) if t in set(df["T1"])]
    stats = mean_sem(df[df["T1"].isin(chosen)], ["T1", "lr"], ["overlap"])
    errorbar_lines(axes[0], stats, "lr", "overlap", hue="T1", label_fmt="T1 = {}")
    axes[0].set_xscale("log")
    axes[0].set_xlabel(r"learning rate $\eta_1$ (weight decay fixed)")
    axes[0].set_title(r"recovery after T1 steps vs $\eta_1$", fontsize=10)
    stats = mean_sem(df, ["lr", "T1"], ["overlap"])
    stats = stats.assign(T1_plot=stats["T1"].where(stats["T1"] > 0, 0.5))
    errorbar_lines(axes[1], stats, "T1_plot", "overlap", hue="lr", label_fmt=r"$\eta_1$ = {:g}")
    axes[1].set_xscale("log")
    axes[1].set_xlabel("phase-1 steps T1 (0 drawn at 1/2)")
    axes[1].set_title("recovery vs steps, per learning rate", fontsize=10)
    for ax in axes:
        ax.set_ylabel("1 - subspace distance")
    settings = ("link", "loss", "d", "alpha", "weight_decay")
    return finish_figure(fig, axes, sweep_title(df, "learning rate", settings))


def table(df: pd.DataFrame) -> pd.DataFrame:
    """Overlap per (lr, T1) at a few stopping times, means over seeds."""
    chosen = [t for t in (5, 10, 20, 50, 100, 300) if t in set(df["T1"])]
    return mean_sem(
        df[df["T1"].isin(chosen)], ["lr", "lr_times_decay", "T1"], ["overlap", "coverage_min"]
    )


_SWEPT = {"lr": [0.01, 0.03, 0.1, 0.3, 1.0]}


EXPERIMENT = Experiment(
    name="learning-rate",
    summary="recovery vs phase-1 learning rate eta1 at fixed weight decay: small eta1 "
    "(eta1*beta1 < 1) stalls",
    point=point,
    swept=_SWEPT,
    fixed=fixed_defaults(_SWEPT, phase2=False, d=512, alpha=8.0, max_steps=100),
    seeds=3,
    full_swept={"lr": [0.003, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0], "d": [512, 2048]},
    full_fixed={"max_steps": 300},
    full_seeds=10,
    plot=plot,
    table=table,
)
