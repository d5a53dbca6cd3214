"""``mimkit.theory.learning_stages``: kinds, directions and thresholds of the learning order,
against closed forms, one-dimensional integrals written here, AMP's own threshold and Monte
Carlo (docs/theory.md, "Hierarchies")."""

import numpy as np
import pytest
from scipy import integrate, special

from mimkit.amp import amp_threshold
from mimkit.links import get_link
from mimkit.theory import learning_stages
from mimkit.theory._slice_tables import Cells, slice_table
from mimkit.theory._stage_maps import block_evolution
from mimkit.theory.stages import describe_directions

PI2_4 = np.pi**2 / 4


def spans(directions, expected) -> bool:
    """Whether the rows of ``directions`` span the same subspace as the rows of ``expected``."""
    D = np.asarray(directions)
    E = np.atleast_2d(np.asarray(expected, dtype=float))
    E = np.linalg.qr(E.T)[0].T
    return D.shape[0] == E.shape[0] and np.allclose(D.T @ D, E.T @ E, atol=1e-3)


def test_sign_z1z2_is_one_easy_stage_at_pi_squared_over_4():
    # G(y) = (2/pi) y [[0, 1], [1, 0]]: F(M) = (4/pi^2) J M J, whose top eigenvalue 4/pi^2 has
    # the eigen-matrices I and J: one stage with both directions, alpha_c = pi^2/4.
    res = learning_stages("sign_z1z2")
    (stage,) = res.stages
    assert stage.kind == "easy" and stage.directions.shape == (2, 2)
    assert stage.alpha_c == pytest.approx(PI2_4, rel=1e-4)
    assert stage.alpha_c_known == stage.alpha_c


@pytest.mark.parametrize("link", ["z1z2", "sign_z1z2"])
def test_easy_threshold_is_amp_threshold(link):
    # amp_threshold linearises the channel's g_out by finite differences: an independent route.
    (stage,) = learning_stages(link).stages
    assert stage.kind == "easy" and stage.directions.shape == (2, 2)
    assert stage.alpha_c == pytest.approx(amp_threshold(link).alpha_c, rel=3e-3)


def test_kinds_and_directions_of_the_two_dimensional_and_discrete_links():
    e = np.eye(3)
    assert [s.kind for s in learning_stages("z1_plus_z1z2").stages] == ["trivial"]
    assert learning_stages("z1_plus_z1z2").stages[0].alpha_c == 0.0
    (hard,) = learning_stages("parity3").stages
    assert hard.kind == "hard" and hard.directions.shape == (3, 3)
    assert hard.alpha_c == np.inf and hard.alpha_c_known == np.inf
    trivial, easy = learning_stages("sign_committee").stages
    assert trivial.kind == "trivial" and spans(trivial.directions, np.ones(3))
    assert easy.kind == "easy" and spans(easy.directions, [e[0] - e[1], e[1] - e[2]])
    # Given the trivial direction, a finite threshold; at the trivial block's AMP fixed point
    # (an overlap below 1) the complement is harder than with it known exactly.
    assert 1.0 < easy.alpha_c_known < easy.alpha_c < np.inf


def test_sign_committee_complement_given_the_trivial_direction_matches_monte_carlo():
    # By the link's permutation symmetry G2(y, v) = g I on the complement, so rho = E[g^2] with
    # g = E[|w|^2 | y, v] / 2 - 1: here from 2e6 draws, exact atoms of y and 400 bins of v.
    rng = np.random.default_rng(7)
    z = rng.standard_normal((2_000_000, 3))
    y = np.sign(z).sum(axis=1)
    v = z.sum(axis=1) / np.sqrt(3)
    w2 = (z**2).sum(axis=1) - v**2
    key = np.searchsorted(np.linspace(-5, 5, 401), v) * 4 + ((y + 3) / 2).astype(int)
    count = np.bincount(key)
    seen = count > 0
    g = np.bincount(key, weights=w2)[seen] / count[seen] / 2 - 1
    rho = np.sum(count[seen] * g**2) / z.shape[0]
    easy = learning_stages("sign_committee").stages[1]
    # Monte Carlo's bias (the bins' noise) is ~ cells / draws ~ 1e-3 of rho; its error ~3e-3.
    assert easy.alpha_c_known == pytest.approx(1 / rho, rel=1e-2)


def test_block_evolution_of_a_sign_channel_matches_its_closed_form():
    # y = sign(z1) (1 + [|z2| > 1]): y reveals sign(z1) and whether |z2| > 1, so the learned
    # block z1 sees a sign channel, alpha(q) = q (1 - q) / (E[vhat^2] - q) with
    # E[z1 | y, omega] = omega + sqrt(V) phi(a) / Phi(a) (a = s omega / sqrt(V), s = sign(z1)),
    # and the rest's G = E[z2^2 | |z2| > 1 or not] - 1 is known: rho = E[G^2].
    def link(z):
        return np.sign(z[:, 0]) * (1.0 + (np.abs(z[:, 1]) > 1.0))

    atoms = np.array([-2.0, -1.0, 1.0, 2.0])
    cells = Cells(True, atoms, (atoms[1:] + atoms[:-1]) / 2)
    table = slice_table(get_link(link, 2), 0.0, np.eye(2)[:1], np.eye(2)[1:], cells, 1.0)
    tail = special.erfc(1 / np.sqrt(2))  # P(|z2| > 1)
    second_tail = 1 + 2 * np.exp(-0.5) / np.sqrt(2 * np.pi) / tail  # E[z2^2 | |z2| > 1]
    second_body = (1 - tail * second_tail) / (1 - tail)
    rho = tail * (second_tail - 1) ** 2 + (1 - tail) * (second_body - 1) ** 2
    for q in (0.2, 0.6, 0.9):
        V = 1 - q

        def vhat2(x, q=q, V=V):  # omega = sqrt(q) x, x ~ N(0, 1)
            omega = np.sqrt(q) * x
            total = 0.0
            for s in (1.0, -1.0):
                a = s * omega / np.sqrt(V)
                mean = omega + s * np.sqrt(V) * np.exp(-(a**2) / 2) / np.sqrt(
                    2 * np.pi
                ) / special.ndtr(a)
                total += special.ndtr(a) * mean**2
            return total * np.exp(-(x**2) / 2) / np.sqrt(2 * np.pi)

        e_vhat2 = integrate.quad(vhat2, -12, 12, epsabs=1e-12)[0]
        alpha, rho_q = block_evolution(table, q)
        assert alpha == pytest.approx(q * (1 - q) / (e_vhat2 - q), rel=1e-3)
        assert rho_q == pytest.approx(rho, rel=1e-3)


def test_monte_carlo_agrees_with_quadrature_within_three_standard_errors():
    quad = learning_stages("z1z2").stages[0]
    mc = learning_stages("z1z2", method="monte_carlo", n_samples=200_000, random_state=3)
    (stage,) = mc.stages
    assert mc.method == "monte_carlo" and stage.kind == "easy"
    assert abs(stage.alpha_c - quad.alpha_c) < 3 * stage.stderr + 3e-3 * quad.alpha_c


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"link": "nope"}, "link"),
        ({"link": "z1z2", "noise": -1.0}, "noise"),
        ({"link": "z1z2", "method": "exact"}, "method"),
        ({"link": "z1z2", "n_samples": 10}, "n_samples"),
        ({"link": "z1z2", "r": 3}, "r"),
    ],
)
def test_bad_input_names_the_argument(kwargs, word):
    with pytest.raises(ValueError, match=word):
        learning_stages(**kwargs)


def test_directions_are_described_by_name():
    e = np.eye(3)
    assert describe_directions(e[:1]) == "e1"
    assert describe_directions(e[1:]) == "span(e2, e3)"
    assert describe_directions(e) == "all"
    assert describe_directions(np.ones((1, 3)) / np.sqrt(3)) == "(0.577, 0.577, 0.577)"


@pytest.mark.slow
def test_sq_sign3_is_a_grand_staircase():
    # y = u + s with u = z1^2 ~ chi^2_1 and s = +-1 independent of z1 (sign(z2 z3) is):
    # stage 1 is e1 at 1 / E[(E[u | y] - 1)^2], a one-dimensional integral.
    def chi1(u):
        return np.exp(-u / 2) / np.sqrt(2 * np.pi * u)

    def integrand(y):
        roots = [y - s for s in (1, -1) if y - s > 0]
        p = sum(0.5 * chi1(u) for u in roots)
        mean = sum(0.5 * u * chi1(u) for u in roots) / p
        return p * (mean - 1) ** 2

    rho1 = sum(
        integrate.quad(integrand, a, b, limit=200, epsabs=1e-13)[0]
        for a, b in [(-1, 1), (1, 3), (3, 60)]
    )
    first, second = learning_stages("sq_sign3").stages
    assert first.kind == "easy" and spans(first.directions, [1, 0, 0])
    assert first.alpha_c == pytest.approx(1 / rho1, rel=1e-2)
    # Given z1 and y, sign(z2 z3) is known: G2 = (2/pi) [[0, 1], [1, 0]], rho = 4 / pi^2. The
    # block z1 jumps to perfect recovery (its channel is noiseless up to the sign) at alpha
    # ~1.4 < pi^2/4, so the self-consistent threshold is pi^2/4 too.
    assert second.kind == "easy" and spans(second.directions, [[0, 1, 0], [0, 0, 1]])
    assert second.alpha_c_known == pytest.approx(PI2_4, rel=1e-2)
    assert second.alpha_c == pytest.approx(PI2_4, rel=1e-2)


@pytest.mark.slow
def test_sign_committee_self_consistent_threshold_matches_an_independent_state_evolution():
    # p(y | v) and E[|w|^2 | y, v] on a fine grid of v = (z1 + z2 + z3)/sqrt(3) by Monte Carlo,
    # the trivial block's state evolution alpha(q) = q (1 - q) / (E[vhat^2] - q) and rho(q) =
    # E[g^2] (g = E[|w|^2 | y, omega]/2 - 1; G is isotropic on the complement by symmetry) by a
    # trapezoid rule in v and Gauss-Hermite in xi; alpha_c solves alpha(q) rho(q) = 1.
    from scipy import optimize

    rng = np.random.default_rng(5)
    u = np.ones(3) / np.sqrt(3)
    eps = rng.standard_normal((200_000, 3)) @ (np.eye(3) - np.outer(u, u))
    w2 = (eps**2).sum(axis=1)
    grid = np.linspace(-7, 7, 281)
    prob = np.zeros((grid.size, 4))
    mean_w2 = np.zeros((grid.size, 4))
    for i, v in enumerate(grid):
        cell = ((np.sign(v * u + eps).sum(axis=1) + 3) / 2).astype(int)
        count = np.bincount(cell, minlength=4)
        prob[i] = count / cell.size
        mean_w2[i] = np.bincount(cell, weights=w2, minlength=4) / np.maximum(count, 1)
    density = np.exp(-(grid**2) / 2) / np.sqrt(2 * np.pi) * (grid[1] - grid[0])
    xi, w_xi = np.polynomial.hermite_e.hermegauss(40)
    w_xi = w_xi / w_xi.sum()

    def excess(q):
        vhat2 = g2 = 0.0
        for c in range(4):
            joint = density * prob[:, c]
            omega = (np.sqrt(q) * grid[:, None] + np.sqrt(1 - q) * xi[None, :]).ravel()
            post = np.exp(-((omega[:, None] - np.sqrt(q) * grid) ** 2) / (2 * (1 - q))) * joint
            total = np.maximum(post.sum(axis=1), 1e-300)
            weight = (joint[:, None] * w_xi[None, :]).ravel()
            vhat2 += weight @ (post @ grid / total) ** 2
            g2 += weight @ ((post @ mean_w2[:, c]) / total / 2 - 1) ** 2
        alpha = q * (1 - q) / (vhat2 - q)
        return alpha * g2 - 1, alpha

    q_c = optimize.brentq(lambda q: excess(q)[0], 0.3, 0.95, xtol=1e-6)
    easy = learning_stages("sign_committee").stages[1]
    assert easy.alpha_c == pytest.approx(excess(q_c)[1], rel=1e-2)


def test_monte_carlo_beyond_three_directions_matches_the_closed_form():
    # he2_sum: G(y) = (y / r) I, so rho = E[(y / r)^2] = 2 / r for every symmetric M: one
    # easy stage with all directions at alpha_c = r / 2.
    res = learning_stages("he2_sum", 4, n_samples=100_000, random_state=0)
    (stage,) = res.stages
    assert res.method == "monte_carlo" and stage.kind == "easy" and stage.directions.shape == (4, 4)
    assert abs(stage.alpha_c - 2.0) < 3 * stage.stderr
