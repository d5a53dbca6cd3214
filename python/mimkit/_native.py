"""Pick the compiled core variant for this CPU; the only importer of ``_core_*``.

Three builds of the same sources exist on x86-64: ``base`` (SSE2), ``v3`` (AVX2 + FMA) and
``v4`` (AVX-512). The best one the CPU supports is used; ``MIMKIT_ISA=base|v3|v4`` forces one
(an error if that variant is missing or unsupported).
"""

from __future__ import annotations

import copyreg
import importlib
import os
import warnings
from types import ModuleType
from typing import TYPE_CHECKING

_LEVELS = ("v4", "v3", "base")


def _load() -> ModuleType:
    from . import _core_base

    forced = os.environ.get("MIMKIT_ISA", "").strip()
    if forced:
        if forced not in _LEVELS:
            raise ImportError(f"MIMKIT_ISA={forced!r} is not one of {', '.join(_LEVELS)}.")
        if not _core_base.cpu_supports(forced):
            raise ImportError(
                f"MIMKIT_ISA={forced!r}, but this CPU does not support that ISA level."
            )
        return importlib.import_module(f"._core_{forced}", __package__)
    for level in _LEVELS:
        if _core_base.cpu_supports(level):
            try:
                return importlib.import_module(f"._core_{level}", __package__)
            except ModuleNotFoundError:  # variant not built on this platform (e.g. aarch64)
                continue
            except ImportError as err:  # built but broken: say so rather than silently run slower
                warnings.warn(
                    f"mimkit: the {level} core failed to import ({err}); falling back "
                    f"to a slower variant.",
                    RuntimeWarning,
                    stacklevel=2,
                )
    return _core_base


if TYPE_CHECKING:  # every variant has the interface of the base build (_core_base.pyi)
    from . import _core_base as native
else:
    native = _load()


def _row_address(seed: int, row_begin: int, n_rows: int, d: int):
    """A ``RowAddress`` of the core this process loaded (the target of its pickles)."""
    return native.RowAddress(seed, row_begin, n_rows, d)


def _reduce_row_address(address) -> tuple:
    return _row_address, (address.seed, address.row_begin, address.n_rows, address.d)


# Each ISA variant has its own RowAddress type; a pickle names none of them, so a machine that
# loads another variant (a worker on another CPU) can read it.
copyreg.pickle(native.RowAddress, _reduce_row_address)
