"""Experiment 7: beyond layer-wise training (docs/experiments/beyond-layerwise.md).

The paper trains the network layer by layer on split samples; a user who wants a predictor may
switch either off. For one budget of ``n = alpha d`` samples, test error (MSE / Var(y)) and
subspace distance against ``alpha`` of:

- ``layerwise``: the paper's network, phase 1 on D1 (a ``1 - phase2_fraction`` share of the
  samples), phase 2 on D2 (the rest);
- ``refine``: that same network, then all of (W, b, a) trained jointly on D1 and D2
  (``train_layerwise(refine=...)``);
- ``reuse``: no sample splitting, both phases on all n (``phase2_data="reuse"``);
- ``joint``: :class:`mimkit.estimators.JointRegressor` (standard init, Adam) on all n;
- ``mlp``: scikit-learn's ``MLPRegressor`` of the same width (ReLU, Adam) on all n;
- ``spectral``: the optimal spectral method on D1, its directions as phase 1's, phase 2 on D2.

The plot draws the theory's curves where they exist: the predicted distance of the converged
phase 1 (:func:`mimkit.theory.network_overlap`) on D1 and on all n, of the optimal spectral
method (:func:`mimkit.theory.spectral_overlap`) on D1, and the state evolution of Bayes-optimal
AMP on all n (:func:`mimkit.theory.amp_overlap`, r <= 2; docs/theory.md, "Bayes-optimal AMP").

A method's subspace is its fitted predictor's, one measure for every parametrisation: the
top-r eigenvectors of the average gradient outer product on the test inputs
(:func:`mimkit.metrics.gradient_subspace`; docs/theory.md, "Beyond layer-wise").
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor

from ..._validation import check_positive_number
from ...estimators import JointRegressor, SpectralEstimator
from ...metrics import gradient_subspace, relative_test_error, subspace_distance
from ...network import TwoLayerNetwork
from ...training import run_phase2, train_layerwise
from ..plots import mean_sem
from ..registry import Experiment
from ._amp_curve import amp_curve
from ._common import (
    draw_problem,
    fixed_defaults,
    loss_arguments,
    resolve_link,
)
from .sample_complexity import curve_alphas, theory_overlap

#: Methods: record-column prefix -> (legend label, colour; a theory curve takes its method's).
METHODS = {
    "layerwise": ("layer-wise (paper)", "C0"),
    "refine": ("layer-wise + refine", "C1"),
    "reuse": ("layer-wise, no sample splitting", "C9"),
    "joint": ("JointRegressor (Adam, standard init)", "C3"),
    "mlp": ("MLPRegressor (scikit-learn)", "C4"),
    "spectral": ("optimal spectral + phase 2", "C2"),
}
#: What the records hold per method (columns ``<method>_<metric>``).
METRICS = ("distance", "test_error")


@dataclass(frozen=True, eq=False)
class Split:
    """A point's data: D1 (X1, y1), D2 (X2, y2), the test set (Xt, yt), the truth U (r, d),
    and the generator that drew them (for the point's remaining draws)."""

    X1: np.ndarray
    y1: np.ndarray
    X2: np.ndarray
    y2: np.ndarray
    Xt: np.ndarray
    yt: np.ndarray
    U: np.ndarray
    rng: np.random.Generator

    def all_samples(self) -> tuple[np.ndarray, np.ndarray]:
        """D1 and D2 together: the n samples of the methods that do not split."""
        return np.vstack([self.X1, self.X2]), np.concatenate([self.y1, self.y2])


#: A method's result on the test set: (predictions (n,), input gradients of the fitted function
#: (n, d), seconds to fit). Every subspace is read off the gradients (metrics.gradient_subspace).
Outcome = tuple[np.ndarray, np.ndarray, float]


def _outcome(network: TwoLayerNetwork, Xt: np.ndarray, seconds: float) -> Outcome:
    return network.predict(Xt), network.input_gradients(Xt), seconds


def _train_layerwise(X1, y1, X2, y2, params: dict, rng, **options):
    """:func:`mimkit.train_layerwise` with the point's network settings."""
    return train_layerwise(
        X1,
        y1,
        X2,
        y2,
        n_hidden=params["width"],
        activation=params["activation"],
        lr=params["lr"],
        weight_decay=params["weight_decay"],
        n_steps=int(params["steps"]),
        init_scale=params["init_scale"],
        random_state=rng,
        **loss_arguments(params, resolve_link(params["link"])),
        **options,
    )


def _layerwise(problem: Split, params: dict, rng) -> dict[str, Outcome]:
    """The paper's network and its refinement from exactly that network (one training)."""
    fit = _train_layerwise(
        problem.X1, problem.y1, problem.X2, problem.y2, params, rng, refine=params["refine"]
    )
    seconds = fit.phase1.seconds + fit.phase2.seconds
    return {
        "layerwise": _outcome(fit.phase2.network, problem.Xt, seconds),
        "refine": _outcome(fit.network, problem.Xt, seconds + fit.refinement.seconds),
    }


def _reuse(problem: Split, params: dict, rng) -> dict[str, Outcome]:
    """No sample splitting: both phases on all n samples."""
    X, y = problem.all_samples()
    start = time.perf_counter()
    fit = _train_layerwise(X, y, None, None, params, rng, phase2_data="reuse")
    return {"reuse": _outcome(fit.network, problem.Xt, time.perf_counter() - start)}


def _joint(problem: Split, params: dict, rng) -> dict[str, Outcome]:
    X, y = problem.all_samples()
    start = time.perf_counter()
    joint = JointRegressor(
        n_hidden=params["width"], activation=params["activation"], random_state=rng
    ).fit(X, y)
    seconds = time.perf_counter() - start
    network = TwoLayerNetwork(joint.W_, joint.b_, joint.a_, joint.intercept_, joint.activation)
    return {"joint": _outcome(network, problem.Xt, seconds)}


def _mlp(problem: Split, params: dict, rng) -> dict[str, Outcome]:
    X, y = problem.all_samples()
    mlp = MLPRegressor(
        hidden_layer_sizes=(params["width"],),
        batch_size=256,
        max_iter=params["mlp_max_iter"],
        random_state=int(rng.integers(2**31 - 1)),
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        # Stopping at max_iter is part of the baseline as a user runs it, not a failure.
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(X, y)
    seconds = time.perf_counter() - start
    # Its ReLU network's input gradients, W^T (a * 1[W x + b > 0]).
    W, b, a = mlp.coefs_[0].T, mlp.intercepts_[0], mlp.coefs_[1][:, 0]
    gradients = ((problem.Xt @ W.T + b > 0) * a) @ W
    return {"mlp": (mlp.predict(problem.Xt), gradients, seconds)}


def _spectral(problem: Split, params: dict, rng) -> dict[str, Outcome]:
    link = resolve_link(params["link"])
    start = time.perf_counter()
    D = SpectralEstimator(preprocessing="optimal", link=link, random_state=rng)
    D = D.fit(problem.X1, problem.y1).directions_
    # As phase 1 would leave them: every neuron a random direction inside the estimated span.
    W = rng.standard_normal((params["width"], link.r)) @ D
    fit = run_phase2(problem.X2, problem.y2, W, activation=params["activation"], random_state=rng)
    return {"spectral": _outcome(fit.network, problem.Xt, time.perf_counter() - start)}


#: The trainings of a point, in order; each gives one or more methods' outcomes.
_FITS: tuple[Callable[[Split, dict, np.random.Generator], dict[str, Outcome]], ...] = (
    _layerwise,
    _reuse,
    _joint,
    _mlp,
    _spectral,
)


def check_share(value, name: str) -> float:
    """``value`` as a float strictly between 0 and 1 (D2's share of the samples); ValueError
    naming ``name`` otherwise."""
    value = check_positive_number(value, name)
    if value >= 1:
        raise ValueError(f"{name}={value!r}; pass a number in (0, 1), D2's share of n.")
    return value


def draw_split_problem(params: dict, seed: int) -> Split:
    """The point's data: ``n = alpha d`` samples split into D1 and D2 (``phase2_fraction`` of
    them), and a test set."""
    f = check_share(params["phase2_fraction"], "phase2_fraction")
    a = float(params["alpha"])
    problem = draw_problem({**params, "alpha": (1 - f) * a, "alpha2": f * a}, seed)
    # draw_problem draws D2 and the test set whenever alpha2 is given.
    assert problem.X2 is not None and problem.y2 is not None
    assert problem.Xt is not None and problem.yt is not None
    return Split(
        problem.X1,
        problem.y1,
        problem.X2,
        problem.y2,
        problem.Xt,
        problem.yt,
        problem.model.U,
        problem.rng,
    )


def point(params: dict, seed: int) -> dict:
    """Every method once on one draw of the data at (link, alpha)."""
    problem = draw_split_problem(params, seed)
    U = problem.U
    # One child seed per training, so that adding or dropping one leaves the others' draws.
    seeds = problem.rng.integers(2**63 - 1, size=len(_FITS))
    record = {"n": problem.X1.shape[0] + problem.X2.shape[0], "n1": problem.X1.shape[0]}
    for fit, child in zip(_FITS, seeds):
        for key, (y_pred, gradients, seconds) in fit(
            problem, params, np.random.default_rng(child)
        ).items():
            estimate = gradient_subspace(gradients, U.shape[0])
            record[f"{key}_distance"] = subspace_distance(estimate, U)
            record[f"{key}_test_error"] = relative_test_error(y_pred, problem.yt)
            record[f"time_{key}_s"] = seconds
    return record


def theory_curves(df: pd.DataFrame) -> pd.DataFrame:
    """Predicted curves of the records' link on :func:`curve_alphas` (alpha = n / d):
    ``theory_layerwise_distance`` (converged phase 1 on D1), ``theory_reuse_distance`` (on all
    n), ``theory_spectral_distance`` (optimal spectral on D1) and ``amp_distance``,
    ``amp_test_error`` (Bayes-optimal AMP on all n); NaN where the theory does not reach."""
    row = df.iloc[0]
    link, noise = row["link"], float(row["noise"])
    alphas = curve_alphas(df)
    d1 = tuple(a * (1 - float(row["phase2_fraction"])) for a in alphas)
    out = pd.DataFrame({"alpha": alphas})
    for col, method, at in (
        ("theory_layerwise_distance", row["loss"], d1),
        ("theory_reuse_distance", row["loss"], alphas),
        ("theory_spectral_distance", "optimal_spectral", d1),
    ):
        overlap = theory_overlap(link, method, float(row["huber_delta"]), noise, at)
        out[col] = np.nan if overlap is None else 1.0 - overlap
    amp = amp_curve(link, noise, alphas)
    out["amp_distance"] = np.nan if amp is None else 1.0 - amp["overlap"].to_numpy()
    out["amp_test_error"] = np.nan if amp is None else amp["test_error"].to_numpy()
    return out


#: Theory curves on the plot: column -> (label, the method it predicts (its colour) or None
#: for AMP, panel row).
_THEORY_LINES = {
    "theory_layerwise_distance": ("theory: phase 1 on D1", "layerwise", 0),
    "theory_reuse_distance": ("theory: phase 1 on all n", "reuse", 0),
    "theory_spectral_distance": ("theory: optimal spectral on D1", "spectral", 0),
    "amp_distance": ("AMP (Bayes-optimal, link known) on n", None, 0),
    "amp_test_error": ("AMP (Bayes-optimal, link known) on n", None, 1),
}


def _links(df: pd.DataFrame) -> list[str]:
    """The records' links, the default grid's first and in its order."""
    present = set(df["link"])
    return [n for n in _SWEPT["link"] if n in present] + sorted(present - set(_SWEPT["link"]))


def _stats(df: pd.DataFrame) -> pd.DataFrame:
    cols = [f"{m}_{v}" for m in METHODS for v in METRICS]
    return mean_sem(df, ["link", "alpha"], [*cols, *(f"time_{m}_s" for m in METHODS)])


def plot(df: pd.DataFrame, manifest: dict):
    """Subspace distance (top) and test error (bottom) vs alpha = n / d, one column per link,
    with the theory's curves (thin lines)."""
    stats = _stats(df)
    links = _links(df)
    fig = Figure(figsize=(5.2 * len(links), 8.0))
    axes = fig.subplots(2, len(links), squeeze=False)
    for j, name in enumerate(links):
        g = stats[stats["link"] == name].sort_values("alpha")
        curves = theory_curves(df[df["link"] == name])
        for i, what in enumerate(METRICS):
            ax = axes[i, j]
            for method, (label, color) in METHODS.items():
                ax.errorbar(
                    g["alpha"],
                    g[f"{method}_{what}"],
                    yerr=g[f"{method}_{what}_sem"],
                    color=color,
                    marker="o",
                    ms=3.5,
                    capsize=2.5,
                    lw=1.3,
                    label=label,
                )
            for col, (label, predicted, panel) in _THEORY_LINES.items():
                if panel == i and curves[col].notna().any():
                    color, ls = ("k", "-.") if predicted is None else (METHODS[predicted][1], "--")
                    ax.plot(curves["alpha"], curves[col], color=color, ls=ls, lw=1.1, label=label)
            ax.set_xscale("log", base=2)
            # Symmetric log: distances and errors from ~1 down to 1e-4, and AMP's exact 0.
            ax.set_yscale("symlog", linthresh=1e-4)
            ax.set_ylim(bottom=0)
            ax.grid(alpha=0.3)
            ax.set_xlabel(r"$\alpha = n / d$ (all samples)")
        axes[0, j].set_title(name, fontsize=10)
    axes[0, 0].set_ylabel("subspace distance to span(U)")
    axes[1, 0].set_ylabel("test MSE / Var(y)")
    # One legend for all panels, under them: every method and curve, none hiding data.
    legend: dict[str, Any] = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
    fig.legend(list(legend.values()), list(legend), loc="lower center", ncol=3, fontsize=8)
    row0 = df.iloc[0]
    fig.suptitle(
        f"beyond layer-wise: d = {row0['d']}, width {row0['width']}, "
        f"mean $\\pm$ s.e. over {df['seed_index'].nunique()} seed(s)",
        fontsize=11,
    )
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


def table(df: pd.DataFrame) -> pd.DataFrame:
    """Means over seeds per (link, alpha): every method's distance, test error and seconds,
    the theory's curves at the swept alphas, and the best method for each metric."""
    stats = _stats(df)
    parts = []
    for name in _links(df):
        g = stats[stats["link"] == name]
        curves = theory_curves(df[df["link"] == name])
        parts.append(g.merge(curves, on="alpha", how="left"))
    out = pd.concat(parts, ignore_index=True)
    for what in METRICS:
        cols = [f"{m}_{what}" for m in METHODS]
        out[f"best_{what}"] = out[cols].idxmin(axis=1).str.removesuffix(f"_{what}")
    keep = ["link", "alpha"]
    keep += [f"{m}_{v}" for m in METHODS for v in METRICS]
    keep += [f"time_{m}_s" for m in METHODS]
    keep += [*_THEORY_LINES, "best_distance", "best_test_error"]
    return out[keep]


_SWEPT: dict[str, list] = {"link": ["z1z2", "he2_sum"], "alpha": [2.0, 4.0, 8.0, 16.0, 32.0, 64.0]}

EXPERIMENT = Experiment(
    name="beyond-layerwise",
    summary="layer-wise (paper), + refine, without sample splitting, JointRegressor, "
    "MLPRegressor, optimal spectral + phase 2: test error and subspace distance vs alpha = n/d",
    point=point,
    swept=_SWEPT,
    fixed={
        **fixed_defaults(_SWEPT, phase2=False, d=256, steps=30, n_test=4096),
        "phase2_fraction": 0.5,
        "refine": "lbfgs",
        "mlp_max_iter": 200,
    },
    seeds=2,
    full_swept={"alpha": [1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 32.0, 64.0, 128.0]},
    full_fixed={"d": 512},
    full_seeds=5,
    plot=plot,
    table=table,
)
