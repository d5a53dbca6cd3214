"""A results store readers can trust: per-point checksums, read-only readers, links named."""

import contextlib
import functools
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import pandas as pd
import pytest

import _experiments_toy as toy
from mimkit.experiments import DaskBackend, Grid, LocalBackend, load, run_sweep
from mimkit.experiments.cli import main as experiments_main
from mimkit.experiments.store import _SCHEMA, DATABASE, ResultStore

TESTS = Path(__file__).resolve().parent
GRID = Grid({"d": [8, 12, 16]}, fixed={"alpha": 2.0}, seeds=2)


def _sweep(folder, experiment="toy", backend=None):
    return run_sweep(
        toy.toy_point,
        GRID,
        folder,
        experiment=experiment,
        progress=False,
        backend=backend or LocalBackend(n_workers=1),
    )


def _metrics(df):
    return df.drop(columns=[c for c in df.columns if c.startswith("time_") or c == "pid"])


def _edit(folder, point_id, edit):
    """Rewrite one stored point's records text with ``edit(text)``, as a user or a disk might."""
    with contextlib.closing(sqlite3.connect(folder / DATABASE)) as conn, conn:
        (text,) = conn.execute(
            "SELECT records FROM points WHERE point_id = ?", (point_id,)
        ).fetchone()
        conn.execute("UPDATE points SET records = ? WHERE point_id = ?", (edit(text), point_id))


def _change_error(text):
    rows = json.loads(text)
    rows[0]["error"] = 0.95
    return json.dumps(rows)


def test_edited_or_broken_points_are_left_out_by_readers_and_computed_again(tmp_path):
    _sweep(tmp_path)
    clean = load(tmp_path)
    edited, broken = list(GRID)[1], list(GRID)[4]
    _edit(tmp_path, edited.id, _change_error)  # still valid JSON: only the checksum sees it
    _edit(tmp_path, broken.id, lambda text: text[:-7])
    with pytest.warns(UserWarning, match="2 stored point") as caught:
        df = load(tmp_path)
    message = str(caught[0].message)
    assert f"point alpha=2.0, d=12, seed_index=0 ({edited.id}) fails its checksum" in message
    assert (
        f"point alpha=2.0, d=12, seed_index=1 ({broken.id}) holds records that are not JSON"
        in message
    )
    assert set(df["point_id"]) == {p.id for p in GRID} - {edited.id, broken.id}
    with pytest.warns(UserWarning, match="2 stored point.*computed again"):
        summary = _sweep(tmp_path)
    assert (summary.computed, summary.skipped) == (2, len(GRID) - 2)
    pd.testing.assert_frame_equal(_metrics(load(tmp_path)), _metrics(clean))


def test_export_names_a_damaged_point_in_one_warning_line(tmp_path, capsys):
    _sweep(tmp_path / "out")
    point = list(GRID)[2]
    _edit(tmp_path / "out", point.id, _change_error)
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        code = experiments_main(["export", str(tmp_path / "out"), "--parquet", str(tmp_path / "x")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 0
    assert len(err) == 1 and err[0].startswith("mimkit export: warning: ") and point.id in err[0]
    assert len(pd.read_parquet(tmp_path / "x")) == len(GRID) - 1


def test_a_store_written_before_checksums_keeps_working(tmp_path):
    # The layout before checksums: no checksum column.
    folder = tmp_path / "old"
    folder.mkdir()
    points = list(GRID)
    old_schema = _SCHEMA.replace(", checksum TEXT", "")
    assert old_schema != _SCHEMA
    with contextlib.closing(sqlite3.connect(folder / DATABASE)) as conn, conn:
        conn.executescript(old_schema)
        conn.execute("INSERT INTO meta VALUES ('experiment', 'toy'), ('format', 'mimkit-sweep/2')")
        conn.execute(
            "INSERT INTO runs (started_utc, command, grid) VALUES ('t', 'old', ?)",
            (json.dumps(GRID.to_dict()),),
        )
        for p in points[:3]:
            rows = [{**p.params, "seed_index": p.seed_index, "seed": p.seed, "point_id": p.id}]
            rows[0]["error"] = 1.0
            conn.execute(
                "INSERT INTO points VALUES (?, ?, 1, 1, 't', ?)", (p.id, p.key, json.dumps(rows))
            )
    assert len(load(folder)) == 3  # read as it is: legacy rows are trusted when they parse
    _edit(folder, points[0].id, lambda text: "{" + text)
    with pytest.warns(UserWarning, match=f"{points[0].id}.*not JSON"):
        summary = _sweep(folder)
    assert (summary.skipped, summary.computed) == (2, len(GRID) - 2)
    df = load(folder)
    assert len(df) == len(GRID) and set(df.loc[df["error"] == 1.0, "point_id"]) == {
        p.id for p in points[1:3]
    }
    _edit(folder, points[5].id, _change_error)  # new points of the old store have checksums
    with pytest.warns(UserWarning, match=f"{points[5].id}.*checksum"):
        load(folder)


@pytest.fixture
def shared_dir():
    """A folder an unprivileged user may enter (pytest's tmp_path is private to its owner)."""
    path = Path(tempfile.mkdtemp(prefix="mimkit-readonly-"))
    path.chmod(0o755)
    yield path
    for sub in [path, *path.rglob("*")]:
        if not sub.is_symlink():
            sub.chmod(0o777 if sub.is_dir() else 0o666)
    shutil.rmtree(path)


def _unprivileged(command: list) -> list:
    """``command`` as user nobody when we are root (root writes read-only files anyway)."""
    if os.geteuid() != 0:
        return command
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: read-only files are writable")
    prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    problem = _cannot_run_as_nobody(tuple(prefix))
    if problem:
        pytest.skip(f"this interpreter cannot run as user nobody: {problem}")
    return [*prefix, *command]


@functools.lru_cache(maxsize=None)
def _cannot_run_as_nobody(prefix: tuple) -> str:
    """Why ``python -c 'import mimkit'`` fails as user nobody ('' when it works): an
    interpreter whose shared library lies under a folder only root may read (a pyenv build in
    /root with --enable-shared) cannot start as another user."""
    probe = subprocess.run(
        [*prefix, sys.executable, "-c", "import mimkit"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return "" if probe.returncode == 0 else " ".join(probe.stderr.split())[:200]


def _command(*args, cwd: Path) -> subprocess.CompletedProcess:
    """``python -m mimkit.experiments ARGS`` as an unprivileged user."""
    return subprocess.run(
        _unprivileged([sys.executable, "-m", "mimkit.experiments", *map(str, args)]),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(TESTS), "MPLCONFIGDIR": str(cwd / "mpl")},
    )


@pytest.mark.parametrize("read_only", ["folder", "database"])
def test_readers_work_on_a_read_only_store_and_a_sweep_refuses_it(shared_dir, read_only):
    store = shared_dir / "store"
    _sweep(store, experiment="gd-vs-power")  # a shipped name: `plot` draws its figure
    out = shared_dir / "out"
    out.mkdir(mode=0o777)
    out.chmod(0o777)
    (shared_dir / "mpl").mkdir(mode=0o777)
    (shared_dir / "mpl").chmod(0o777)
    before = {f.name: f.read_bytes() for f in store.iterdir()}
    (store / DATABASE).chmod(0o444)
    if read_only == "folder":
        store.chmod(0o555)
    export = _command("export", store, "--parquet", out / "x.parquet", cwd=shared_dir)
    assert export.returncode == 0, export.stderr
    assert len(pd.read_parquet(out / "x.parquet")) == len(GRID)
    sweep = _command("sweep", "gd-vs-power", "--out", store, "--quiet", cwd=shared_dir)
    assert sweep.returncode == 2, sweep.stderr
    assert sweep.stderr.count("\n") == 1 and "read-only" in sweep.stderr
    assert {f.name: f.read_bytes() for f in store.iterdir() if f.suffix != "-shm"} == before


def test_a_read_only_old_folder_is_converted_in_memory(tmp_path, shared_dir):
    from test_experiments_store import _grid, _legacy_folder

    folder = _legacy_folder(shared_dir / "old", list(_grid())[:2])
    for f in [folder, *folder.rglob("*")]:
        f.chmod(0o555 if f.is_dir() else 0o444)
    script = (
        "from mimkit.experiments import load; df = load(%r); print(len(df), sorted(df['err']))"
    ) % str(folder)
    out = subprocess.run(
        _unprivileged([sys.executable, "-c", script]), capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["2", "[1.5,", "1.5]"]
    assert not (folder / DATABASE).exists()


@pytest.mark.parametrize("companion", ["-wal", "-shm"])
def test_linked_companion_files_are_named_not_called_damaged(tmp_path, companion):
    _sweep(tmp_path / "out")
    (tmp_path / "elsewhere").write_bytes(b"")
    (tmp_path / "out" / (DATABASE + companion)).symlink_to(tmp_path / "elsewhere")
    for open_store in (lambda: load(tmp_path / "out"), lambda: _sweep(tmp_path / "out")):
        with pytest.raises(ValueError, match=f"{DATABASE}{companion} is a symbolic link") as info:
            open_store()
        assert "damaged" not in str(info.value)


def test_an_old_folder_with_a_linked_point_file_is_refused(tmp_path):
    from test_experiments_store import _grid, _legacy_folder

    points = list(_grid())
    outside = _legacy_folder(tmp_path / "outside", points[:1])
    folder = _legacy_folder(tmp_path / "out", [])
    linked = folder / "points" / f"{points[0].id}.parquet"
    linked.symlink_to(outside / "points" / linked.name)
    with pytest.raises(ValueError, match=f"{linked} is a symbolic link"):
        load(folder)
    assert not (folder / DATABASE).exists()


def test_an_unreachable_scheduler_leaves_a_new_store_free_for_any_experiment(tmp_path):
    backend = DaskBackend(scheduler="tcp://127.0.0.1:1", timeout=1)
    with pytest.raises(ConnectionError, match="within 1 s"):
        _sweep(tmp_path, backend=backend)
    summary = _sweep(tmp_path, experiment="another")
    assert summary.computed == len(GRID)
    with ResultStore(tmp_path, readonly=True) as store:
        assert store.read_manifest()["experiment"] == "another"


def test_converting_an_old_folder_warns_in_one_line(tmp_path, capsys):
    from test_experiments_store import _grid, _legacy_folder

    points = list(_grid())
    folder = _legacy_folder(tmp_path / "old", points[:2])
    (folder / "points" / f"{points[0].id}.parquet").write_bytes(b"")
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        code = experiments_main(["export", str(folder), "--parquet", str(tmp_path / "x")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 0
    assert (
        len(err) == 1 and err[0].startswith("mimkit export: warning: ") and points[0].id in err[0]
    )
