"""Crash-safe results store: one Parquet file per finished grid point.

Layout of an output folder::

    OUT/
      manifest.json            what was swept: experiment name, and one entry per sweep run
                               (UTC time, command line, grid: swept values, fixed parameters,
                               seeds, base seed), plus the mimkit version
      points/<point id>.parquet   one file per finished point, one or more rows

Each row holds the point's parameters (one column each), ``seed_index``, ``seed`` (the derived
integer seed), ``point_id``, then the metrics the experiment returned, and timings in columns
whose names start with ``time_`` (seconds). Timings are the only columns that differ between
two runs of the same point.

A point file is written to a temporary name in the same folder, flushed to disk and renamed
into place (``os.replace`` is atomic on POSIX), so a file under its final name is always
complete. A killed sweep therefore loses at most the points that were still computing, and a
rerun into the same folder skips every point whose file exists. Read everything back with
:func:`load` (a pandas DataFrame) or with any Parquet reader.

The store trusts its files: a point computed by an older version of the code is *not*
recomputed. Use a fresh folder after changing code or anything that is not a parameter.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping, Union

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .grid import Grid, Point

FORMAT = "mimkit-sweep/1"
MANIFEST = "manifest.json"
POINTS = "points"
#: Columns the store adds to every row (besides the point's parameters).
BOOKKEEPING = ("point_id", "seed_index", "seed")

PathLike = Union[str, os.PathLike]


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` is either absent, old or complete."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        # Leave no half-written temporary behind, whatever interrupted us.
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def records_frame(point: Point, records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows of one point: its parameters and bookkeeping columns, then its records.

    Raises
    ------
    ValueError
        If a record is empty or reuses a parameter or bookkeeping name.
    """
    rows = []
    reserved = set(point.params) | set(BOOKKEEPING)
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
        rows.append(
            {
                **point.params,
                "seed_index": point.seed_index,
                "seed": point.seed,
                "point_id": point.id,
                **rec,
            }
        )
    if not rows:
        raise ValueError(f"point {point.key}: no records")
    return pd.DataFrame(rows)


class ResultStore:
    """An output folder of a sweep (see the module docstring for the format).

    Parameters
    ----------
    folder : path
        Created if missing.
    """

    def __init__(self, folder: PathLike):
        self.folder = Path(folder)
        self.points_dir = self.folder / POINTS

    @property
    def manifest_path(self) -> Path:
        return self.folder / MANIFEST

    def read_manifest(self) -> dict:
        """The manifest, or raise FileNotFoundError naming the folder."""
        if not self.manifest_path.exists():
            raise FileNotFoundError(f"{self.folder} is not a sweep output folder (no {MANIFEST})")
        return json.loads(self.manifest_path.read_text())

    def begin(self, experiment: str, grid: Grid, command: str) -> None:
        """Create or extend the folder for a sweep of ``experiment`` over ``grid``.

        Raises
        ------
        ValueError
            If the folder already holds results of a different experiment.
        """
        self.points_dir.mkdir(parents=True, exist_ok=True)
        for stale in self.points_dir.glob(".tmp-*"):
            # Temporaries of a killed run: never complete, never referenced.
            stale.unlink()
        if self.manifest_path.exists():
            manifest = self.read_manifest()
            if manifest.get("experiment") != experiment:
                raise ValueError(
                    f"{self.folder} holds results of experiment "
                    f"{manifest.get('experiment')!r}, not {experiment!r}; choose another --out"
                )
        else:
            from .. import __version__

            manifest = {
                "format": FORMAT,
                "experiment": experiment,
                "mimkit_version": __version__,
                "runs": [],
            }
        manifest["runs"].append(
            {
                "started_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "command": command,
                "grid": grid.to_dict(),
            }
        )
        _atomic_write(self.manifest_path, (json.dumps(manifest, indent=2) + "\n").encode())

    def finished_ids(self) -> set[str]:
        """Ids of the points whose file is in the store."""
        if not self.points_dir.is_dir():
            return set()
        return {p.stem for p in self.points_dir.glob("*.parquet")}

    def write_point(self, point: Point, records: Iterable[Mapping[str, Any]]) -> Path:
        """Store the records of a finished point atomically; returns the file's path."""
        table = pa.Table.from_pandas(records_frame(point, records), preserve_index=False)
        table = table.replace_schema_metadata(
            {**(table.schema.metadata or {}), b"mimkit.point_key": point.key.encode()}
        )
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        path = self.points_dir / f"{point.id}.parquet"
        _atomic_write(path, sink.getvalue().to_pybytes())
        return path


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
        If ``folder`` has no manifest.
    """
    store = ResultStore(folder)
    manifest = store.read_manifest()
    files = sorted(store.points_dir.glob("*.parquet"))
    if not files:
        return pd.DataFrame()
    df = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    order: list[str] = []
    for run in manifest["runs"]:
        order += [k for k in run["grid"]["swept"] if k not in order and k in df.columns]
    return df.sort_values(order + ["seed_index"], kind="stable").reset_index(drop=True)
