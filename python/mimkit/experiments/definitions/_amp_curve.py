"""The "AMP (Bayes-optimal, link known)" curve drawn on the network experiments' plots: the
state evolution of Bayes-optimal GAMP (:func:`mimkit.theory.amp_overlap`), the best
polynomial-time overlap and test error known (docs/theory.md, "Bayes-optimal AMP")."""

from __future__ import annotations

import functools
import warnings
from typing import Optional

import numpy as np
import pandas as pd

from ...amp import amp_overlap
from ...theory_cache import cached_theory
from ._common import THEORY_SEED, resolve_link

#: Points of the curve (log-spaced over the swept alphas), Monte Carlo draws per SE step and
#: SE steps (a line on a plot: overlap errors ~ 0.02, slow approach near the threshold cut).
_POINTS, _SAMPLES, _MAX_ITER = 10, 2000, 150
LABEL = "AMP (Bayes-optimal, link known)"


@functools.lru_cache(maxsize=None)
@cached_theory(samples=_SAMPLES, max_iter=_MAX_ITER, seed=THEORY_SEED)
def amp_curve(link_name: str, noise: float, alphas: tuple) -> Optional[pd.DataFrame]:
    """``alpha``, ``overlap`` (1 - subspace distance) and ``test_error`` of AMP's state
    evolution, or None for r > 2 (the channel's r-dimensional quadrature is too slow)."""
    link = resolve_link(link_name)
    if link.r > 2:
        return None
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # slow convergence near thresholds
        for a in alphas:
            res = amp_overlap(
                link,
                a,
                noise=noise,
                n_samples=_SAMPLES,
                max_iter=_MAX_ITER,
                random_state=THEORY_SEED,
            )
            rows.append((a, res.subspace_overlap, res.test_error))
    return pd.DataFrame(rows, columns=["alpha", "overlap", "test_error"])


def draw_amp(ax_overlap, ax_error, df: pd.DataFrame) -> None:
    """Draw the AMP curve of the records' link and noise over their alpha range on an overlap
    axis and a test-error axis (either may be None)."""
    row = df.iloc[0]
    swept = df["alpha"].unique().astype(float)
    alphas = tuple(np.geomspace(swept.min(), swept.max(), _POINTS))
    curve = amp_curve(row["link"], float(row["noise"]), alphas)
    if curve is None:
        return
    style = {"color": "C3", "lw": 1.4, "ls": "-.", "label": LABEL}
    if ax_overlap is not None:
        ax_overlap.plot(curve["alpha"], curve["overlap"], **style)
    if ax_error is not None:
        ax_error.plot(curve["alpha"], curve["test_error"], **style)
