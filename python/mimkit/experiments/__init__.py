"""Sweeps over the paper's experiments: grids, runner, results store, backends, plots.

Quick use::

    from mimkit.experiments import Grid, run_sweep, load
    summary = run_sweep(point_fn, Grid({"alpha": [1.0, 2.0]}, seeds=3), "out/", experiment="mine")
    df = load("out/")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Names load on first use (PEP 562): the `mimkit` command imports the subcommand parsers of
# this package and should not pay for the runner or the store until a sweep runs.
_NAMES = {
    "DaskBackend": "backends",
    "LocalBackend": "backends",
    "make_backend": "backends",
    "Grid": "grid",
    "Point": "grid",
    "PointsFailedError": "runner",
    "SweepSummary": "runner",
    "run_sweep": "runner",
    "ResultStore": "store",
    "load": "store",
}

if TYPE_CHECKING:
    from .backends import DaskBackend, LocalBackend, make_backend
    from .grid import Grid, Point
    from .runner import PointsFailedError, SweepSummary, run_sweep
    from .store import ResultStore, load


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_NAMES[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "DaskBackend",
    "Grid",
    "LocalBackend",
    "Point",
    "PointsFailedError",
    "ResultStore",
    "SweepSummary",
    "load",
    "make_backend",
    "run_sweep",
]
