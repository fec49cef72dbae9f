"""Locking the wallet directory, and making it.

While a store is open it holds an exclusive ``fcntl.flock`` on the wallet *directory* itself.
A separate lock file could be unlinked by anyone who can write the directory, after which a
second handle would create a new lock file, lock it too, and one of the two handles' writes
would be lost. A directory cannot be unlinked while the wallet file is in it, and renaming it
keeps the locked inode. (Older versions locked a ``wallet.lock`` file; one left behind is
ignored.)
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from pathlib import Path

from .._errors import StorageError
from .._files import fsync_directory

if sys.platform != "win32":  # no fcntl on Windows: the library must still import there
    import fcntl


def make_directory(d: Path) -> None:
    """Create the wallet directory (0700) durably; an existing directory is fine."""
    try:
        d.mkdir(mode=0o700)
    except FileExistsError:
        if not d.is_dir():
            raise StorageError("storage_write_failed", f"{d} is not a directory") from None
        return
    except OSError as e:
        raise StorageError("storage_write_failed", f"cannot create {d}: {e.strerror or e}") from e
    parent = d.parent if str(d.parent) else Path()
    try:
        fsync_directory(parent)  # make the new directory entry itself durable
    except OSError as e:
        raise StorageError(
            "storage_write_failed", f"cannot sync {parent}: {e.strerror or e}"
        ) from e


def acquire_lock(d: Path) -> int:
    """Lock the wallet directory itself (not a lock file, which could be unlinked); returns
    the locked directory's file descriptor (``wallet_locked`` when it is held elsewhere)."""
    try:
        fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        raise StorageError("storage_error", f"cannot open {d}: {e.strerror or e}") from e
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        os.close(fd)
        if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise StorageError("wallet_locked", f"the wallet in {d} is open elsewhere") from e
        raise StorageError("storage_error", f"cannot lock {d}: {e.strerror or e}") from e
    return fd


def release_lock(fd: int) -> None:
    """Release a lock taken by :func:`acquire_lock` (errors ignored: it is going anyway)."""
    # flock belongs to this open file description: closing it releases the lock
    with contextlib.suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_UN)
    with contextlib.suppress(OSError):
        os.close(fd)


def is_locked_directory(fd: int, d: Path) -> bool:
    """Whether ``d`` is still the directory locked through ``fd`` (not swapped or moved)."""
    try:
        locked, current = os.fstat(fd), d.stat()
    except OSError:
        return False
    return (locked.st_dev, locked.st_ino) == (current.st_dev, current.st_ino)
