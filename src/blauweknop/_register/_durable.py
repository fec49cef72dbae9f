"""Group commit for the files of a batch: write a chunk of credential files, then make the
whole chunk durable with one sync, before the register confirms any row of it.

Why it is safe (docs/issuing-organisation.md, "Batch issuance: group commit"): a row is
*confirmed* -- ``valid`` in the register, counted as issued, reported -- only after the
chunk's sync has returned, so a confirmed row's file is on disk whatever happens next (a
SIGKILL, a power cut). A crash before the sync leaves the chunk's rows ``pending``; the
resumed run signs them again with the same credential id and status index and overwrites
their files, so each row is still issued exactly once. A SIGKILL alone never loses a
written file (the page cache belongs to the kernel); the sync is for power loss and
kernel crashes.

The sync is Linux ``syncfs(2)`` on the output folder (one flush of that file system for the
whole chunk; it reports write-back errors since Linux 5.8), followed by an ``fsync`` of the
folder; elsewhere every file is ``fsync``-ed one by one.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from .._errors import StorageError

__all__ = ["sync_chunk", "write_unsynced"]


def write_unsynced(path: Path, data: bytes, *, mode: int = 0o600, atomic: bool = True) -> None:
    """Write ``data`` to ``path`` without syncing: :func:`sync_chunk` makes the chunk durable.

    ``atomic`` (the default): a temporary file renamed over ``path``, so a crash leaves the
    old file or the new one. ``atomic=False`` writes ``path`` in place (never following a
    symbolic link): for the file of a row that is not confirmed yet, where a crash mid-write
    leaves a partial file that nobody counts as issued and the resumed run overwrites -- one
    directory operation fewer per row.

    Raises ``StorageError("storage_write_failed")``; a failed write leaves no temporary file
    (and, in place, no partial file).
    """
    if not atomic:
        _write_in_place(path, data, mode)
        return
    fd = -1
    tmp = ""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.fchmod(fd, mode)
        _write_all(fd, data)
        os.close(fd)
        fd = -1
        Path(tmp).replace(path)
        tmp = ""
    except OSError as e:
        raise StorageError("storage_write_failed", f"cannot write {path}: {e.strerror or e}") from e
    finally:
        if fd >= 0:
            os.close(fd)
        if tmp:
            with contextlib.suppress(OSError):
                Path(tmp).unlink()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _write_in_place(path: Path, data: bytes, mode: int) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0), mode)
    except OSError as e:
        raise StorageError("storage_write_failed", f"cannot write {path}: {e.strerror or e}") from e
    try:
        os.fchmod(fd, mode)
        _write_all(fd, data)
    except OSError as e:
        os.close(fd)
        with contextlib.suppress(OSError):
            path.unlink()
        raise StorageError("storage_write_failed", f"cannot write {path}: {e.strerror or e}") from e
    os.close(fd)


@functools.cache
def _syncfs() -> Callable[[int], int] | None:
    """Linux ``syncfs(2)`` from the C library already loaded (``None`` elsewhere); looked up
    on first use, so importing this module loads nothing."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        fn = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int]
    fn.restype = ctypes.c_int

    def call(fd: int) -> int:
        if fn(fd) == 0:
            return 0
        return ctypes.get_errno() or 5  # EIO when errno was not set

    return call


def sync_chunk(directory: Path, files: Sequence[Path]) -> None:
    """Make ``files`` (written into ``directory`` by :func:`write_unsynced`) and their names
    durable: one ``syncfs`` of the folder's file system (the GIL is released meanwhile), or an
    ``fsync`` per file where that call is missing, then an ``fsync`` of the folder.

    Raises ``StorageError("storage_write_failed")`` when the kernel reports a write-back
    error (e.g. the disk filled up while flushing): then no row of the chunk may be confirmed.
    """
    try:
        dfd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            syncfs = _syncfs()
            if syncfs is not None and files:
                err = syncfs(dfd)
                if err:
                    raise OSError(err, os.strerror(err))
            else:
                for f in files:
                    fd = os.open(f, os.O_RDONLY)
                    try:
                        os.fsync(fd)
                    finally:
                        os.close(fd)
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError as e:
        raise StorageError(
            "storage_write_failed", f"cannot make the files in {directory} durable: {e}"
        ) from e
