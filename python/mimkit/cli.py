"""The ``mimkit`` console script: ``mimkit run`` learns one multi-index problem and reports.

Each subcommand is added by a small ``_add_*`` function that sets ``func(args) -> exit status``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from typing import Optional, Sequence

import numpy as np

from . import metrics
from ._random import as_generator
from .data import MultiIndexModel
from .experiments.cli import add_subcommands as add_experiment_subcommands
from .links import LINKS
from .options import ACTIVATIONS, LOSSES, PREPROCESSINGS
from .preprocessing import loss_preprocessing, make_preprocessing
from .spectral import spectral_subspace
from .training import default_n_steps, neuron_subspace, run_phase2, train_layerwise


def _add_run(subparsers) -> None:
    run = subparsers.add_parser(
        "run",
        help="learn one multi-index problem and report recovery and test error",
        description="Sample y = g(Ux) + noise with x ~ N(0, I_d), train the two-layer network "
        "layer-wise (phase 1 on n1 = alpha*d samples, phase 2 on n2 = alpha2*d "
        "fresh ones), and compare with spectral baselines on the same data.",
    )
    run.add_argument("--d", type=int, default=512, help="input dimension (default 512)")
    run.add_argument("--alpha", type=float, default=32.0, help="n1 / d (default 32)")
    run.add_argument("--alpha2", type=float, help="n2 / d (default: alpha)")
    run.add_argument("--n-test", type=int, default=10_000, help="test samples (default 10000)")
    run.add_argument("--link", default="z1z2", choices=sorted(LINKS), help="default z1z2")
    run.add_argument("--r", type=int, help="size of he2_sum / norm2 / tanh_committee")
    run.add_argument("--noise", type=float, default=0.0, help="label noise sd (default 0)")
    run.add_argument("--loss", default="huber", choices=LOSSES, help="phase-1 loss (default huber)")
    run.add_argument("--huber-delta", type=float, default=1.0)
    run.add_argument(
        "--transform",
        choices=[p for p in PREPROCESSINGS if p != "optimal"],
        help="phase 1 trains the loss on T(y) (e.g. 'modulus' with --loss squared "
        "for z1z2z3 and tanh_committee, whose odd T's see nothing)",
    )
    run.add_argument("--activation", default="logcosh", choices=ACTIVATIONS)
    run.add_argument("--width", type=int, default=64, help="hidden neurons m, even (default 64)")
    run.add_argument("--steps", type=int, help="phase-1 steps T1 (default ceil(ln d / 2 ln 1.5))")
    run.add_argument("--lr", type=float, default=1.0, help="eta1 (default 1)")
    run.add_argument("--weight-decay", type=float, default=1.0, help="beta1 (default 1)")
    run.add_argument("--init-scale", type=float, default=1e-6, help="eps0 (default 1e-6)")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--threads", type=int, help="core threads (default: all)")
    run.add_argument(
        "--dtype",
        choices=("float32", "float64"),
        help="precision of the data and phase 1 (default float64; float32 with --stream)",
    )
    run.add_argument(
        "--stream",
        action="store_true",
        help="never store the data: rows are regenerated from (seed, row) on every "
        "pass, so memory stays O(width d + chunk) and d can exceed memory",
    )
    run.add_argument(
        "--dask",
        metavar="SCHEDULER",
        help="with --stream: run phase 1 on a Dask cluster, each worker making its own "
        "rows (a scheduler address such as tcp://host:8786, or 'local' for a "
        "LocalCluster on this machine; needs pip install mimkit[dask])",
    )
    run.add_argument(
        "--no-baseline",
        action="store_true",
        help="skip the spectral baselines (always skipped with --stream: each takes "
        "~100 passes over the data)",
    )
    run.add_argument("--json", action="store_true", help="print the report as JSON")
    run.set_defaults(func=cmd_run)


def _add_info(subparsers) -> None:
    info = subparsers.add_parser("info", help="build and runtime configuration")
    info.set_defaults(func=cmd_info)


def _add_bench(subparsers) -> None:
    from .benchmarks.suite import add_arguments

    bench = subparsers.add_parser(
        "bench",
        help="benchmarks against numpy (and PyTorch where installed)",
        description="Run the benchmarks (default: all, at quick sizes with --quick). For a fair "
        "comparison with numpy run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset.",
    )
    add_arguments(bench)
    bench.set_defaults(func=cmd_bench)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mimkit",
        description="Learn Gaussian multi-index models with layer-wise trained two-layer networks.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_run(subparsers)
    _add_info(subparsers)
    _add_bench(subparsers)
    add_experiment_subcommands(subparsers)  # sweep, plot, list
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("mimkit: interrupted", file=sys.stderr)
        return 130


def cmd_info(args: argparse.Namespace) -> int:
    import mimkit

    mimkit.show_config()
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .benchmarks.suite import BENCHMARKS, run

    try:
        run(args.names or list(BENCHMARKS), args.quick, args.out)
    except ValueError as err:
        print(f"mimkit bench: {err}", file=sys.stderr)
        return 2
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    try:
        report = run_report(args)
    except (ValueError, TypeError, FloatingPointError, MemoryError) as err:
        print(f"mimkit run: error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


def _sizes(args: argparse.Namespace) -> tuple[int, int]:
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
    alpha2 = args.alpha if args.alpha2 is None else args.alpha2
    if not (0 < args.alpha < np.inf and 0 < alpha2 < np.inf):
        raise ValueError(
            "--alpha and --alpha2 must be positive and finite (samples per dimension)."
        )
    return max(2, round(args.alpha * args.d)), max(2, round(alpha2 * args.d))


def _peak_memory_bytes() -> int:
    """Peak resident memory of this process so far (Linux reports ru_maxrss in KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _sample(args: argparse.Namespace, model: MultiIndexModel, sizes, dtype, rng):
    """(X, y) per size: arrays, or streams (y = None) whose labels are computed here once."""
    if not args.stream:
        return [model.sample(n, dtype) for n in sizes]
    streams = [model.stream(n, dtype, random_state=rng) for n in sizes]
    for stream in streams:
        stream.labels  # the label pass: one pass over the rows
    return [(stream, None) for stream in streams]


@contextlib.contextmanager
def _dask_client(address: Optional[str]):
    """A dask.distributed Client for ``address`` ('local': a LocalCluster here), or None."""
    if address is None:
        yield None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError as err:
        raise ValueError("--dask needs dask.distributed: pip install 'mimkit[dask]'.") from err
    if address == "local":
        with (
            LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
    else:
        with Client(address) as client:
            yield client


def run_report(args: argparse.Namespace) -> dict:
    """Sample, train, evaluate; the report as a JSON-ready dict."""
    if args.dask and not args.stream:
        raise ValueError(
            "--dask needs --stream: the workers make their own rows of a streamed "
            "data set (an in-memory array would be shipped over the network)."
        )
    n1, n2 = _sizes(args)
    dtype = np.dtype(args.dtype or ("float32" if args.stream else "float64"))
    rng = as_generator(args.seed)
    model = MultiIndexModel(args.d, args.link, r=args.r, noise=args.noise, random_state=rng)
    start = time.perf_counter()
    (X1, y1), (X2, y2), (Xt, yt) = _sample(args, model, (n1, n2, args.n_test), dtype, rng)
    sample_s = time.perf_counter() - start
    steps = default_n_steps(args.d) if args.steps is None else args.steps
    transform = make_preprocessing(args.transform) if args.transform else None
    with _dask_client(args.dask) as client:
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
            n_threads=args.threads,
            random_state=rng,
            progress=True,
            client=client,
        )
    net = fit.network
    y_test = Xt.labels if args.stream else yt
    network = _evaluate(
        neuron_subspace(net.W, model.r),
        model,
        net.predict(Xt),
        y_test,
        coverage=metrics.coverage(net.W, model.U),
    )
    report = {
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
            "data_bytes": (n1 + n2 + args.n_test) * args.d * dtype.itemsize,
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
        },
        "seconds": {
            "sampling": sample_s,
            "phase1": fit.phase1.seconds,
            "phase2": fit.phase2.seconds,
            "total": time.perf_counter() - start,
        },
        "peak_memory_bytes": _peak_memory_bytes(),
        "network": network,
    }
    if not (args.no_baseline or args.stream):
        report["spectral"] = _baselines(args, transform, model, X1, y1, X2, y2, Xt, yt, rng)
    return report


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


def _baselines(args, transform, model, X1, y1, X2, y2, Xt, yt, rng) -> list[dict]:
    """Spectral estimates of span(U) from D1, each with the network's phase 2 on D2.

    'phase-1 T' is the preprocessing the phase-1 loss induces (the network should match it);
    'optimal' is T* of the link. Test error: ``width`` random unit directions inside the
    estimated subspace, fresh biases and ridge, so only the subspace differs from the network.
    """
    inner = transform if transform is not None else (lambda v: v)
    T_loss, _ = loss_preprocessing(args.loss, inner(y1), args.huber_delta)

    def T(v):
        return T_loss(inner(v))

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
        results.append(entry)
    return results


def format_report(report: dict) -> str:
    """The report as a short text table."""
    p, s, t, sec = report["problem"], report["sizes"], report["training"], report["seconds"]
    covers = {True: "yes", False: "no", None: "unknown"}[p["theory_covers"]]
    loss = f"huber(delta={t['huber_delta']:g})" if t["loss"] == "huber" else t["loss"]
    if t["transform"]:
        loss += f" on {t['transform']}(y)"
    lines = [
        f"problem   {p['description']}   (r = {p['r']}, d = {p['d']}, noise = {p['noise']:g}, "
        f"theory covers: {covers})",
        f"sizes     n1 = {s['n1']} (alpha = {s['alpha']:g}), n2 = {s['n2']}, "
        f"n_test = {s['n_test']}, width m = {s['width']}, T1 = {s['steps']} steps, {s['dtype']}",
        f"data      {s['data_bytes'] / 2**30:.2f} GiB as arrays"
        + (", streamed: never stored, rows regenerated on every pass" if s["streamed"] else ""),
        f"training  loss {loss}, {t['activation']}, lr = {t['lr']:g}, "
        f"weight decay = {t['weight_decay']:g}, ridge = {t['ridge']:.2g} (GCV)",
        f"time      {'labels' if s['streamed'] else 'sampling'} {sec['sampling']:.2f} s, "
        f"phase 1 {sec['phase1']:.2f} s, phase 2 {sec['phase2']:.2f} s, total {sec['total']:.1f} s; "
        f"peak memory {report['peak_memory_bytes'] / 2**30:.2f} GiB",
        "",
        f"{'':36}{'distance':>9}{'max angle':>11}{'test MSE/Var':>14}   coverage per direction",
    ]
    rows = [("network (layer-wise)", report["network"])]
    rows += [(b["method"], b) for b in report.get("spectral", [])]
    for name, r in rows:
        cov = " ".join(f"{c:.2f}" for c in r["coverage"]) if "coverage" in r else "-"
        lines.append(
            f"{name:36}{r['subspace_distance']:9.3f}{r['principal_angles_deg'][-1]:10.1f}"
            f"\N{DEGREE SIGN}{r['test_error']:14.3f}   {cov}"
        )
    if s["streamed"]:
        lines.append(
            "(spectral baselines skipped with --stream: each needs ~100 passes over the data)"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
