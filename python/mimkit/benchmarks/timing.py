"""Shared by the benchmarks: robust timing, the machine header line, Markdown and JSON output."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Callable, Sequence


def interleaved_medians(contenders: dict[str, Callable[[], Any]], repeats: int,
                        warmup: int = 1) -> dict[str, float]:
    """Median wall time of each contender, timed round-robin so that load on a shared machine
    hits every contender alike (their ratios are what the benchmarks report)."""
    for fn in contenders.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: sorted(ts)[len(ts) // 2] for name, ts in times.items()}


def machine_header(config: dict) -> str:
    """One line naming the CPU, the core variant and numpy's BLAS kernel (ARCHITECTURE.md)."""
    blas = "; ".join(f"{p['internal_api']} {p['version']} kernel={p['architecture']}"
                     for p in config["numpy_blas"]) or "none"
    coretype = os.environ.get("OPENBLAS_CORETYPE", "unset")
    return (f"machine: {config['processor']} | mimkit core: {config['variant']} ({config['simd']}) | "
            f"numpy BLAS: {blas} | OPENBLAS_CORETYPE={coretype}")


def write_json(path: str, payload: dict) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(payload, indent=2, default=str))
    print(f"wrote {path}")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub Markdown table; floats printed with 3 significant digits."""
    def cell(value: Any) -> str:
        return f"{value:.3g}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
