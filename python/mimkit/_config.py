"""``mimkit.show_config()``: what this installation runs on, and ``mimkit.__version__``."""

from __future__ import annotations

import functools
import platform
import warnings
from importlib import metadata
from typing import Any


def _installed_version() -> str:
    """The installed distribution's version, which is pyproject.toml's (the compiled core
    reports the same one in ``build_info()``)."""
    try:
        return metadata.version("mimkit")
    except metadata.PackageNotFoundError:  # a source tree on sys.path, never installed
        return "0+unknown"


__version__ = _installed_version()


def config() -> dict[str, Any]:
    """Build and runtime facts: versions (the package's and the compiled core's, which differ
    only in a stale build), core variant, Eigen, SIMD level, OpenMP threads, numpy's BLAS.

    Returns
    -------
    dict
        Name -> value (``mimkit info`` prints them).
    """
    import numpy as np
    from threadpoolctl import threadpool_info

    from ._native import native

    build = dict(native.build_info())
    info: dict[str, Any] = {"mimkit_version": __version__, "core_version": build.pop("version")}
    info.update(build)
    blas = [
        {k: pool.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
        for pool in threadpool_info()
        if pool.get("user_api") == "blas"
    ]
    info.update(
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


@functools.lru_cache(maxsize=None)
def core_has_openmp() -> bool:
    """Whether the loaded core was compiled with OpenMP (without it, it runs on one thread)."""
    from ._native import native

    return bool(native.build_info()["openmp"])


_serial_warning_given = False


def warn_if_serial(n_threads: int) -> None:
    """Warn, once per process, that ``n_threads`` > 1 runs on one thread in a core built
    without OpenMP (a compiler without it, or ``-DMIMKIT_OPENMP=OFF``); not an error, since
    the results are the same."""
    global _serial_warning_given
    if n_threads > 1 and not _serial_warning_given and not core_has_openmp():
        _serial_warning_given = True
        warnings.warn(
            f"mimkit was built without OpenMP: n_threads={n_threads} runs on 1 thread. "
            "Rebuild with a compiler that has OpenMP to use more.",
            RuntimeWarning,
            stacklevel=3,
        )


def _describe_openmp(info: dict[str, Any]) -> str:
    if not info["openmp"]:
        return "no (1 thread)"
    threads = info["openmp_max_threads"]
    return f"yes ({threads} thread{'s' if threads != 1 else ''})"


def show_config() -> None:
    """Print :func:`config` as aligned ``key: value`` lines."""
    info = config()
    for key, value in info.items():
        if key == "openmp_max_threads":  # the OpenMP line says it
            continue
        if key == "openmp":
            key, value = "OpenMP", _describe_openmp(info)
        elif key == "numpy_blas":
            value = "; ".join(_describe_blas(pool) for pool in value) or "none found"
        print(f"{key:>20}: {value}")


def _describe_blas(pool: dict[str, Any]) -> str:
    return (
        f"{pool['internal_api']} {pool['version']} kernel={pool['architecture']} "
        f"threads={pool['num_threads']}"
    )
