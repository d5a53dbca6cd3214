"""Plot and table helpers shared by the shipped experiments.

Figures are ``matplotlib.figure.Figure`` objects made without pyplot, so importing mimkit never
changes the user's matplotlib backend and no figure is left registered with pyplot.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import BinaryIO, Optional, Sequence, Union

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

#: Figure resolution; with the default sizes a PNG stays well under 200 KB.
DPI = 110


def mean_sem(df: pd.DataFrame, by: Sequence[str], values: Sequence[str]) -> pd.DataFrame:
    """Mean, standard error over seeds and count of ``values`` per group of ``by``.

    Returns a flat frame with columns ``by``, then ``<v>``, ``<v>_sem`` for each value, then
    ``n_seeds``. The standard error is 0 for a single seed.
    """
    groups = df.groupby(list(by), sort=True, dropna=False)
    out = groups[list(values)].mean()
    count = groups.size()
    for v in values:
        std = groups[v].std(ddof=1).fillna(0.0)
        out[f"{v}_sem"] = std / np.sqrt(count)
    out["n_seeds"] = count
    ordered = [c for v in values for c in (v, f"{v}_sem")] + ["n_seeds"]
    return out[ordered].reset_index()


def errorbar_lines(
    ax,
    stats: pd.DataFrame,
    x: str,
    y: str,
    hue: Optional[str] = None,
    label_fmt: str = "{}",
    **kwargs,
) -> None:
    """One line per value of ``hue`` with error bars ``y_sem`` (from :func:`mean_sem`)."""
    groups = [(None, stats)] if hue is None else stats.groupby(hue, sort=True)
    for key, g in groups:
        g = g.sort_values(x)
        ax.errorbar(
            g[x],
            g[y],
            yerr=g[f"{y}_sem"],
            marker="o",
            ms=3.5,
            capsize=2.5,
            lw=1.4,
            label=None if hue is None else label_fmt.format(key),
            **kwargs,
        )


def threshold_line(ax, alpha_c: float, label: str = r"theory $\alpha_c$", **kwargs) -> None:
    """A vertical dashed line at a predicted threshold (skipped when infinite or unknown)."""
    if alpha_c is None or not math.isfinite(alpha_c):
        return
    style = {"color": "k", "ls": "--", "lw": 1.2, **kwargs}
    ax.axvline(alpha_c, label=f"{label} = {alpha_c:.3g}", **style)


def new_figure(ncols: int, figsize: tuple[float, float], *, sharex: bool = False):
    """A figure with one row of ``ncols`` axes: ``(fig, axes)``, axes a (ncols,) array."""
    fig = Figure(figsize=figsize)
    axes = fig.subplots(1, ncols, sharex=sharex, squeeze=False)[0]
    return fig, axes


def finish_figure(fig: Figure, axes, title: str, *, legend_fontsize: float = 8) -> Figure:
    """Grid and legend on every axis, ``title`` over the figure, tight layout; returns ``fig``."""
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=legend_fontsize)
    return title_figure(fig, title)


#: How a sweep's fixed settings read in a figure title (column -> format of its value).
_SETTING_LABELS = {
    "link": "link {}",
    "loss": "loss {}",
    "d": "d = {}",
    "alpha": "$\\alpha$ = {:g}",
    "width": "width {}",
    "steps": "T1 = {}",
    "lr": "lr {:g}",
    "weight_decay": "weight decay {:g}",
}


def sweep_title(df: pd.DataFrame, what: str, settings: Sequence[str]) -> str:
    """``"what: <each setting of the first record>; mean +- s.e. over N seeds"``."""
    row = df.iloc[0]
    shown = ", ".join(_SETTING_LABELS[name].format(row[name]) for name in settings)
    return f"{what}: {shown}; mean $\\pm$ s.e. over {df['seed_index'].nunique()} seeds"


def title_figure(fig: Figure, title: str) -> Figure:
    """``title`` over the figure and a tight layout (every experiment's last touch); ``fig``."""
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def save_figure(fig: Figure, target: Union[Path, BinaryIO]) -> Union[Path, BinaryIO]:
    """Write ``fig`` as PNG to a path or a binary file (the Agg canvas is picked by the format,
    not a backend); returns ``target``. The figure is laid out already (:func:`title_figure`):
    a second, "tight" layout pass at saving would cost a third of the drawing time."""
    fig.savefig(target, dpi=DPI, format="png")
    return target


def _cell(value) -> str:
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4g}"
    return str(value)


def markdown_table(df: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table of ``df`` (floats to 4 significant digits)."""
    header = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    rows = [
        "| " + " | ".join(_cell(v) for v in row) + " |"
        for row in df.itertuples(index=False, name=None)
    ]
    return "\n".join([header, rule, *rows]) + "\n"
