"""Conversion of a results folder written by mimkit's first file store into a database.

That store kept ``manifest.json`` (experiment, mimkit version, one entry per run) and one
Parquet file per finished point in ``points/``. This module reads them;
:mod:`.store` writes them into a new ``results.sqlite`` (built under a temporary name, then
renamed into place, so an interrupted conversion leaves nothing half-done; in memory only, for
a reader of a folder it may not write) and leaves the old files untouched. A point file that
cannot be read (truncated, zeroed, empty) is not a finished point: it is left out with a
warning, and the next sweep computes that point again. A point file that is a symbolic link
is refused, as a linked ``points`` folder is.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

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
    import pyarrow.parquet as pq  # only old folders need it: `mimkit run` starts without it

    table = pq.read_table(path)
    key = (table.schema.metadata or {}).get(b"mimkit.point_key", b"").decode()
    rows = table.to_pandas().to_dict("records")
    rows = [{k: _scalar(v, k) for k, v in row.items()} for row in rows]
    if not key or not rows or any(r.get("point_id") != path.stem for r in rows):
        raise ValueError("not a point file of this folder")
    return key, rows


@dataclass(frozen=True)
class LegacyFolder:
    """What an old results folder holds, ready to be written into a database.

    Attributes
    ----------
    manifest : dict
        The manifest: ``experiment``, ``mimkit_version`` and the list of ``runs``.
    points : list of (point id, point key, records as JSON text)
        The readable point files.
    skipped : list of str
        Names of the point files that could not be read (not finished points).
    """

    manifest: dict
    points: list
    skipped: list


def read_legacy_folder(folder: Path) -> LegacyFolder:
    """The manifest and the readable point files of an old results folder.

    Raises
    ------
    ValueError
        If the manifest does not describe a sweep, or ``points`` or a point file is a
        symbolic link (a results folder keeps its files inside itself).
    """
    manifest = _read_manifest(folder / LEGACY_MANIFEST)
    points_dir = folder / LEGACY_POINTS
    refuse_link(points_dir)
    points, skipped = [], []
    for path in sorted(points_dir.glob("*.parquet")) if points_dir.is_dir() else []:
        refuse_link(path)
        try:
            key, rows = _read_point(path)
        except Exception:  # any unreadable file is simply not a finished point
            skipped.append(path.name)
            continue
        points.append((path.stem, key, json.dumps(rows)))
    return LegacyFolder(manifest, points, skipped)


def warn_skipped(folder: Path, legacy: LegacyFolder) -> None:
    """Warn (one line) about the point files left out of a conversion."""
    if legacy.skipped:
        warnings.warn(
            f"{folder}: {len(legacy.skipped)} unreadable point file(s) left out of the "
            f"conversion (they will be computed again): {', '.join(legacy.skipped[:5])}",
            stacklevel=4,
        )
