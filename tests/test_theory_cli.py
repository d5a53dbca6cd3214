"""``mimkit theory``: the compare_losses table from the command line."""

import json

import numpy as np
import pytest

from mimkit.cli import main


def test_theory_command_prints_every_loss_and_the_optimum(capsys):
    assert main(["theory", "z1z2", "--alpha", "4", "--samples", "20000", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    methods = [row["method"] for row in out["rows"]]
    assert methods[:2] == ["squared", "absolute"] and methods[-1] == "optimal (spectral)"
    by_method = {row["method"]: row for row in out["rows"]}
    # Unbounded T(y) = y - c: no threshold (JSON null) and no recovery at any alpha.
    assert by_method["squared"]["alpha_c"] is None and by_method["squared"]["overlap@4"] == 0
    # The optimal spectral method is the reference: no loss beats its threshold or overlap.
    best = by_method["optimal (spectral)"]
    for row in out["rows"][:-1]:
        assert row["alpha_c"] is None or row["alpha_c"] > best["alpha_c"]
        assert row["overlap@4"] < best["overlap@4"]


def test_theory_table_is_the_data_frame_as_text():
    from mimkit.theory import compare_losses
    from mimkit.theory_cli import format_rows

    rows = compare_losses("z1z2", alpha=4, as_frame=False)
    frame = compare_losses("z1z2", alpha=4)
    assert rows == frame.to_dict(orient="records")
    text = format_rows(rows).splitlines()
    assert text[0].split() == list(frame.columns)
    squared = text[1].split()
    assert squared[:2] == ["squared", "inf"] and squared[-1] == "0"
    assert format_rows([{"a": float("nan"), "b": None, "c": 0.123456, "d": "x"}]).splitlines() == [
        "a  b      c  d",
        "-  -  0.123  x",
    ]


def test_theory_command_rejects_bad_input(capsys):
    assert main(["theory", "z1z2", "--alpha", "-1", "--samples", "20000"]) == 2
    assert "alpha" in capsys.readouterr().err


@pytest.mark.slow
def test_run_reports_the_prediction_beside_the_measurement(capsys):
    args = "run --d 256 --alpha 16 --n-test 1000 --width 32 --steps 40 --json".split()
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    rows = [report["network"], *report["spectral"]]
    for row in rows:
        # At alpha = 16 (18 alpha_c) the finite-d distance fluctuates by ~0.01 around the limit.
        assert abs(row["theory_distance"] - row["subspace_distance"]) < 0.05, row


def test_theory_command_prints_the_learning_order(capsys):
    assert main(["theory", "sign_z1z2", "--alpha", "4", "--no-cache"]) == 0
    out = capsys.readouterr().out
    table = out[out.index("learning order") :].splitlines()
    # One easy stage with both directions at pi^2/4 (docs/theory.md, "Hierarchies").
    assert table[2].split() == ["1", "easy", "all", "2.467", "2.467"]
    assert main(["theory", "parity3", "--alpha", "4", "--json", "--no-cache"]) == 0
    (stage,) = json.loads(capsys.readouterr().out)["learning_stages"]
    assert stage["kind"] == "hard" and stage["alpha_c"] is None
    assert np.allclose(np.array(stage["vectors"]) @ np.array(stage["vectors"]).T, np.eye(3))


def test_run_report_says_which_stage_the_one_stage_network_reaches():
    from mimkit.run_report import reach_line

    one = [{"stage": 1, "kind": "easy", "directions": "all", "alpha_c": 0.593}]
    assert reach_line(one).endswith("the one-stage network reaches all of it)")
    staircase = [
        {"stage": 1, "kind": "easy", "directions": "e1", "alpha_c": 0.575},
        {"stage": 2, "kind": "easy", "directions": "span(e2, e3)", "alpha_c": 2.47},
    ]
    line = reach_line(staircase)
    assert "reaches stage 1 (e1)" in line and "stages='auto'" in line
    trivial = [{"stage": 1, "kind": "trivial", "directions": "all", "alpha_c": 0.0}]
    assert "first-order" in reach_line(trivial)
    hard = [{"stage": 1, "kind": "hard", "directions": "all", "alpha_c": None}]
    assert "(alpha_c inf)" in reach_line(hard) and "nothing is learnable" in reach_line(hard)
