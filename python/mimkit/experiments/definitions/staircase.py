"""Experiment 8: learning stage by stage (docs/experiments/staircase.md).

For ``sq_sign3`` (z1 first, then span(z2, z3)) and ``sign_committee`` ((1, 1, 1)/sqrt(3)
first, then its complement), the overlap of each method's estimate with each stage's subspace
against ``alpha = n / d`` (all samples): the paper's network, the staged network
(``stages="auto"``), the sequential spectral method, and Bayes-optimal GAMP on the same data;
lines for GAMP's state evolution and the predicted curves of the two staged methods
(:mod:`mimkit.theory.staged`), and each method's stage thresholds
(docs/theory.md, "Hierarchies"). The networks train their stages on half the samples
(``n1 = n / 2``, reused by every stage) and fit the outer layer on the other half; the spectral
method and GAMP use all n.
"""

from __future__ import annotations

import functools
import time
import warnings
from typing import Any, Optional

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..._validation import check_name
from ...amp import amp_overlap, amp_threshold
from ...data import MultiIndexModel
from ...estimators import AMPEstimator, LayerwiseRegressor, SpectralEstimator
from ...links import Link, get_link
from ...metrics import relative_test_error
from ...theory import staged_network_overlap, staged_spectral_overlap
from ...theory_cache import cached_theory
from ..plots import mean_sem, title_figure
from ..registry import Experiment
from ._common import THEORY_SEED

#: The links, with their first stage's directions in the link's coordinates (the second stage
#: is the orthogonal complement).
FIRST_STAGE: dict[str, np.ndarray] = {
    "sq_sign3": np.array([[1.0, 0.0, 0.0]]),
    "sign_committee": np.full((1, 3), 3**-0.5),
}
#: Methods: the ``method`` parameter -> legend label.
METHODS = {
    "network": "paper's network",
    "staged": "staged network",
    "spectral": "sequential spectral",
    "gamp": "GAMP on data",
}
#: The networks' share of the samples for their stages (LayerwiseRegressor's phase-2 split).
NETWORK_STAGE_FRACTION = 0.5
#: GAMP on sign(z2 z3) given z1: the r = 2 optimum, 1 / E[G^2] with G = (2/pi) y (docs/theory.md).
SIGN_PRODUCT_AMP_THRESHOLD = np.pi**2 / 4
#: Points of the theory lines (log-spaced over the swept alphas, plus the swept ones) and their
#: Monte Carlo draws (each point's overlap to ~0.01; every point is a fresh stage-2 law).
_LINE_POINTS, _LINE_SAMPLES = 6, 50_000
#: State evolution: Monte Carlo draws per step and steps.
_SE_SAMPLES, _SE_MAX_ITER = 5000, 200


def resolve(name: str) -> Link:
    """The link of a point (error lists the two this experiment knows the stages of)."""
    check_name(name, "link", tuple(FIRST_STAGE))
    return get_link(name)


def stage_bases(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The two stages' subspaces in the link's coordinates: (k, r) and (r - k, r) rows."""
    first = FIRST_STAGE[name]
    r = first.shape[1]
    rest = np.linalg.svd(np.eye(r) - first.T @ first)[0][:, : r - first.shape[0]].T
    return first, rest


def stage_overlap(D: np.ndarray, S: np.ndarray) -> float:
    """Mean squared cosine ``|S Q|_F^2 / rank S`` of S's rows (orthonormal) with the row space
    of the estimate D (0 for an empty estimate)."""
    if D.shape[0] == 0:
        return 0.0
    Q = np.linalg.qr(D.T)[0]
    return float(np.sum((S @ Q) ** 2) / S.shape[0])


def _estimate(params: dict, link: Link, X, y, rng) -> tuple[np.ndarray, int, dict]:
    """The method's estimated directions (k, d), how many of them its first stage gave (all
    for the one-shot methods), and its extra record entries."""
    method = params["method"]
    check_name(method, "method", tuple(METHODS))
    if method in ("network", "staged"):
        net = LayerwiseRegressor(
            n_hidden=params["width"],
            loss=params["loss"],
            huber_delta=params["huber_delta"],
            stages=1 if method == "network" else "auto",
            random_state=rng,
        ).fit(X, y)
        # The paper's network: its top-r directions; the staged one: the directions it learned.
        if not net.stages_:
            return net.subspace(link.r), link.r, {"n_stages": 1, "model": net}
        k = sum(s.directions.shape[0] for s in net.stages_)
        first = net.stages_[0].directions.shape[0]
        return net.subspace(k), first, {"n_stages": len(net.stages_), "model": net}
    if method == "spectral":
        est = SpectralEstimator(
            "auto", preprocessing=params["spectral_preprocessing"], stages="auto"
        ).fit(X, y)
        first = est.stages_[0].directions.shape[0]
        return est.directions_, first, {"n_stages": len(est.stages_)}
    amp = AMPEstimator(link, link.r, noise=params["noise"], max_iter=params["amp_iter"])
    with warnings.catch_warnings():
        # Not converging to tol at finite d is reported in the record, not warned per point.
        warnings.simplefilter("ignore", RuntimeWarning)
        amp.fit(X, y)
    extra = {"n_stages": np.nan, "amp_converged": bool(amp.converged_)}
    return amp.directions_, amp.directions_.shape[0], extra


def point(params: dict, seed: int) -> dict:
    """One method on one draw of n = alpha d samples of the link.

    Stage 1's overlap is that of the first stage's directions for the staged methods (what the
    theory predicts), of the whole estimate for the others; stage 2's of the whole estimate.
    """
    rng = np.random.default_rng(seed)
    link, d = resolve(params["link"]), int(params["d"])
    model = MultiIndexModel(d, link, noise=float(params["noise"]), random_state=rng)
    X, y = model.sample(max(4, round(params["alpha"] * d)), random_state=rng)
    Xt, yt = model.sample(int(params["n_test"]), random_state=rng)
    start = time.perf_counter()
    D, n_first, extra = _estimate(params, link, X, y, rng)
    seconds = time.perf_counter() - start
    first, rest = stage_bases(params["link"])
    net = extra.pop("model", None)
    return {
        "n": X.shape[0],
        "stage1_overlap": stage_overlap(D[:n_first], first @ model.U),
        "stage2_overlap": stage_overlap(D, rest @ model.U),
        "n_directions": D.shape[0],
        "test_error": np.nan if net is None else relative_test_error(net.predict(Xt), yt),
        "amp_converged": np.nan,
        **extra,
        "time_s": seconds,
    }


def _theory(name: str, settings: tuple, method: str, alpha, **given):
    """A staged method's :mod:`mimkit.theory.staged` result at ``alpha`` (its own n / d);
    ``settings`` = (spectral preprocessing, network loss, Huber delta, noise)."""
    prep, loss, delta, noise = settings
    common: dict[str, Any] = dict(
        learned=FIRST_STAGE[name], noise=noise, n_samples=_LINE_SAMPLES, random_state=THEORY_SEED
    )
    if method == "staged":
        return staged_network_overlap(name, alpha, loss=loss, huber_delta=delta, **common, **given)
    return staged_spectral_overlap(name, alpha, preprocessing=prep, **common, **given)


@functools.lru_cache(maxsize=None)
@cached_theory(samples=_LINE_SAMPLES, seed=THEORY_SEED)
def predicted(name: str, settings: tuple, alphas: tuple) -> pd.DataFrame:
    """The staged methods' predicted overlaps per stage at total ``alphas``
    (:mod:`mimkit.theory.staged`; the networks' stages see ``NETWORK_STAGE_FRACTION`` of n)."""
    alpha = np.asarray(alphas, dtype=np.float64)
    net = _theory(name, settings, "staged", alpha * NETWORK_STAGE_FRACTION)
    spec = _theory(name, settings, "spectral", alpha)
    return pd.DataFrame(
        {
            "alpha": alpha,
            "staged_stage1": net.stage_1_overlap,
            "staged_stage2": net.overlap,
            "spectral_stage1": spec.stage_1_overlap,
            "spectral_stage2": spec.overlap,
        }
    )


@functools.lru_cache(maxsize=None)
@cached_theory(samples=_SE_SAMPLES, max_iter=_SE_MAX_ITER, seed=THEORY_SEED)
def state_evolution(name: str, noise: float, alphas: tuple) -> Optional[pd.DataFrame]:
    """GAMP's state evolution per stage, ``tr(S Q S^T) / rank S``; None where the link has no
    closed-form channel (:func:`mimkit.amp.amp_overlap` refuses the generic one at r = 3)."""
    first, rest = stage_bases(name)
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # slow convergence near thresholds
        for a in alphas:
            try:
                res = amp_overlap(
                    resolve(name), a, noise=noise, n_samples=_SE_SAMPLES, max_iter=_SE_MAX_ITER,
                    random_state=THEORY_SEED, progress=False,
                )  # fmt: skip
            except ValueError:
                return None
            rows.append(
                (a, np.trace(first @ res.Q @ first.T) / first.shape[0],
                 np.trace(rest @ res.Q @ rest.T) / rest.shape[0])
            )  # fmt: skip
    return pd.DataFrame(rows, columns=["alpha", "se_stage1", "se_stage2"])


@functools.lru_cache(maxsize=None)
@cached_theory(samples=_LINE_SAMPLES, seed=THEORY_SEED)
def stage_thresholds(name: str, settings: tuple) -> dict:
    """Per method, the thresholds ``(stage 1, stage 2)`` in total alpha = n / d: stage 1 where
    :mod:`mimkit.theory.staged` puts it (0 for a first-order stage), stage 2 given stage 1
    exactly (``stage_1_overlap = 1``); AMP's stage 1 from :func:`mimkit.amp.amp_threshold`,
    its stage 2 of sq_sign3 the sign(z2 z3) problem's pi^2/4 (None where unknown). The one
    place the plot's thresholds come from."""
    out: dict = {}
    for method in ("staged", "spectral"):
        share = 1.0 / NETWORK_STAGE_FRACTION if method == "staged" else 1.0
        first = _theory(name, settings, method, 1.0, stage_1_overlap=None)
        known = _theory(name, settings, method, 1.0, stage_1_overlap=1.0)
        out[method] = (share * first.stage_1_threshold, share * float(known.threshold[0]))
    amp1: Optional[float] = 0.0
    if first.stage_1_kind != "trivial":
        try:
            # Monte Carlo: the quadrature rule of sq_sign3's channel misses its 1e-3 check.
            amp1 = float(
                amp_threshold(
                    name, noise=settings[3], method="monte_carlo", random_state=THEORY_SEED
                ).alpha_c
            )
        except ValueError:  # no closed-form channel
            amp1 = None
    out["gamp"] = (amp1, SIGN_PRODUCT_AMP_THRESHOLD if name == "sq_sign3" else None)
    return out


def _settings(row) -> tuple:
    """(spectral preprocessing, network loss, Huber delta, noise) of the records."""
    return (
        str(row["spectral_preprocessing"]),
        str(row["loss"]),
        float(row["huber_delta"]),
        float(row["noise"]),
    )


def _line_alphas(df: pd.DataFrame) -> tuple:
    swept = df["alpha"].unique().astype(float)
    grid = np.geomspace(swept.min(), swept.max(), _LINE_POINTS)
    return tuple(np.unique(np.round(np.concatenate([grid, swept]), 6)))


def _stats(df: pd.DataFrame) -> pd.DataFrame:
    return mean_sem(df, ["link", "method", "alpha"], ["stage1_overlap", "stage2_overlap"])


def plot(df: pd.DataFrame, manifest: dict):
    """Overlap with stage 1's subspace (top) and stage 2's (bottom) against alpha per link:
    measured points, predicted lines of the staged methods (dashed), GAMP's state evolution
    (black) and each method's stage thresholds (dotted, the method's colour)."""
    stats = _stats(df)
    names = list(stats["link"].unique())
    fig = Figure(figsize=(4.6 * len(names), 7.4))
    axes = fig.subplots(2, len(names), squeeze=False)
    row0 = df.iloc[0]
    noise, settings = float(row0["noise"]), _settings(row0)
    colors = {m: f"C{k}" for k, m in enumerate(METHODS)}
    for j, name in enumerate(names):
        g = stats[stats["link"] == name]
        alphas = _line_alphas(df[df["link"] == name])
        lines = predicted(name, settings, alphas)
        se = state_evolution(name, noise, alphas) if _with_amp(df, name) else None
        th = stage_thresholds(name, settings)
        for i in range(2):
            ax, stage = axes[i, j], f"stage{i + 1}"
            for method, label in METHODS.items():
                m = g[g["method"] == method].sort_values("alpha")
                if m.empty:
                    continue
                ax.errorbar(
                    m["alpha"], m[f"{stage}_overlap"], yerr=m[f"{stage}_overlap_sem"],
                    color=colors[method], marker="o", ms=3.5, capsize=2.5, lw=1.2, label=label,
                )  # fmt: skip
            for method in ("staged", "spectral"):
                ax.plot(
                    lines["alpha"], lines[f"{method}_{stage}"], color=colors[method], ls="--",
                    lw=1.3, label=f"{METHODS[method]}, theory",
                )  # fmt: skip
                _threshold(ax, th[method][i], colors[method])
            if se is not None:
                ax.plot(se["alpha"], se[f"se_{stage}"], color="k", lw=1.5, label="AMP SE")
            _threshold(ax, th["gamp"][i], "k")
            ax.set_xscale("log", base=2)
            ax.set_ylim(-0.03, 1.03)
            ax.grid(alpha=0.3)
            ax.set_xlabel(r"$\alpha = n / d$ (all samples)")
        axes[0, j].set_title(name, fontsize=10)
    axes[0, 0].set_ylabel("overlap with stage 1's subspace")
    axes[1, 0].set_ylabel("overlap with stage 2's subspace")
    # One legend for every method and line drawn on any panel (GAMP may be on one link only).
    labelled: dict = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            labelled.setdefault(label, handle)
    axes[0, 0].legend(list(labelled.values()), list(labelled), fontsize=6.5)
    seeds = df["seed_index"].nunique()
    return title_figure(
        fig,
        f"learning stage by stage, d = {row0['d']}, width {row0['width']}; dotted: stage "
        f"thresholds; mean $\\pm$ s.e. over {seeds} seed(s)",
    )


def _with_amp(df: pd.DataFrame, name: str) -> bool:
    """Whether the records of link ``name`` include GAMP on data: its state evolution (up to
    minutes per point near the thresholds) is drawn and tabulated only then."""
    return bool(((df["link"] == name) & (df["method"] == "gamp")).any())


def _threshold(ax, alpha_c: Optional[float], color: str) -> None:
    if alpha_c is not None and 0 < alpha_c < np.inf:
        ax.axvline(alpha_c, color=color, ls=":", lw=1.2)


def table(df: pd.DataFrame) -> pd.DataFrame:
    """Means over seeds per (link, method, alpha), with the predictions: the staged methods'
    theory and, for GAMP, its state evolution."""
    stats = _stats(df)
    row0 = df.iloc[0]
    noise, settings = float(row0["noise"]), _settings(row0)
    parts = []
    for name, g in stats.groupby("link", sort=False):
        alphas = _line_alphas(df[df["link"] == name])
        g = g.assign(alpha=g["alpha"].round(6)).merge(
            predicted(name, settings, alphas), on="alpha", how="left"
        )
        se = state_evolution(name, noise, alphas) if _with_amp(df, name) else None
        if se is not None:
            g = g.merge(se.assign(alpha=se["alpha"].round(6)), on="alpha", how="left")
        for stage in ("stage1", "stage2"):
            choices = [g[f"staged_{stage}"], g[f"spectral_{stage}"]]
            choices.append(g[f"se_{stage}"] if se is not None else np.nan)
            g[f"predicted_{stage}"] = np.select(
                [g["method"] == m for m in ("staged", "spectral", "gamp")], choices, np.nan
            )
        parts.append(g)
    keep = ["link", "method", "alpha", "stage1_overlap", "predicted_stage1"]
    keep += ["stage2_overlap", "predicted_stage2", "n_seeds"]
    return pd.concat(parts, ignore_index=True)[keep]


_SWEPT = {
    "link": list(FIRST_STAGE),
    "method": ["network", "staged", "spectral"],
    "alpha": [8.0, 16.0, 32.0, 64.0],
}

EXPERIMENT = Experiment(
    name="staircase",
    summary="learning stage by stage: sq_sign3 and sign_committee, overlap per stage vs alpha "
    "for the paper's and the staged network, the sequential spectral method and GAMP, with "
    "predicted curves and stage thresholds",
    point=point,
    swept=_SWEPT,
    fixed={
        "d": 128,
        "noise": 0.0,
        "width": 64,
        "loss": "huber",
        "huber_delta": 1.0,
        "spectral_preprocessing": "huber",
        "n_test": 2048,
        "amp_iter": 200,
    },
    seeds=1,
    full_swept={
        "method": list(METHODS),
        "alpha": [2.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0, 64.0, 96.0, 128.0],
    },
    full_fixed={"d": 512},
    full_seeds=3,
    plot=plot,
    table=table,
)
