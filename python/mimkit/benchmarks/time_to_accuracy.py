"""Time to accuracy: how soon each way of training a two-layer network reaches a test error.

For each problem (link, d, n = alpha d) every method trains on the same data under a wall-time
budget, while its parameters are snapshotted (copies, at most every ``budget / 200`` seconds,
and at the end); the clock stops while a snapshot is taken. The snapshots are scored on a
held-out test set only after training, so no method is billed for evaluation. Reported: the
training time to the first snapshot with test MSE/Var <= each target, the best test error, and
why the method stopped (its own rule, or the budget).

Methods (all width 64, all on ``threads`` cores):

* ``layer-wise``: :class:`~mimkit.estimators.LayerwiseRegressor` with its defaults (the paper's
  algorithm: phase 1 on half the data, ridge phase 2 on the other half);
* ``layer-wise + refine``: the same, then end-to-end refinement from the layer-wise solution
  (``refine=REFINE``, the other refinement settings at their defaults);
* ``JointRegressor``: standard practice on mimkit's core (random init, Adam, early stopping);
* ``MLPRegressor``: scikit-learn's, ``hidden_layer_sizes=(64,), batch_size=256`` (ReLU, Adam),
  one epoch per ``partial_fit`` call, stopped by the rule its ``fit`` uses (training loss not
  better by ``tol`` for ``n_iter_no_change`` epochs);
* ``PyTorch``: the same network as mimkit's (log-cosh, standard ``nn.Linear`` init), Adam with
  ``lr = 1e-3`` on mini-batches of 256, the same stopping rule; skipped when torch is absent.

The acceptance comparison (:func:`measure_acceptance`) fits ``MLPRegressor(max_iter=50)`` and
layer-wise + refine once each on the same z1*z2 data and reports both test errors and times.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from .._config import config
from ..data import MultiIndexModel
from ..estimators import JointRegressor, LayerwiseRegressor
from ..metrics import relative_test_error
from ..network import TwoLayerNetwork
from . import timing
from .timing import Column, markdown_table

#: Test MSE/Var levels: weak (0.5), useful (0.2) and accurate (0.05) predictors.
TARGETS: tuple[float, ...] = (0.5, 0.2, 0.05)
WIDTH = 64
BATCH_SIZE = 256
#: scikit-learn's MLP defaults, used as the stopping rule of every epoch-wise method here.
TOL, N_ITER_NO_CHANGE = 1e-4, 10
#: At most this many snapshots per run (plus the final one): bounds memory at d = 1024.
MAX_SNAPSHOTS = 200
#: The refinement method of "layer-wise + refine"; its other settings are the defaults.
REFINE = "lbfgs"

Predictor = Callable[[np.ndarray], np.ndarray]


class Recorder:
    """Training clock and parameter snapshots of one run.

    ``elapsed()`` is wall time since creation minus the time spent inside :meth:`record`, so a
    snapshot's copying is never billed to the method.
    """

    def __init__(self, budget_s: float):
        self.budget_s = budget_s
        self.min_gap = budget_s / MAX_SNAPSHOTS
        self.times: list[float] = []
        self.predictors: list[Predictor] = []
        self._start = time.perf_counter()
        self._paused = 0.0

    def elapsed(self) -> float:
        return time.perf_counter() - self._start - self._paused

    def over_budget(self) -> bool:
        return self.elapsed() >= self.budget_s

    def record(self, snapshot: Callable[[], Predictor], *, force: bool = False) -> None:
        """Keep ``snapshot()`` (a predictor built from copies of the current parameters)
        unless the last kept one is younger than ``min_gap`` seconds (``force``: keep it)."""
        entered = time.perf_counter()
        now = entered - self._start - self._paused
        if force or not self.times or now - self.times[-1] >= self.min_gap:
            if self.times and self.times[-1] == now:
                self.predictors.pop()
                self.times.pop()
            self.times.append(now)
            self.predictors.append(snapshot())
        self._paused += time.perf_counter() - entered


def _network_snapshot(W, b, a, c: float, activation: str) -> Callable[[], Predictor]:
    """A snapshot function of a mimkit-form network (copies taken when it is called)."""

    def take() -> Predictor:
        net = TwoLayerNetwork(
            np.array(W, dtype=np.float64), np.array(b), np.array(a), float(c), activation
        )
        return net.predict

    return take


def _stalled(losses: Sequence[float]) -> bool:
    """scikit-learn's MLP stopping rule on a training-loss curve: each of the last
    ``N_ITER_NO_CHANGE + 1`` epochs failed to beat the best loss before it by TOL."""
    last = range(len(losses) - N_ITER_NO_CHANGE - 1, len(losses))
    return last.start >= 1 and all(losses[k] > min(losses[:k]) - TOL for k in last)


def _run_layerwise(X, y, seed, rec: Recorder, threads: int, **refine) -> str:
    est = LayerwiseRegressor(random_state=seed, n_threads=threads, **refine).fit(X, y)
    rec.record(lambda: est.predict, force=True)
    return "done"


def _run_refine(X, y, seed, rec: Recorder, threads: int) -> str:
    return _run_layerwise(X, y, seed, rec, threads, refine=REFINE)


class _BudgetSpent(Exception):
    """Raised from a training callback to end a run at the budget (its snapshots are kept)."""


def _run_joint(X, y, seed, rec: Recorder, threads: int) -> str:
    intercept = float(np.mean(y))  # JointRegressor's intercept_, known before it trains

    def callback(iteration, W, b, a) -> None:
        rec.record(_network_snapshot(W, b, a, intercept, "logcosh"))
        if rec.over_budget():
            raise _BudgetSpent

    est = JointRegressor(n_hidden=WIDTH, n_threads=threads, random_state=seed, callback=callback)
    try:
        est.fit(X, y)
    except _BudgetSpent:
        return "budget"
    rec.record(lambda: est.predict, force=True)
    return est.stop_reason_


def _run_mlp(X, y, seed, rec: Recorder, threads: int) -> str:
    from sklearn.neural_network import MLPRegressor

    est = MLPRegressor(hidden_layer_sizes=(WIDTH,), batch_size=BATCH_SIZE, random_state=seed)
    while True:
        est.partial_fit(X, y)
        if _stalled(est.loss_curve_):
            reason = "stalled"
            break
        if rec.over_budget():
            reason = "budget"
            break
        rec.record(lambda: _mlp_predictor(est))
    rec.record(lambda: _mlp_predictor(est), force=True)
    return reason


def _mlp_predictor(est) -> Predictor:
    """The MLP's prediction from copies of its current weights (ReLU, one hidden layer)."""
    (W1, W2), (b1, b2) = [c.copy() for c in est.coefs_], [c.copy() for c in est.intercepts_]
    return lambda X: (np.maximum(X @ W1 + b1, 0.0) @ W2 + b2).ravel()


def _run_torch(X, y, seed, rec: Recorder, threads: int) -> str:
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    inner = torch.nn.Linear(X.shape[1], WIDTH, dtype=Xt.dtype)
    outer = torch.nn.Linear(WIDTH, 1, dtype=Xt.dtype)
    params = [*inner.parameters(), *outer.parameters()]
    optimizer = torch.optim.Adam(params, lr=1e-3)
    order = torch.Generator().manual_seed(seed)
    losses: list[float] = []

    def snapshot() -> Predictor:
        W, b, a = (p.detach().numpy() for p in (inner.weight, inner.bias, outer.weight[0]))
        return _network_snapshot(W, b, a, outer.bias.item(), "logcosh")()

    while True:
        total = 0.0
        for idx in torch.randperm(X.shape[0], generator=order).split(BATCH_SIZE):
            Z = inner(Xt[idx])
            # log cosh z = |z| + log1p(exp(-2|z|)) - log 2, stable for large |z|
            H = Z.abs() + torch.log1p(torch.exp(-2.0 * Z.abs())) - math.log(2.0)
            loss = torch.nn.functional.mse_loss(outer(H)[:, 0], yt[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        # Half the MSE: the loss scikit-learn's rule was tuned on.
        losses.append(total / X.shape[0] / 2)
        if _stalled(losses):
            reason = "stalled"
            break
        if rec.over_budget():
            reason = "budget"
            break
        rec.record(snapshot)
    rec.record(snapshot, force=True)
    return reason


def _torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


#: method name -> runner(X, y, seed, recorder, threads) -> why it stopped
METHODS: dict[str, Callable[..., str]] = {
    "layer-wise": _run_layerwise,
    "layer-wise + refine": _run_refine,
    "JointRegressor": _run_joint,
    "MLPRegressor": _run_mlp,
    "PyTorch": _run_torch,
}


def _warm_up(names: Sequence[str], threads: int) -> None:
    """Run every method once on a tiny problem, untimed: one-time costs (thread pools, lazy
    imports, PyTorch's first autograd pass: seconds) are not training."""
    X, y = MultiIndexModel(16, "z1z2", random_state=0).sample(512, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in names:
            METHODS[name](X, y, 0, Recorder(0.05), threads)


def _time_to(times: list[float], errors: list[float], target: float) -> float:
    """Training time of the first snapshot at or below ``target`` (inf if none)."""
    return next((t for t, e in zip(times, errors) if e <= target), math.inf)


def measure(
    links: Sequence[str] = ("z1z2", "he2_sum"),
    ds: Sequence[int] = (512, 1024),
    alpha: float = 64,
    budget_s: float = 120.0,
    n_test: int = 8192,
    threads: int = 2,
    seed: int = 0,
    methods: Optional[Sequence[str]] = None,
) -> dict:
    """Time to each target test error and best error within ``budget_s``, per problem and
    method.

    Returns
    -------
    dict with ``rows`` (one per problem and method: ``link, d, n, method, t_<target>`` for each
    target (inf if never reached), ``best_error``, ``t_best``, ``train_s``, ``stop``),
    ``traces`` (per row: snapshot ``times`` and test ``errors``) and ``skipped`` (notes).
    """
    names = list(METHODS if methods is None else methods)
    skipped = []
    if "PyTorch" in names and not _torch_available():
        names.remove("PyTorch")
        skipped.append("PyTorch is not installed: skipped (pip install torch to run it).")
    rows, traces = [], []
    cases = [(link, d, name) for link in links for d in ds for name in names]
    data: dict[tuple[str, int], tuple[np.ndarray, ...]] = {}
    with threadpool_limits(limits=threads):
        _warm_up(names, threads)
        for link, d, name in tqdm(cases, desc="time-to-accuracy", leave=False):
            if (link, d) not in data:
                data.clear()  # one problem's data in memory at a time
                model = MultiIndexModel(d, link, random_state=seed)
                data[link, d] = model.sample(int(alpha * d)) + model.sample(n_test)
            X, y, Xt, yt = data[link, d]
            time.sleep(timing.SETTLE_S)
            rec = Recorder(budget_s)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # convergence chatter of the baselines
                stop = METHODS[name](X, y, seed, rec, threads)
            train_s = rec.elapsed()
            errors = [relative_test_error(p(Xt), yt) for p in rec.predictors]
            best = int(np.argmin(errors))
            rows.append(
                {
                    "link": link,
                    "d": d,
                    "n": X.shape[0],
                    "method": name,
                    **{f"t_{t:g}": _time_to(rec.times, errors, t) for t in TARGETS},
                    "best_error": errors[best],
                    "t_best": rec.times[best],
                    "train_s": train_s,
                    "stop": stop,
                }
            )
            traces.append(
                {"link": link, "d": d, "method": name, "times": rec.times, "errors": errors}
            )
            tqdm.write(
                f"{link} d={d} {name}: best {errors[best]:.3g} at {rec.times[best]:.3g} s "
                f"of {train_s:.3g} s ({stop})"
            )
    return {
        "rows": rows,
        "traces": traces,
        "skipped": skipped,
        "budget_s": budget_s,
        "threads": threads,
        "alpha": alpha,
        "n_test": n_test,
    }


def measure_acceptance(
    ds: Sequence[int] = (256, 512),
    alpha: float = 64,
    n_test: int = 8192,
    threads: int = 2,
    seed: int = 0,
) -> list[dict]:
    """``MLPRegressor(hidden_layer_sizes=(64,), batch_size=256, max_iter=50)`` against
    layer-wise + refine (default settings) on z1*z2, same data, same run: test error and fit
    time of each."""
    from sklearn.neural_network import MLPRegressor

    rows = []
    with threadpool_limits(limits=threads), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for d in ds:
            model = MultiIndexModel(d, "z1z2", random_state=seed)
            (X, y), (Xt, yt) = model.sample(int(alpha * d)), model.sample(n_test)
            fits = {
                "mlp": MLPRegressor(
                    hidden_layer_sizes=(WIDTH,),
                    batch_size=BATCH_SIZE,
                    max_iter=50,
                    random_state=seed,
                ),
                "refine": LayerwiseRegressor(refine=REFINE, n_threads=threads, random_state=seed),
            }
            row = {"d": d, "n": X.shape[0]}
            for key, est in fits.items():
                time.sleep(timing.SETTLE_S)
                start = time.perf_counter()
                est.fit(X, y)
                row[f"{key}_s"] = time.perf_counter() - start
                row[f"{key}_error"] = relative_test_error(est.predict(Xt), yt)
            row["half_error"] = row["refine_error"] <= row["mlp_error"] / 2
            row["faster"] = row["refine_s"] < row["mlp_s"]
            rows.append(row)
            tqdm.write(
                f"acceptance d={d}: MLPRegressor {row['mlp_error']:.3g} in {row['mlp_s']:.3g} s, "
                f"layer-wise + refine {row['refine_error']:.3g} in {row['refine_s']:.3g} s"
            )
    return rows


def _seconds(value: float) -> str:
    return "not reached" if math.isinf(value) else f"{value:.3g}"


#: The table's columns: header and the row's key (or a function of the row).
COLUMNS: list[Column] = [
    ("link", "link"),
    ("d", "d"),
    ("n", "n"),
    ("method", "method"),
    *[(f"time to <= {t:g} (s)", lambda r, t=t: _seconds(r[f"t_{t:g}"])) for t in TARGETS],
    ("best test MSE/Var", "best_error"),
    ("at (s)", "t_best"),
    ("trained (s)", "train_s"),
    ("stopped", "stop"),
]

ACCEPTANCE_COLUMNS: list[Column] = [
    ("d", "d"),
    ("n", "n"),
    ("MLPRegressor(max_iter=50) test MSE/Var", "mlp_error"),
    ("its fit (s)", "mlp_s"),
    ("layer-wise + refine test MSE/Var", "refine_error"),
    ("its fit (s)", "refine_s"),
    ("error <= half MLP's", "half_error"),
    ("faster", "faster"),
]


def plot(result: dict, path: Path) -> Path:
    """Test error against training wall time, one panel per problem, one line per method."""
    from matplotlib.ticker import NullFormatter

    from ..experiments.plots import finish_figure, new_figure, save_figure

    problems = list(dict.fromkeys((t["link"], t["d"]) for t in result["traces"]))
    colors = {name: f"C{k}" for k, name in enumerate(METHODS)}
    fig, axes = new_figure(len(problems), (4.2 * len(problems), 3.6))
    for ax, (link, d) in zip(axes, problems):
        for trace in result["traces"]:
            if (trace["link"], trace["d"]) == (link, d):
                # one point for a method that only yields its final fit
                style = "o" if len(trace["times"]) == 1 else "-"
                ax.plot(
                    trace["times"],
                    trace["errors"],
                    style,
                    color=colors[trace["method"]],
                    ms=5,
                    lw=1.3,
                    label=trace["method"],
                )
        for target in TARGETS:
            ax.axhline(target, color="k", ls=":", lw=0.8)
        ax.set(
            xscale="log",
            yscale="log",
            xlabel="training wall time (s)",
            ylabel="test MSE / Var(y)",
            title=f"{link}, d = {d}",
        )
        ax.xaxis.set_minor_formatter(NullFormatter())  # log-axis minor labels overlap
    finish_figure(
        fig,
        axes,
        f"time to accuracy ({result['threads']} threads, budget {result['budget_s']:g} s)",
    )
    save_figure(fig, path)
    return path


def run(quick: bool) -> tuple[dict, str]:
    """The benchmark as ``mimkit bench`` runs it: ``(JSON payload, Markdown tables)``.

    Full sizes: z1*z2 and he2_sum at d = 512 and 1024, 120 s per method, and the acceptance
    comparison at d = 256 and 512: 8 minutes on 2 cores (most methods stop by their own rule
    long before the budget; about 25 if all used it). ``quick``: d = 128, 5 s per method.
    """
    load_before = os.getloadavg()[0]
    sizes: dict[str, Any] = dict(ds=(128,)) if quick else {}
    acceptance = measure_acceptance(**sizes)
    result = measure(**sizes, budget_s=5.0 if quick else 120.0)
    # Other processes' load slows every method alike only if it is steady: say what it was.
    result.update(acceptance=acceptance, load_before=load_before, load_after=os.getloadavg()[0])
    return result, tables(result)


def tables(result: dict) -> str:
    """The time-to-accuracy table, notes, then the acceptance table."""
    parts = [markdown_table(COLUMNS, result["rows"]), *result["skipped"]]
    parts.append(
        f"n = {result['alpha']:g} d training samples, {result['n_test']} test samples, "
        f"{result['threads']} threads, budget {result['budget_s']:g} s per method; times are "
        "training only (snapshots scored afterwards)."
    )
    if "load_before" in result:
        parts[-1] += (
            f" Load average (1 min) {result['load_before']:.2f} at the start, "
            f"{result['load_after']:.2f} at the end."
        )
    if "acceptance" in result:
        parts.append(markdown_table(ACCEPTANCE_COLUMNS, result["acceptance"]))
    return "\n\n".join(parts)


def save(result: dict, folder: Path) -> None:
    """Write the tables (``time-to-accuracy.md``) and the plot (``time-to-accuracy.png``)."""
    header = timing.machine_header(config())
    (folder / "time-to-accuracy.md").write_text(f"{header}\n\n{tables(result)}\n")
    print(f"wrote {plot(result, folder / 'time-to-accuracy.png')}")
