"""Checks of a sweep's parameter values before any point runs or any file is written.

The shipped experiments share parameter names with ``mimkit run``; each value of a grid is
checked by the library validator that would reject it inside a point, so a bad ``--set`` is
one line at start-up instead of one worker traceback per point.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .._diagnose import scale_suspects
from .._validation import check_count, check_name, check_positive_number
from ..options import ACTIVATIONS, JOINT_METHODS, PREPROCESSINGS
from .grid import Grid
from .registry import Experiment


def _width(value: Any, name: str) -> None:
    pairs = "Neurons come in symmetric pairs with opposite outer weights: pass an even number."
    if check_count(value, name, minimum=2, hint=pairs) % 2:
        raise ValueError(f"{name} must be an even integer, got {value!r}. {pairs}")


def _link(value: Any, name: str) -> None:
    from .definitions._common import resolve_link

    if not isinstance(value, str):
        raise ValueError(f"{name} must be a link name, got {value!r}")
    resolve_link(value)


def _share(value: Any, name: str) -> None:
    from .definitions.beyond_layerwise import check_share

    check_share(value, name)


def _case(value: Any, name: str) -> None:
    from .definitions.limits import LINK_CASES

    check_name(value, name, tuple(LINK_CASES))


def _staircase_method(value: Any, name: str) -> None:
    from .definitions.staircase import METHODS

    check_name(value, name, tuple(METHODS))


def _conditional_preprocessing(value: Any, name: str) -> None:
    # The staged spectral method conditions T on the learned projections: not "optimal".
    check_name(value, name, tuple(p for p in PREPROCESSINGS if p != "optimal"))


def _positive(value: Any, name: str) -> None:
    check_positive_number(value, name)


def _in_range(value: Any, name: str) -> None:
    """A positive setting within the float64 range phase 1 can compute with: the scales
    :func:`mimkit._diagnose.scale_suspects` names as the cause when phase 1 over- or
    underflows (lr or weight_decay far above 1, init_scale far from it)."""
    check_positive_number(value, name, allow_zero=name == "weight_decay")
    usual = dict(lr=1.0, weight_decay=1.0, init_scale=1e-6)
    usual[name] = value
    causes = scale_suspects(
        np.dtype(np.float64),
        x_rms=1.0,
        y_spread=1.0,
        loss="squared",
        huber_delta=1.0,
        **usual,
    )
    if causes:
        raise ValueError(f"phase 1 would over- or underflow: {causes[0]}")


def _non_negative(value: Any, name: str) -> None:
    check_positive_number(value, name, allow_zero=True)


_CHECKS: dict[str, Callable[[Any, str], Any]] = {
    "d": lambda v, n: check_count(v, n, minimum=1, hint="It is the input dimension."),
    "n_test": lambda v, n: check_count(v, n, minimum=2, hint="The test error divides by Var(y)."),
    "width": _width,
    "alpha": _positive,
    "alpha2": _positive,
    "noise": _non_negative,
    "huber_delta": _positive,
    "lr": _in_range,
    "weight_decay": _in_range,
    "init_scale": _in_range,
    "steps": lambda v, n: check_count(v, n),
    "max_steps": lambda v, n: check_count(v, n),
    "link": _link,
    "activation": lambda v, n: check_name(v, n, ACTIVATIONS),
    "refine": lambda v, n: check_name(v, n, JOINT_METHODS),
    "phase2_fraction": _share,
    "mlp_max_iter": lambda v, n: check_count(v, n, minimum=1),
    "amp_iter": lambda v, n: check_count(v, n, minimum=1),
    "case": _case,
    "method": _staircase_method,
    "spectral_preprocessing": _conditional_preprocessing,
}


def check_grid(experiment: Experiment, grid: Grid) -> None:
    """Raise ValueError naming the first bad ``--set`` value of ``grid``.

    ``loss`` may be one of the losses every experiment trains with or one the experiment
    itself sweeps by default (``best_scalar`` in loss-preprocessing).
    """
    from .definitions._common import NETWORK_LOSSES

    known_losses = [*NETWORK_LOSSES]
    for source in (experiment.swept, experiment.fixed, experiment.full_swept):
        values = source.get("loss", [])
        for loss in values if isinstance(values, list) else [values]:
            if loss not in known_losses:
                known_losses.append(loss)
    checks = {**_CHECKS, "loss": lambda v, n: check_name(v, n, known_losses)}
    values = {**{k: [v] for k, v in grid.fixed.items()}, **grid.swept}
    for name, vals in values.items():
        if name not in checks:
            continue
        for value in vals:
            try:
                checks[name](value, name)
            except ValueError as exc:
                raise ValueError(f"--set {name}={value}: {exc}") from None
