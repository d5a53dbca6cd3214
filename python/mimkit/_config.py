"""``mimkit.show_config()``: what this installation runs on."""

from __future__ import annotations

import platform
from typing import Any


def config() -> dict[str, Any]:
    """Build and runtime facts: core variant, Eigen, SIMD level, OpenMP threads, numpy's BLAS."""
    import numpy as np
    from threadpoolctl import threadpool_info

    from ._native import native

    info = dict(native.build_info())
    blas = [
        {k: pool.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
        for pool in threadpool_info()
        if pool.get("user_api") == "blas"
    ]
    info.update(
        mimkit_version=__import__("mimkit").__version__,
        numpy_version=np.__version__,
        numpy_blas=blas,
        python=platform.python_version(),
        machine=platform.machine(),
        processor=_cpu_name(),
    )
    return info


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def show_config() -> None:
    """Print :func:`config` as aligned ``key: value`` lines."""
    for key, value in config().items():
        if key == "numpy_blas":
            value = (
                "; ".join(
                    f"{p['internal_api']} {p['version']} kernel={p['architecture']} threads={p['num_threads']}"
                    for p in value
                )
                or "none found"
            )
        print(f"{key:>20}: {value}")
