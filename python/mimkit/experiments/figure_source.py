"""Whether a sweep folder's figure and table were drawn from its current finished points (a
resumed sweep with nothing to compute then redraws nothing). Light: no plotting or pandas."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Optional

from .._config import __version__
from ..theory_cache import THEORY_METHOD
from .store import PathLike, ResultStore

#: The last line of a rendered table: what the figure was drawn from (:func:`rendered`).
SOURCE_MARK = "<!-- mimkit plot source: "


def source_digest(store: ResultStore) -> str:
    """Digest of what a rendering depends on: the finished points, the mimkit version and the
    theory's numerical method (the theory curves)."""
    ids = "\n".join(sorted(map(str, store.finished_ids())))
    return hashlib.sha256(f"{__version__}\n{THEORY_METHOD}\n{ids}".encode()).hexdigest()


def rendered(folder: PathLike) -> Optional[tuple[Path, Path]]:
    """The sweep folder's own figure and table if they were drawn from exactly its finished
    points by this mimkit version (a resumed sweep with nothing to compute then has nothing to
    redraw); None otherwise."""
    with ResultStore(folder, readonly=True) as store:
        experiment = store.read_manifest()["experiment"]
        source = source_digest(store)
    png, md = Path(folder) / f"{experiment}.png", Path(folder) / f"{experiment}.md"
    try:
        current = md.read_text().rstrip().endswith(f"{SOURCE_MARK}{source} -->")
    except (OSError, UnicodeDecodeError):
        return None
    return (png, md) if current and png.is_file() else None
