"""Lanczos in lock-step (mimkit._lanczos) and its use by the spectral baseline."""

import numpy as np
import pytest
import scipy.linalg

from mimkit import core
from mimkit import spectral as sp
from mimkit._lanczos import lanczos_lockstep
from mimkit.data import MultiIndexModel
from mimkit.metrics import subspace_distance

TOL = 1e-10


def matrix_with_spectrum(values, seed):
    Q = np.linalg.qr(np.random.default_rng(seed).standard_normal((len(values), len(values))))[0]
    return (Q * values) @ Q.T


def spike_beside_long_tail(d=300, seed=0):
    """The signed end that the optimal preprocessing of z1*z2 produces: a spike 0.005 above a
    bulk edge at -0.6, and a tail of a few eigenvalues down to -300 on the other side."""
    rng = np.random.default_rng(seed)
    tail = -np.geomspace(3.0, 300.0, 12)
    bulk = rng.uniform(-2.5, -0.6, d - 13)
    bulk[0] = -0.6
    return matrix_with_spectrum(np.concatenate([[-0.595], bulk, tail]), seed)


def apply_dense(matrices):
    return lambda V, active: np.stack(
        [matrices[j] @ V[:, i].copy() for i, j in enumerate(active)], axis=1
    )


def check_against_eigh(A, result, k, which):
    """The backward error: residuals <= TOL ||A|| (up to the rounding of ~eps ||A|| in A x);
    then by Weyl's and Davis-Kahan's bounds the Ritz values lie within the residual of eigh's
    and the Ritz vectors within residual / gap of its eigenvectors (the sines of the angles
    between the subspaces)."""
    lam, vecs = scipy.linalg.eigh(A)
    norm = np.max(np.abs(lam))
    order = {"largest": np.argsort(-lam), "smallest": np.argsort(lam)}[which]
    lam, vecs = lam[order], vecs[:, order]
    assert result.converged
    residual = np.linalg.norm(A @ result.vectors - result.vectors * result.values, axis=0)
    bound = TOL * norm + 100 * np.finfo(float).eps * norm
    assert np.all(residual <= bound)
    assert np.all(np.abs(result.values - lam[:k]) <= bound)
    gap = np.abs(lam[k - 1] - lam[k])
    sines = np.linalg.norm(vecs[:, k:].T @ result.vectors)  # of the principal angles, in 2-norm
    assert sines <= np.sqrt(k) * bound / gap
    np.testing.assert_allclose(result.vectors.T @ result.vectors, np.eye(k), atol=1e-12)


def test_lanczos_finds_a_tiny_spike_beside_a_long_tail():
    A = spike_beside_long_tail()
    start = np.random.default_rng(1).standard_normal((A.shape[0], 1))
    (result,) = lanczos_lockstep(apply_dense([A]), start, [1], "largest", TOL, 256)
    check_against_eigh(A, result, 1, "largest")
    # the first step whose Ritz pair passes the test, well before the basis fills up
    assert result.n_matvecs < 256


@pytest.mark.parametrize("which", ["largest", "smallest"])
def test_lanczos_in_lockstep_equals_each_operator_alone(which):
    """Operators stepped together (k = 1 and 3, converging at different steps) give exactly
    their results alone, each to eigh's eigenpairs."""
    A = spike_beside_long_tail(seed=2)
    B = matrix_with_spectrum(np.linspace(-1.0, 1.0, 300) ** 3, seed=3)
    starts = np.random.default_rng(4).standard_normal((300, 2))
    together = lanczos_lockstep(apply_dense([A, B]), starts, [1, 3], which, TOL, 300)
    for j, (M, k) in enumerate([(A, 1), (B, 3)]):
        (alone,) = lanczos_lockstep(apply_dense([M]), starts[:, [j]], [k], which, TOL, 300)
        np.testing.assert_array_equal(together[j].values, alone.values)
        np.testing.assert_array_equal(together[j].vectors, alone.vectors)
        assert together[j].n_matvecs == alone.n_matvecs
        check_against_eigh(M, together[j], k, which)
    assert together[0].n_matvecs != together[1].n_matvecs


def test_lanczos_reports_an_unconverged_basis_and_an_invariant_subspace():
    A = spike_beside_long_tail()
    start = np.random.default_rng(1).standard_normal((300, 1))
    (short,) = lanczos_lockstep(apply_dense([A]), start, [1], "largest", TOL, 10)
    assert not short.converged and short.n_matvecs == 10
    # a start in a 2-dim eigenspace: the Krylov space is invariant after 2 steps, which is
    # exact for k = 2 and one pair short for k = 3
    A = np.diag(np.linspace(-1.0, 2.0, 50))
    start = np.zeros((50, 1))
    start[-2:, 0] = [0.5, 1.0]
    (exact,) = lanczos_lockstep(apply_dense([A]), start, [2], "largest", TOL, 50)
    assert exact.converged and exact.n_matvecs == 2
    np.testing.assert_allclose(exact.values, [2.0, np.linspace(-1.0, 2.0, 50)[-2]], rtol=1e-12)
    (short,) = lanczos_lockstep(apply_dense([A]), start, [3], "largest", TOL, 50)
    assert not short.converged and short.n_matvecs == 2 and short.values.shape == (2,)


@pytest.fixture(scope="module")
def z1z2_alpha32():
    model = MultiIndexModel(120, "z1z2", random_state=0)
    X, y = model.sample(32 * 120, random_state=1)
    return model, X, y


def test_optimal_spectral_subspace_steps_its_groups_in_one_pass_each(z1z2_alpha32, monkeypatch):
    """z1*z2, alpha = 32: the two groups' matrices (spike beside a long negative tail) are
    stepped together, one pass over X per step, to the explicit eigenpairs within tolerance."""
    model, X, y = z1z2_alpha32
    passes = []
    matvec = core.local_hessian_matvec
    monkeypatch.setattr(
        core, "local_hessian_matvec", lambda *a, **kw: passes.append(1) or matvec(*a, **kw)
    )
    kw = dict(link=model.link, random_state=0)
    D, vals = sp.spectral_subspace(X, y, 2, "optimal", method="lanczos", **kw)
    together = len(passes)
    D_explicit, vals_explicit = sp.spectral_subspace(X, y, 2, "optimal", method="explicit", **kw)
    # ||S|| ~ 75, gap to the bulk ~ 0.66: Davis-Kahan puts each vector within sin <= 1e-10 *
    # 75 / 0.66 ~ 1e-8 (mean sin^2 ~ 1e-16, below the metric's rounding of ~1e-15); the
    # eigenvalues (~0.02) are within residual^2 / gap plus the rounding of S, ~eps ||S|| sqrt(d).
    np.testing.assert_allclose(vals, vals_explicit, rtol=1e-9)
    assert subspace_distance(D, D_explicit) < 1e-13
    assert subspace_distance(D, model.U) < 0.6  # alpha = 32 is above both groups' thresholds
    # the passes of the slower group alone (same preprocessing, same start)
    rng = np.random.default_rng(0)  # spectral_subspace's: the preprocessing, then the starts
    prep = sp.resolve_preprocessing("optimal", model.link, None, rng)
    alone = []
    for group in prep.groups:
        op = sp.LocalHessian.from_labels(X, y, prep.with_direction(int(group[0])))
        passes.clear()
        sp.top_eigenpairs(op, 1, which="largest", method="lanczos", random_state=rng)
        alone.append(len(passes))
    assert together == max(alone) < sum(alone)


def test_lanczos_whose_basis_fills_up_is_continued_by_arpack(z1z2_alpha32, monkeypatch):
    """A basis too small to converge in (twice a Krylov size of 6: 12 steps) hands its Ritz
    vectors to ARPACK, which converges to the explicit eigenpairs."""
    _, X, y = z1z2_alpha32
    op = sp.LocalHessian.from_labels(X, y, "identity")
    want_vals, want_vecs = sp.top_eigenpairs(op, 2, method="explicit")
    monkeypatch.setattr(sp, "_krylov_size", lambda k, which, d: 6)
    continued = []
    arpack = sp._arpack_eigenpairs
    monkeypatch.setattr(sp, "_arpack_eigenpairs", lambda *a: continued.append(1) or arpack(*a))
    vals, vecs = sp.top_eigenpairs(op, 2, method="lanczos", random_state=0)
    assert continued == [1]
    np.testing.assert_allclose(vals, want_vals, rtol=1e-9)
    assert subspace_distance(vecs.T, want_vecs.T) < 1e-12
