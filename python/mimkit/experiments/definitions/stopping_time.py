"""Experiment 2: the stopping-time window (docs/experiments/stopping-time.md).

One phase-1 trajectory per point, recorded at a fixed list of steps (``record_steps``), serves
every stopping time T1: each recorded W_t gets the recovery metrics and its own phase 2. Too few
steps leave the noise unsuppressed; too many let every neuron collapse onto the leading
eigenvector (for ``he2_unequal``: z1), so coverage of z2 and the test error fail again. The
plot draws the finite-d prediction of each d (:func:`mimkit.theory.phase1_curve`): the mean
squared alignment ``|P_U w|^2 / |w|^2`` and the coverage of each direction against T1.
"""

from __future__ import annotations

import functools
import time
from typing import Optional

import numpy as np
import pandas as pd

from ...metrics import neuron_alignment
from ...options import LOSSES
from ...theory import Phase1Curve, phase1_curve
from ...theory_cache import cached_theory
from ..plots import errorbar_lines, mean_sem, new_figure, sweep_title, title_figure
from ..registry import Experiment
from ._common import (
    THEORY_SEED,
    draw_problem,
    fixed_defaults,
    loss_arguments,
    network_phase1,
    resolve_link,
    subspace_metrics,
    test_error,
    theory_threshold,
)

#: Recorded stopping times: dense where the window opens, sparse where it closes.
RECORD_STEPS = (
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    8,
    10,
    12,
    15,
    20,
    25,
    30,
    40,
    50,
    65,
    80,
    100,
    130,
    160,
    200,
    250,
    300,
)


def recorded_steps(max_steps: int) -> list[int]:
    """The steps of :data:`RECORD_STEPS` up to ``max_steps``, and ``max_steps`` itself."""
    return sorted({s for s in RECORD_STEPS if s <= max_steps} | {max_steps})


def recorded_trajectory(params: dict, seed: int):
    """The point's problem, and one phase-1 run of ``max_steps`` steps recorded at
    :func:`recorded_steps`; returns ``(problem, phase-1 output, phase-1 seconds)``."""
    problem = draw_problem(params, seed)
    link = resolve_link(params["link"])
    steps = recorded_steps(int(params["max_steps"]))
    p1, seconds = network_phase1(
        problem.X1,
        problem.y1,
        params,
        loss_arguments(params, link),
        steps[-1],
        problem.rng,
        record_steps=steps,
    )
    return problem, p1, seconds


def point(params: dict, seed: int) -> list:
    """One trajectory of ``max_steps`` steps; one record per recorded step ``T1``."""
    problem, p1, time_phase1 = recorded_trajectory(params, seed)
    records = []
    for step, W in zip(p1.result.record_steps, p1.result.recorded):
        start = time.perf_counter()
        rec = {"T1": int(step), **subspace_metrics(W, problem.model.U)}
        rec["alignment"] = float(np.mean(neuron_alignment(W, problem.model.U) ** 2))
        rec["test_error"] = test_error(problem, W, params["activation"])
        rec.update(time_phase1_s=time_phase1, time_phase2_s=time.perf_counter() - start)
        records.append(rec)
    return records


@functools.lru_cache(maxsize=None)
@cached_theory(seed=THEORY_SEED)
def predicted_curve(
    link_name: str,
    loss: str,
    huber_delta: float,
    noise: float,
    alpha: float,
    d: int,
    max_steps: int,
    width: int,
) -> Optional[Phase1Curve]:
    """:func:`mimkit.theory.phase1_curve` of a point, or None (a link outside the theory, a
    loss that is not a plain network loss, or unbounded weights)."""
    link = resolve_link(link_name)
    if not link.theory_covers or loss not in LOSSES:
        return None
    try:
        return phase1_curve(
            link,
            loss,
            alpha,
            d,
            max_steps,
            huber_delta=huber_delta,
            n_hidden=width,
            noise=noise,
            random_state=THEORY_SEED,
        )
    except ValueError:
        return None


def _curves(df: pd.DataFrame, alpha: float) -> dict:
    """Predicted curve per d at ``alpha`` (None where there is none)."""
    row = df.iloc[0]
    return {
        int(d): predicted_curve(
            row["link"],
            row["loss"],
            float(row["huber_delta"]),
            float(row["noise"]),
            float(alpha),
            int(d),
            int(df["T1"].max()),
            int(row["width"]),
        )
        for d in sorted(df["d"].unique())
    }


def plot(df: pd.DataFrame, manifest: dict):
    """Coverage of each direction, mean squared alignment and test error vs T1 (per d, at the
    largest alpha; thin lines: the finite-d prediction), and the phase diagram alpha x T1 of
    the test error at the largest d."""
    cov_cols = sorted(c for c in df.columns if c.startswith("coverage_") and c != "coverage_min")
    alpha_ref, d_ref = df["alpha"].max(), df["d"].max()
    sub = df[df["alpha"] == alpha_ref]
    stats = mean_sem(sub, ["d", "T1"], [*cov_cols, "alignment", "test_error", "overlap"])
    x = stats["T1"].where(stats["T1"] > 0, 0.5)  # log axis: step 0 drawn at 1/2
    stats = stats.assign(T1_plot=x)
    curves = _curves(df, alpha_ref)
    fig, axes = new_figure(4, figsize=(19, 4.2))
    ax = axes[0]
    styles = ["-", "--", ":", "-."]
    for i, col in enumerate(cov_cols):
        for j, (d, g) in enumerate(stats.groupby("d")):
            ax.errorbar(
                g["T1_plot"],
                g[col],
                yerr=g[f"{col}_sem"],
                ls=styles[i % 4],
                color=f"C{j}",
                marker="o",
                ms=3,
                capsize=2,
                label=f"z{col.split('_')[1]}, d = {d}",
            )
            curve = curves.get(int(d))
            if curve is not None:
                t = np.maximum(curve.steps, 0.5)
                k = int(col.split("_")[1]) - 1
                ax.plot(t, curve.coverage[:, k], ls=styles[i % 4], color=f"C{j}", lw=0.9, alpha=0.6)
    ax.set_ylabel("fraction of neurons carrying the direction")
    ax.set_title(f"coverage vs T1 ($\\alpha$ = {alpha_ref:g})", fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    ax = axes[1]
    errorbar_lines(ax, stats, "T1_plot", "alignment", hue="d", label_fmt="d = {}")
    for j, d in enumerate(sorted(curves)):
        if curves[d] is not None:
            t = np.maximum(curves[d].steps, 0.5)
            ax.plot(t, curves[d].alignment, color=f"C{j}", lw=1.0, alpha=0.7)
    ax.set_ylabel(r"mean $|P_U w|^2 / |w|^2$")
    ax.set_title(f"alignment vs T1 ($\\alpha$ = {alpha_ref:g}); lines: theory", fontsize=10)
    ax.legend(fontsize=8)
    ax = axes[2]
    errorbar_lines(ax, stats, "T1_plot", "test_error", hue="d", label_fmt="d = {}")
    ax.set_ylabel("relative test error (phase 2 at each T1)")
    ax.set_title(f"test MSE / Var(y) vs T1 ($\\alpha$ = {alpha_ref:g})", fontsize=10)
    ax.legend(fontsize=8)
    for ax in axes[:3]:
        ax.set_xscale("log")
        ax.set_xlabel("phase-1 steps T1 (0 drawn at 1/2)")
        ax.grid(alpha=0.3)
    _heatmap(axes[3], df[df["d"] == d_ref], d_ref)
    settings = ("link", "loss", "width", "lr", "weight_decay")
    return title_figure(fig, sweep_title(df, "stopping time", settings))


def _heatmap(ax, df: pd.DataFrame, d: int) -> None:
    grid = df.groupby(["alpha", "T1"])["test_error"].mean().unstack("T1").sort_index()
    image = ax.imshow(
        grid.to_numpy(), aspect="auto", origin="lower", cmap="viridis_r", vmin=0.0, vmax=1.0
    )
    ax.set_xticks(range(grid.shape[1]), [str(t) for t in grid.columns], rotation=90, fontsize=7)
    ax.set_yticks(range(grid.shape[0]), [f"{a:g}" for a in grid.index], fontsize=8)
    ax.set_xlabel("phase-1 steps T1")
    ax.set_ylabel(r"$\alpha = n_1 / d$")
    ax.set_title(f"phase diagram: test error, d = {d}", fontsize=10)
    ax.figure.colorbar(image, ax=ax, label="relative test error")
    row = df.iloc[0]
    th = theory_threshold(row["link"], row["loss"], float(row["huber_delta"]), float(row["noise"]))
    if th is not None and np.isfinite(th.overall):
        # alpha axis is categorical: place the line by interpolating in log alpha.
        pos = np.interp(
            np.log(th.overall), np.log(grid.index.to_numpy(dtype=float)), np.arange(grid.shape[0])
        )
        ax.axhline(
            pos,
            color="r",
            ls="--",
            lw=1.2,
            label=f"theory $\\alpha_c$ = {th.overall:.3g} (all directions)",
        )
        ax.legend(fontsize=7, loc="upper right")


def table(df: pd.DataFrame) -> pd.DataFrame:
    """Per (d, alpha): the best T1 for the test error, the window where the test error is
    within 0.05 of its best, the coverage of the weakest direction at the best T1, and the
    predicted window (every direction carried by >= 10% of the neurons, ``-1`` if none)."""
    stats = mean_sem(df, ["d", "alpha", "T1"], ["test_error", "coverage_min", "overlap"])
    rows = []
    for (d, alpha), g in stats.groupby(["d", "alpha"]):
        best = g.loc[g["test_error"].idxmin()]
        inside = g.loc[g["test_error"] <= best["test_error"] + 0.05, "T1"]
        rows.append(
            {
                "d": d,
                "alpha": alpha,
                "best_T1": int(best["T1"]),
                "best_test_error": best["test_error"],
                "window_T1_low": int(inside.min()),
                "window_T1_high": int(inside.max()),
                "test_error_at_last_T1": g.loc[g["T1"].idxmax(), "test_error"],
                "coverage_min_at_best": best["coverage_min"],
                "max_coverage_min": g["coverage_min"].max(),
                **_predicted_window(df, alpha, d),
            }
        )
    return pd.DataFrame(rows)


def _predicted_window(df: pd.DataFrame, alpha: float, d: int) -> dict:
    curve = _curves(df[df["d"] == d], alpha)[int(d)]
    window = None if curve is None else curve.window()
    first, last = (-1, -1) if window is None else window
    return {"theory_window_T1_low": first, "theory_window_T1_high": last}


_SWEPT = {"d": [256, 512, 1024], "alpha": [1.0, 2.0, 4.0, 8.0, 16.0]}


EXPERIMENT = Experiment(
    name="stopping-time",
    summary="coverage and test error vs phase-1 steps T1 (one recorded trajectory per "
    "point): too few and too many steps both fail; phase diagram alpha x T1",
    point=point,
    swept=_SWEPT,
    fixed=fixed_defaults(_SWEPT, phase2=True, link="he2_unequal", max_steps=100),
    seeds=2,
    full_swept={
        "d": [256, 512, 1024, 2048, 4096],
        "alpha": [0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 32.0],
    },
    full_fixed={"max_steps": 300},
    full_seeds=10,
    plot=plot,
    table=table,
)
