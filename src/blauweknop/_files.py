"""Crash-safe file writes (temporary file, fsync, ``os.replace``, fsync of the directory),
private files for personal data, bounded reads of small input files, and an exclusive lock on
a directory that works on POSIX (``fcntl.flock``) and on Windows (``msvcrt.locking``)."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ._errors import StorageError

__all__ = [
    "DirectoryLock",
    "atomic_write",
    "credential_writer",
    "fsync_directory",
    "make_private_dir",
    "read_small_regular_file",
    "safe_output_path",
]

#: Mode of files that hold a credential (BSN, name, birthdate): owner only.
PRIVATE_FILE_MODE = 0o600
#: Mode of folders created to hold credentials.
PRIVATE_DIR_MODE = 0o700


def fsync_directory(directory: str | os.PathLike[str]) -> None:
    """Make the entries of ``directory`` durable (a rename or a new file in it); raises
    ``OSError``."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
        fsync_directory(directory)
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


def make_private_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` (and missing parents) for files holding personal data: a folder this
    call creates is ``0700``; an existing folder is left as it is (its files are ``0600``).

    Raises :class:`StorageError` (``storage_write_failed``).
    """
    p = Path(path)
    try:
        if not p.is_dir():
            p.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
            p.chmod(PRIVATE_DIR_MODE)  # mkdir's mode is filtered by the umask
    except OSError as e:
        raise StorageError("storage_write_failed", f"cannot create {p}: {e.strerror or e}") from e
    return p


def credential_writer(
    path: str | os.PathLike[str], *, overwrite: bool = False
) -> Callable[[str], None]:
    """A ``write`` callback for :meth:`Issuer.issue` that stores the credential text in
    ``path``, mode ``0600`` (a folder it has to create is ``0700``), atomically and durably.

    The existence check happens here, before anything is issued, so a refused ``path`` never
    costs a status index: ``StorageError("file_exists")``.
    """
    p = Path(path)
    if p.is_dir():
        raise StorageError("file_exists", f"{p} is a directory")
    if p.exists() and not overwrite:
        raise StorageError("file_exists", f"{p} exists; use --force to overwrite")

    def write(text: str) -> None:
        if str(p.parent) and not p.parent.is_dir():
            make_private_dir(p.parent)
        atomic_write(p, (text + "\n").encode(), mode=PRIVATE_FILE_MODE)

    return write


def read_small_regular_file(path: str | os.PathLike[str], *, max_bytes: int, what: str) -> bytes:
    """Read a small input file: only a regular file (a FIFO, device or directory is refused
    without blocking), at most ``max_bytes`` (a bigger or sparse file is refused before it
    is read into memory).

    Raises :class:`StorageError`: ``file_unreadable``, ``not_a_regular_file``, ``too_large``.
    """
    p = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(p, flags)
    except OSError as e:
        raise StorageError("file_unreadable", f"cannot read {what} {p}: {e.strerror or e}") from e
    with io.FileIO(fd, "r", closefd=True) as f:
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise StorageError("not_a_regular_file", f"{what} {p} is not a regular file")
            if st.st_size > max_bytes:
                raise StorageError("too_large", f"{what} {p} is larger than {max_bytes} bytes")
            data = f.read(max_bytes + 1)
        except OSError as e:
            raise StorageError(
                "file_unreadable", f"cannot read {what} {p}: {e.strerror or e}"
            ) from e
    if data is None or len(data) > max_bytes:
        raise StorageError("too_large", f"{what} {p} is larger than {max_bytes} bytes")
    return data


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        with contextlib.suppress(OSError):
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return False
            raise
        return True

    def _unlock(fd: int) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)


class DirectoryLock:
    """An exclusive, re-entrant lock on a directory through a lock file in it.

    ``fcntl.flock`` on POSIX (released by the kernel when the process dies, so a crash never
    leaves a stale lock), ``msvcrt.locking`` on Windows. Two ``DirectoryLock`` objects exclude
    each other even inside one process; one object may be entered again while it holds the
    lock (nested operations).

    Args:
        path: the lock file (created ``0600`` when missing).
        what: words for the message (``the issuer home ...``).
        timeout: seconds to wait for another holder before giving up (``0``: at once).
    """

    def __init__(self, path: Path, *, what: str, timeout: float) -> None:
        self.path = path
        self.what = what
        self.timeout = timeout
        self._fd = -1
        self._depth = 0

    @property
    def held(self) -> bool:
        """Whether this object holds the lock now."""
        return self._depth > 0

    def acquire(self) -> None:
        """Take the lock (or count one more nesting level); ``StorageError("home_locked")``
        when another holder keeps it longer than ``timeout``."""
        if self._depth:
            self._depth += 1
            return
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        except OSError as e:
            raise StorageError(
                "storage_write_failed", f"cannot open lock file {self.path}: {e.strerror or e}"
            ) from e
        deadline = time.monotonic() + max(0.0, self.timeout)
        try:
            while not _try_lock(fd):
                if time.monotonic() >= deadline:
                    raise StorageError(
                        "home_locked",
                        f"{self.what} is in use by another process (waited {self.timeout:g} s); "
                        "try again when it has finished",
                    )
                time.sleep(0.05)
        except OSError as e:
            os.close(fd)
            raise StorageError(
                "storage_error", f"cannot lock {self.path}: {e.strerror or e}"
            ) from e
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._depth = 1

    def release(self) -> None:
        """Undo one :meth:`acquire`; the last one releases the lock."""
        if not self._depth:
            return
        self._depth -= 1
        if self._depth == 0:
            fd, self._fd = self._fd, -1
            _unlock(fd)
            os.close(fd)

    def __enter__(self) -> DirectoryLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
