"""The results store: atomic point files, manifest, load."""

import json

import pandas as pd
import pytest

from mimkit.experiments.grid import Grid
from mimkit.experiments.store import ResultStore, load


def _grid():
    return Grid({"d": [64, 128], "alpha": [1.0, 2.0]}, fixed={"link": "z1*z2"}, seeds=2)


def test_points_round_trip_through_parquet_in_grid_order(tmp_path):
    store = ResultStore(tmp_path)
    store.begin("toy", _grid(), "cmd")
    points = list(_grid())
    for p in reversed(points):  # completion order is arbitrary
        store.write_point(
            p, [{"err": p.params["alpha"] * p.params["d"], "step": 0}, {"err": -1.0, "step": 5}]
        )
    df = load(tmp_path)
    assert len(df) == 2 * len(points)
    assert store.finished_ids() == {p.id for p in points}
    # Sorted by swept parameters then seed index; the rows of a point keep their order.
    first = df.iloc[:2]
    assert list(first["d"]) == [64, 64] and list(first["alpha"]) == [1.0, 1.0]
    assert list(first["step"]) == [0, 5] and list(first["seed_index"]) == [0, 0]
    assert df["d"].is_monotonic_increasing
    assert set(df.columns) >= {"d", "alpha", "link", "seed", "seed_index", "point_id", "err"}
    assert (df["link"] == "z1*z2").all()


def test_no_temporaries_survive_and_stale_ones_are_removed(tmp_path):
    store = ResultStore(tmp_path)
    store.begin("toy", _grid(), "cmd")
    p = next(iter(_grid()))
    store.write_point(p, [{"err": 1.0}])
    assert [f.name for f in store.points_dir.iterdir()] == [f"{p.id}.parquet"]
    (store.points_dir / ".tmp-killed").write_bytes(b"PAR1 half")
    assert store.finished_ids() == {p.id}
    store.begin("toy", _grid(), "cmd again")
    assert sorted(f.name for f in store.points_dir.iterdir()) == [f"{p.id}.parquet"]


def test_manifest_records_each_run_and_refuses_another_experiment(tmp_path):
    store = ResultStore(tmp_path)
    store.begin("toy", _grid(), "first")
    store.begin("toy", Grid({"d": [32]}), "second")
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["experiment"] == "toy" and manifest["format"] == "mimkit-sweep/1"
    assert [r["command"] for r in manifest["runs"]] == ["first", "second"]
    assert manifest["runs"][1]["grid"]["swept"] == {"d": [32]}
    with pytest.raises(ValueError, match="holds results of experiment 'toy'"):
        store.begin("other", _grid(), "third")


def test_records_may_not_overwrite_parameters(tmp_path):
    store = ResultStore(tmp_path)
    store.begin("toy", _grid(), "cmd")
    p = next(iter(_grid()))
    with pytest.raises(ValueError, match=r"\['alpha'\]"):
        store.write_point(p, [{"alpha": 3.0}])
    with pytest.raises(ValueError, match="no records"):
        store.write_point(p, [])
    assert store.finished_ids() == set()


def test_load_of_a_folder_without_manifest_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        load(tmp_path)
    ResultStore(tmp_path).begin("toy", _grid(), "cmd")
    assert load(tmp_path).empty
    assert isinstance(load(tmp_path), pd.DataFrame)
