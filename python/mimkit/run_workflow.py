"""The ``mimkit run`` workflow: sample a problem, train the network, run the baselines, measure.

:func:`run_problem` returns the report as a JSON-ready dict; :mod:`mimkit.run_report` turns it
into text and :mod:`mimkit.cli` maps flags to :class:`RunSettings`.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
import warnings
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from . import metrics
from ._limits import check_fits, physical_memory
from ._progress import progress_callback
from ._random import as_generator
from .amp import amp_overlap, gamp, make_channel
from .amp.state_evolution import channel_threshold
from .data import MultiIndexModel
from .joint_training import DEFAULT_TOL
from .options import DASK_TIMEOUT
from .preprocessing import loss_preprocessing, make_preprocessing
from .spectral import spectral_subspace
from .theory import learning_stages, spectral_overlap
from .theory_cache import cached
from .training import default_n_steps, neuron_subspace, run_phase2, train_layerwise


@dataclass(frozen=True)
class RunSettings:
    """Every option of ``mimkit run`` (the command line fills it from its flags).

    Sizes: ``n1 = alpha d`` phase-1 samples, ``n2 = alpha2 d`` (default ``alpha``) phase-2
    samples, ``n_test`` test samples. ``steps`` None: :func:`mimkit.training.default_n_steps`.
    ``dtype`` None: float64, or float32 with ``stream``. ``dask``: a scheduler address or
    ``"local"`` (needs ``stream``); ``timeout`` seconds to reach it. ``baselines``: also run
    the spectral baselines (never with ``stream``). ``data``, ``target``: a CSV file and its
    response column, for :func:`mimkit.data_run.run_data` instead of a sampled problem.
    ``phase2_data``, ``refine``, ``refine_max_iter``, ``refine_tol``: as in
    :func:`mimkit.training.train_layerwise`; with ``phase2_data='reuse'`` no D2 is sampled
    (``alpha2`` must be None) and phase 2 (also the baselines') refits D1.
    """

    d: int = 512
    alpha: float = 32.0
    alpha2: Optional[float] = None
    n_test: int = 10_000
    link: str = "z1z2"
    r: Optional[int] = None
    noise: float = 0.0
    loss: str = "huber"
    huber_delta: float = 1.0
    transform: Optional[str] = None
    activation: str = "logcosh"
    width: int = 64
    steps: Optional[int] = None
    lr: float = 1.0
    weight_decay: float = 1.0
    init_scale: float = 1e-6
    seed: int = 0
    threads: Optional[int] = None
    dtype: Optional[str] = None
    stream: bool = False
    dask: Optional[str] = None
    timeout: float = DASK_TIMEOUT
    baselines: bool = True
    data: Optional[str] = None
    target: Optional[str] = None
    phase2_data: str = "fresh"
    refine: Optional[str] = None
    refine_max_iter: Optional[int] = None
    refine_tol: float = DEFAULT_TOL


def run_problem(args: RunSettings) -> dict:
    """Sample, train, evaluate: the report of ``mimkit run`` as a JSON-ready dict."""
    if args.dask and not args.stream:
        raise ValueError(
            "--dask needs --stream: the workers make their own rows of a streamed "
            "data set (an in-memory array would be shipped over the network)."
        )
    if args.refine is not None and args.stream:
        raise ValueError(
            "--refine trains on mini-batches and a held-out slice of stored rows: drop --stream."
        )
    reuse = args.phase2_data == "reuse"
    n1, n2 = _sizes(args)
    steps = default_n_steps(args.d) if args.steps is None else args.steps
    _check_resources(args, n1, n2, steps)
    dtype = np.dtype(args.dtype or ("float32" if args.stream else "float64"))
    rng = as_generator(args.seed)
    model = MultiIndexModel(args.d, args.link, r=args.r, noise=args.noise, random_state=rng)
    start = time.perf_counter()
    if reuse:
        (X1, y1), (Xt, yt) = _sample(args, model, (n1, args.n_test), dtype, rng)
        X2 = y2 = None
    else:
        (X1, y1), (X2, y2), (Xt, yt) = _sample(args, model, (n1, n2, args.n_test), dtype, rng)
    sample_s = time.perf_counter() - start
    transform = make_preprocessing(args.transform) if args.transform else None
    with _dask_client(args.dask, args.timeout) as client:
        fit = train_layerwise(
            X1,
            y1,
            X2,
            y2,
            n_hidden=args.width,
            activation=args.activation,
            loss=args.loss,
            huber_delta=args.huber_delta,
            label_transform=transform,
            lr=args.lr,
            weight_decay=args.weight_decay,
            n_steps=steps,
            init_scale=args.init_scale,
            phase2_data=args.phase2_data,
            refine=args.refine,
            refine_max_iter=args.refine_max_iter,
            refine_tol=args.refine_tol,
            n_threads=args.threads,
            random_state=rng,
            progress=True,
            client=client,
        )
    if reuse:  # phase 2 (the network's and the baselines') refits D1
        X2, y2, n2 = X1, y1, n1
    net = fit.phase2.network  # the layer-wise network; refinement is reported on its own
    y_test = Xt.labels if args.stream else yt
    network = _network_entry(net, model, Xt, y_test)
    labels = X1.labels if args.stream else y1
    network["theory_distance"] = _theory_distance(
        model, _phase1_T(args, transform, labels), _phase1_T_key(args, labels), "none", args
    )
    report: dict[str, Any] = {
        "problem": {
            "link": model.link.name,
            "description": model.link.description,
            "r": model.r,
            "d": args.d,
            "noise": args.noise,
            "theory_covers": model.link.theory_covers,
        },
        "sizes": {
            "n1": n1,
            "n2": n2,
            "n_test": args.n_test,
            "alpha": args.alpha,
            "width": args.width,
            "steps": steps,
            "dtype": dtype.name,
            "streamed": args.stream,
            "dask": args.dask,
            "data_bytes": (n1 + (0 if reuse else n2) + args.n_test) * args.d * dtype.itemsize,
        },
        "training": {
            "loss": args.loss,
            "huber_delta": args.huber_delta,
            "transform": args.transform,
            "activation": args.activation,
            "lr": args.lr,
            "weight_decay": args.weight_decay,
            "init_scale": args.init_scale,
            "keep_scale": fit.phase1.result.keep_scale,
            "offset": fit.phase1.c,
            "ridge": fit.phase2.ridge,
            "seed": args.seed,
            "threads": args.threads,
            "phase2_data": args.phase2_data,
            "refine": args.refine,
        },
        "seconds": {
            "sampling": sample_s,
            "phase1": fit.phase1.seconds,
            "phase2": fit.phase2.seconds,
            "total": time.perf_counter() - start,
        },
        "network": network,
    }
    report["learning_stages"] = _learning_order(model, args)
    if fit.refinement is not None:
        report["refined"] = _refined(fit, model, Xt, yt)
        report["seconds"]["refine"] = fit.refinement.seconds
        if fit.refinement.stop_reason == "interrupted":  # Ctrl-C: report what there is, stop
            report["interrupted"] = (
                "Ctrl-C during --refine: the refined row holds the best weights so far; "
                "baselines skipped"
            )
    if args.baselines and not args.stream and "interrupted" not in report:
        baselines_start = time.perf_counter()
        # Two spectral rows and AMP; at large d each takes a while (a bar after a few seconds).
        with progress_callback(True, total=3, desc="baselines", unit="method") as done:
            report["spectral"] = _baselines(
                args, transform, model, X1, y1, X2, y2, Xt, yt, rng, done
            )
            report["amp"] = _amp_baseline(args, model, X1, y1, X2, y2, Xt, yt, rng)
            done(3)
        report["seconds"]["baselines"] = time.perf_counter() - baselines_start
        report["seconds"]["total"] = time.perf_counter() - start
    report["peak_memory_bytes"] = _peak_memory_bytes()  # after everything, baselines included
    return report


def _refined(fit, model, Xt, yt) -> dict:
    """The refined network's row: recovery, test error and what the joint training did."""
    joint = fit.refinement
    entry = {
        "method": "network + refine",
        "iterations": joint.n_iter,
        "best_iteration": joint.best_iter,
        "stop_reason": joint.stop_reason,
        "seconds": joint.seconds,
    }
    entry.update(_network_entry(fit.network, model, Xt, yt))
    return entry


def _network_entry(net, model: MultiIndexModel, Xt, yt: np.ndarray) -> dict:
    """A network's recovery (its neurons' top-r subspace and coverage) and test error."""
    return _evaluate(
        neuron_subspace(net.W, model.r),
        model,
        net.predict(Xt),
        yt,
        coverage=metrics.coverage(net.W, model.U),
    )


def _amp_baseline(args: RunSettings, model, X1, y1, X2, y2, Xt, yt, rng) -> dict:
    """Bayes-optimal GAMP on D1 with the link known (the limit; mimkit.amp), with the
    network's phase 2 on its subspace as for the spectral rows; skipped for r > 2, where the
    r-dimensional channel quadrature makes every iteration slow."""
    entry: dict[str, Any] = {"method": "AMP (Bayes-optimal, link known)"}
    if model.r > 2:
        return {**entry, "skipped": f"r = {model.r} > 2: the channel quadrature is too slow"}
    start = time.perf_counter()
    # GAMP itself, not AMPEstimator: the run then never imports scikit-learn (~0.5 s)
    channel = make_channel(model.link, args.noise)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # each becomes part of the row (converged)
        result = gamp(
            np.asarray(X1, dtype=np.float64), np.asarray(y1, dtype=np.float64), channel,
            random_state=rng,
        )  # fmt: skip
    amp_directions = np.linalg.qr(result.W)[0].T
    threshold = channel_threshold(model.link, channel)
    entry.update(seconds=time.perf_counter() - start, iterations=result.n_iter)
    # A RuntimeWarning is GAMP's own (non-finite or unstable iterates); being below the
    # weak-recovery threshold is reported as such, not as non-convergence.
    entry["converged"] = result.converged and not any(
        issubclass(w.category, RuntimeWarning) for w in caught
    )
    entry["informative"] = None if threshold is None else bool(args.alpha > threshold)
    entry["alpha_c"] = threshold
    directions = rng.standard_normal((args.width, model.r)) @ amp_directions
    p2 = run_phase2(X2, y2, directions, activation=args.activation, random_state=rng)
    entry.update(_evaluate(amp_directions, model, p2.network.predict(Xt), yt))
    se_samples, se_seed = 2000, 0
    entry["theory_distance"] = cached(
        "mimkit.amp.amp_overlap",
        {
            "link": model.link.name,
            "r": model.r,
            "alpha": args.alpha,
            "noise": args.noise,
            "n_samples": se_samples,
            "random_state": se_seed,
        },
        lambda: (
            1.0
            - float(
                amp_overlap(
                    model.link,
                    args.alpha,
                    noise=args.noise,
                    n_samples=se_samples,
                    random_state=se_seed,
                ).subspace_overlap
            )
        ),
    )
    return entry


def _sizes(args: RunSettings) -> tuple[int, int]:
    for name in ("d", "n_test", "width"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be a positive integer.")
    if args.width % 2:
        raise ValueError(
            f"--width must be even: n_hidden must be an even integer (neurons come "
            f"in symmetric pairs), got {args.width}; e.g. 64."
        )
    if args.n_test < 2:
        raise ValueError("--n-test must be an integer >= 2 (the test error divides by Var(y)).")
    if args.phase2_data == "reuse" and args.alpha2 is not None:
        raise ValueError(
            "--alpha2 sizes a fresh phase-2 set, but --phase2-data reuse refits phase 1's "
            "samples: drop --alpha2 (or use --phase2-data fresh)."
        )
    alpha2 = args.alpha if args.alpha2 is None else args.alpha2
    if not (0 < args.alpha < np.inf and 0 < alpha2 < np.inf):
        raise ValueError(
            "--alpha and --alpha2 must be positive and finite (samples per dimension)."
        )
    rows = max(args.alpha, alpha2) * args.d  # a float: may be huge, even inf
    if args.stream and rows >= 2**63:
        raise ValueError(
            f"--alpha / --alpha2 give {rows:.3g} rows, above the 2**63 a stream addresses."
        )
    if not args.stream:
        itemsize = np.dtype(args.dtype or "float64").itemsize
        total = (args.alpha + (0 if args.phase2_data == "reuse" else alpha2)) * args.d + args.n_test
        check_fits(
            total * (args.d + 1) * itemsize,
            f"--alpha {args.alpha:g} (n1 + n2 + n_test = {total:.3g} rows of d = {args.d})",
            "lower --alpha / --alpha2, or use --stream (rows never stored).",
        )
    return max(2, round(args.alpha * args.d)), max(2, round(alpha2 * args.d))


#: Phase-1 floating-point operations worth a warning: about an hour at 1e11 operations per
#: second, more than a workstation sustains.
LONG_PHASE1_FLOPS = 3.6e14


def _check_resources(args: RunSettings, n1: int, n2: int, steps: int) -> None:
    """Refuse a run whose memory exceeds this machine, and warn about a phase 1 of hours,
    before any work, naming the option to change.

    Memory (float64 bytes, whatever the dtype): the data (unless streamed), the network's
    initial and trained ``m x d`` weights (kept to the end), and the largest of phase 1's
    gradient and the report's SVD of W (``2 m d``), phase 2's ``m x m`` Gram matrix, a copy,
    its eigenvectors and LAPACK's ``2 m^2`` workspace (``5 m^2``: measured 4.97 m^2 at m = 4000
    and 8000; for the network and each baseline) and the spectral baselines' ``d x d``
    matrices (``3 d^2``). Time: ``4 n1 d m`` operations per step
    (the forward and the backward pass).
    """
    m, d = args.width, args.d
    itemsize = np.dtype(args.dtype or ("float32" if args.stream else "float64")).itemsize
    rows = n1 + (0 if args.phase2_data == "reuse" else n2) + args.n_test
    data = 0 if args.stream else rows * (d + 1) * itemsize
    # (what, the fix): bytes, on top of the data
    stages = {
        (
            f"--width {m} with --d {d} (phase 1: {m} x {d} weights, their gradient and SVD)",
            "lower --width or --d.",
        ): 4.0 * m * d * 8,
        (
            f"--width {m} (phase 2: a {m} x {m} Gram matrix and its eigenvectors)",
            "lower --width (phase 2's memory grows as its square).",
        ): 2.0 * m * d * 8 + 5.0 * m * m * 8,
    }
    if args.baselines and not args.stream:
        stages[
            (
                f"--d {d} (the spectral baselines' {d} x {d} matrices)",
                "pass --no-baseline, or lower --d.",
            )
        ] = 2.0 * m * d * 8 + 3.0 * d * d * 8
    (what, fix), need = max(stages.items(), key=lambda item: item[1])
    check_fits(data + need, what + (f" with the {rows} x {d} data" if data else ""), fix)
    flops = 4.0 * n1 * d * m * steps
    # Phase 1 itself refuses a step count of 2**62 or more, or whose history (16 bytes a step)
    # exceeds memory: those get its error, not this warning.
    memory = physical_memory()
    refused = steps >= 2**62 or (memory is not None and 16.0 * (steps + 1) > memory)
    if flops > LONG_PHASE1_FLOPS and not refused:
        warnings.warn(
            f"--steps {steps}: phase 1 makes {steps} passes over n1 = {n1} rows of d = {d} "
            f"with width {m}, about {flops:.2g} floating-point operations: hours or more "
            f"(the default for d = {d} is {default_n_steps(d)}; Ctrl-C stops it).",
            stacklevel=3,
        )


def _peak_memory_bytes() -> int:
    """Peak resident memory of this process so far (Linux reports ru_maxrss in KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _sample(args: RunSettings, model: MultiIndexModel, sizes, dtype, rng):
    """(X, y) per size: arrays, or streams (y = None) whose labels are computed here once."""
    if not args.stream:
        return [model.sample(n, dtype) for n in sizes]
    streams = [model.stream(n, dtype, random_state=rng) for n in sizes]
    for stream in streams:
        _ = stream.labels  # the label pass: one pass over the rows, cached by the stream
    return [(stream, None) for stream in streams]


@contextlib.contextmanager
def _dask_client(address: Optional[str], timeout: float):
    """A dask.distributed Client for ``address`` ('local': a LocalCluster here), or None.

    ``timeout``: seconds to wait for the scheduler; past it, a ValueError naming ``address``.
    """
    if address is None:
        yield None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError as err:
        raise ValueError("--dask needs dask.distributed: pip install 'mimkit[dask]'.") from err
    if address == "local":
        with (
            # The scheduler always serves HTTP; ':0' picks a free port (8787 may be taken).
            LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
    else:
        try:
            client = Client(address, timeout=timeout)
        except (OSError, TimeoutError) as err:
            raise ValueError(
                f"--dask {address}: no scheduler answered within {timeout:g} s "
                f"({type(err).__name__}); check the address or raise --timeout."
            ) from None
        with client:
            yield client


def _evaluate(
    U_hat: np.ndarray,
    model: MultiIndexModel,
    y_pred: np.ndarray,
    yt: np.ndarray,
    coverage: Optional[np.ndarray] = None,
) -> dict:
    rec = metrics.recovery(U_hat, model.U)
    out = {
        "subspace_distance": rec.distance,
        "principal_angles_deg": np.degrees(metrics.principal_angles(U_hat, model.U)).tolist(),
        "weak_recovery": rec.weak,
        "strong_recovery": rec.strong,
        "test_error": metrics.relative_test_error(y_pred, yt),
    }
    if coverage is not None:
        out["coverage"] = coverage.tolist()
    return out


def _baselines(
    args: RunSettings, transform, model, X1, y1, X2, y2, Xt, yt, rng, done=None
) -> list[dict]:
    """Spectral estimates of span(U) from D1, each with the network's phase 2 on D2.

    'phase-1 T' is the preprocessing the phase-1 loss induces (the network should match it);
    'optimal' is T* of the link. Test error: ``width`` random unit directions inside the
    estimated subspace, fresh biases and ridge, so only the subspace differs from the network.
    ``done(rows finished)``, if given, is called after each row (the progress bar).
    """
    T = _phase1_T(args, transform, y1)
    T_key = _phase1_T_key(args, y1)
    results = []
    for label, prep in (
        (f"spectral, {args.loss} T (as phase 1)", T),
        ("spectral, optimal T", "optimal"),
    ):
        start = time.perf_counter()
        U_hat, _ = spectral_subspace(
            X1,
            y1,
            model.r,
            preprocessing=prep,
            link=model.link,
            random_state=rng,
            n_threads=args.threads,
        )
        seconds = time.perf_counter() - start
        directions = rng.standard_normal((args.width, model.r)) @ U_hat
        p2 = run_phase2(X2, y2, directions, activation=args.activation, random_state=rng)
        entry = {"method": label, "seconds": seconds}
        entry.update(_evaluate(U_hat, model, p2.network.predict(Xt), yt))
        prep_key = T_key if prep is T else prep
        entry["theory_distance"] = _theory_distance(model, prep, prep_key, None, args)
        results.append(entry)
        if done is not None:
            done(len(results))
    return results


def _phase1_T(args: RunSettings, transform, y1):
    """``T(y) = -loss'(c, inner(y))``: the preprocessing phase 1 applies (c fitted on D1)."""
    inner = transform if transform is not None else (lambda v: v)
    T_loss, _ = loss_preprocessing(args.loss, inner(np.asarray(y1)), args.huber_delta)

    if transform is None:  # T_loss itself: its breaks (kinks) let the theory's quadrature cut there
        return T_loss

    def T(v):
        return T_loss(inner(v))

    return T


def _phase1_T_key(args: RunSettings, y1) -> dict:
    """What :func:`_phase1_T` depends on, for the theory cache: the loss and the labels (its
    offset c is fitted on them), by digest."""
    digest = hashlib.sha256(np.ascontiguousarray(y1, dtype=np.float64).tobytes()).hexdigest()
    return {
        "loss": args.loss,
        "huber_delta": args.huber_delta,
        "transform": args.transform,
        "labels_sha256": digest,
    }


def _learning_order(model: MultiIndexModel, args: RunSettings) -> list[dict]:
    """The link's learning order (mimkit.theory.learning_stages) as JSON-ready records
    (non-finite thresholds as None), cached when a theory cache is active."""
    settings = {"link": model.link.name, "r": model.r, "noise": args.noise, "seed": args.seed}

    def compute() -> list[dict]:
        stages = learning_stages(model.link, noise=args.noise, random_state=args.seed)
        return [
            {
                k: (None if isinstance(v, float) and not np.isfinite(v) else v)
                for k, v in rec.items()
            }
            for rec in stages.records()
        ]

    return cached("mimkit.theory.learning_stages", settings, compute)


def _theory_distance(
    model: MultiIndexModel, prep, prep_key, center, args: RunSettings
) -> Optional[float]:
    """Predicted ``n, d -> inf`` subspace distance at this alpha (mimkit.theory.spectral_overlap):
    for the network, that of its converged phase-1 matrix (large T1). Cached (``prep_key``
    describes ``prep``) when a theory cache is active (mimkit.theory_cache)."""
    settings = dict(center=center, noise=args.noise, n_samples=100_000, random_state=args.seed)

    def compute() -> Optional[float]:
        try:
            res = spectral_overlap(model.link, prep, args.alpha, **settings)
        except ValueError:
            return None
        return float(res.subspace_distance[0])

    key = {"link": model.link.name, "r": model.r, "preprocessing": prep_key, "alpha": args.alpha}
    return cached("mimkit.theory.spectral_overlap", {**key, **settings}, compute)
