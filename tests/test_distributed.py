"""Phase 1 on a Dask cluster (mimkit.distributed) against the core on the same stream."""

import json
import sys

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from mimkit import core  # noqa: E402
from mimkit.data import MultiIndexModel  # noqa: E402
from mimkit.distributed import phase1_run_dask, split_rows  # noqa: E402
from mimkit.network import symmetric_init  # noqa: E402
from mimkit.stream import StreamedData  # noqa: E402

M, D, N = 8, 200, 6000


@pytest.fixture(scope="module")
def client():
    # The scheduler always serves HTTP; ':0' picks a free port (8787 may be taken).
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


class RecordingClient:
    """A Client that records what goes over the network (scatter, submit) and what is
    cancelled; optionally raises KeyboardInterrupt in a gather, as Ctrl-C would."""

    def __init__(self, client, interrupt_at_gather=None):
        self._client = client
        self.scattered, self.scattered_futures, self.submitted, self.cancelled = [], [], [], []
        self.gathers = 0
        self.interrupt_at_gather = interrupt_at_gather

    def scatter(self, data, **kwargs):
        self.scattered.append(data)
        self.scattered_futures.append(self._client.scatter(data, **kwargs))
        return self.scattered_futures[-1]

    def submit(self, fn, *args, **kwargs):
        self.submitted.append(args)
        return self._client.submit(fn, *args, **kwargs)

    def gather(self, futures, **kwargs):
        self.gathers += 1
        if self.gathers == self.interrupt_at_gather:
            raise KeyboardInterrupt
        return self._client.gather(futures, **kwargs)

    def cancel(self, futures, **kwargs):
        self.cancelled.extend(futures)
        return self._client.cancel(futures, **kwargs)

    def __getattr__(self, name):
        return getattr(self._client, name)


def problem(dtype=np.float64, init_scale=1e-6, seed=2):
    model = MultiIndexModel(D, "z1z2", random_state=0)
    X = model.stream(N, dtype=dtype, random_state=1)
    y = X.labels - X.labels.mean()  # the output offset of the squared loss (as training does)
    W, b, a = symmetric_init(M, D, init_scale, 1.0, np.random.default_rng(seed), dtype=dtype)
    return X, y, W, b, a, model.U.T.astype(dtype)


KW = dict(activation="logcosh", loss="squared", lr=1.0, weight_decay=1.0, n_steps=12)


def relative_error(got, want):
    return np.max(np.abs(got - want)) / np.max(np.abs(want))


def assert_same_run(got, want, rtol):
    assert got.keep_scale == want.keep_scale
    assert got.diverged_at == want.diverged_at
    assert got.W.dtype == want.W.dtype and got.W.shape == want.W.shape
    np.testing.assert_array_equal(got.record_steps, want.record_steps)
    for field in ("W", "recorded", "loss", "log_scale"):
        g, w = getattr(got, field), getattr(want, field)
        if w is None:
            assert g is None
            continue
        finite = np.isfinite(w)
        # NaN (not reached) and inf (the diverging loss) exactly where the core has them
        np.testing.assert_array_equal(np.where(finite, 0, g), np.where(finite, 0, w))
        if np.any(w[finite]):
            assert relative_error(g[finite], w[finite]) < rtol, field


@pytest.mark.parametrize("keep_scale, init_scale", [(False, 0.3), (True, 1e-6), ("auto", 1e-6)])
@pytest.mark.parametrize("basis", [False, True])
def test_matches_core_float64(client, keep_scale, init_scale, basis):
    X, y, W, b, a, U = problem(init_scale=init_scale)
    kw = dict(KW, keep_scale=keep_scale, record_steps=[0, 5, 12], record_basis=U if basis else None)
    want = core.phase1_run(X, y, W, b, a, **kw)
    steps = []
    got = phase1_run_dask(client, X, y, W, b, a, progress=steps.append, **kw)
    assert got.keep_scale == (keep_scale is not False)
    assert steps == list(range(1, KW["n_steps"] + 1))
    assert got.step_seconds > 0
    assert_same_run(got, want, 1e-10)
    if keep_scale is not False:
        # W kept its norm, and the log scale records what rescaling took away: in the linear
        # regime the run without rescaling ends at exp(log_scale) W (to ~init_scale^2).
        assert np.linalg.norm(got.W) == pytest.approx(np.linalg.norm(W), rel=1e-12)
        free = core.phase1_run(X, y, W, b, a, **dict(kw, keep_scale=False))
        np.testing.assert_allclose(
            np.exp(got.log_scale[-1]) * got.W, free.W, rtol=1e-6, atol=1e-6 * np.abs(free.W).max()
        )


def test_independent_of_n_parts(client):
    X, y, W, b, a, _ = problem()
    kw = dict(KW, keep_scale="auto", record_steps=[3, 12])
    runs = [phase1_run_dask(client, X, y, W, b, a, n_parts=k, **kw) for k in (1, 3, 7)]
    for run in runs[1:]:
        assert_same_run(run, runs[0], 1e-10)
    # fixed order of combination: the same parts give the same bits
    again = phase1_run_dask(client, X, y, W, b, a, n_parts=7, **kw)
    np.testing.assert_array_equal(again.W, runs[2].W)
    np.testing.assert_array_equal(again.loss, runs[2].loss)


def test_a_subset_makes_its_own_rows(client):
    """A subset starts at row_begin > 0 of the stream: the parts' addresses must add it."""
    X, y, W, b, a, _ = problem()
    part = X.subset(1000, 4000)
    kw = dict(KW, n_steps=4, keep_scale="auto")
    want = core.phase1_run(part, y[1000:4000], W, b, a, **kw)
    got = phase1_run_dask(client, part, y[1000:4000], W, b, a, n_parts=3, **kw)
    assert_same_run(got, want, 1e-10)


def test_float32_agrees_to_float32_accuracy(client):
    X, y, W, b, a, U = problem(np.float32)
    kw = dict(KW, keep_scale=True, record_steps=[0, 12], record_basis=U)
    want = core.phase1_run(X, y, W, b, a, **kw)
    got = phase1_run_dask(client, X, y, W, b, a, n_parts=5, **kw)
    assert got.W.dtype == np.float32 and got.recorded.dtype == np.float32
    assert_same_run(got, want, 1e-4)


def test_arrays_are_refused(client):
    X, y, W, b, a, _ = problem()
    with pytest.raises(TypeError, match="core.phase1_run"):
        phase1_run_dask(client, X.rows(0, 100), y[:100], W, b, a, **KW)


def test_validation_is_the_cores(client):
    X, y, W, b, a, _ = problem(init_scale=3.0)
    with pytest.raises(ValueError, match="keep_scale=True needs the linear regime"):
        phase1_run_dask(client, X, y, W, b, a, **dict(KW, keep_scale=True))
    with pytest.raises(ValueError, match="y has length"):
        phase1_run_dask(client, X, y[:-1], W, b, a, **KW)
    with pytest.raises(ValueError, match="n_parts"):
        phase1_run_dask(client, X, y, W, b, a, n_parts=0, **KW)


def test_divergence_is_reported_like_the_core(client):
    X, y, W, b, a, _ = problem(init_scale=0.3)
    kw = dict(KW, lr=1e200, weight_decay=0.0, record_steps=[0, 1, 12])
    with pytest.raises(FloatingPointError, match=r"diverged at step \d+") as want_error:
        core.phase1_run(X, y, W, b, a, **kw)
    with pytest.raises(FloatingPointError, match=r"diverged at step \d+") as got_error:
        phase1_run_dask(client, X, y, W, b, a, **kw)
    assert str(got_error.value) == str(want_error.value)
    with pytest.warns(RuntimeWarning, match="diverged at step"):
        want = core.phase1_run(X, y, W, b, a, on_divergence="warn", **kw)
    with pytest.warns(RuntimeWarning, match="diverged at step"):
        got = phase1_run_dask(client, X, y, W, b, a, on_divergence="warn", **kw)
    assert got.diverged_at == want.diverged_at is not None
    assert_same_run(got, want, 1e-10)


def _arrays(obj):
    if isinstance(obj, np.ndarray):
        yield obj
    elif isinstance(obj, (tuple, list)):
        for item in obj:
            yield from _arrays(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _arrays(item)


def test_only_small_data_travel_per_step(client):
    X, y, W, b, a, _ = problem()
    n_parts, n_steps = 4, 5
    recorder = RecordingClient(client)
    phase1_run_dask(recorder, X, y, W, b, a, n_parts=n_parts, **dict(KW, n_steps=n_steps))
    # the labels, once, one contiguous slice per part; then one W per step
    labels, *per_step = recorder.scattered
    np.testing.assert_array_equal(np.concatenate(labels), y)
    assert [len(part) for part in labels] == [
        stop - start for start, stop in split_rows(N, n_parts)
    ]
    assert len(per_step) == n_steps
    assert all(isinstance(w, np.ndarray) and w.shape == (M, D) for w in per_step)
    # the tasks carry an address, futures and (m,) vectors: no array larger than m x d, no data set
    assert len(recorder.submitted) == n_parts * n_steps
    for args in recorder.submitted:
        assert not any(isinstance(arg, StreamedData) for arg in args)
        assert all(arr.size <= M * D for arr in _arrays(args))
        assert isinstance(args[1], distributed.Future)  # the part's labels stay on the workers
    # the labels are released at the end
    assert all(any(part is c for c in recorder.cancelled) for part in recorder.scattered_futures[0])


def test_ctrl_c_cancels_the_step_and_propagates(client):
    X, y, W, b, a, _ = problem()
    recorder = RecordingClient(client, interrupt_at_gather=3)
    steps = []
    with pytest.raises(KeyboardInterrupt):
        phase1_run_dask(recorder, X, y, W, b, a, n_parts=3, progress=steps.append, **KW)
    assert steps == [1, 2]
    # the interrupted step's three tasks and its W, then the labels
    assert len(recorder.cancelled) == 3 + 1 + 3
    # the cluster is left usable
    run = phase1_run_dask(client, X, y, W, b, a, **dict(KW, n_steps=2))
    assert np.isfinite(run.W).all()


def test_missing_dask_names_the_extra(client, monkeypatch):
    X, y, W, b, a, _ = problem()
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r"mimkit\[dask\]"):
        phase1_run_dask(client, X, y, W, b, a, **KW)


def test_a_closed_client_is_named_not_an_attribute_error():
    X, y, W, b, a, _ = problem()
    cluster = distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
    )
    with cluster:
        closed = distributed.Client(cluster)
        closed.close()
        for parts in (None, 2):  # with and without asking the cluster for its workers
            with pytest.raises(ValueError, match="client is not connected .*'closed'"):
                phase1_run_dask(closed, X, y, W, b, a, n_parts=parts, **KW)
    with pytest.raises(TypeError, match="client must be a dask.distributed Client"):
        phase1_run_dask("tcp://127.0.0.1:8786", X, y, W, b, a, **KW)


def test_split_rows_covers_the_data_in_order():
    assert split_rows(10, 3) == [(0, 3), (3, 6), (6, 10)]
    assert split_rows(5, 5) == [(k, k + 1) for k in range(5)]


def test_training_and_the_command_line_run_phase1_on_the_cluster(client, capsys):
    """run_phase1(client=...) is the distributed runner behind the same training code, and
    `mimkit run --stream --dask ADDRESS` reports what the local streamed run reports."""
    from mimkit.cli import main
    from mimkit.training import run_phase1

    data = MultiIndexModel(48, "z1z2", random_state=0).stream(
        3000, dtype=np.float64, random_state=1
    )
    local = run_phase1(data, n_hidden=8, n_steps=6, random_state=0)
    remote = run_phase1(data, n_hidden=8, n_steps=6, random_state=0, client=client)
    np.testing.assert_allclose(remote.W, local.W, rtol=1e-10, atol=1e-12 * np.abs(local.W).max())
    argv = "run --stream --d 48 --alpha 16 --n-test 500 --json --dtype float64".split()
    assert main(argv) == 0
    alone = json.loads(capsys.readouterr().out)
    assert main(argv + ["--dask", client.scheduler.address]) == 0
    spread = json.loads(capsys.readouterr().out)
    assert spread["sizes"]["dask"] == client.scheduler.address
    assert spread["network"]["subspace_distance"] == pytest.approx(
        alone["network"]["subspace_distance"], rel=1e-8
    )
    assert main(["run", "--dask", "local", "--d", "16"]) == 2
    assert "--dask needs --stream" in capsys.readouterr().err
