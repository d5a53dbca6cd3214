"""Conversion of a results folder written by mimkit's first file store into a database.

That store kept ``manifest.json`` (experiment, mimkit version, one entry per run) and one
Parquet file per finished point in ``points/``. The conversion reads them into a new
``results.sqlite`` (built under a temporary name, then renamed into place, so an interrupted
conversion leaves nothing half-done) and leaves the old files untouched. A point file that
cannot be read (truncated, zeroed, empty) is not a finished point: it is left out with a
warning, and the next sweep computes that point again.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import warnings
from pathlib import Path

import pyarrow.parquet as pq

from ._files import refuse_link

LEGACY_MANIFEST = "manifest.json"
LEGACY_POINTS = "points"


def _read_manifest(path: Path) -> dict:
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not a readable manifest ({exc})") from None
    runs = manifest.get("runs") if isinstance(manifest, dict) else None
    if (
        not isinstance(runs, list)
        or not isinstance(manifest.get("experiment"), str)
        or not all(
            isinstance(r, dict)
            and isinstance(r.get("command"), str)
            and isinstance(r.get("grid"), dict)
            for r in runs
        )
    ):
        raise ValueError(
            f"{path} does not describe a sweep (it needs 'experiment' and a list of 'runs' "
            f"with 'command' and 'grid'); move it away or choose another folder"
        )
    return manifest


def _scalar(value, column: str):
    """A Parquet cell as a JSON scalar (numpy scalars become Python ones)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    raise ValueError(f"column {column!r} holds a {type(value).__name__}")


def _read_point(path: Path) -> tuple[str, list]:
    """(point key, rows) of a point file; raises for anything but a complete file."""
    table = pq.read_table(path)
    key = (table.schema.metadata or {}).get(b"mimkit.point_key", b"").decode()
    rows = table.to_pandas().to_dict("records")
    rows = [{k: _scalar(v, k) for k, v in row.items()} for row in rows]
    if not key or not rows or any(r.get("point_id") != path.stem for r in rows):
        raise ValueError("not a point file of this folder")
    return key, rows


def migrate(folder: Path, database: Path) -> None:
    """Write ``database`` from the manifest and point files of ``folder``.

    Raises
    ------
    ValueError
        If the manifest does not describe a sweep, or ``points`` is a symbolic link.
    """
    from .store import _SCHEMA, FORMAT

    manifest = _read_manifest(folder / LEGACY_MANIFEST)
    points_dir = folder / LEGACY_POINTS
    refuse_link(points_dir)
    points, skipped = [], []
    for path in sorted(points_dir.glob("*.parquet")) if points_dir.is_dir() else []:
        try:
            key, rows = _read_point(path)
        except Exception:  # any unreadable file is simply not a finished point
            skipped.append(path.name)
            continue
        points.append((path.stem, key, json.dumps(rows)))
    tmp = folder / f".tmp-{database.name}-{secrets.token_hex(6)}"
    try:
        conn = sqlite3.connect(tmp)
        with conn:
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
                "INSERT INTO points (point_id, point_key, finished_utc, records) "
                "VALUES (?, ?, 'converted', ?)",
                points,
            )
        conn.close()
        tmp.replace(database)
    except (OSError, sqlite3.Error) as exc:
        tmp.unlink(missing_ok=True)
        raise ValueError(f"cannot convert {folder} to {database.name}: {exc}") from None
    if skipped:
        warnings.warn(
            f"{folder}: {len(skipped)} unreadable point file(s) left out of the conversion "
            f"(they will be computed again): {', '.join(skipped[:5])}",
            stacklevel=3,
        )
