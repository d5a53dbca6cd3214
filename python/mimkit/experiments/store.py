"""Results store of a sweep: one SQLite database per output folder.

Layout of an output folder::

    OUT/
      results.sqlite   (+ its -wal / -shm companions while a sweep runs)
      <experiment>.png, <experiment>.md   written by ``mimkit plot``

Tables: ``meta`` (format, experiment, mimkit version), ``runs`` (one row per sweep started:
UTC time, command line, grid, backend, workers and threads), ``points`` (one row per finished
point: its id, key, the thread count it ran under and its records as JSON), ``owners`` and
``claims`` (which running sweep computes which point).

Why a database: a finished point is stored by one transaction (WAL journal, synchronous
commits), so it is either entirely there or absent, whatever kills the process; several
sweeps may share one folder at once: each claims a point before computing it, so the union
of their grids is computed once; ``PRAGMA integrity_check`` runs on every open, so a damaged
file is an error naming it, never a silently shorter result. A claim whose sweep died (its
process is gone, or it stopped refreshing its heartbeat for :data:`LEASE_S` seconds) is taken
over by the next sweep that asks.

Each record row holds the point's parameters (one column each), ``seed_index``, ``seed`` (the
derived integer seed), ``point_id``, then the metrics the experiment returned, timings in
columns whose names start with ``time_`` (seconds) and ``threads``, the BLAS / OpenMP thread
cap the point ran under (results may differ in the last digits between thread counts). Read
everything back with :func:`load` (a pandas DataFrame); ``mimkit export DIR --parquet FILE``
writes a Parquet file for other tools.

The store trusts its rows: a point computed by an older version of the code is *not*
recomputed. Use a fresh folder after changing code or anything that is not a parameter.
A folder written by an earlier mimkit (``manifest.json`` and ``points/*.parquet``) is
converted into a database the first time it is opened (see :mod:`._legacy`).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional, Union

import numpy as np

from ._files import make_folder, refuse_link
from .grid import Grid, Point

if TYPE_CHECKING:
    import pandas as pd

FORMAT = "mimkit-sweep/2"
DATABASE = "results.sqlite"
#: Columns the store adds to every row (besides the point's parameters and ``threads``).
BOOKKEEPING = ("point_id", "seed_index", "seed")
#: A claim whose owner has not refreshed its heartbeat for this long is free again.
LEASE_S = 600.0
#: How long opening the store waits for another process's lock before giving up.
_BUSY_TIMEOUT_S = 60.0

PathLike = Union[str, os.PathLike]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY, started_utc TEXT NOT NULL, command TEXT NOT NULL,
    grid TEXT NOT NULL, backend TEXT, workers INTEGER, threads INTEGER);
CREATE TABLE IF NOT EXISTS points (
    point_id TEXT PRIMARY KEY, point_key TEXT NOT NULL, run_id INTEGER,
    threads INTEGER, finished_utc TEXT NOT NULL, records TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS owners (
    owner TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, heartbeat REAL NOT NULL);
CREATE TABLE IF NOT EXISTS claims (point_id TEXT PRIMARY KEY, owner TEXT NOT NULL);
"""


def _utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _scalar(value: Any, point: Point, column: str) -> Any:
    """``value`` as a JSON scalar (numpy scalars become Python ones); anything else is refused."""
    if isinstance(value, np.generic) and np.ndim(value) == 0:
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(
        f"point {point.key}: record column {column!r} holds {type(value).__name__} "
        f"{value!r}, not a scalar (bool, int, float, str or None)"
    )


def records_frame(point: Point, records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows of one point: its parameters and bookkeeping columns, then its records.

    Raises
    ------
    ValueError
        If a record is empty or reuses a parameter or bookkeeping name.
    """
    import pandas as pd  # on demand: `mimkit --help` starts without it

    return pd.DataFrame(_record_rows(point, records, threads=None))


def _record_rows(
    point: Point, records: Iterable[Mapping[str, Any]], threads: Optional[int]
) -> list[dict]:
    rows = []
    reserved = set(point.params) | set(BOOKKEEPING) | {"threads"}
    for rec in records:
        rec = dict(rec)
        if not rec:
            raise ValueError(f"point {point.key}: an empty record")
        clash = sorted(reserved & set(rec))
        if clash:
            raise ValueError(
                f"point {point.key}: record columns {clash} clash with parameter "
                f"or bookkeeping names"
            )
        row = {
            **point.params,
            "seed_index": point.seed_index,
            "seed": point.seed,
            "point_id": point.id,
            **{k: _scalar(v, point, k) for k, v in rec.items()},
        }
        if threads is not None:
            row["threads"] = threads
        rows.append(row)
    if not rows:
        raise ValueError(f"point {point.key}: no records")
    return rows


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


class _Busy(Exception):
    """The database is locked by another connection (retry)."""


class ResultStore:
    """The results database of an output folder (see the module docstring).

    Parameters
    ----------
    folder : path
        The output folder.
    create : bool
        Create the folder and the database if missing (a sweep); otherwise (readers) a
        folder without a database is a FileNotFoundError.

    Raises
    ------
    FileNotFoundError
        If ``create`` is False and ``folder`` holds no results.
    ValueError
        One line naming the path: ``folder`` is a file or cannot be created, is not empty
        and holds no results, the database is a symbolic link, is damaged or not writable.
    """

    def __init__(self, folder: PathLike, *, create: bool = False):
        self.folder = Path(folder)
        self.path = self.folder / DATABASE
        refuse_link(self.path)
        if not self.path.exists():
            self._prepare(create)
        self._conn = self._connect()

    def _prepare(self, create: bool) -> None:
        from ._legacy import LEGACY_MANIFEST, migrate

        legacy = self.folder / LEGACY_MANIFEST
        if legacy.exists():
            refuse_link(legacy)
            migrate(self.folder, self.path)
            return
        if not create:
            raise FileNotFoundError(f"{self.folder} is not a sweep output folder (no {DATABASE})")
        make_folder(self.folder, "--out")
        # Another sweep may be creating the database right now: its files are not foreign.
        ours = {DATABASE + suffix for suffix in ("", "-wal", "-shm", "-journal")}
        if any(f.name not in ours for f in self.folder.iterdir()):
            raise ValueError(
                f"--out {self.folder}: the folder is not empty and holds no sweep results; "
                f"choose an empty or new folder"
            )

    def _connect(self) -> sqlite3.Connection:
        # Another sweep creating or converting the database holds a lock that SQLite may report
        # at once instead of waiting for (switching to WAL takes an exclusive lock): wait for
        # it like for any busy database, and call only a real fault damage.
        deadline = time.monotonic() + _BUSY_TIMEOUT_S
        while True:
            try:
                return self._open()
            except _Busy:
                if time.monotonic() > deadline:
                    raise ValueError(
                        f"{self.path} stayed locked by another process for "
                        f"{_BUSY_TIMEOUT_S:g} s; retry when it is done"
                    ) from None
                time.sleep(0.05)

    def _open(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as exc:
            raise ValueError(f"cannot open {self.path}: {exc}") from None
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            verdict = conn.execute("PRAGMA integrity_check").fetchall()
            if verdict != [("ok",)]:
                raise sqlite3.DatabaseError("; ".join(str(r[0]) for r in verdict[:3]))
            conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            conn.close()
            if isinstance(exc, sqlite3.OperationalError):
                if "locked" in str(exc) or "busy" in str(exc):
                    raise _Busy from None
                if "readonly" in str(exc):
                    raise ValueError(f"cannot write {self.path}: read-only") from None
            raise ValueError(
                f"{self.path} is damaged ({exc}); move it away to start afresh, or restore a copy"
            ) from None
        return conn

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "ResultStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _transaction(self):
        """``with store._transaction():`` - one write transaction, taken before reading."""
        return _Transaction(self._conn)

    # manifest --------------------------------------------------------------------------

    def read_manifest(self) -> dict:
        """What was swept: format, experiment, mimkit version and one entry per run.

        Raises
        ------
        FileNotFoundError
            If no sweep has begun in this folder.
        """
        meta = dict(self._conn.execute("SELECT name, value FROM meta"))
        if "experiment" not in meta:
            raise FileNotFoundError(f"{self.folder} is not a sweep output folder (no sweep yet)")
        runs = [
            {
                "started_utc": started,
                "command": command,
                "grid": json.loads(grid),
                "backend": backend,
                "workers": workers,
                "threads": threads,
            }
            for started, command, grid, backend, workers, threads in self._conn.execute(
                "SELECT started_utc, command, grid, backend, workers, threads FROM runs "
                "ORDER BY run_id"
            )
        ]
        return {**meta, "runs": runs}

    def begin(
        self,
        experiment: str,
        grid: Grid,
        command: str,
        *,
        backend: Optional[str] = None,
        workers: Optional[int] = None,
        threads: Optional[int] = None,
    ) -> int:
        """Record a sweep of ``experiment`` over ``grid``; returns its run id.

        Raises
        ------
        ValueError
            If the folder already holds results of a different experiment.
        """
        from .. import __version__

        with self._transaction() as conn:
            meta = dict(conn.execute("SELECT name, value FROM meta"))
            if meta and meta.get("experiment") != experiment:
                raise ValueError(
                    f"{self.folder} holds results of experiment "
                    f"{meta.get('experiment')!r}, not {experiment!r}; choose another --out"
                )
            if not meta:
                conn.executemany(
                    "INSERT INTO meta VALUES (?, ?)",
                    [
                        ("format", FORMAT),
                        ("experiment", experiment),
                        ("mimkit_version", __version__),
                    ],
                )
            cur = conn.execute(
                "INSERT INTO runs (started_utc, command, grid, backend, workers, threads) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (_utc_now(), command, json.dumps(grid.to_dict()), backend, workers, threads),
            )
            return int(cur.lastrowid)

    # points and claims -----------------------------------------------------------------

    def finished_ids(self) -> set[str]:
        """Ids of the points stored."""
        return {row[0] for row in self._conn.execute("SELECT point_id FROM points")}

    def register_owner(self) -> str:
        """A new owner id for claims, alive while :func:`heartbeat` refreshes it."""
        owner = uuid.uuid4().hex
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO owners VALUES (?, ?, ?, ?)",
                (owner, socket.gethostname(), os.getpid(), time.time()),
            )
        return owner

    def release_claim(self, point_id: str, owner: str) -> None:
        """Drop ``owner``'s claim of a point it gave up (a failed point: others may retry)."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM claims WHERE point_id = ? AND owner = ?", (point_id, owner))

    def release_owner(self, owner: str) -> None:
        """Drop ``owner`` and its remaining claims (points it did not finish)."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM claims WHERE owner = ?", (owner,))
            conn.execute("DELETE FROM owners WHERE owner = ?", (owner,))

    def _owner_alive(self, conn: sqlite3.Connection, owner: str) -> bool:
        row = conn.execute(
            "SELECT host, pid, heartbeat FROM owners WHERE owner = ?", (owner,)
        ).fetchone()
        if row is None:
            return False
        host, pid, heartbeat = row
        if time.time() - heartbeat > LEASE_S:
            return False
        return host != socket.gethostname() or _pid_alive(pid)

    def try_claim(self, point_id: str, owner: str) -> str:
        """Claim a point for ``owner``: ``'claimed'``, ``'done'`` or ``'busy'`` (live claim)."""
        with self._transaction() as conn:
            if conn.execute("SELECT 1 FROM points WHERE point_id = ?", (point_id,)).fetchone():
                return "done"
            row = conn.execute(
                "SELECT owner FROM claims WHERE point_id = ?", (point_id,)
            ).fetchone()
            if row is not None and row[0] != owner and self._owner_alive(conn, row[0]):
                return "busy"
            conn.execute("INSERT OR REPLACE INTO claims VALUES (?, ?)", (point_id, owner))
            return "claimed"

    def status(self, point_ids: Iterable[str]) -> dict[str, str]:
        """``'done'``, ``'busy'`` (claimed by a live sweep) or ``'free'`` for each point id."""
        with self._transaction() as conn:
            done = {r[0] for r in conn.execute("SELECT point_id FROM points")}
            claims = dict(conn.execute("SELECT point_id, owner FROM claims"))
            alive = {o: self._owner_alive(conn, o) for o in set(claims.values())}
        out = {}
        for pid in point_ids:
            if pid in done:
                out[pid] = "done"
            else:
                out[pid] = "busy" if alive.get(claims.get(pid), False) else "free"
        return out

    def write_point(
        self,
        point: Point,
        records: Iterable[Mapping[str, Any]],
        *,
        run_id: Optional[int] = None,
        threads: Optional[int] = None,
    ) -> bool:
        """Store the records of a finished point in one transaction and drop its claim.

        Returns False (storing nothing) if the point was already stored.

        Raises
        ------
        ValueError
            If a record is empty, reuses a parameter name or holds a non-scalar value.
        """
        text = json.dumps(_record_rows(point, records, threads))
        with self._transaction() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO points VALUES (?, ?, ?, ?, ?, ?)",
                (point.id, point.key, run_id, threads, _utc_now(), text),
            )
            conn.execute("DELETE FROM claims WHERE point_id = ?", (point.id,))
            return cur.rowcount == 1

    def records(self) -> list[dict]:
        """Every stored row (as written), points in no particular order."""
        rows: list[dict] = []
        for (text,) in self._conn.execute("SELECT records FROM points ORDER BY point_id"):
            rows += json.loads(text)
        return rows


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on any exception)."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")


def heartbeat(conn: sqlite3.Connection, owner: str) -> None:
    """Keep ``owner``'s claims alive for another :data:`LEASE_S` seconds (any connection)."""
    with conn:
        conn.execute("UPDATE owners SET heartbeat = ? WHERE owner = ?", (time.time(), owner))


def load(folder: PathLike) -> pd.DataFrame:
    """All finished records of a sweep folder as one DataFrame.

    Rows are ordered by the swept parameters (in grid order), then ``seed_index``; the rows of
    one point keep the order the experiment returned them in.

    Parameters
    ----------
    folder : path
        An output folder written by :func:`mimkit.experiments.run_sweep`.

    Returns
    -------
    pandas.DataFrame
        Empty (no columns) when no point has finished yet.

    Raises
    ------
    FileNotFoundError
        If ``folder`` holds no sweep.
    ValueError
        If its database is damaged (naming the file).
    """
    import pandas as pd  # on demand: `mimkit --help` starts without it

    with ResultStore(folder) as store:
        manifest = store.read_manifest()
        rows = store.records()
    if not rows:
        return pd.DataFrame()
    df = pd.DataFrame(rows)
    order: list[str] = []
    for run in manifest["runs"]:
        order += [k for k in run["grid"]["swept"] if k not in order and k in df.columns]
    return df.sort_values(order + ["seed_index"], kind="stable").reset_index(drop=True)
