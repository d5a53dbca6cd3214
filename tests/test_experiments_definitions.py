"""The shipped experiments: parameters, --set parsing, CLI errors, small end-to-end runs."""

import numpy as np
import pandas as pd
import pytest

from mimkit.experiments import load
from mimkit.experiments.cli import main
from mimkit.experiments.definitions import EXPERIMENTS, get_experiment
from mimkit.experiments.definitions.stopping_time import recorded_steps
from mimkit.experiments.registry import parse_set

NAMES = [
    "sample-complexity",
    "stopping-time",
    "learning-rate",
    "loss-preprocessing",
    "gd-vs-power",
    "limits",
    "beyond-layerwise",
    "staircase",
]


def test_the_five_experiments_are_registered_with_valid_grids():
    assert list(EXPERIMENTS) == NAMES
    for exp in EXPERIMENTS.values():
        assert 1 <= len(exp.grid()) <= 100  # defaults finish in minutes
        assert len(exp.grid(full=True)) > len(exp.grid())


def test_set_sweeps_fixes_and_types_parameters():
    exp = get_experiment("sample-complexity")
    grid = exp.grid(parse_set(["d=128", "alpha=1,2.5", "link=he2_sum"], exp), seeds=2)
    assert grid.swept == {"alpha": [1.0, 2.5]}
    assert grid.fixed["d"] == 128 and grid.fixed["link"] == "he2_sum"
    assert len(grid) == 4
    # Equal values give equal points whatever their spelling: 1 is the float 1.0 for alpha.
    again = exp.grid(parse_set(["d=128", "alpha=1.0,2.5", "link=he2_sum"], exp), seeds=2)
    assert [p.key for p in grid] == [p.key for p in again]


@pytest.mark.parametrize(
    "item, match",
    [
        ("alpha", "bad --set 'alpha'"),
        ("=3", "bad --set"),
        ("alpha=", "bad --set"),
        ("nope=1", "no parameter 'nope'"),
        ("d=12.5", "'12.5' is not an integer"),
        ("alpha=fast", "'fast' is not a number"),
        ("alpha=1,1", "repeated"),
    ],
)
def test_bad_set_items_are_named(item, match):
    with pytest.raises(ValueError, match=match):
        parse_set([item], get_experiment("sample-complexity"))


def test_cli_rejects_unknown_experiment_and_bad_set(tmp_path, capsys):
    assert main(["sweep", "sample-complexty", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown experiment 'sample-complexty'" in err and "sample-complexity" in err
    assert main(["sweep", "stopping-time", "--set", "T=3", "--out", str(tmp_path)]) == 2
    assert "has no parameter 'T'" in capsys.readouterr().err
    assert main(["plot", str(tmp_path / "missing")]) == 2
    assert "not a sweep output folder" in capsys.readouterr().err


def _sweep(arguments: str, out) -> pd.DataFrame:
    """Run ``mimkit sweep`` with ``arguments`` (ending in ``--out``) into ``out``; its records."""
    assert main([*arguments.split(), str(out)]) == 0
    return load(out)


def test_list_names_every_experiment(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in NAMES)


def test_three_values_three_seeds_at_d256_end_to_end(tmp_path):
    out = tmp_path / "sc"
    df = _sweep(
        "sweep sample-complexity --set d=256 --set alpha=0.5,4,16 --set steps=12 --set "
        "width=16 --set n_test=1024 --set alpha2=4 --seeds 3 --workers 1 --quiet --out",
        out,
    )
    assert len(df) == 9 and df["seed"].nunique() == 9
    means = df.groupby("alpha")[["overlap", "spectral_overlap", "test_error"]].mean()
    # Below the threshold (alpha_c ~ 0.87 for z1*z2 with the Huber loss) nothing is found; far
    # above it the subspace is, and phase 1 matches the spectral method on the same S.
    assert means.loc[0.5, "overlap"] < 0.15
    assert means.loc[16.0, "overlap"] > 0.7
    assert abs(means.loc[16.0, "overlap"] - means.loc[16.0, "spectral_overlap"]) < 0.05
    assert means.loc[16.0, "test_error"] < means.loc[0.5, "test_error"] - 0.3
    assert (out / "sample-complexity.png").stat().st_size > 10_000
    text = (out / "sample-complexity.md").read_text()
    assert "mimkit sweep sample-complexity --set d=256" in text and "| d | alpha |" in text


def test_stopping_time_records_every_step_of_one_trajectory(tmp_path):
    df = _sweep(
        "sweep stopping-time --set d=128 --set alpha=8 --set max_steps=20 --set "
        "width=16 --set n_test=512 --set alpha2=4 --seeds 1 --workers 1 --quiet "
        "--no-plot --out",
        tmp_path,
    )
    assert list(df["T1"]) == recorded_steps(20) == [0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20]
    assert df["point_id"].nunique() == 1 and df["time_phase1_s"].nunique() == 1
    assert df.loc[df["T1"] == 0, "overlap"].item() < 0.1  # random init: no recovery yet
    assert df["overlap"].max() > 0.5


def test_small_init_gd_is_power_iteration_to_rounding(tmp_path):
    df = _sweep(
        "sweep gd-vs-power --set d=128 --set steps=8 --set init_scale=1e-6,3 --set "
        "width=8 --seeds 1 --workers 1 --quiet --no-plot --out",
        tmp_path,
    )
    small, large = df[df["init_scale"] == 1e-6], df[df["init_scale"] == 3.0]
    assert list(small["step"]) == list(range(9))
    assert small["one_minus_cos_max"].max() < 1e-8
    np.testing.assert_allclose(small["alignment_gd"], small["alignment_power"], atol=1e-8)
    # Outside the linear regime the two part ways.
    assert large["one_minus_cos_max"].max() > 1e-3
