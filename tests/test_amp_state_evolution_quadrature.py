"""AMP state evolution by quadrature: its rule reproduces the joint law of (omega, z) and the
Nishimori identities, it agrees with Monte Carlo within 3 standard errors, the method choice."""

import numpy as np
import pytest

from mimkit.amp import amp_overlap, make_channel, state_evolution
from mimkit.amp.state_evolution import _qhat_map, overlap_rule
from mimkit.links import get_link
from mimkit.theory import QuadratureWarning


def test_rule_reproduces_the_joint_law_and_the_nishimori_identities():
    # omega = sqrt(q) a, z = omega + sqrt(1 - q) b: E[omega^2] = q, E[z^2] = 1, E[z omega] = q;
    # and for the Bayes-optimal channel E[g] = 0 and E[g omega] = 0 (E[z | omega, y] - omega
    # has mean 0 given omega), while alpha E[g^2] is the state evolution's Qhat, > 0. The
    # log-axis rule leaves out a mass below 1e-7 (its range), |g omega| reaches ~100 there.
    q = 0.45
    a, b, _, w = overlap_rule(1, 0.0, 1)  # the level amp_overlap returns
    omega, z = np.sqrt(q) * a[:, 0], np.sqrt(q) * a[:, 0] + np.sqrt(1 - q) * b[:, 0]
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    assert w @ omega**2 == pytest.approx(q, abs=1e-7)
    assert w @ z**2 == pytest.approx(1.0, abs=1e-7)
    assert w @ (z * omega) == pytest.approx(q, abs=1e-7)
    channel = make_channel("norm2", r=1)
    g, _ = channel.g_out(omega[:, None], np.array([[1 - q]]), z**2)
    assert abs(w @ g[:, 0]) < 1e-8
    assert abs(w @ (g[:, 0] * omega)) < 1e-6
    assert w @ g[:, 0] ** 2 > 0.1


def test_rule_levels_agree_on_the_map():
    # The SE map itself at the two levels, across the range where g_out sharpens into a step
    # (V = 1 - q -> 0): the log-axis rule in omega keeps it converged.
    link = get_link("norm2", 1)
    channel = make_channel(link)
    for q in (0.2, 0.9, 0.999):
        coarse, fine = (
            _qhat_map(link, channel, 1.0, *overlap_rule(1, 0.0, level))(np.array([[q]]))[0, 0]
            for level in (0, 1)
        )
        assert fine == pytest.approx(coarse, rel=1e-3)


@pytest.mark.parametrize("name", ["norm2", "he2_sum"])
def test_quadrature_agrees_with_monte_carlo(name):
    # alpha = 1: partial recovery between the weak-recovery threshold 1/2 and AMP's jump near
    # 1.13, where the fixed point is most sensitive. Monte Carlo over 8 seeds: their mean and
    # its standard error; the quadrature lies within 3 of them.
    quad = amp_overlap(name, 1.0, 1, progress=False)
    assert quad.method == "quadrature" and quad.converged
    mc = [
        amp_overlap(name, 1.0, 1, method="monte_carlo", n_samples=4000, random_state=s)
        for s in range(8)
    ]
    assert {m.method for m in mc} == {"monte_carlo"}
    for field in ("subspace_overlap", "test_error"):
        values = np.array([getattr(m, field) for m in mc])
        stderr = values.std(ddof=1) / np.sqrt(len(values))
        assert abs(getattr(quad, field) - values.mean()) < 3 * stderr, (field, values)


def test_phase_retrieval_limits_by_quadrature():
    # Deterministic: below the weak-recovery threshold 1/2 the overlap decays to 0 (to the
    # iteration's tol), above AMP's jump near 1.13 it is 1 up to the variance floor.
    below, above = (amp_overlap("norm2", a, 1, progress=False) for a in (0.4, 1.2))
    assert below.method == above.method == "quadrature"
    assert below.overlaps[0] < 1e-5 and below.test_error == pytest.approx(1.0, abs=1e-9)
    assert above.overlaps[0] > 0.9999 and above.test_error < 1e-4


def test_method_choice():
    assert amp_overlap("z1z2", 3.0, n_samples=500, random_state=0).method == "monte_carlo"
    with pytest.raises(ValueError, match="method='monte_carlo'"):
        amp_overlap("z1z2", 3.0, method="quadrature")
    with pytest.raises(ValueError, match="method"):
        amp_overlap("norm2", 1.0, 1, method="exact")


def test_levels_that_disagree_fall_back_or_warn(monkeypatch):
    # A tolerance no rule meets: "auto" gives Monte Carlo's answer, "quadrature" its own with a
    # QuadratureWarning saying by how much it missed.
    monkeypatch.setattr(state_evolution, "OVERLAP_RTOL", 0.0)
    monkeypatch.setattr(state_evolution, "OVERLAP_ATOL", 1e-300)
    auto = amp_overlap("norm2", 2.0, 1, n_samples=500, random_state=0, progress=False)
    assert auto.method == "monte_carlo"
    with pytest.warns(QuadratureWarning, match="did not reach its stated tolerance"):
        quad = amp_overlap("norm2", 2.0, 1, method="quadrature", progress=False)
    assert quad.method == "quadrature"
