"""The theory curves of a sweep's plot, kept in the sweep's own results database.

Table ``theory`` of ``results.sqlite`` (next to the records; the store's other tables are not
touched): ``key`` (:func:`mimkit.theory_cache.theory_key`: the computation, its settings, the
theory method and mimkit's version), ``name`` (the computation, for a reader of the database),
``value`` (JSON, :func:`mimkit.theory_cache.encode`) and ``created`` (Unix time). ``mimkit plot``
and a rerun of the sweep read them instead of recomputing; a copy of the folder carries them.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from pathlib import Path
from typing import Iterator, Optional

from ..theory_cache import use_cache
from .store import DATABASE, PathLike

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS theory ("
    "key TEXT PRIMARY KEY, name TEXT NOT NULL, value TEXT NOT NULL, created REAL NOT NULL)"
)
#: How long a read or write waits for another process's lock on the database.
_BUSY_TIMEOUT_S = 60.0


class SweepTheoryCache:
    """A :class:`mimkit.theory_cache.TheoryCache` in the ``theory`` table of a sweep database.

    A database that cannot be written (read-only file or folder) serves what it holds and
    skips writes; one that cannot be read at all serves nothing (the plot computes).
    """

    def __init__(self, database: Path):
        self.database = Path(database)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.database, timeout=_BUSY_TIMEOUT_S, isolation_level=None)

    def get(self, key: str) -> Optional[str]:
        try:
            with contextlib.closing(self._connect()) as conn:
                row = conn.execute("SELECT value FROM theory WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error:  # no table yet, or an unreadable database
            return None
        return None if row is None else str(row[0])

    def put(self, key: str, name: str, value: str) -> None:
        try:
            with contextlib.closing(self._connect()) as conn:
                conn.execute(_SCHEMA)
                # One statement, one transaction: a concurrent writer of the same key (the
                # same value) is ignored, never interleaved.
                conn.execute(
                    "INSERT OR IGNORE INTO theory (key, name, value, created) VALUES (?, ?, ?, ?)",
                    (key, name, value, time.time()),
                )
        except sqlite3.Error:  # read-only store: the plot is still drawn
            pass


@contextlib.contextmanager
def sweep_theory(folder: PathLike) -> Iterator[None]:
    """Inside the block, cached theory (:func:`mimkit.theory_cache.cached`) of the sweep in
    ``folder`` is read from and written to its database."""
    with use_cache(SweepTheoryCache(Path(folder) / DATABASE)):
        yield
