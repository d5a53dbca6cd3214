"""The sweep runner: resume after a kill, Ctrl-C, failures, identical records on every backend."""

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

import _experiments_toy as toy
from mimkit.experiments import DaskBackend, Grid, LocalBackend, PointsFailedError, load, run_sweep
from mimkit.experiments.store import DATABASE, ResultStore

TESTS = Path(__file__).resolve().parent


def _gated_grid(gate: Path) -> Grid:
    """20 points, d-major: the first three (d = 16, 32, 48, seed 0) finish at once, every
    other one with d >= 64 waits for the file ``gate``; so with two workers exactly three
    points finish until the test creates ``gate``."""
    return Grid(
        swept={"d": [16, 32, 48, 64, 80, 96, 112, 128, 144, 160]},
        fixed={"alpha": 2.0, "gated_from": 64, "gate": str(gate)},
        seeds=2,
    )


def _metric_columns(df):
    return [c for c in df.columns if not c.startswith("time_") and c != "pid"]


def _start_sweep_process(out: Path, grid: Grid) -> subprocess.Popen:
    """A sweep of the gated toy point (2 workers) in its own process group."""
    # A terminal starts the sweep with Python's SIGINT handler; a test run in the background
    # inherits SIGINT ignored (as every child of it would), and the sweep would never see Ctrl-C.
    script = textwrap.dedent(f"""
        import signal
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from mimkit.experiments import Grid, LocalBackend, run_sweep
        import _experiments_toy as toy
        run_sweep(toy.toy_gated, Grid(**{grid.to_dict()!r}), {str(out)!r}, experiment="toy",
                  backend=LocalBackend(n_workers=2, threads_per_worker=1), progress=False)
    """)
    # the installed mimkit, plus the tests folder for the toy point functions
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    return subprocess.Popen(
        [sys.executable, "-c", script],
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _finished(out: Path) -> int:
    if not (out / DATABASE).exists():
        return 0
    try:
        with ResultStore(out, readonly=True) as store:
            return len(store.finished_ids())
    except FileNotFoundError:  # the database exists, the sweep is not recorded yet
        return 0


def _wait_for_points(out: Path, n: int, proc: subprocess.Popen) -> None:
    """Until ``n`` points are stored (the event); the deadline only guards against a hang."""
    deadline = time.monotonic() + 300
    while _finished(out) < n:
        assert proc.poll() is None, proc.stdout.read().decode()
        assert time.monotonic() < deadline, "sweep made no progress in 300 s"
        time.sleep(0.05)


def _snapshot(out: Path) -> dict:
    """Point id -> (time stored, stored row text) of every stored point."""
    with contextlib.closing(sqlite3.connect(out / DATABASE)) as conn:
        rows = conn.execute("SELECT point_id, finished_utc, records FROM points").fetchall()
    return {pid: (when, text) for pid, when, text in rows}


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_sweep_resumes_without_recomputing_finished_points(tmp_path, sig):
    out, gate = tmp_path / "out", tmp_path / "gate"
    grid = _gated_grid(gate)
    proc = _start_sweep_process(out, grid)
    try:
        _wait_for_points(out, 3, proc)  # both workers now wait for the gate
        # The whole process group, as a crash (SIGKILL) or a terminal's Ctrl-C (SIGINT) would.
        os.killpg(proc.pid, sig)
        proc.wait(timeout=60)  # Ctrl-C must not wait for the points in flight (never ending)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.stdout.close()
    before = _snapshot(out)
    assert len(before) == 3

    gate.touch()
    summary = run_sweep(
        toy.toy_gated,
        grid,
        out,
        experiment="toy",
        backend=LocalBackend(n_workers=2, threads_per_worker=1),
        progress=False,
    )
    assert summary.skipped == len(before)
    assert summary.computed == len(grid) - len(before)
    after = _snapshot(out)
    assert {k: after[k] for k in before} == before  # finished points untouched
    assert len(after) == len(grid)
    assert sorted(f.name for f in out.iterdir()) == [DATABASE]
    assert len(load(out)) == len(grid)


def test_dask_local_cluster_and_process_pool_give_identical_records(tmp_path):
    grid = Grid({"d": [32, 64, 96], "alpha": [2.0, 4.0]}, fixed={"noise": 0.3}, seeds=2)
    for name, backend in (("local", LocalBackend), ("dask", DaskBackend)):
        run_sweep(
            toy.toy_point,
            grid,
            tmp_path / name,
            experiment="toy",
            progress=False,
            backend=backend(n_workers=2, threads_per_worker=1),
        )
    a, b = load(tmp_path / "local"), load(tmp_path / "dask")
    assert len(a) == len(grid)
    # Computed in worker processes, not here, and by different processes on each backend.
    assert os.getpid() not in set(a["pid"]) | set(b["pid"])
    assert not set(a["pid"]) & set(b["pid"])
    pd.testing.assert_frame_equal(a[_metric_columns(a)], b[_metric_columns(b)])


def _toy_sweep(point, grid: Grid, folder):
    """A toy sweep on one local worker, quietly."""
    return run_sweep(
        point, grid, folder, experiment="toy", progress=False, backend=LocalBackend(n_workers=1)
    )


def test_failed_points_are_reported_after_the_others_are_stored(tmp_path):
    grid = Grid({"bad": [False, True], "k": [1, 2]})
    with pytest.raises(PointsFailedError, match="2 of 4 points failed.*ArithmeticError") as info:
        _toy_sweep(toy.toy_failing, grid, tmp_path)
    assert info.value.summary.computed == 2
    df = load(tmp_path)
    assert list(df["bad"]) == [False, False] and sorted(df["k"]) == [1, 2]


def test_multirow_points_and_timing_column(tmp_path):
    grid = Grid({"steps": [2, 3]}, seeds=2)
    summary = _toy_sweep(toy.toy_multirow, grid, tmp_path)
    assert (summary.total, summary.computed, summary.skipped) == (4, 4, 0)
    df = load(tmp_path)
    assert len(df) == 2 * 2 + 2 * 3
    assert (df["time_point_s"] >= 0).all()
    assert list(df.loc[df["steps"] == 3, "step"]) == [0, 1, 2, 0, 1, 2]
    again = _toy_sweep(toy.toy_multirow, Grid({"steps": [2, 3, 4]}, seeds=2), tmp_path)
    assert (again.skipped, again.computed) == (4, 2)
