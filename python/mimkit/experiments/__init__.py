"""Sweeps over the paper's experiments: grids, runner, results store, backends, plots.

Quick use::

    from mimkit.experiments import Grid, run_sweep, load
    summary = run_sweep(point_fn, Grid({"alpha": [1.0, 2.0]}, seeds=3), "out/", experiment="mine")
    df = load("out/")
"""

from __future__ import annotations

from .backends import DaskBackend, LocalBackend, make_backend
from .grid import Grid, Point
from .runner import PointsFailedError, SweepSummary, run_sweep
from .store import ResultStore, load

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
