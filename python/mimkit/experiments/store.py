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

Each point is stored with a checksum (SHA-256 of its id, key and records). A point whose
records fail it, or do not parse, was edited or damaged outside mimkit: readers
(:func:`load`, ``mimkit export``, ``mimkit plot``) leave it out with a warning naming it,
and the next sweep computes it again. Points stored before checksums existed (a store
of format mimkit-sweep/2 without the column) have none: they are checked for parsing only; a sweep
adds the column to such a store, and its new points get checksums.

Readers open the database read-only (SQLite ``mode=ro``; in a folder they may not write,
where SQLite cannot create the ``-shm`` index, ``immutable=1``), so a results folder shared
read-only can be loaded, exported and plotted. A sweep needs to write the folder and refuses
a read-only one in one line.

The store trusts its sound rows: a point computed by an older version of the code is *not*
recomputed. Use a fresh folder after changing code or anything that is not a parameter.
A folder written by an earlier mimkit (``manifest.json`` and ``points/*.parquet``) is
converted into a database the first time it is opened (see :mod:`._legacy`); a reader that
may not write the folder converts it in memory.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import time
import uuid
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping, Optional, Union

import numpy as np

from ._files import make_folder, refuse_link
from ._legacy import LEGACY_MANIFEST, LegacyFolder, read_legacy_folder, warn_skipped
from .grid import Grid, Point

if TYPE_CHECKING:
    import pandas as pd

FORMAT = "mimkit-sweep/2"
DATABASE = "results.sqlite"
#: Files SQLite keeps next to the database (each refused when it is a symbolic link).
COMPANIONS = ("-wal", "-shm", "-journal")
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
    threads INTEGER, finished_utc TEXT NOT NULL, records TEXT NOT NULL, checksum TEXT);
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
        Create the folder and the database if missing (a sweep); otherwise a folder without
        a database is a FileNotFoundError.
    readonly : bool
        Open for reading only (readers: :func:`load`, ``mimkit plot``, ``mimkit export``),
        which works on a read-only folder or database and never writes it.

    Raises
    ------
    FileNotFoundError
        If ``create`` is False and ``folder`` holds no results.
    ValueError
        One line naming the path: ``folder`` is a file or cannot be created, is not empty
        and holds no results, the database or a companion file is a symbolic link, the
        database is damaged, or (unless ``readonly``) the folder or database is read-only.
    """

    def __init__(self, folder: PathLike, *, create: bool = False, readonly: bool = False):
        if create and readonly:
            raise ValueError("a store opened readonly cannot create its folder")
        self.folder = Path(folder)
        self.path = self.folder / DATABASE
        self.readonly = readonly
        for companion in ("", *COMPANIONS):
            refuse_link(self.path.with_name(DATABASE + companion))
        converted = None if self.path.exists() else self._prepare(create)
        if not readonly:
            self._check_writable()
        self._conn = converted if converted is not None else self._connect()

    def _prepare(self, create: bool) -> Optional[sqlite3.Connection]:
        """Make a missing database: convert an old folder (in memory for a reader that may
        not write the folder: that connection is returned) or check a new one."""
        legacy = self.folder / LEGACY_MANIFEST
        if legacy.exists():
            refuse_link(legacy)
            if self.readonly and not os.access(self.folder, os.W_OK):
                return _convert_legacy(self.folder, None)
            _convert_legacy(self.folder, self.path)
            return None
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
        return None

    def _check_writable(self) -> None:
        """A sweep writes the database and its companions next to it: a read-only folder or
        file is one line here, not a failed write later (SQLite opens them without a word)."""
        files = [self.path.with_name(DATABASE + c) for c in ("", *COMPANIONS)]
        for target in [self.folder, *(f for f in files if f.exists())]:
            if not os.access(target, os.W_OK):
                raise ValueError(
                    f"{target} is read-only: a sweep stores its points there; choose "
                    f"another --out or make it writable (mimkit plot and export read it as it is)"
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
        if self.readonly:
            return _open_readonly(self.path)
        try:
            conn = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as exc:
            raise ValueError(f"cannot open {self.path}: {exc}") from None
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            _check_integrity(conn)
            conn.executescript(_SCHEMA)
            _add_checksum_column(conn)
        except sqlite3.Error as exc:
            conn.close()
            if isinstance(exc, sqlite3.OperationalError):
                if "locked" in str(exc) or "busy" in str(exc):
                    raise _Busy from None
                if "readonly" in str(exc):
                    raise ValueError(f"cannot write {self.path}: read-only") from None
            raise _damaged(self.path, exc) from None
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
                "INSERT OR IGNORE INTO points (point_id, point_key, run_id, threads, "
                "finished_utc, records, checksum) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    point.id,
                    point.key,
                    run_id,
                    threads,
                    _utc_now(),
                    text,
                    point_checksum(point.id, point.key, text),
                ),
            )
            conn.execute("DELETE FROM claims WHERE point_id = ?", (point.id,))
            return cur.rowcount == 1

    def records(self) -> list[dict]:
        """Every row of the sound stored points (as written), points in no particular order.

        A point whose records fail their checksum or do not parse is left out, with one
        warning naming each such point (a sweep computes it again).
        """
        rows: list[dict] = []
        bad = []
        for point_id, key, point_rows, problem in _checked_points(self._conn):
            if problem is None:
                rows += point_rows
            else:
                bad.append(f"{_point_name(point_id, key)} {problem}")
        if bad:
            warnings.warn(
                f"{self.path}: {len(bad)} stored point(s) left out: {'; '.join(bad[:5])}; "
                f"rerun the sweep to compute them again",
                stacklevel=3,
            )
        return rows

    def drop_damaged_points(self) -> list[str]:
        """Delete the stored points whose records fail their checksum or do not parse, so
        that a sweep computes them again; returns one description per point dropped."""
        with self._transaction() as conn:
            bad = [
                (point_id, f"{_point_name(point_id, key)} {problem}")
                for point_id, key, _, problem in _checked_points(conn)
                if problem is not None
            ]
            conn.executemany("DELETE FROM points WHERE point_id = ?", [(p,) for p, _ in bad])
        return [text for _, text in bad]


# Opening -------------------------------------------------------------------------------


def _check_integrity(conn: sqlite3.Connection) -> None:
    verdict = conn.execute("PRAGMA integrity_check").fetchall()
    if verdict != [("ok",)]:
        raise sqlite3.DatabaseError("; ".join(str(r[0]) for r in verdict[:3]))


def _damaged(path: Path, exc: Exception) -> ValueError:
    """The one-line error of a damaged database (integrity_check reports over several lines)."""
    found = "; ".join(
        line.strip() for line in str(exc).splitlines() if line.strip() and "***" not in line
    )
    return ValueError(
        f"{path} is damaged ({found}); move it away to start afresh, or restore a copy"
    )


def _open_readonly(path: Path) -> sqlite3.Connection:
    """``path`` opened read-only: ``mode=ro``; where SQLite cannot make the ``-shm`` index a
    WAL database needs (a read-only folder), ``immutable=1``, which reads the file alone and
    is right only when no write-ahead log holds points not yet in it."""
    uri = path.absolute().as_uri()
    wal = path.with_name(DATABASE + "-wal")
    for mode in ("mode=ro", "immutable=1"):
        conn = sqlite3.connect(
            f"{uri}?{mode}", uri=True, timeout=_BUSY_TIMEOUT_S, isolation_level=None
        )
        try:
            _check_integrity(conn)
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        except sqlite3.Error as exc:
            conn.close()
            text = str(exc)
            if "locked" in text or "busy" in text:
                raise _Busy from None
            cannot_index = "unable to open" in text or "readonly" in text
            if mode == "immutable=1" or not cannot_index:
                raise _damaged(path, exc) from None
            if wal.exists() and wal.stat().st_size > 0:
                raise ValueError(
                    f"cannot read {path} read-only: its log {wal.name} holds points not yet "
                    f"merged into it and {path.parent} is not writable; open it once where it "
                    f"is writable (a copy of the folder will do)"
                ) from None
            continue
        if "points" not in tables:  # a sweep is creating the database right now
            conn.close()
            raise FileNotFoundError(f"{path.parent} is not a sweep output folder (no sweep yet)")
        return conn
    raise AssertionError("unreachable")  # the loop returns or raises


# Per-point checksums ---------------------------------------------------------------------


def point_checksum(point_id: str, point_key: str, records: str) -> str:
    """SHA-256 (hex) of a stored point: its id, key and records text."""
    return hashlib.sha256("\n".join((point_id, point_key, records)).encode()).hexdigest()


def _add_checksum_column(conn: sqlite3.Connection) -> None:
    """Give the points of a store written before checksums their column (NULL: legacy).

    New stores have it from :data:`_SCHEMA`. For an old one, the check and the change are one
    write transaction: two sweeps opening it at once would otherwise both add the column, and
    the second would fail with "duplicate column name" (reported as damage)."""
    if _has_checksum_column(conn):
        return
    with _Transaction(conn):
        if not _has_checksum_column(conn):
            conn.execute("ALTER TABLE points ADD COLUMN checksum TEXT")


def _has_checksum_column(conn: sqlite3.Connection) -> bool:
    return "checksum" in {row[1] for row in conn.execute("PRAGMA table_info(points)")}


def _checked_points(conn: sqlite3.Connection) -> Iterator[tuple]:
    """``(point id, key, rows, None)`` per sound stored point, ``(id, key, None, problem)``
    per point whose records fail their checksum or do not parse as this store writes them."""
    has_checksums = _has_checksum_column(conn)
    checksum = "checksum" if has_checksums else "NULL"
    query = f"SELECT point_id, point_key, records, {checksum} FROM points ORDER BY point_id"
    for point_id, key, text, stored in conn.execute(query).fetchall():
        yield (point_id, key, *_parse_point(point_id, key, text, stored))


def _parse_point(point_id: str, key: str, text: Any, checksum: Optional[str]) -> tuple:
    """``(rows, None)`` for sound stored records, ``(None, what is wrong)`` otherwise."""
    if not isinstance(text, str):
        return None, f"holds records of type {type(text).__name__}, not JSON text"
    try:
        rows = json.loads(text)
    except ValueError as exc:
        return None, f"holds records that are not JSON ({exc})"
    if checksum is not None and checksum != point_checksum(point_id, key, text):
        return None, "fails its checksum (edited or damaged)"
    if not (
        isinstance(rows, list)
        and rows
        and all(isinstance(r, dict) and r.get("point_id") == point_id for r in rows)
    ):
        return None, "holds records that are not a list of this point's rows"
    return rows, None


def _point_name(point_id: str, key: str) -> str:
    """``point alpha=2.0, d=12, seed_index=1 (id)`` from a stored key (as stored if odd)."""
    try:
        parsed = json.loads(key)
        settings = {**parsed["params"], "seed_index": parsed["seed_index"]}
        text = ", ".join(f"{k}={v}" for k, v in settings.items())
    except (ValueError, TypeError, KeyError):
        text = str(key)
    return f"point {text} ({point_id})"


# Old folders -----------------------------------------------------------------------------


def _convert_legacy(folder: Path, database: Optional[Path]) -> Optional[sqlite3.Connection]:
    """Write the database of an old folder to ``database`` (built under a temporary name,
    then renamed into place), or, with ``database`` None, into memory (returned).

    Raises
    ------
    ValueError
        If the folder's manifest does not describe a sweep, it holds links, or the database
        cannot be written.
    """
    legacy = read_legacy_folder(folder)
    if database is None:
        conn = sqlite3.connect(":memory:", isolation_level=None)
        _fill_from_legacy(conn, legacy)
        warn_skipped(folder, legacy)
        return conn
    tmp = folder / f".tmp-{database.name}-{uuid.uuid4().hex[:12]}"
    try:
        conn = sqlite3.connect(tmp)
        with conn:
            _fill_from_legacy(conn, legacy)
        conn.close()
        tmp.replace(database)
    except (OSError, sqlite3.Error) as exc:
        tmp.unlink(missing_ok=True)
        raise ValueError(f"cannot convert {folder} to {database.name}: {exc}") from None
    warn_skipped(folder, legacy)
    return None


def _fill_from_legacy(conn: sqlite3.Connection, legacy: LegacyFolder) -> None:
    manifest = legacy.manifest
    conn.executescript(_SCHEMA)
    conn.executemany(
        "INSERT INTO meta VALUES (?, ?)",
        [
            ("format", FORMAT),
            ("experiment", manifest["experiment"]),
            ("mimkit_version", str(manifest.get("mimkit_version", "?"))),
        ],
    )
    conn.executemany(
        "INSERT INTO runs (started_utc, command, grid) VALUES (?, ?, ?)",
        [
            (r.get("started_utc", "?"), r["command"], json.dumps(r["grid"]))
            for r in manifest["runs"]
        ],
    )
    conn.executemany(
        "INSERT INTO points (point_id, point_key, finished_utc, records, checksum) "
        "VALUES (?, ?, 'converted', ?, ?)",
        [(pid, key, text, point_checksum(pid, key, text)) for pid, key, text in legacy.points],
    )


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

    with ResultStore(folder, readonly=True) as store:
        manifest = store.read_manifest()
        rows = store.records()
    if not rows:
        return pd.DataFrame()
    df = pd.DataFrame(rows)
    order: list[str] = []
    for run in manifest["runs"]:
        order += [k for k in run["grid"]["swept"] if k not in order and k in df.columns]
    return df.sort_values(order + ["seed_index"], kind="stable").reset_index(drop=True)
