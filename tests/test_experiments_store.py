"""The results store: one transaction per point, runs, claims, damage, old folders, load."""

import json
import os
import sqlite3
import threading

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mimkit.experiments import store as store_module
from mimkit.experiments.grid import Grid
from mimkit.experiments.store import DATABASE, ResultStore, load


def _grid():
    return Grid({"d": [64, 128], "alpha": [1.0, 2.0]}, fixed={"link": "z1*z2"}, seeds=2)


def _filled(folder, threads=None):
    with ResultStore(folder, create=True) as store:
        run = store.begin("toy", _grid(), "cmd", backend="local", workers=2, threads=threads)
        for p in _grid():
            store.write_point(p, [{"err": p.params["d"] * 0.5}], run_id=run, threads=threads)
    return folder


def test_points_round_trip_in_grid_order(tmp_path):
    points = list(_grid())
    with ResultStore(tmp_path, create=True) as store:
        store.begin("toy", _grid(), "cmd")
        for p in reversed(points):  # completion order is arbitrary
            store.write_point(
                p, [{"err": p.params["alpha"] * p.params["d"], "step": 0}, {"err": -1.0, "step": 5}]
            )
        assert store.finished_ids() == {p.id for p in points}
        # A second copy of a finished point (a claim taken over too early) is not stored.
        assert not store.write_point(points[0], [{"err": 9.0, "step": 0}])
    df = load(tmp_path)
    assert len(df) == 2 * len(points)
    # Sorted by swept parameters then seed index; the rows of a point keep their order.
    first = df.iloc[:2]
    assert list(first["d"]) == [64, 64] and list(first["alpha"]) == [1.0, 1.0]
    assert list(first["step"]) == [0, 5] and list(first["seed_index"]) == [0, 0]
    assert df["d"].is_monotonic_increasing
    assert set(df.columns) >= {"d", "alpha", "link", "seed", "seed_index", "point_id", "err"}
    assert (df["link"] == "z1*z2").all() and 9.0 not in set(df["err"])
    assert df["err"].dtype == float and df["d"].dtype == "int64"


def test_runs_record_the_settings_that_may_change_results(tmp_path):
    # Thread counts change results in the last digits: each run records its workers and
    # threads, and each row the thread cap its point ran under.
    _filled(tmp_path, threads=3)
    with ResultStore(tmp_path) as store:
        store.begin("toy", Grid({"d": [32]}), "second", backend="dask", workers=None, threads=1)
        manifest = store.read_manifest()
        with pytest.raises(ValueError, match="holds results of experiment 'toy'"):
            store.begin("other", _grid(), "third")
    assert manifest["experiment"] == "toy" and manifest["format"] == "mimkit-sweep/2"
    assert [r["command"] for r in manifest["runs"]] == ["cmd", "second"]
    assert [(r["workers"], r["threads"]) for r in manifest["runs"]] == [(2, 3), (None, 1)]
    assert manifest["runs"][1]["grid"]["swept"] == {"d": [32]}
    assert set(load(tmp_path)["threads"]) == {3}


def test_records_may_not_overwrite_parameters_or_hold_arrays(tmp_path):
    p = next(iter(_grid()))
    with ResultStore(tmp_path, create=True) as store:
        store.begin("toy", _grid(), "cmd")
        with pytest.raises(ValueError, match=r"\['alpha'\]"):
            store.write_point(p, [{"alpha": 3.0}])
        with pytest.raises(ValueError, match="no records"):
            store.write_point(p, [])
        with pytest.raises(ValueError, match="not a scalar"):
            store.write_point(p, [{"err": [1.0, 2.0]}])
        assert store.finished_ids() == set()


@pytest.mark.parametrize("damage", ["truncate", "zero", "garble"])
def test_a_damaged_database_is_an_error_naming_it(tmp_path, damage):
    db = _filled(tmp_path) / DATABASE
    size = db.stat().st_size
    if damage == "truncate":
        os.truncate(db, 100)
    elif damage == "zero":
        db.write_bytes(bytes(size))
    else:  # cell offsets of page 3 out of range: integrity_check reports one line per cell
        data = bytearray(db.read_bytes())
        data[8192 + 8 : 8192 + 40] = b"\xff" * 32
        db.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=f"{db}.*damaged.*move it away") as info:
        load(tmp_path)
    assert "\n" not in str(info.value)


def test_claims_share_the_grid_and_expire_with_their_owner(tmp_path):
    a, b = (ResultStore(tmp_path, create=(i == 0)) for i in range(2))
    a.begin("toy", _grid(), "a")
    p, q = list(_grid())[:2]
    owner_a, owner_b = a.register_owner(), b.register_owner()
    assert a.try_claim(p.id, owner_a) == "claimed"
    assert b.try_claim(p.id, owner_b) == "busy"
    assert b.try_claim(q.id, owner_b) == "claimed"
    a.write_point(p, [{"err": 1.0}])
    assert b.try_claim(p.id, owner_b) == "done"
    assert a.status([p.id, q.id]) == {p.id: "done", q.id: "busy"}
    # b dies without releasing (its process is gone): its claim is free again.
    with sqlite3.connect(tmp_path / DATABASE) as conn:
        conn.execute("UPDATE owners SET pid = ? WHERE owner = ?", (2**22 + 1, owner_b))
    assert a.status([q.id]) == {q.id: "free"}
    assert a.try_claim(q.id, owner_a) == "claimed"
    a.release_owner(owner_a)
    assert b.status([q.id]) == {q.id: "free"}
    a.close()
    b.close()


def test_folders_that_are_not_stores_are_refused_untouched(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        load(tmp_path)
    assert not list(tmp_path.iterdir())  # a reader creates nothing
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty and holds no sweep results"):
        ResultStore(tmp_path, create=True)
    assert [f.name for f in tmp_path.iterdir()] == ["notes.txt"]
    with pytest.raises(ValueError, match="is a file, not a folder"):
        ResultStore(tmp_path / "notes.txt", create=True)
    with pytest.raises(ValueError, match="cannot create the folder"):
        ResultStore(tmp_path / "notes.txt" / "out", create=True)


def test_a_linked_database_is_refused(tmp_path):
    elsewhere = _filled(tmp_path / "elsewhere") / DATABASE
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / DATABASE).symlink_to(elsewhere)
    with pytest.raises(ValueError, match="symbolic link"):
        ResultStore(tmp_path / "out", create=True)


def test_database_mode_follows_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        _filled(tmp_path)
    finally:
        os.umask(old)
    assert (tmp_path / DATABASE).stat().st_mode & 0o777 == 0o640
    assert sorted(f.name for f in tmp_path.iterdir()) == [DATABASE]


def _legacy_folder(folder, points, manifest=None):
    """A folder as mimkit's first file store wrote it (manifest.json + points/*.parquet)."""
    (folder / "points").mkdir(parents=True)
    grid = _grid()
    default = {"format": "mimkit-sweep/1", "experiment": "toy", "mimkit_version": "0.1.0"}
    default["runs"] = [{"started_utc": "t", "command": "old", "grid": grid.to_dict()}]
    (folder / "manifest.json").write_text(json.dumps(manifest or default))
    for p in points:
        row = {**p.params, "seed_index": p.seed_index, "seed": p.seed, "point_id": p.id}
        table = pa.Table.from_pandas(pd.DataFrame([{**row, "err": 1.5}]), preserve_index=False)
        table = table.replace_schema_metadata({b"mimkit.point_key": p.key.encode()})
        pq.write_table(table, folder / "points" / f"{p.id}.parquet")
    return folder


def test_an_old_folder_is_converted_without_its_damaged_points(tmp_path):
    points = list(_grid())
    _legacy_folder(tmp_path, points[:3])
    os.truncate(tmp_path / "points" / f"{points[0].id}.parquet", 100)
    (tmp_path / "points" / f"{points[1].id}.parquet").write_bytes(b"")
    with pytest.warns(UserWarning, match=f"2 unreadable point file.*{points[0].id}"):
        df = load(tmp_path)
    # Only the complete file is a finished point; the others will be computed again.
    assert list(df["point_id"]) == [points[2].id] and list(df["err"]) == [1.5]
    with ResultStore(tmp_path) as store:
        assert store.read_manifest()["runs"][0]["command"] == "old"
        assert store.finished_ids() == {points[2].id}
    assert (tmp_path / "manifest.json").exists()  # the old files are left as they were


def test_an_old_manifest_of_the_wrong_shape_is_one_line(tmp_path):
    _legacy_folder(tmp_path, [], manifest={"experiment": "toy", "runs": [{"grid": 3}]})
    with pytest.raises(ValueError, match="manifest.json does not describe a sweep") as info:
        load(tmp_path)
    assert "\n" not in str(info.value) and not (tmp_path / DATABASE).exists()


def test_an_old_folder_with_linked_points_is_refused(tmp_path):
    outside = _legacy_folder(tmp_path / "outside", list(_grid())[:1])
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "manifest.json").write_text((outside / "manifest.json").read_text())
    (tmp_path / "out" / "points").symlink_to(outside / "points")
    with pytest.raises(ValueError, match="symbolic link"):
        load(tmp_path / "out")


def test_a_database_locked_by_another_process_is_waited_for_not_called_damaged(
    tmp_path, monkeypatch
):
    # Another sweep that is creating the database holds an exclusive lock while we open it.
    holder = sqlite3.connect(tmp_path / DATABASE, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("CREATE TABLE other_sweep_busy(x)")
    release = threading.Timer(0.3, lambda: holder.execute("COMMIT"))
    release.start()
    with ResultStore(tmp_path, create=True):
        pass
    release.join()
    holder.close()
    # SQLite may also report a lock at once instead of waiting (a read snapshot that must
    # become a write): opening retries until its deadline, then names the lock.
    real_open, calls = store_module.ResultStore._open, []

    def busy_twice(self):
        calls.append(1)
        if len(calls) <= 2:
            raise store_module._Busy
        return real_open(self)

    monkeypatch.setattr(store_module.ResultStore, "_open", busy_twice)
    with ResultStore(tmp_path):
        assert len(calls) == 3

    def always_busy(self):
        raise store_module._Busy

    monkeypatch.setattr(store_module.ResultStore, "_open", always_busy)
    monkeypatch.setattr(store_module, "_BUSY_TIMEOUT_S", 0.2)
    with pytest.raises(ValueError, match="stayed locked by another process"):
        ResultStore(tmp_path)
