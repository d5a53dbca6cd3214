"""The ``sweep``, ``plot``, ``export`` and ``list`` subcommands of the ``mimkit`` console script.

``mimkit.cli`` calls :func:`add_subcommands`; ``python -m mimkit.experiments`` runs the same
subcommands on their own.
"""

from __future__ import annotations

import argparse
import io
import shlex
import sys
import warnings
from pathlib import Path
from typing import Optional, Sequence

from .._console import one_line_warnings
from .backends import DEFAULT_TIMEOUT_S, make_backend
from .registry import parse_set
from .runner import PointsFailedError, run_sweep
from .store import ResultStore

#: Default output folder of ``mimkit sweep NAME``: ``results/NAME``.
DEFAULT_ROOT = Path("results")


def add_subcommands(subparsers) -> None:
    """Register ``sweep``, ``plot``, ``export`` and ``list`` on an argparse subparsers object.

    Each subcommand sets ``func``, a callable ``(args) -> exit status``.
    """
    sweep = subparsers.add_parser(
        "sweep",
        help="run a shipped experiment over its grid (resumable)",
        description="Run a shipped experiment over a grid of parameters x seeds. Finished "
        "points are stored one by one in --out; rerunning the same command skips "
        "them, so an interrupted sweep resumes where it stopped.",
    )
    sweep.add_argument("experiment", help="experiment name (see `mimkit list`)")
    sweep.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=V1[,V2...]",
        help="set a parameter (one value) or sweep it (several); repeatable",
    )
    sweep.add_argument("--seeds", type=int, help="repetitions per combination")
    sweep.add_argument("--base-seed", type=int, default=0, help="root of all derived seeds")
    sweep.add_argument(
        "--full",
        action="store_true",
        help="the full-size study (hours) instead of the quick default",
    )
    sweep.add_argument("--backend", choices=("local", "dask"), default="local")
    sweep.add_argument(
        "--scheduler", metavar="ADDR", help="dask scheduler address (default: start a LocalCluster)"
    )
    sweep.add_argument("--workers", type=int, help="worker processes (default: one per core)")
    sweep.add_argument(
        "--threads", type=int, help="BLAS/OpenMP threads per worker (default: cores / workers)"
    )
    sweep.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help=f"with --backend dask: how long to wait for the scheduler or the LocalCluster "
        f"to answer before giving up (default {DEFAULT_TIMEOUT_S:g})",
    )
    sweep.add_argument(
        "--out",
        type=Path,
        help="output folder: new, empty, or one of an earlier sweep of the same experiment "
        "(resumed; several sweeps may share it at once). Default: results/EXPERIMENT",
    )
    sweep.add_argument(
        "--no-plot",
        action="store_true",
        help="skip writing the PNG and Markdown table after the sweep",
    )
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    sweep.set_defaults(func=cmd_sweep)

    plot = subparsers.add_parser(
        "plot",
        help="PNG + Markdown table of a sweep folder",
        description="Write EXPERIMENT.png and EXPERIMENT.md (summary table over seeds) from "
        "the finished points of a sweep folder.",
    )
    plot.add_argument("folder", type=Path)
    plot.add_argument("--to", type=Path, metavar="DIR", help="write there instead of FOLDER")
    plot.set_defaults(func=cmd_plot)

    export = subparsers.add_parser(
        "export",
        help="the records of a sweep folder as a Parquet file",
        description="Write every finished record of a sweep folder (the DataFrame of "
        "mimkit.experiments.load) to a Parquet file, for other tools.",
    )
    export.add_argument("folder", type=Path)
    export.add_argument("--parquet", type=Path, required=True, metavar="FILE")
    export.set_defaults(func=cmd_export)

    lister = subparsers.add_parser("list", help="the shipped experiments and their parameters")
    lister.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="also show every parameter's default and --full values",
    )
    lister.set_defaults(func=cmd_list)


def _fail(command: str, message: str) -> int:
    print(f"mimkit {command}: error: {message}", file=sys.stderr)
    return 2


# The experiment definitions and plots import matplotlib and the whole learner: they are
# imported by the commands that need them, so that `mimkit run` starts no slower.


def cmd_sweep(args: argparse.Namespace) -> int:
    """``mimkit sweep``; returns the exit status."""
    from .checks import check_grid
    from .definitions import get_experiment
    from .figure_source import rendered

    try:
        experiment = get_experiment(args.experiment)
        grid = experiment.grid(
            parse_set(args.overrides, experiment),
            seeds=args.seeds,
            full=args.full,
            base_seed=args.base_seed,
        )
        check_grid(experiment, grid)
        if args.workers is not None and args.workers > len(grid):
            warnings.warn(
                f"--workers {args.workers} for {len(grid)} points: starting {len(grid)} "
                f"(a worker without a point would only cost memory)",
                stacklevel=1,
            )
        backend = make_backend(
            args.backend,
            scheduler=args.scheduler,
            n_workers=args.workers,
            threads_per_worker=args.threads,
            timeout=args.timeout,
        )
    except (ValueError, TypeError) as exc:
        return _fail("sweep", str(exc))
    out = args.out if args.out is not None else DEFAULT_ROOT / experiment.name
    try:
        summary = run_sweep(
            experiment.point,
            grid,
            out,
            experiment=experiment.name,
            backend=backend,
            progress=not args.quiet,
            command=_describe(args),
        )
    except KeyboardInterrupt:
        try:
            with ResultStore(out, readonly=True) as store:
                done = len(store.finished_ids())
        except (FileNotFoundError, ValueError):  # interrupted before the store existed
            done = 0
        print(
            f"\ninterrupted: {done} finished points are stored in {out}; rerun the same "
            f"command to compute the rest",
            file=sys.stderr,
        )
        return 130
    except PointsFailedError as exc:
        print(f"mimkit sweep: {exc}", file=sys.stderr)
        return 1
    except (ValueError, ConnectionError, ImportError) as exc:
        return _fail("sweep", str(exc))
    others = f", {summary.by_others} by another sweep" if summary.by_others else ""
    print(
        f"{experiment.name}: {summary.computed} points computed{others}, {summary.skipped} "
        f"already done, {summary.elapsed_s:.1f} s -> {out}"
    )
    if not args.no_plot:
        current = rendered(out) if summary.computed == 0 and not summary.by_others else None
        if current is not None:
            print(f"up to date: {current[0]} and {current[1]}")
            return 0
        from .report import render  # matplotlib: only when there is something to draw

        try:
            png, md = render(out)
        except ValueError as exc:
            return _fail("sweep", str(exc))
        print(f"wrote {png} and {md}")
    return 0


def _describe(args: argparse.Namespace) -> str:
    """The canonical ``mimkit sweep`` command line of ``args`` (recorded in the manifest).

    Backend, worker and thread options are left out: the store records them per run (and the
    thread cap per point), as they may change results in the last digits.
    """
    parts = ["mimkit", "sweep", args.experiment]
    parts += [f"--set {shlex.quote(s)}" for s in args.overrides]
    if args.seeds is not None:
        parts.append(f"--seeds {args.seeds}")
    if args.base_seed:
        parts.append(f"--base-seed {args.base_seed}")
    if args.full:
        parts.append("--full")
    if args.out is not None:
        parts.append(f"--out {shlex.quote(str(args.out))}")
    return " ".join(parts)


def cmd_plot(args: argparse.Namespace) -> int:
    """``mimkit plot``; returns the exit status."""
    from .report import render

    try:
        png, md = render(args.folder, args.to)
    except (FileNotFoundError, ValueError) as exc:
        return _fail("plot", str(exc))
    print(f"wrote {png} and {md}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """``mimkit export``; returns the exit status."""
    from ._files import atomic_write
    from .store import load

    target = args.parquet
    if target.is_dir() or not target.parent.is_dir():
        return _fail("export", f"--parquet {target}: not a file in an existing folder")
    try:
        df = load(args.folder)
        buffer = io.BytesIO()
        df.to_parquet(buffer, index=False)
        atomic_write(target, buffer.getvalue())
    except (FileNotFoundError, ValueError) as exc:
        return _fail("export", str(exc))
    print(f"wrote {len(df)} records of {args.folder} to {target}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """``mimkit list``; returns the exit status."""
    from .definitions import EXPERIMENTS

    for exp in EXPERIMENTS.values():
        grid = exp.grid()
        print(f"{exp.name:<20} {exp.summary}")
        swept = ", ".join(f"{k}={','.join(map(str, v))}" for k, v in exp.swept.items())
        print(f"{'':<20} sweeps {swept}; {exp.seeds} seeds ({len(grid)} points)")
        if args.verbose:
            for key, value in exp.fixed.items():
                print(f"{'':<22}{key} = {value}")
            if exp.full_swept or exp.full_fixed:
                full = {**exp.full_fixed, **exp.full_swept}
                print(
                    f"{'':<22}--full: "
                    + "; ".join(
                        f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}"
                        for k, v in full.items()
                    )
                )
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run one of the subcommands from ``argv``; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m mimkit.experiments",
        description="mimkit experiments: sweep, plot, export, list",
    )
    add_subcommands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    with one_line_warnings(args.command):
        return args.func(args)
