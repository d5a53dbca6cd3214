"""mimkit run --data FILE.csv --target COL (mimkit.data_run): a real data set end to end, and
its bad inputs."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes

from mimkit.cli import main
from mimkit.data_run import read_table


@pytest.fixture(scope="module")
def diabetes_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "diabetes.csv"
    load_diabetes(as_frame=True).frame.to_csv(path, index=False)
    return path


def test_run_data_reports_network_ridge_and_dimensions(diabetes_csv, capsys):
    argv = ["run", "--data", str(diabetes_csv), "--target", "target", "--width", "8"]
    assert main(argv + ["--steps", "5", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["data"]["n"] == 442 and report["data"]["d"] == 10
    assert report["sizes"]["n_train"] + report["sizes"]["n_test"] == 442
    # Ridge explains about half of the variance of diabetes progression on held-out rows.
    assert 0.3 < report["test_error"]["ridge"] < 0.7
    assert np.isfinite(report["test_error"]["network"])
    # dr's SIR finds two directions on the whole data set (tests/data/dr_reference.csv): at
    # least one on 80% of it.
    assert report["sdr"]["SIR"]["dimension"] >= 1
    k = report["network_subspace"]["k"]
    assert np.array(report["network_subspace"]["directions"]).shape == (k, 10)
    assert main(argv + ["--steps", "5"]) == 0
    text = capsys.readouterr().out
    assert "relative test error" in text and "SIR" in text and "direction 1:" in text


def test_read_table_drops_incomplete_rows(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"a": [1.0, 2.0, np.nan], "y": [0.0, 1.0, 2.0]}).to_csv(path, index=False)
    X, y, names, dropped = read_table(str(path), "y")
    assert X.shape == (2, 1) and names == ["a"] and dropped == 1


@pytest.mark.parametrize(
    "frame, argv, match",
    [
        ({"a": [1.0], "y": [0.0]}, ["--target", "z"], "--target 'z' is not a column"),
        ({"a": ["u"], "y": [0.0]}, ["--target", "y"], "non-numeric columns a; encode or drop"),
        ({"y": [0.0]}, ["--target", "y"], "no feature column besides the target"),
        ({"a": [1.0, 2.0], "y": [0.0, 1.0]}, ["--target", "y"], "2 complete rows for 1"),
        ({"a": [1.0], "y": [0.0]}, [], "--data and --target go together"),
    ],
)
def test_run_data_errors(tmp_path, capsys, frame, argv, match):
    path = tmp_path / "t.csv"
    pd.DataFrame(frame).to_csv(path, index=False)
    assert main(["run", "--data", str(path)] + argv) == 2
    assert match in capsys.readouterr().err
