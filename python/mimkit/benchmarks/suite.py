"""Run the benchmarks by name, print Markdown tables, write JSON (``bench/*.py``,
``mimkit bench``)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from .._config import config
from ..experiments._files import make_folder
from .timing import machine_header, markdown_table, write_json

# Each benchmark imports its module when it runs: `mimkit --help` and `mimkit bench --help`
# list them without loading scikit-learn, scipy or PyTorch.


def _phase1(quick: bool):
    from . import phase1_step

    rows = phase1_step.measure(**(dict(n=8192, repeats=3) if quick else {}))
    return rows, markdown_table(phase1_step.COLUMNS, rows)


def _local_hessian(quick: bool):
    from . import local_hessian

    rows = local_hessian.measure(**(dict(n=8192, repeats=5) if quick else {}))
    return rows, markdown_table(local_hessian.COLUMNS, rows)


def _torch(quick: bool):
    from . import torch_step

    rows = torch_step.measure(**(dict(n=8192, repeats=3) if quick else {}))
    if not rows:
        return rows, "PyTorch is not installed: skipped (pip install torch to run it)."
    return rows, markdown_table(torch_step.COLUMNS, rows)


def _overhead(quick: bool):
    from . import fit

    row = fit.measure_overhead(**(dict(d=512, m=64) if quick else {}))
    table = markdown_table(fit.OVERHEAD_COLUMNS, [row])
    return row, table


def _scaling(quick: bool):
    from . import fit

    options: dict[str, Any] = dict(ds=(256, 512, 1024), repeats=1) if quick else {}
    result = fit.measure_scaling(**options)
    table = markdown_table(fit.SCALING_COLUMNS, result["rows"])
    table += (
        f"\n\nlog-log slope of fit time vs d: {result['slope_fit']:.2f} "
        f"(phase 1 alone: {result['slope_phase1']:.2f}); O(d^2) predicts 2."
    )
    return result, table


def _stream(quick: bool):
    from . import stream

    rows = stream.measure(**(dict(n=8192, repeats=3) if quick else {}))
    return rows, markdown_table(stream.COLUMNS, rows)


def _amp(quick: bool):
    from . import amp

    rows = amp.measure(**(dict(n=4096, d=512, repeats=3) if quick else {}))
    return rows, markdown_table(amp.COLUMNS, rows)


def _latency(quick: bool):
    from . import latency

    rows = latency.measure(quick)
    return rows, markdown_table(latency.COLUMNS, rows)


def _time_to_accuracy(quick: bool):
    from . import time_to_accuracy

    return time_to_accuracy.run(quick)


#: name -> (run(quick) -> (JSON payload, Markdown table), one-line description)
BENCHMARKS: dict[str, tuple[Callable, str]] = {
    "phase1-step": (
        _phase1,
        "targets 1 and 6: fused phase-1 step vs numpy GEMMs, reference, threads",
    ),
    "torch": (_torch, "target 2: PyTorch CPU autograd doing the same step"),
    "local-hessian": (_local_hessian, "target 3: local-Hessian block matvec, k = 1, 4, 16"),
    "fit-overhead": (_overhead, "target 4: phase-1 loop overhead inside fit"),
    "scaling": (_scaling, "target 5: fit time and peak memory vs d at fixed alpha"),
    "stream": (_stream, "streamed data: generator throughput, streamed vs in-memory phase-1 step"),
    "amp": (_amp, "one GAMP iteration vs its two GEMMs plus its channel call, per link"),
    "latency": (
        _latency,
        "what users wait for: import, --help, run, sweep, plot, theory, AMP, cold/warm cache",
    ),
    "time-to-accuracy": (
        _time_to_accuracy,
        "wall time to test MSE/Var 0.5, 0.2, 0.05: layer-wise, refined, joint, MLP, PyTorch",
    ),
}


def run(names: Sequence[str], quick: bool, out_dir: Optional[str]) -> dict:
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        raise ValueError(
            f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}."
        )
    if out_dir:
        _check_out(Path(out_dir), names)
    cfg = config()
    print(machine_header(cfg))
    results = {}
    for name in names:
        run_one, description = BENCHMARKS[name]
        print(f"\n### {name}: {description}{' (quick sizes)' if quick else ''}\n", flush=True)
        payload, table = run_one(quick)
        print(table, flush=True)
        results[name] = payload
        if out_dir:
            write_json(
                str(Path(out_dir) / f"{name}.json"),
                {
                    "config": cfg,
                    "quick": quick,
                    "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
                    "results": payload,
                },
            )
    return results


def _check_out(folder: Path, names: Sequence[str]) -> None:
    """Fail before a benchmark runs (they take minutes) if ``--out`` cannot take the results."""
    make_folder(folder, "--out")
    blocked = [str(folder / f"{n}.json") for n in names if (folder / f"{n}.json").is_dir()]
    if blocked:
        raise ValueError(f"--out {folder}: {', '.join(blocked)} is a folder, not a file.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (about a minute in all)")
    parser.add_argument("--out", default=None, help="folder for one JSON file per benchmark")


def main(argv: Optional[Sequence[str]] = None, default_names: Sequence[str] = ()) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    run(args.names or list(default_names or BENCHMARKS), args.quick, args.out)
