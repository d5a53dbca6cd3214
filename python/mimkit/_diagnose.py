"""Why phase 1 broke down at an extreme scale: name the argument to change.

Over- or underflow in phase 1 shows up as a divergence or as weights that are exactly zero;
either way the cause is an input or setting many orders of magnitude from its usual scale.
Each one beyond ``finfo(dtype).max ** (1/6)`` of its usual value (1.3e51 in float64, 2.6e6
in float32: a product of a few such factors leaves the floating-point range) is named with the
change that fixes it.
"""

from __future__ import annotations

import numpy as np


def _big(dtype: np.dtype) -> float:
    return float(np.finfo(dtype).max) ** (1.0 / 6.0)


def x_scale_suspects(dtype: np.dtype, x_rms: float) -> list[str]:
    """The sentence for X, if its scale is far enough from 1 to over- or underflow."""
    big = _big(dtype)
    if 1.0 / big <= x_rms <= big:
        return []
    return [
        f"X's entries have root-mean-square {x_rms:.3g}, so their products over- or "
        f"underflow {np.dtype(dtype).name}: standardise X (unit-variance features)"
    ]


def scale_suspects(
    dtype: np.dtype,
    *,
    x_rms: float,
    y_spread: float,
    lr: float,
    weight_decay: float,
    loss: str,
    huber_delta: float,
    init_scale: float,
) -> list[str]:
    """One sentence per argument far enough from its usual scale to over- or underflow."""
    big = _big(dtype)
    out = x_scale_suspects(dtype, x_rms)
    if lr > big:
        out.append(f"lr = {lr:g} is far above 1: lower lr (lr * weight_decay = 1 is the default)")
    if weight_decay > big:
        out.append(f"weight_decay = {weight_decay:g} is far above 1: lower weight_decay")
    if loss == "huber" and huber_delta < y_spread / big:
        out.append(
            f"huber_delta = {huber_delta:g} is ~0 next to the labels' spread ({y_spread:.3g}), "
            f"so T(y) = clip(y - c, -delta, delta) vanishes: raise huber_delta (units of y)"
        )
    if init_scale > big:
        out.append(f"init_scale = {init_scale:g} is far above 1: lower init_scale (default 1e-6)")
    elif init_scale < 1.0 / big:
        out.append(f"init_scale = {init_scale:g} underflows: raise init_scale (default 1e-6)")
    return out


def explained(what: str, suspects: list[str]) -> str:
    """``what`` happened, then the likely causes, each with its fix."""
    return f"{what}; likely cause: " + "; ".join(suspects) + "."
