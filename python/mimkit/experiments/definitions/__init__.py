"""The shipped experiments (SPEC 7), one module each, by command-line name."""
from __future__ import annotations

from ..registry import Experiment
from . import sample_complexity

EXPERIMENTS: dict[str, Experiment] = {
    exp.name: exp for exp in (sample_complexity.EXPERIMENT,)
}


def get_experiment(name: str) -> Experiment:
    """The experiment called ``name``; ValueError naming it and the available ones."""
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; available: {', '.join(EXPERIMENTS)}")
    return EXPERIMENTS[name]
