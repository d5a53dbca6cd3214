"""Local-Hessian operator, power iteration, top-k eigensolvers and the spectral baseline."""

import numpy as np
import pytest
import scipy.sparse.linalg as sla

from mimkit import spectral as sp
from mimkit.metrics import subspace_distance


@pytest.fixture(scope="module")
def z1z2_data():
    rng = np.random.default_rng(0)
    n, d = 2000, 150
    U = np.linalg.qr(rng.standard_normal((d, 2)))[0].T
    X = rng.standard_normal((n, d))
    z = X @ U.T
    return X, z[:, 0] * z[:, 1], U


def test_centering_conventions(z1z2_data):
    X, y, _ = z1z2_data
    n, d = X.shape
    base = X.T @ (y[:, None] * X) / n
    np.testing.assert_allclose(
        sp.LocalHessian.from_labels(X, y, center="none").explicit(), base, atol=1e-10
    )
    ident = sp.LocalHessian.from_labels(X, y, center="identity").explicit()
    np.testing.assert_allclose(ident, base - y.mean() * np.eye(d), atol=1e-10)
    mean = sp.LocalHessian.from_labels(X, y, center="mean").explicit()
    np.testing.assert_allclose(mean, X.T @ ((y - y.mean())[:, None] * X) / n, atol=1e-10)
    op = sp.LocalHessian.from_labels(X, y, center="identity")
    V = np.random.default_rng(1).standard_normal((d, 3))
    np.testing.assert_allclose(op.matvec(V), ident @ V, atol=1e-10)
    with pytest.raises(ValueError, match="center"):
        sp.label_weights(y, "identity", center="median")
    with pytest.raises(ValueError, match="link"):
        sp.LocalHessian.from_labels(X, y, "optimal")


@pytest.mark.parametrize("which,arpack", [("abs", "LM"), ("largest", "LA"), ("smallest", "SA")])
@pytest.mark.parametrize("method", ["explicit", "lanczos"])
def test_top_eigenpairs_match_eigsh(z1z2_data, which, arpack, method):
    X, y, _ = z1z2_data
    op = sp.LocalHessian.from_labels(X, y, "identity")
    vals, vecs = sp.top_eigenpairs(op, 3, which=which, method=method, random_state=0)
    ref_vals, ref_vecs = sla.eigsh(op.explicit(), k=3, which=arpack, tol=1e-12)
    key = {"abs": lambda v: -np.abs(v), "largest": lambda v: -v, "smallest": lambda v: v}[which]
    order = np.argsort(key(ref_vals))
    np.testing.assert_allclose(vals, ref_vals[order], rtol=1e-8, atol=1e-10)
    assert subspace_distance(vecs.T, ref_vecs.T) < 1e-10
    np.testing.assert_allclose(vecs.T @ vecs, np.eye(3), atol=1e-10)


def test_power_iteration_converges_and_records(z1z2_data):
    X, y, U = z1z2_data
    op = sp.LocalHessian.from_labels(X, y, "identity")
    V0 = np.random.default_rng(2).standard_normal((X.shape[1], 2))
    res = sp.power_iteration(op, V0, 120, record_steps=[0, 120], record_basis=U.T)
    vals, vecs = sp.top_eigenpairs(op, 2, which="abs")
    assert subspace_distance(res.V.T, vecs.T) < 1e-6
    np.testing.assert_allclose(np.sort(res.rayleigh), np.sort(vals), rtol=1e-6)
    assert res.recorded.shape == (2, 2, 2)
    np.testing.assert_allclose(res.recorded[-1], U @ res.V, atol=1e-12)
    # Independent columns (neurons) all collapse onto the leading eigenvector.
    solo = sp.power_iteration(op, V0, 120, orthogonalize=False)
    assert np.all(np.abs(vecs[:, 0] @ solo.V) > 1 - 1e-6)


def test_power_iteration_is_the_linearised_network_step(z1z2_data):
    X, y, _ = z1z2_data
    op = sp.LocalHessian.from_labels(X, y, "identity")
    rng = np.random.default_rng(3)
    V0 = rng.standard_normal((X.shape[1], 4))
    lr, wd, a = 0.5, 0.4, np.array([1.0, -1.0, 0.5, -0.5])
    res = sp.power_iteration(
        op, V0, 5, orthogonalize=False, identity_weight=1 - lr * wd, scale=-lr * a
    )
    W = V0.copy()
    S = op.explicit()
    for _ in range(5):
        W = (1 - lr * wd) * W - lr * (S @ W) * a
    np.testing.assert_allclose(res.V, W / np.linalg.norm(W, axis=0), atol=1e-10)
    np.testing.assert_allclose(
        res.log_growth, np.log(np.linalg.norm(W, axis=0) / np.linalg.norm(V0, axis=0)), rtol=1e-10
    )


def test_spectral_subspace_recovers_z1z2(z1z2_data):
    X, y, U = z1z2_data
    for prep in ("optimal", "sign", "identity"):
        D, vals = sp.spectral_subspace(X, y, 2, prep, link="z1z2", random_state=0)
        assert D.shape == (2, X.shape[1]) and vals.shape == (2,)
        # alpha = 13 is far above every threshold of these preprocessings.
        assert subspace_distance(D, U) < 0.25, prep
    with pytest.raises(ValueError, match="which"):
        sp.spectral_subspace(X, y, 2, "sign", which="top")


@pytest.fixture(scope="module")
def outlier_operator():
    """d = 400, n = 12000, z1 * z2: two outliers far from the bulk (alpha = 30), where Lanczos
    converges in fewer matvecs than forming S costs (_lanczos_budget: 28)."""
    rng = np.random.default_rng(3)
    n, d = 12_000, 400
    U = np.linalg.qr(rng.standard_normal((d, 2)))[0].T
    X = rng.standard_normal((n, d))
    z = X @ U.T
    return sp.LocalHessian.from_labels(X, z[:, 0] * z[:, 1], "identity")


def test_auto_finds_well_separated_outliers_by_lanczos_without_forming_s(
    outlier_operator, monkeypatch
):
    want_vals, want_vecs = sp.top_eigenpairs(outlier_operator, 2, method="explicit")

    def refuse(self):
        raise AssertionError("auto formed S although Lanczos converged within its budget")

    monkeypatch.setattr(sp.LocalHessian, "explicit", refuse)
    vals, vecs = sp.top_eigenpairs(outlier_operator, 2, method="auto", random_state=0)
    np.testing.assert_allclose(vals, want_vals, rtol=1e-8)
    assert subspace_distance(vecs.T, want_vecs.T) < 1e-12


def test_auto_falls_back_to_explicit_when_lanczos_spends_its_budget(outlier_operator, monkeypatch):
    # tol = 0 (machine precision) cannot be reached in the first restart's 20 matvecs.
    monkeypatch.setattr(sp, "_lanczos_budget", lambda n, d: 20)
    calls = []
    matvec = sp.LocalHessian.matvec
    monkeypatch.setattr(
        sp.LocalHessian, "matvec", lambda self, v: calls.append(1) or matvec(self, v)
    )
    vals, vecs = sp.top_eigenpairs(outlier_operator, 2, method="auto", tol=0.0, random_state=0)
    want_vals, want_vecs = sp.top_eigenpairs(outlier_operator, 2, method="explicit")
    assert len(calls) == 20  # the budget, then the explicit path
    np.testing.assert_array_equal(vals, want_vals)
    np.testing.assert_array_equal(vecs, want_vecs)


def test_auto_goes_straight_to_explicit_when_s_is_cheaper_than_one_lanczos_restart(z1z2_data):
    X, y, _ = z1z2_data  # d = 150, n = 2000: S costs ~10 matvecs, a restart 20
    op = sp.LocalHessian.from_labels(X, y, "identity")
    vals, vecs = sp.top_eigenpairs(op, 2, method="auto", random_state=0)
    want_vals, want_vecs = sp.top_eigenpairs(op, 2, method="explicit")
    np.testing.assert_array_equal(vals, want_vals)
    np.testing.assert_array_equal(vecs, want_vecs)


@pytest.mark.parametrize("method", ["explicit", "lanczos"])
def test_spectral_subspace_of_a_stream_equals_that_of_its_rows(method):
    """The local-Hessian operator reads a StreamedData like the same rows in memory: the same
    matvecs (bitwise, see test_stream) and so the same top eigenspace; the explicit S of a
    stream is S I in one pass."""
    from mimkit.data import MultiIndexModel

    model = MultiIndexModel(40, "z1z2", random_state=0)
    S = model.stream(4000, dtype=np.float64, random_state=1)
    kw = dict(preprocessing="sign", method=method, random_state=0)
    U_stream, vals_stream = sp.spectral_subspace(S, None, 2, **kw)
    U_rows, vals_rows = sp.spectral_subspace(S.rows(), S.labels, 2, **kw)
    np.testing.assert_allclose(vals_stream, vals_rows, rtol=1e-10)
    assert subspace_distance(U_stream, U_rows) < 1e-12
