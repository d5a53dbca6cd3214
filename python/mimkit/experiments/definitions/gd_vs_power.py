"""Experiment 5: phase-1 gradient descent tracks power iteration on S, step by step.

Results and command: docs/experiments/gd-vs-power.md; theory: docs/theory.md, "Phase 1".

From the same initial weights, the network's full-batch GD and the linearised recursion
``v_j <- (1 - eta1 beta1) v_j - eta1 a_j S v_j`` (:func:`mimkit.spectral.power_iteration`,
neuron by neuron, with ``S = (1/n) sum loss'(c, y_i) x_i x_i^T``) are compared at every step:
the cosine between each neuron and its power-iteration twin, and both methods' alignment with
span(U). With a small init the two agree to rounding; a large init leaves the linear regime.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ...spectral import LocalHessian, power_iteration
from ..plots import errorbar_lines, finish_figure, mean_sem, new_figure, sweep_title
from ..registry import Experiment
from ._common import (
    draw_problem,
    fixed_defaults,
    loss_arguments,
    network_phase1,
    phase1_label_weights,
    resolve_link,
)


def _unit_rows(A: np.ndarray) -> np.ndarray:
    return A / np.linalg.norm(A, axis=-1, keepdims=True)


def point(params: dict, seed: int) -> list:
    """GD and power iteration from one init; one record per step 0..steps."""
    problem = draw_problem(params, seed)
    link = resolve_link(params["link"])
    loss_args = loss_arguments(params, link)
    n_steps = int(params["steps"])
    steps = list(range(n_steps + 1))
    p1, time_gd = network_phase1(
        problem.X1, problem.y1, params, loss_args, n_steps, problem.rng, record_steps=steps
    )
    # S = (1/n) sum loss'(c, y_i) x_i x_i^T = -S_T, and the GD step multiplies S w_j by -lr a_j.
    t = phase1_label_weights(problem.y1, p1.c, loss_args)
    start = time.perf_counter()
    pi = power_iteration(
        LocalHessian(problem.X1, -t),
        p1.W0.T,
        n_steps,
        orthogonalize=False,
        identity_weight=1.0 - params["lr"] * params["weight_decay"],
        scale=-params["lr"] * p1.a,
        record_steps=steps,
    )
    time_pi = time.perf_counter() - start
    U = problem.model.U
    records = []
    assert p1.result.recorded is not None and pi.recorded is not None  # record_steps given
    for step, W, V in zip(steps, p1.result.recorded, pi.recorded):
        gd = _unit_rows(np.asarray(W, dtype=np.float64))
        pw = _unit_rows(np.asarray(V, dtype=np.float64).T)
        cos = np.abs(np.sum(gd * pw, axis=1))
        records.append(
            {
                "step": step,
                "cos_mean": float(cos.mean()),
                "cos_min": float(cos.min()),
                "one_minus_cos_max": float(max(1.0 - cos.min(), 0.0)),
                "alignment_gd": float(np.linalg.norm(gd @ U.T, axis=1).mean()),
                "alignment_power": float(np.linalg.norm(pw @ U.T, axis=1).mean()),
                "max_preactivation": float(
                    np.max(np.abs(problem.X1[:256] @ W.T)) * np.exp(p1.result.log_scale[step])
                ),
                "time_gd_s": time_gd,
                "time_power_s": time_pi,
            }
        )
    return records


def plot(df: pd.DataFrame, manifest: dict):
    """Alignment with span(U) per step for GD and power iteration, and their disagreement."""
    fig, axes = new_figure(2, figsize=(11.5, 4.0), sharex=True)
    stats = mean_sem(
        df, ["init_scale", "step"], ["alignment_gd", "alignment_power", "one_minus_cos_max"]
    )
    for i, (scale, g) in enumerate(stats.groupby("init_scale")):
        axes[0].errorbar(
            g["step"],
            g["alignment_gd"],
            yerr=g["alignment_gd_sem"],
            color=f"C{i}",
            marker="o",
            ms=3,
            capsize=2,
            label=f"GD, init scale {scale:g}",
        )
        axes[0].plot(
            g["step"],
            g["alignment_power"],
            color=f"C{i}",
            ls="--",
            lw=2,
            alpha=0.7,
            label=f"power iteration, init scale {scale:g}",
        )
    errorbar_lines(
        axes[1],
        stats.assign(one_minus_cos_max=stats["one_minus_cos_max"].clip(lower=1e-17)),
        "step",
        "one_minus_cos_max",
        hue="init_scale",
        label_fmt="init scale {:g}",
    )
    axes[0].set_ylabel(r"mean $|P_U w_j| / |w_j|$")
    axes[0].set_title("alignment with span(U): GD (solid) vs power iteration (dashed)", fontsize=10)
    axes[1].set_yscale("log")
    axes[1].set_ylabel(r"$\max_j (1 - |\cos(w_j^{GD}, v_j^{PI})|)$")
    axes[1].set_title("worst neuron's disagreement GD vs power iteration", fontsize=10)
    for ax in axes:
        ax.set_xlabel("phase-1 step")
    settings = ("link", "loss", "d", "alpha", "width")
    title = sweep_title(df, "GD vs power iteration", settings)
    return finish_figure(fig, axes, title, legend_fontsize=7)


def table(df: pd.DataFrame) -> pd.DataFrame:
    """Per init scale and a few steps: alignment of both methods and their disagreement."""
    last = df["step"].max()
    chosen = sorted({s for s in (0, 1, 2, 5, 10, 20, last) if s <= last})
    return mean_sem(
        df[df["step"].isin(chosen)],
        ["init_scale", "step"],
        ["alignment_gd", "alignment_power", "one_minus_cos_max", "max_preactivation"],
    )


_SWEPT = {"init_scale": [1e-6, 0.3, 3.0]}


EXPERIMENT = Experiment(
    name="gd-vs-power",
    summary="phase-1 GD vs power iteration on the local Hessian S, step by step (small init "
    "agrees to rounding; a large init leaves the linear regime)",
    point=point,
    swept=_SWEPT,
    fixed=fixed_defaults(_SWEPT, phase2=False, d=512, alpha=8.0, steps=30),
    seeds=3,
    full_swept={"init_scale": [1e-6, 1e-3, 0.1, 0.3, 1.0, 3.0], "d": [512, 2048]},
    full_seeds=10,
    plot=plot,
    table=table,
)
