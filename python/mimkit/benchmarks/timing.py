"""Shared by the benchmarks: robust timing, the machine header line, Markdown and JSON output."""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path
from typing import Any, Callable, Sequence, Union

import numpy as np

#: Pause before each timed call: after a call, OpenBLAS keeps its worker threads spinning for
#: up to ~2^28 cycles (~0.1 s) and would otherwise steal the cores from whoever runs next.
SETTLE_S = 0.15


def interleaved_times(
    contenders: dict[str, Callable[[], Any]], repeats: int
) -> dict[str, list[float]]:
    """Wall times of each contender over ``repeats`` rounds; every round times each contender
    once, back to back, so that a change of load on a shared machine hits one round of every
    contender alike. Each contender is warmed up once; every timed call starts after a short
    pause (SETTLE_S) so that no library's idle-spinning threads are billed to another.
    """
    for fn in contenders.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            time.sleep(SETTLE_S)
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def paired_ratio(times: dict[str, list[float]], numerator: str, denominator: str) -> float:
    """Median over rounds of ``numerator / denominator`` timed in the same round.

    On a machine whose speed drifts by tens of percent within a minute (other tenants), the
    ratio of two calls made a second apart is far steadier than the ratio of two medians.
    """
    return median([a / b for a, b in zip(times[numerator], times[denominator])])


def case_fields(dtype, **sizes: Any) -> dict:
    """The leading fields of a benchmark row: the dtype's name, then the sizes as given."""
    return {"dtype": np.dtype(dtype).name, **sizes}


def machine_header(config: dict) -> str:
    """One line naming the CPU, the core variant and numpy's BLAS kernel (ARCHITECTURE.md)."""
    blas = (
        "; ".join(
            f"{p['internal_api']} {p['version']} kernel={p['architecture']}"
            for p in config["numpy_blas"]
        )
        or "none"
    )
    coretype = os.environ.get("OPENBLAS_CORETYPE", "unset")
    return (
        f"machine: {config['processor']} | mimkit core: {config['variant']} ({config['simd']}) | "
        f"numpy BLAS: {blas} | OPENBLAS_CORETYPE={coretype}"
    )


def write_json(path: str, payload: dict) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(payload, indent=2, default=str))
    print(f"wrote {path}")


#: A table column: its header and the row's key, or a function of the row (a dict).
Column = tuple[str, Union[str, Callable[[dict], Any]]]


def markdown_table(columns: Sequence[Column], rows: Sequence[dict]) -> str:
    """A GitHub Markdown table of ``rows``; floats printed with 3 significant digits."""

    def cell(row: dict, source) -> str:
        value = row[source] if isinstance(source, str) else source(row)
        return f"{value:.3g}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(h for h, _ in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row, src) for _, src in columns) + " |" for row in rows]
    return "\n".join(lines)
