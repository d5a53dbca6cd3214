"""Sizes against the machine: an allocation that cannot fit is an error naming its argument."""

from __future__ import annotations

import os
from typing import Optional


def physical_memory() -> Optional[int]:
    """Bytes of physical memory of this machine, or None where the OS does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return None


def short_number(value: float) -> str:
    """``value`` in at most a few digits, even an int beyond float range (``1e+400``)."""
    if isinstance(value, int) and abs(value) < 10**15:
        return str(value)
    try:
        return f"{float(value):.3g}"
    except OverflowError:
        return f"1e+{len(str(abs(value))) - 1}"


def _human(n_bytes: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n_bytes < 1024:
            return f"{short_number(n_bytes)} {unit}"
        n_bytes = n_bytes / 1024 if isinstance(n_bytes, float) else n_bytes // 1024
    return f"{short_number(n_bytes)} EiB"


def check_fits(n_bytes: float, what: str, fix: str) -> None:
    """Raise ValueError if ``n_bytes`` exceed this machine's physical memory.

    ``what`` names the argument and its value (the start of the message), ``fix`` says what
    to change.
    """
    memory = physical_memory()
    if memory is not None and not n_bytes <= memory:  # inf and NaN do not fit either
        raise ValueError(
            f"{what} needs {_human(n_bytes)} of memory, more than this machine's "
            f"{_human(memory)}; {fix}"
        )
