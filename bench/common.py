"""Helpers shared by the benchmark scripts: robust timing, machine header, JSON output."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Callable


def median_time(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2]


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
