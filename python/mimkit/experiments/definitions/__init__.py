"""The shipped experiments (docs/experiments/README.md), one module each, by command-line name."""

from __future__ import annotations

from ..registry import Experiment
from . import (
    beyond_layerwise,
    gd_vs_power,
    learning_rate,
    limits,
    loss_preprocessing,
    sample_complexity,
    stopping_time,
)

EXPERIMENTS: dict[str, Experiment] = {
    exp.name: exp
    for exp in (
        sample_complexity.EXPERIMENT,
        stopping_time.EXPERIMENT,
        learning_rate.EXPERIMENT,
        loss_preprocessing.EXPERIMENT,
        gd_vs_power.EXPERIMENT,
        limits.EXPERIMENT,
        beyond_layerwise.EXPERIMENT,
    )
}


def get_experiment(name: str) -> Experiment:
    """The experiment called ``name``; ValueError naming it and the available ones."""
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; available: {', '.join(EXPERIMENTS)}")
    return EXPERIMENTS[name]
