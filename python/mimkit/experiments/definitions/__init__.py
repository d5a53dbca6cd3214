"""The shipped experiments (docs/experiments/README.md), one module each, by command-line name."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ..registry import Experiment

#: Command-line name -> module. An experiment's module loads when it is asked for, so plotting
#: one sweep does not import what the others need (scikit-learn for beyond-layerwise, say).
_MODULES: dict[str, str] = {
    "sample-complexity": "sample_complexity",
    "stopping-time": "stopping_time",
    "learning-rate": "learning_rate",
    "loss-preprocessing": "loss_preprocessing",
    "gd-vs-power": "gd_vs_power",
    "limits": "limits",
    "beyond-layerwise": "beyond_layerwise",
    "staircase": "staircase",
}

if TYPE_CHECKING:
    #: Every experiment by name (loads every module).
    EXPERIMENTS: dict[str, Experiment]


def get_experiment(name: str) -> Experiment:
    """The experiment called ``name``; ValueError naming it and the available ones."""
    if name not in _MODULES:
        raise ValueError(f"unknown experiment {name!r}; available: {', '.join(_MODULES)}")
    experiment = importlib.import_module(f".{_MODULES[name]}", __name__).EXPERIMENT
    return experiment


def __getattr__(name: str) -> Any:
    if name == "EXPERIMENTS":
        return {n: get_experiment(n) for n in _MODULES}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
