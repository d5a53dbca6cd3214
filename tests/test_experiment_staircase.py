"""The staircase experiment: its stage subspaces and overlap, one toy sweep through the CLI
against the theory of the staged methods, and (slow) its plot and table."""

import numpy as np
import pytest

from mimkit.experiments import load
from mimkit.experiments.cli import main
from mimkit.experiments.definitions import get_experiment
from mimkit.experiments.definitions.staircase import (
    FIRST_STAGE,
    predicted,
    stage_bases,
    stage_overlap,
    stage_thresholds,
    table,
)

# d = 64 at alpha = n/d = 64: the networks' stages see n1 = 32 d, the spectral method n = 64 d.
_TOY = (
    "sweep staircase --set d=64 --set alpha=64 --set link=sq_sign3 --set width=16 "
    "--set n_test=512 --seeds 1 --workers 1 --threads 1 --quiet"
)


@pytest.mark.parametrize("name", list(FIRST_STAGE))
def test_stage_bases_split_the_link_coordinates(name):
    first, rest = stage_bases(name)
    both = np.vstack([first, rest])
    np.testing.assert_allclose(both @ both.T, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(first, FIRST_STAGE[name])


def test_stage_overlap_is_the_mean_squared_cosine():
    S = np.eye(5)[1:3]  # span(e2, e3)
    D = np.array([[0.0, 1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0, 0.0]])
    # e2 inside; e3 at cos^2 = 1/2 with the second row
    assert stage_overlap(D, S) == pytest.approx(0.75)
    assert stage_overlap(np.zeros((0, 5)), S) == 0.0


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    out = tmp_path_factory.mktemp("staircase")
    assert main([*_TOY.split(), "--no-plot", "--out", str(out)]) == 0
    return out


def test_toy_sweep_sees_the_staircase_only_with_stages(toy):
    df = load(toy).set_index("method")
    assert sorted(df.index) == ["network", "spectral", "staged"]
    assert (df["n"] == 64 * 64).all()
    # The paper's network sees z1 and never z2, z3: its stage-2 overlap is that of random
    # directions, ~ (r - 1) / d = 0.03 at d = 64.
    assert df.loc["network", "stage1_overlap"] > 0.8
    assert df.loc["network", "stage2_overlap"] < 0.15
    # Predicted at d -> inf (mimkit.theory.staged): staged network e1 0.94, span(e2, e3) 0.85;
    # sequential spectral 0.96, 0.94. At d = 64 an outlier's squared overlap fluctuates by
    # O(d^-1/2) ~ 0.12, so one run sits within 0.3 of the prediction.
    for method, (e1, rest) in {"staged": (0.94, 0.85), "spectral": (0.96, 0.94)}.items():
        assert abs(df.loc[method, "stage1_overlap"] - e1) < 0.3
        assert abs(df.loc[method, "stage2_overlap"] - rest) < 0.3
        assert df.loc[method, "n_stages"] == 2
    assert df.loc["staged", "test_error"] < df.loc["network", "test_error"]
    assert np.isnan(df.loc["spectral", "test_error"])


def test_gamp_on_data_learns_both_stages_of_sq_sign3_at_alpha_8(tmp_path):
    # State evolution at alpha = 8 (mimkit.theory.amp_overlap, 5000 draws): e1 1.000,
    # span(e2, e3) 0.954. d = 64: a squared overlap fluctuates by O(d^-1/2) ~ 0.12.
    toy = (
        "sweep staircase --set d=64 --set alpha=8 --set link=sq_sign3 --set method=gamp "
        "--set n_test=64 --seeds 1 --workers 1 --threads 1 --quiet --no-plot --out"
    )
    assert main([*toy.split(), str(tmp_path)]) == 0
    row = load(tmp_path).iloc[0]
    assert row["stage1_overlap"] > 0.95
    assert abs(row["stage2_overlap"] - 0.954) < 0.15
    assert np.isnan(row["test_error"]) and row["n_directions"] == 3


def test_grids_sweep_both_links_and_the_full_one_every_method():
    exp = get_experiment("staircase")
    assert exp.grid().swept["link"] == ["sq_sign3", "sign_committee"]
    assert exp.grid(full=True).swept["method"] == ["network", "staged", "spectral", "gamp"]
    assert exp.grid(full=True).fixed["d"] == 512


@pytest.mark.slow
def test_plot_and_table_carry_the_predictions(toy):
    df = load(toy)
    tab = table(df).set_index("method")
    settings = ("huber", "huber", 1.0, 0.0)  # spectral T, network loss, Huber delta, noise
    lines = predicted("sq_sign3", settings, (16.0, 64.0))
    for method in ("staged", "spectral"):
        assert tab.loc[method, "predicted_stage2"] == pytest.approx(
            lines[f"{method}_stage2"].iloc[-1], abs=0.03
        )
    assert np.isnan(tab.loc["network", "predicted_stage2"])
    th = stage_thresholds("sq_sign3", settings)
    assert th["gamp"][1] == pytest.approx(np.pi**2 / 4)
    assert 0 < th["spectral"][0] < 64 and 0 < th["staged"][0] < 64
    # Given z1, the Huber kernel of the sign residual is T = +-1: the sign(z2 z3) problem
    # with T = y, threshold 2.9331 (tests/test_theory_staged.py). The Monte Carlo fit of the
    # quadratic in h moves sup t by a few 1e-2 at the extreme h (5e4 draws here), and the
    # threshold by up to ~3% (seeds 0, 1: 2.889, 2.917).
    assert th["spectral"][1] == pytest.approx(2.9331, rel=0.04)
    assert main(["plot", str(toy)]) == 0
    assert (toy / "staircase.png").stat().st_size > 10_000
