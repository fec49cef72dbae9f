"""Crash-safe file writes: temporary file, fsync, ``os.replace``, fsync of the directory."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from ._errors import StorageError

__all__ = ["atomic_write", "safe_output_path"]


def atomic_write(path: str | os.PathLike[str], data: bytes, *, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves either the old or the new file.

    Raises :class:`StorageError` (``storage_write_failed``); on failure the old file is intact.
    """
    p = Path(path)
    directory = p.parent if str(p.parent) else Path()
    fd = -1
    tmp = ""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=directory)
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.fsync(fd)
        os.close(fd)
        fd = -1
        Path(tmp).replace(p)
        tmp = ""
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError as e:
        raise StorageError("storage_write_failed", f"cannot write {p}: {e.strerror or e}") from e
    finally:
        if fd >= 0:
            os.close(fd)
        if tmp:
            with contextlib.suppress(OSError):
                Path(tmp).unlink()


def safe_output_path(base: str | os.PathLike[str], name: str) -> Path:
    """Join ``name`` under ``base`` and refuse anything that escapes it (``..``, absolute paths,
    separators in a generated name)."""
    b = Path(base).resolve()
    if not name or "/" in name or "\\" in name or name in (".", "..") or "\x00" in name:
        raise StorageError("path_traversal", f"refusing output file name {name!r}")
    p = (b / name).resolve()
    if p.parent != b:
        raise StorageError("path_traversal", f"refusing output path {name!r} outside {b}")
    return p
