"""The ``mimkit`` console script: ``mimkit run`` learns one multi-index problem and reports.

Each subcommand is added by a small ``_add_*`` function that sets ``func(args) -> exit status``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from typing import TYPE_CHECKING, Optional, Sequence

from ._config import __version__
from ._console import one_line_warnings
from .experiments.cli import add_subcommands as add_experiment_subcommands
from .joint_training import DEFAULT_TOL
from .links import DEPRECATED_NAMES, LINKS
from .options import (
    ACTIVATIONS,
    DASK_TIMEOUT,
    JOINT_METHODS,
    LOSSES,
    PHASE2_DATA,
    PREPROCESSINGS,
)
from .theory_cli import add_subcommand as add_theory_subcommand

if TYPE_CHECKING:
    from .run_workflow import RunSettings


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
    run.add_argument(
        "--link", default="z1z2", choices=sorted([*LINKS, *DEPRECATED_NAMES]), help="default z1z2"
    )
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
    run.add_argument(
        "--phase2-data",
        default="fresh",
        choices=PHASE2_DATA,
        help="'fresh' (default): phase 2 on its own n2 samples, the paper's sample splitting; "
        "'reuse': no D2, phase 2 refits phase 1's samples (no --alpha2)",
    )
    run.add_argument(
        "--refine",
        choices=JOINT_METHODS,
        help="after phase 2, train all weights jointly (squared loss, D1 and D2, early "
        "stopping on a held-out tenth) from the layer-wise network; reported as its own row",
    )
    run.add_argument(
        "--refine-max-iter",
        type=int,
        help="L-BFGS iterations or Adam epochs of --refine (default 30 / 15)",
    )
    run.add_argument(
        "--refine-tol",
        type=float,
        help=f"relative validation improvement that counts in --refine (default {DEFAULT_TOL:g})",
    )
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
        "--timeout",
        type=float,
        metavar="SECONDS",
        help=f"with --dask: how long to wait for the scheduler (default {DASK_TIMEOUT:g})",
    )
    run.add_argument(
        "--no-baseline",
        action="store_true",
        help="skip the spectral baselines (always skipped with --stream: each takes "
        "~100 passes over the data)",
    )
    run.add_argument(
        "--data",
        metavar="FILE.csv",
        help="a real data set instead of a sampled problem: the network (X whitened) against "
        "ridge on a held-out 20%%, and SIR/SAVE/pHd dimension tests; needs --target (the "
        "problem flags --d, --alpha, --link, ... do not apply)",
    )
    run.add_argument("--target", metavar="COL", help="with --data: the response column")
    run.add_argument("--json", action="store_true", help="print the report as JSON")
    run.add_argument(
        "--no-cache",
        action="store_true",
        help="compute the theory rows afresh, neither reading nor writing the user cache "
        "folder ($MIMKIT_CACHE_DIR, else $XDG_CACHE_HOME/mimkit or ~/.cache/mimkit)",
    )
    run.set_defaults(func=cmd_run)


def _add_info(subparsers) -> None:
    info = subparsers.add_parser("info", help="build and runtime configuration")
    info.set_defaults(func=cmd_info)


def _add_bench(subparsers) -> None:
    from .benchmarks.suite import add_arguments

    bench = subparsers.add_parser(
        "bench",
        help="benchmarks against numpy, scikit-learn (and PyTorch where installed)",
        description="Run the benchmarks (default: all, at quick sizes with --quick; "
        "time-to-accuracy alone takes ~8 minutes at full size). For a fair comparison with "
        "numpy run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset.",
    )
    add_arguments(bench)
    bench.set_defaults(func=cmd_bench)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mimkit",
        description="Learn Gaussian multi-index models with layer-wise trained two-layer networks.",
    )
    parser.add_argument("--version", action="version", version=f"mimkit {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_run(subparsers)
    _add_info(subparsers)
    _add_bench(subparsers)
    add_experiment_subcommands(subparsers)  # sweep, plot, list
    add_theory_subcommand(subparsers)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with one_line_warnings(args.command):
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


#: Settings of a sampled problem: a ``--data`` run has none of them (its data fix d and sizes).
_PROBLEM_SETTINGS = (
    "d", "alpha", "alpha2", "n_test", "link", "r", "noise", "transform", "dtype", "stream",
    "dask", "timeout", "baselines", "phase2_data", "refine", "refine_max_iter", "refine_tol",
)  # fmt: skip


def _flag(name: str) -> str:
    return "--no-baseline" if name == "baselines" else "--" + name.replace("_", "-")


def _run_settings(args: argparse.Namespace) -> RunSettings:
    """The settings of ``mimkit run`` from its flags.

    Raises
    ------
    ValueError
        Naming the flags, for a flag that would be ignored (a problem flag with ``--data``,
        ``--refine-*`` without ``--refine``, ``--timeout`` without ``--dask``) or a timeout
        that is not a positive number of seconds.
    """
    from .run_workflow import RunSettings

    values = {f.name: getattr(args, f.name) for f in fields(RunSettings) if f.name != "baselines"}
    values["baselines"] = not args.no_baseline
    defaults = RunSettings()
    optional = ("timeout", "refine_tol")  # None on the command line: the flag was not given
    given = {k for k in optional if values[k] is not None}
    given |= {k for k, v in values.items() if k not in optional and v != getattr(defaults, k)}
    values.update({k: getattr(defaults, k) for k in optional if values[k] is None})
    if (args.data is None) != (args.target is None):
        raise ValueError("--data and --target go together.")
    ignored = [_flag(k) for k in _PROBLEM_SETTINGS if k in given]
    if args.data is not None and ignored:
        raise ValueError(
            f"{', '.join(ignored)}: apply to sampled problems, not --data (the data set fixes "
            f"d and the sample sizes); drop {'it' if len(ignored) == 1 else 'them'}."
        )
    tuning = [_flag(k) for k in ("refine_max_iter", "refine_tol") if k in given]
    if tuning and args.refine is None:
        raise ValueError(
            f"{' and '.join(tuning)} only {'tunes' if len(tuning) == 1 else 'tune'} --refine: "
            f"add --refine lbfgs (or adam), or drop {'it' if len(tuning) == 1 else 'them'}."
        )
    if "timeout" in given:
        if args.dask is None:
            raise ValueError(
                "--timeout is how long --dask waits for its scheduler: add --dask, or drop it."
            )
        if not 0 < args.timeout < float("inf"):
            raise ValueError(
                f"--timeout must be a positive number of seconds, got {args.timeout:g}."
            )
    return RunSettings(**values)


def cmd_run(args: argparse.Namespace) -> int:
    # On demand: `mimkit --help` starts without the learning stack, and a run on the built-in
    # problem without the data-file stack (pandas, scikit-learn: about a second).
    from .theory_cache import use_cache, user_cache

    try:
        settings = _run_settings(args)
        if settings.data is None:
            from .run_report import format_report
            from .run_workflow import run_problem

            run, report_text = run_problem, format_report
        else:
            from .data_run import format_data_report, run_data

            run, report_text = run_data, format_data_report
        with use_cache(user_cache(not args.no_cache)):
            report = run(settings)
    except (ValueError, TypeError, FloatingPointError, MemoryError) as err:
        message = " ".join(str(err).split())  # one line, whatever the library's text holds
        print(f"mimkit run: error: {message}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2) if args.json else report_text(report))
    return 130 if "interrupted" in report else 0


if __name__ == "__main__":
    sys.exit(main())
