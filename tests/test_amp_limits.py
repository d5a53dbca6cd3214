"""The 'limits' experiment: its cases, the crossing interpolation, one tiny point end to end."""

import math

import numpy as np
import pytest

from mimkit.experiments.definitions import get_experiment
from mimkit.experiments.definitions.limits import LINK_CASES, first_alpha, point, resolve


def test_cases_resolve_to_links_with_their_r():
    assert {name: resolve(name).r for name in LINK_CASES} == {
        "z1z2": 2,
        "he2_sum_r2": 2,
        "sign_z1z2": 2,
        "phase_retrieval": 1,
    }
    assert resolve("phase_retrieval").name == "norm2"
    with pytest.raises(ValueError, match="unknown case 'nope'"):
        resolve("nope")
    exp = get_experiment("limits")
    assert set(exp.grid().swept["case"]) == set(LINK_CASES)


def test_first_alpha_interpolates_in_log_alpha():
    alphas = np.array([1.0, 2.0, 4.0, 8.0])
    overlaps = np.array([0.0, 0.3, 0.7, 0.95])
    # 0.5 lies halfway between 0.3 (alpha 2) and 0.7 (alpha 4): the geometric mean.
    assert first_alpha(alphas, overlaps, 0.5) == pytest.approx(2.0 * math.sqrt(2.0))
    assert first_alpha(alphas, overlaps, 0.0) == 1.0
    assert first_alpha(alphas, overlaps, 0.99) == math.inf
    # The first crossing counts, not a later dip and rise.
    assert first_alpha(alphas, np.array([0.0, 0.6, 0.4, 0.9]), 0.5) < 2.0


@pytest.mark.slow
def test_one_point_every_method():
    params = {**get_experiment("limits").fixed, "d": 150, "alpha2": 4.0, "n_test": 1000}
    rec = point({**params, "case": "phase_retrieval", "alpha": 3.0, "amp_iter": 60}, 0)
    for method in ("network", "network_best", "spectral", "amp"):
        assert 0.0 <= rec[f"{method}_overlap"] <= 1.0 + 1e-12
        assert rec[f"{method}_test_error"] >= 0.0
    # alpha = 3 > 1.13: AMP recovers the direction, the spectral method only partly.
    assert rec["amp_overlap"] > 0.99 > rec["spectral_overlap"]


def test_amp_curve_skips_r3():
    from mimkit.experiments.definitions._amp_curve import amp_curve

    assert amp_curve("z1z2z3", 0.0, (1.0, 2.0)) is None


@pytest.mark.slow
def test_amp_curve_draws_r2():
    import pandas as pd
    from matplotlib.figure import Figure

    from mimkit.experiments.definitions._amp_curve import LABEL, draw_amp

    fig = Figure()
    ax1, ax2 = fig.subplots(1, 2)
    df = pd.DataFrame({"link": ["norm2"] * 2, "noise": [0.0, 0.0], "alpha": [4.0, 8.0]})
    draw_amp(ax1, ax2, df)
    (line,) = ax1.get_lines()
    assert line.get_label() == LABEL
    # norm2 (r = 2) at alpha >= 4 is far above AMP's perfect-recovery point: overlap 1.
    assert np.all(line.get_ydata() > 0.99) and np.all(ax2.get_lines()[0].get_ydata() < 0.01)
