"""Acceptance of the results store: concurrent sweeps share a grid, SIGKILL loses nothing stored."""

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import _experiments_toy as toy
from mimkit.experiments import Grid, LocalBackend, load, run_sweep
from mimkit.experiments.store import DATABASE

TESTS = Path(__file__).resolve().parent


def _sweep_process(
    out: Path, grid: dict, workers: int, point: str = "toy_point"
) -> subprocess.Popen:
    """A sweep of a toy point over ``grid`` in its own process group; prints its summary."""
    script = textwrap.dedent(f"""
        import json
        from mimkit.experiments import Grid, LocalBackend, run_sweep
        import _experiments_toy as toy
        s = run_sweep(toy.{point}, Grid(**{grid!r}), {str(out)!r}, experiment="toy",
                      backend=LocalBackend(n_workers={workers}, threads_per_worker=1),
                      progress=False)
        print(json.dumps(dict(computed=s.computed, by_others=s.by_others, skipped=s.skipped)))
    """)
    return subprocess.Popen(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": str(TESTS)},
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _metrics(df: pd.DataFrame) -> pd.DataFrame:
    keep = [c for c in df.columns if not c.startswith("time_") and c != "pid"]
    return df[keep].reset_index(drop=True)


def _claiming_sweeps(out: Path) -> int:
    """How many sweeps hold a claim on a point of ``out`` right now."""
    if not (out / DATABASE).exists():
        return 0
    with contextlib.closing(sqlite3.connect(out / DATABASE, timeout=60)) as conn:
        try:
            return conn.execute("SELECT COUNT(DISTINCT owner) FROM claims").fetchone()[0]
        except sqlite3.OperationalError:  # the tables are being created
            return 0


def test_two_concurrent_sweeps_compute_the_union_of_their_grids_once(tmp_path):
    # Every point waits for the gate, opened once both sweeps are computing a point: the two
    # overlap however loaded the machine is.
    gate = tmp_path / "gate"
    fixed = {"alpha": 2.0, "gated_from": 0, "gate": str(gate)}
    grids = [
        dict(swept={"d": [16, 24, 32, 40]}, fixed=fixed, seeds=2),
        dict(swept={"d": [24, 32, 40, 48]}, fixed=fixed, seeds=2),
    ]
    out = tmp_path / "out"
    with contextlib.ExitStack() as stack:
        procs = [
            stack.enter_context(_sweep_process(out, g, workers=1, point="toy_gated")) for g in grids
        ]
        # on failure, no sweep outlives the test (its pipes closed, its process waited for)
        stack.callback(lambda: [p.kill() for p in procs if p.poll() is None])
        deadline = time.monotonic() + 300  # only a guard against a hang
        while _claiming_sweeps(out) < 2:
            for p in procs:
                assert p.poll() is None, p.communicate()
            assert time.monotonic() < deadline, "the sweeps did not both start in 300 s"
            time.sleep(0.05)
        gate.touch()
        summaries = []
        for proc in procs:
            stdout, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err
            summaries.append(json.loads(stdout))
    union = {p.id for g in grids for p in Grid(**g)}
    assert len(union) == 10
    # Each point of the union computed by exactly one of the two sweeps...
    assert sum(s["computed"] for s in summaries) == len(union)
    # ... and each sweep saw all of its own grid finished.
    for s, g in zip(summaries, grids):
        assert s["computed"] + s["by_others"] + s["skipped"] == len(Grid(**g))
    df = load(out)
    assert set(df["point_id"]) == union and len(df) == len(union)


@pytest.mark.slow
def test_twenty_sigkills_lose_no_stored_point_and_change_no_result(tmp_path):
    d = [16, 24, 32, 40, 48, 56, 64, 72, 80, 88]
    grid = dict(swept={"d": d}, fixed={"alpha": 2.0, "sleep": 0.3}, seeds=2)
    rng = np.random.default_rng(20)
    out = tmp_path / "killed"
    seen: dict = {}
    for _ in range(20):
        proc = _sweep_process(out, grid, workers=2)
        # A random moment: during start-up, opening the store, computing or storing a point.
        time.sleep(rng.uniform(0.05, 3.0))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        try:
            df = load(out)
        except FileNotFoundError:  # killed before its sweep was recorded
            assert not seen
            continue
        stored = {} if df.empty else dict(df.groupby("point_id")["error"].first())
        # Every point stored before is still there, unchanged; none twice.
        assert {k: stored[k] for k in seen} == seen
        assert df.empty or df["point_id"].is_unique
        seen = stored
    run_sweep(
        toy.toy_point,
        Grid(**grid),
        out,
        experiment="toy",
        backend=LocalBackend(n_workers=2, threads_per_worker=1),
        progress=False,
    )
    run_sweep(
        toy.toy_point,
        Grid(**grid),
        tmp_path / "clean",
        experiment="toy",
        backend=LocalBackend(n_workers=2, threads_per_worker=1),
        progress=False,
    )
    killed, clean = load(out), load(tmp_path / "clean")
    assert killed["point_id"].is_unique and len(killed) == len(Grid(**grid))
    pd.testing.assert_frame_equal(_metrics(killed), _metrics(clean))
