"""The rollback fence: a register's sequence, kept in a small file outside the register.

Every change advances the register's sequence; after each commit the sequence is written to
the fence file. A register whose sequence is below its fence is an older copy put back (a
restored backup) and refuses every change (``register_rolled_back``) until it is reconciled
with the last published lists. The file is backend-independent: any register that can report
its sequence can be fenced this way.

Durability (issue 18: one ``fsync`` per issued credential). A fence *behind* the register is
safe: it only makes the rollback check weaker (a backup newer than the fence is not caught by
the fence, though still by the ``register_seq`` of the published lists); a fence *ahead* of the
register refuses a good register. The fence is written only after the register's commit is
durable, so it can never be ahead of what a power loss leaves of the register. That is why the
advance after each change (:func:`write_fence_file` with ``durable=False``) is not synced: it
overwrites a fixed-size record in place (no new file, no rename, the size never changes), and a
power loss before the kernel writes it back (Linux: within ``dirty_expire_centisecs``, 30 s by
default) leaves the previous record, a fence behind. The record is 256 bytes at offset 0, inside
one disk sector; should a write still tear, the fence is unreadable and refuses
(``register_fence_unreadable``, fail-closed) until ``reconcile`` rewrites it. The first fence,
a fence of another size (an older version's) and the one ``reconcile`` writes are written
atomically and durably (temporary file, ``fsync``, rename, folder ``fsync``).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from .._errors import StorageError
from .._files import atomic_write, read_small_regular_file

__all__ = ["read_fence_file", "rolled_back", "write_fence_file"]

_FENCE_VERSION = 1
_MAX_FENCE_BYTES = 4096
#: The size of the record written in place: well inside one 512-byte disk sector.
FENCE_RECORD_BYTES = 256
_IN_PLACE_FLAGS = os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


#: What this process last read or wrote in each fence file: path -> (the file's
#: ``(inode, mode, size, mtime, ctime)`` then, its sequence). A read whose ``lstat`` shows the
#: same file unchanged returns the sequence without opening it (every register transaction
#: reads the fence); any change, by this process or another, reads the file again. File times
#: are coarse (a clock tick): another process's in-place rewrite within the same tick can go
#: unseen until the next change, which only leaves this process's fence behind (safe, see
#: above); a fence put back from a copy is a new file (new inode) and is always read.
_KNOWN: dict[str, tuple[tuple[int, int, int, int, int], int]] = {}
_KNOWN_MAX = 64


def _sig(st: os.stat_result) -> tuple[int, int, int, int, int]:
    return (st.st_ino, st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _remember(key: str, st: os.stat_result, seq: int) -> None:
    if len(_KNOWN) >= _KNOWN_MAX:
        _KNOWN.clear()
    _KNOWN[key] = (_sig(st), seq)


def read_fence_file(path: Path) -> int | None:
    """The sequence recorded in the fence file at ``path`` (``None``: none written yet).

    Raises ``StorageError("register_fence_unreadable")`` for a damaged fence file: a
    damaged fence is never taken as "no fence".
    """
    key = str(path)
    known = _KNOWN.get(key)
    if known is not None:
        try:
            st = os.lstat(key)
        except OSError:
            st = None
        if st is not None and _sig(st) == known[0] and stat.S_ISREG(st.st_mode):
            return known[1]
        _KNOWN.pop(key, None)
    try:
        before = os.lstat(key)
    except OSError:
        before = None
    try:
        raw = read_small_regular_file(path, max_bytes=_MAX_FENCE_BYTES, what="register fence")
    except StorageError as e:
        if not path.exists() and not path.is_symlink():
            return None
        raise StorageError(
            "register_fence_unreadable", f"cannot read the register fence: {e.message}"
        ) from e
    try:
        doc = json.loads(raw)
        seq = doc["register_seq"]
        if doc.get("version") != _FENCE_VERSION or type(seq) is not int or seq < 0:
            raise ValueError(seq)
    except (ValueError, KeyError, TypeError) as e:
        raise StorageError(
            "register_fence_unreadable",
            f"register fence {path} is damaged; run reconcile to rebuild it",
        ) from e
    if before is not None and stat.S_ISREG(before.st_mode):
        _remember(key, before, int(seq))  # stat'ed before reading: a change since misses
    return int(seq)


def fence_record(seq: int, register_name: str) -> bytes:
    """The fence file's content for ``seq``: JSON padded with spaces to
    :data:`FENCE_RECORD_BYTES` (longer only for a very long register name)."""
    doc = {"version": _FENCE_VERSION, "register_seq": seq, "register": register_name}
    text = json.dumps(doc).encode()
    return text.ljust(FENCE_RECORD_BYTES - 1) + b"\n"


def write_fence_file(path: Path, seq: int, register_name: str, *, durable: bool = True) -> None:
    """Record ``seq`` in the fence file at ``path`` (mode 0600).

    ``durable`` (reconcile, a first fence): atomically and durably. ``durable=False`` (the
    advance after each committed change): the record is overwritten in place without a sync
    when the file is a regular file of exactly one record; otherwise it falls back to the
    durable write. See the module's notes for why a fence that lags is safe.
    """
    data = fence_record(seq, register_name)
    _KNOWN.pop(str(path), None)
    if not durable and len(data) == FENCE_RECORD_BYTES and _overwrite_in_place(path, data, seq):
        return
    atomic_write(path, data, mode=0o600)


def _overwrite_in_place(path: Path, data: bytes, seq: int) -> bool:
    """Overwrite the record of an existing fence file of the same size (no sync); ``False``
    when the file is missing, not a regular file or of another size. The file as written is
    remembered with ``seq`` for :func:`read_fence_file`."""
    if not hasattr(os, "pwrite"):  # pragma: no cover - Windows: always the durable write
        return False
    try:
        fd = os.open(path, _IN_PLACE_FLAGS)
    except OSError:
        return False
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size != len(data):
            return False
        # A short write (of 256 bytes, not expected): the durable write redoes the record.
        if os.pwrite(fd, data, 0) != len(data):
            return False
        _remember(str(path), os.fstat(fd), seq)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def rolled_back(register: Path, seq: int, fence: int, what: str) -> StorageError:
    """The error for a register older than its fence: what happened and how to recover."""
    return StorageError(
        "register_rolled_back",
        f"{what}: the register {register} is older than its fence (sequence {seq} < "
        f"{fence}): it was restored from a backup or replaced. Revocations made since may "
        "be missing and status indices could be handed out twice, so nothing is issued "
        "or published until it is reconciled with the last published status lists: "
        "blauweknop reconcile (or rodeknop reconcile) --home HOME --published DIR; "
        "see 'Restoring a backup' in the issuing organisation's guide",
    )
