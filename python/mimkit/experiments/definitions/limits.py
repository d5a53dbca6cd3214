"""Experiment 6: how far the network is from the limit (docs/experiments/limits.md).

For z1*z2, he2_sum with r = 2, sign(z1 z2) and phase retrieval y = z^2, overlap with span(U)
and test error against ``alpha = n1 / d`` of: the network (default loss, Huber), the network
on the best scalar label transform (:func:`mimkit.theory.best_label_transform`), the optimal
spectral method, Bayes-optimal GAMP on the same data (:class:`mimkit.estimators.AMPEstimator`)
and GAMP's state evolution (:func:`mimkit.theory.amp_overlap`), the best polynomial-time curve
known (docs/theory.md, "Bayes-optimal AMP"). The network's test error is its own (phase 2
on fresh data); the spectral method's and GAMP's is the Bayes-optimal error given their
estimate, ``E[Var(y | P_hat x)] / Var(y)`` (:func:`mimkit.amp.bayes_test_error` at
``Q = C^T C``, C the cosines between the estimated and true directions).
"""

from __future__ import annotations

import functools
import time
import warnings

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..._validation import check_name
from ...amp import amp_overlap, amp_threshold, bayes_test_error
from ...data import MultiIndexModel
from ...estimators import AMPEstimator, SpectralEstimator
from ...links import Link, get_link
from ...metrics import subspace_distance
from ...theory import best_label_transform, network_threshold
from ...theory_cache import cached_theory
from ..plots import mean_sem, title_figure
from ..registry import Experiment
from ._common import (
    THEORY_SEED,
    Problem,
    fixed_defaults,
    network_phase1,
    subspace_metrics,
    test_error,
)

#: Cases of this experiment (its ``case`` parameter) -> (library link, r).
LINK_CASES: dict[str, tuple[str, int]] = {
    "z1z2": ("z1z2", 2),
    "he2_sum_r2": ("he2_sum", 2),
    "sign_z1z2": ("sign_z1z2", 2),
    "phase_retrieval": ("norm2", 1),
}
#: Methods: record-column prefix -> legend label.
METHODS = {
    "network": "network (Huber)",
    "network_best": "network (best scalar T)",
    "spectral": "optimal spectral",
    "amp": "AMP on data",
}
#: State-evolution curve: points per link and Monte Carlo draws per step.
_SE_POINTS, _SE_SAMPLES = 14, 5000
#: Overlap levels of the summary (docs/guide/sweeps.md): alpha at which each method first
#: reaches them.
LEVELS = (0.5, 0.9)


def resolve(name: str) -> Link:
    """The link of a case name (error lists them)."""
    check_name(name, "case", tuple(LINK_CASES))
    base, r = LINK_CASES[name]
    return get_link(base, r)


@functools.lru_cache(maxsize=None)
def _best_transform(name: str):
    return best_label_transform(
        resolve(name), n_samples=20_000, max_evaluations=150, random_state=THEORY_SEED
    )


def _estimate_metrics(D: np.ndarray, U: np.ndarray, link: Link, noise: float, rng) -> tuple:
    """(1 - subspace distance, Bayes-optimal test error given the estimate D)."""
    Q = np.linalg.qr(D.T)[0].T
    C = Q @ U.T
    err = bayes_test_error(link, C.T @ C, noise=noise, n_samples=5000, random_state=rng)
    return 1.0 - subspace_distance(Q, U), err


def point(params: dict, seed: int) -> dict:
    """Every method once on one draw of the data at (link, alpha)."""
    rng = np.random.default_rng(seed)
    link, d, noise = resolve(params["case"]), int(params["d"]), float(params["noise"])
    model = MultiIndexModel(d, link, noise=noise, random_state=rng)
    X1, y1 = model.sample(max(2, round(params["alpha"] * d)), random_state=rng)
    X2, y2 = model.sample(round(params["alpha2"] * d), random_state=rng)
    Xt, yt = model.sample(int(params["n_test"]), random_state=rng)
    problem = Problem(model, X1, y1, X2, y2, Xt, yt, rng)
    U = model.U
    record, times = {"n1": X1.shape[0]}, {}
    networks = {
        "network": {"loss": params["loss"], "huber_delta": float(params["huber_delta"])},
        "network_best": {"loss": "squared", "label_transform": _best_transform(params["case"])},
    }
    for key, loss_args in networks.items():
        start = time.perf_counter()
        p1, _ = network_phase1(X1, y1, params, loss_args, params["steps"], rng)
        record[f"{key}_overlap"] = subspace_metrics(p1.W, U)["overlap"]
        record[f"{key}_test_error"] = test_error(problem, p1.W, params["activation"])
        times[f"time_{key}_s"] = time.perf_counter() - start
    start = time.perf_counter()
    spectral = SpectralEstimator(preprocessing="optimal", link=link, random_state=rng)
    D = spectral.fit(X1, y1).directions_
    record["spectral_overlap"], record["spectral_test_error"] = _estimate_metrics(
        D, U, link, noise, rng
    )
    times["time_spectral_s"] = time.perf_counter() - start
    start = time.perf_counter()
    # Light damping: the grid stays near the thresholds (alpha <= 8), where the default 0.8 is
    # slow to leave the trivial fixed point; the documented run used 0.3.
    amp = AMPEstimator(
        link, link.r, noise=noise, max_iter=params["amp_iter"], damping=0.3, random_state=rng
    )
    with warnings.catch_warnings():
        # Not converging to tol at finite d is reported in the record, not warned per point.
        warnings.simplefilter("ignore", RuntimeWarning)
        amp.fit(X1, y1)
    record["amp_overlap"], record["amp_test_error"] = _estimate_metrics(
        amp.directions_, U, link, noise, rng
    )
    record["amp_converged"] = bool(amp.converged_)
    times["time_amp_s"] = time.perf_counter() - start
    return {**record, **times}


@functools.lru_cache(maxsize=None)
@cached_theory(samples=_SE_SAMPLES, seed=THEORY_SEED)
def state_evolution(name: str, noise: float, alphas: tuple) -> pd.DataFrame:
    """GAMP's state evolution at ``alphas``: subspace overlap and Bayes-optimal test error."""
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # slow convergence near thresholds
        for a in alphas:
            res = amp_overlap(
                resolve(name), a, noise=noise, n_samples=_SE_SAMPLES, random_state=THEORY_SEED
            )
            rows.append((a, res.subspace_overlap, res.test_error))
    return pd.DataFrame(rows, columns=["alpha", "se_overlap", "se_test_error"])


@functools.lru_cache(maxsize=None)
@cached_theory(seed=THEORY_SEED)
def thresholds(name: str, noise: float, loss: str, huber_delta: float) -> dict:
    """Weak-recovery thresholds: AMP's (= the optimal spectral method's) and the network's."""
    link = resolve(name)
    amp = amp_threshold(link, noise=noise, n_samples=100_000, random_state=THEORY_SEED)
    net = network_threshold(
        link, loss, huber_delta=huber_delta, noise=noise, random_state=THEORY_SEED
    )
    return {"amp": amp.alpha_c, "network": net.first}


def _se_alphas(df: pd.DataFrame) -> tuple:
    swept = df["alpha"].unique().astype(float)
    grid = np.geomspace(swept.min(), swept.max(), _SE_POINTS)
    return tuple(np.round(np.unique(np.concatenate([grid, swept])), 6))


def _stats(df: pd.DataFrame) -> pd.DataFrame:
    cols = [f"{m}_{v}" for m in METHODS for v in ("overlap", "test_error")]
    return mean_sem(df, ["case", "alpha"], cols)


def plot(df: pd.DataFrame, manifest: dict):
    """Overlap (top) and test error (bottom) vs alpha per link; AMP's state evolution as a
    line, the weak-recovery thresholds of AMP / optimal spectral (dashed) and of the network
    (dotted)."""
    stats = _stats(df)
    links = list(stats["case"].unique())
    fig = Figure(figsize=(4.2 * len(links), 7.4))
    axes = fig.subplots(2, len(links), squeeze=False)
    row0 = df.iloc[0]
    noise, loss, delta = float(row0["noise"]), row0["loss"], float(row0["huber_delta"])
    for j, name in enumerate(links):
        g = stats[stats["case"] == name].sort_values("alpha")
        se = state_evolution(name, noise, _se_alphas(df[df["case"] == name]))
        th = thresholds(name, noise, loss, delta)
        for i, what in enumerate(("overlap", "test_error")):
            ax = axes[i, j]
            for k, (method, label) in enumerate(METHODS.items()):
                ax.errorbar(
                    g["alpha"],
                    g[f"{method}_{what}"],
                    yerr=g[f"{method}_{what}_sem"],
                    color=f"C{k}",
                    marker="o",
                    ms=3.5,
                    capsize=2.5,
                    lw=1.3,
                    label=label,
                )
            ax.plot(se["alpha"], se[f"se_{what}"], color="k", lw=1.6, label="AMP state evolution")
            ax.axvline(th["amp"], color="k", ls="--", lw=1.0, label="AMP / spectral $\\alpha_c$")
            if np.isfinite(th["network"]):
                ax.axvline(th["network"], color="C0", ls=":", lw=1.2, label="network $\\alpha_c$")
            ax.set_xscale("log", base=2)
            ax.grid(alpha=0.3)
            ax.set_xlabel(r"$\alpha = n_1 / d$")
        axes[0, j].set_title(f"{name}", fontsize=10)
        axes[0, j].set_ylim(-0.03, 1.03)
    axes[0, 0].set_ylabel("1 - subspace distance")
    axes[1, 0].set_ylabel("test MSE / Var(y)")
    axes[0, 0].legend(fontsize=7)
    seeds = df["seed_index"].nunique()
    return title_figure(
        fig,
        f"the limit: network vs optimal spectral vs Bayes-optimal AMP, d = {row0['d']}; "
        f"mean $\\pm$ s.e. over {seeds} seed(s)",
    )


def table(df: pd.DataFrame) -> pd.DataFrame:
    """Means over seeds per (link, alpha) of every method, AMP's state evolution, and the
    thresholds (AMP = optimal spectral, network)."""
    stats = _stats(df)
    row0 = df.iloc[0]
    noise, loss, delta = float(row0["noise"]), row0["loss"], float(row0["huber_delta"])
    parts = []
    for name, g in stats.groupby("case", sort=False):
        se = state_evolution(name, noise, _se_alphas(df[df["case"] == name]))
        g = g.merge(se.assign(alpha=se["alpha"].round(6)), on="alpha", how="left")
        th = thresholds(name, noise, loss, delta)
        parts.append(g.assign(alpha_c_amp=th["amp"], alpha_c_network=th["network"]))
    keep = ["case", "alpha"]
    keep += [f"{m}_{v}" for m in METHODS for v in ("overlap", "test_error")]
    keep += ["se_overlap", "se_test_error", "alpha_c_amp", "alpha_c_network"]
    return pd.concat(parts, ignore_index=True)[keep]


def first_alpha(alphas: np.ndarray, overlaps: np.ndarray, level: float) -> float:
    """Smallest alpha where the curve reaches ``level`` (log-linear interpolation between the
    points around the first crossing); inf if it never does."""
    above = np.nonzero(overlaps >= level)[0]
    if above.size == 0:
        return np.inf
    k = above[0]
    if k == 0:
        return float(alphas[0])
    a0, a1, o0, o1 = np.log(alphas[k - 1]), np.log(alphas[k]), overlaps[k - 1], overlaps[k]
    return float(np.exp(a0 + (level - o0) / (o1 - o0) * (a1 - a0)))


def crossings(df: pd.DataFrame) -> pd.DataFrame:
    """Per link and method, the alpha at which the mean overlap first reaches each of
    :data:`LEVELS`, and the ratio to AMP's state evolution (the constant factor)."""
    tab = table(df)
    rows = []
    for name, g in tab.groupby("case", sort=False):
        se = state_evolution(name, float(df.iloc[0]["noise"]), _se_alphas(df[df["case"] == name]))
        curves = {m: (g["alpha"].to_numpy(), g[f"{m}_overlap"].to_numpy()) for m in METHODS}
        curves["amp_se"] = (se["alpha"].to_numpy(), se["se_overlap"].to_numpy())
        for level in LEVELS:
            at = {m: first_alpha(a, o, level) for m, (a, o) in curves.items()}
            rows.append(
                {
                    "case": name,
                    "overlap": level,
                    **at,
                    "network / AMP": at["network"] / at["amp_se"],
                }
            )
    return pd.DataFrame(rows)


# "case" names a link with its r (the network experiments' "link" is a library name alone).
_SWEPT = {
    "case": list(LINK_CASES),
    "alpha": [0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0],
}

EXPERIMENT = Experiment(
    name="limits",
    summary="the limit: network, best-transform network, optimal spectral, Bayes-optimal AMP "
    "(on data and its state evolution) vs alpha for 4 links, with thresholds",
    point=point,
    swept=_SWEPT,
    fixed={
        **{
            k: v
            for k, v in fixed_defaults(_SWEPT, phase2=True, d=1000, steps=30).items()
            if k != "link"
        },
        "amp_iter": 100,
    },
    seeds=1,
    full_swept={"alpha": [0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0]},
    full_fixed={"d": 2000, "amp_iter": 300},
    full_seeds=5,
    plot=plot,
    table=table,
)
