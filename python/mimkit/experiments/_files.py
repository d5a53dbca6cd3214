"""File-system guards of a results folder: safe writes, no escapes through symbolic links."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` is either absent, old or complete.

    The temporary file is created with mode 0666 filtered by the umask (as ``open`` would),
    and replaces ``path`` itself: a symbolic link at ``path`` is replaced, never followed, so
    nothing outside ``path``'s folder is written.

    Raises
    ------
    ValueError
        Naming ``path``, if it cannot be written (read-only file system, permissions, a
        folder in the way).
    """
    tmp = path.parent / f".tmp-{path.name}-{secrets.token_hex(6)}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            # Leave no half-written temporary behind, whatever interrupted us.
            tmp.unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ValueError(f"cannot write {path}: {exc.strerror or exc}") from None


def make_folder(folder: Path, option: str) -> None:
    """Create ``folder`` (and parents) or raise a one-line ValueError naming it and ``option``."""
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{option} {folder}: is a file, not a folder; choose another {option}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(
            f"{option} {folder}: cannot create the folder ({exc.strerror or exc}); "
            f"choose another {option}"
        ) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{option} {folder}: the folder is not writable; choose another {option}")


def refuse_link(path: Path) -> None:
    """Raise ValueError if ``path`` is a symbolic link (the store stays inside its folder)."""
    if path.is_symlink():
        raise ValueError(
            f"{path} is a symbolic link; a results folder keeps its files inside itself: "
            f"remove the link or choose another folder"
        )
