"""Theory computed once: results of :mod:`mimkit.theory` and :mod:`mimkit.amp` kept by key.

The theory's expectations cost seconds (Monte Carlo or quadrature) and depend only on their
settings, so the commands that print or draw them keep them: ``mimkit theory`` and ``mimkit run``
in the user cache folder (:func:`cache_folder`), ``mimkit sweep`` / ``mimkit plot`` in the sweep's
own results database (:mod:`mimkit.experiments.theory_store`), so that a plot or a resumed sweep
reuses the curves its first run computed. The library computes afresh unless a cache is active
(:func:`use_cache`).

A key is the SHA-256 of the computation's name, its settings (every argument and constant the
result depends on), :data:`THEORY_METHOD` and the package version, so a change of any of them
computes anew. Values are stored as JSON (numbers bit for bit, arrays as raw bytes, the theory's
result records by class name, restricted to mimkit's own dataclasses): reading a cache never
runs code. Writes are atomic (a temporary file renamed over the entry, or one SQLite
transaction), so concurrent processes at worst compute the same entry twice; an entry that
cannot be written (read-only folder) is skipped, and one that cannot be read is recomputed.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import dataclasses
import functools
import hashlib
import importlib
import json
import math
import os
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Protocol, TypeVar

import numpy as np

from ._config import __version__

#: The numerical method of the theory's expectations; part of every key. Change it whenever
#: mimkit.theory or mimkit.amp compute a result differently (e.g. quadrature replacing Monte
#: Carlo), so that no cache serves results of the old method.
THEORY_METHOD = "quadrature/6"
#: Environment variable that relocates the user cache folder.
CACHE_ENV = "MIMKIT_CACHE_DIR"

T = TypeVar("T")


class TheoryCache(Protocol):
    """Where cached theory lives: text values by key."""

    def get(self, key: str) -> Optional[str]: ...

    def put(self, key: str, name: str, value: str) -> None: ...


def cache_folder() -> Path:
    """The user cache folder of ``mimkit theory`` and ``mimkit run``.

    ``$MIMKIT_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/mimkit``, else ``~/.cache/mimkit``.
    """
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "mimkit"


class FolderCache:
    """One file per entry in ``folder/theory`` (created on the first write)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder) / "theory"

    def get(self, key: str) -> Optional[str]:
        try:
            return (self.folder / f"{key}.json").read_text()
        except (OSError, UnicodeDecodeError):
            return None

    def put(self, key: str, name: str, value: str) -> None:
        from .experiments._files import atomic_write

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write(self.folder / f"{key}.json", value.encode())
        except (OSError, ValueError):  # a read-only or full disk: the command still answers
            pass


_ACTIVE: contextvars.ContextVar[Optional[TheoryCache]] = contextvars.ContextVar(
    "mimkit_theory_cache", default=None
)


@contextlib.contextmanager
def use_cache(cache: Optional[TheoryCache]) -> Iterator[None]:
    """Make ``cache`` the one :func:`cached` reads and writes inside the block (None: none)."""
    token = _ACTIVE.set(cache)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def user_cache(enabled: bool = True) -> Optional[TheoryCache]:
    """The user cache folder's cache, or None when ``enabled`` is False (``--no-cache``)."""
    return FolderCache(cache_folder()) if enabled else None


def theory_key(name: str, settings: dict[str, Any]) -> str:
    """The key of computation ``name`` with ``settings`` (JSON-able values) under this theory
    method and package version."""
    text = json.dumps(
        {
            "name": name,
            "settings": _encode(settings),
            "method": THEORY_METHOD,
            "mimkit": __version__,
        },
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def cached(name: str, settings: dict[str, Any], compute: Callable[[], T]) -> T:
    """``compute()``, or the active cache's value of ``(name, settings)``.

    Parameters
    ----------
    name : str
        What is computed (a function's qualified name).
    settings : dict
        Everything the result depends on: JSON-able values (numbers, strings, None, tuples,
        lists, dicts with string keys).
    compute : callable
        Computes the value: None, numbers, strings, tuples, lists, dicts with string keys,
        numpy arrays, pandas DataFrames and mimkit's dataclasses of these.
    """
    cache = _ACTIVE.get()
    if cache is None:
        return compute()
    key = theory_key(name, settings)
    text = cache.get(key)
    if text is not None:
        try:
            return decode(text)
        except (ValueError, KeyError, TypeError):  # damaged or foreign entry: compute anew
            pass
    value = compute()
    cache.put(key, name, encode(value))
    return value


def cached_theory(**constants: Any) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorator: :func:`cached` keyed by the function's name, its arguments and ``constants``
    (module-level settings the result depends on, such as Monte Carlo sizes and seeds)."""

    def decorate(fn: Callable[..., T]) -> Callable[..., T]:
        name = f"{fn.__module__}.{fn.__qualname__}"

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> T:
            settings = {"args": list(args), "kwargs": kwargs, "constants": constants}
            return cached(name, settings, lambda: fn(*args, **kwargs))

        return wrapper

    return decorate


def encode(value: Any) -> str:
    """``value`` as JSON text (see :func:`cached` for what it may hold)."""
    return json.dumps(_encode(value))


def decode(text: str) -> Any:
    """The value :func:`encode` wrote."""
    return _decode(json.loads(text))


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        # JSON has no inf or nan; repr round-trips every float exactly.
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, np.generic):
        return _encode(value.item())
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise TypeError("cannot cache an object array")
        return {
            "__array__": value.dtype.str,
            "shape": list(value.shape),
            "data": base64.b64encode(np.ascontiguousarray(value).tobytes()).decode(),
        }
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("cannot cache a dict with non-string keys")
        if any(k.startswith("__") for k in value):
            raise TypeError("cannot cache a dict whose keys start with '__' (reserved)")
        return {k: _encode(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        fields = {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"__dataclass__": f"{cls.__module__}:{cls.__qualname__}", "fields": fields}
    if type(value).__name__ == "DataFrame" and type(value).__module__.startswith("pandas"):
        return {
            "__frame__": {
                "columns": [_encode(c) for c in value.columns],
                "data": {str(i): _encode_column(value[c]) for i, c in enumerate(value)},
            }
        }
    raise TypeError(f"cannot cache a {type(value).__name__}")


def _encode_column(column: Any) -> Any:
    """A DataFrame column: an array, or a list of its values (strings, None) if it holds objects."""
    values = column.to_numpy()
    return [_encode(v) for v in values.tolist()] if values.dtype.hasobject else _encode(values)


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__float__" in value:
        return float(value["__float__"])
    if "__tuple__" in value:
        return tuple(_decode(v) for v in value["__tuple__"])
    if "__array__" in value:
        dtype = np.dtype(value["__array__"])
        if dtype.hasobject:
            raise TypeError("an object array in the cache")
        raw = base64.b64decode(value["data"])
        return np.frombuffer(raw, dtype=dtype).reshape(value["shape"]).copy()
    if "__dataclass__" in value:
        # The stored state as it was, set field by field (frozen records included), without
        # re-running __init__ / __post_init__ on values the original already checked.
        record: Any = object.__new__(_dataclass(value["__dataclass__"]))
        for k, v in value["fields"].items():
            object.__setattr__(record, k, _decode(v))
        return record
    if "__frame__" in value:
        import pandas as pd

        frame = value["__frame__"]
        columns = [_decode(c) for c in frame["columns"]]
        data = {c: _decode(frame["data"][str(i)]) for i, c in enumerate(columns)}
        return pd.DataFrame(data, columns=columns)
    return {k: _decode(v) for k, v in value.items()}


def _dataclass(path: str) -> type:
    """The mimkit dataclass named ``module:qualname`` (nothing else is ever imported)."""
    module_name, _, qualname = path.partition(":")
    if module_name.split(".")[0] != "mimkit":
        raise ValueError(f"the cache names a class outside mimkit: {path!r}")
    obj: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    if not (isinstance(obj, type) and dataclasses.is_dataclass(obj)):
        raise ValueError(f"the cache names {path!r}, which is not a mimkit dataclass")
    return obj
