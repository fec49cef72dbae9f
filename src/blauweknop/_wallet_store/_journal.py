"""The wallet's change journal: small changes made durable with one appended, synced entry
instead of rewriting (and re-encrypting) the whole wallet file.

What it is for: a presentation bumps a credential's ``presented`` count, which picks the next
unused copy of a single-use batch (unlinkability). That count must be on disk before the
presentation leaves the wallet, but rewriting the whole file for it costs two fsyncs (file and
directory) and the encryption of every record. Appending to ``wallet.journal`` costs one
``fdatasync`` of a small file (and the wallet takes counts ahead, so that one entry covers many
presentations: ``blauweknop._wallet``, "presentation counts").

**What each sync protects.** Laying the journal out (once per journal file): an fsync of the
file (its zeroed blocks, so later entries overwrite allocated blocks and their sync carries no
metadata) and of the directory (the file's name). Each entry: one ``fdatasync``, after which
the entry is on disk, so a change confirmed to the caller survives a crash. A crash before it
returns can leave the entry or not (the caller never got a confirmation: either is allowed);
a torn entry fails authentication and ends the replay. A write or sync that raises cuts the
journal before the entry again (best effort, see :func:`append_entry`).

**Layout** of ``wallet.journal`` (next to ``wallet.bkw``, mode 0600), a file of a fixed
256 KiB written once with zeros, then overwritten in place from its start::

    entry = length (4 bytes, big-endian) | nonce (12) | ciphertext + 16-byte tag

The plaintext is ``{"changes": [change, ...]}`` padded with spaces to a multiple of 4 KiB
(sizes do not tell which record changed), where a change is ``[kind, record_id, value as JSON
text]`` (the record's new value), ``[kind, record_id, null]`` (the record was deleted) or
``[kind, record_id, member, integer]`` (a top-level integer member of the stored record set, as
:func:`~._format.with_int_member` does: how a presentation count is written, a few dozen bytes
instead of the whole record; written since issue 18: an earlier version reports a journal
holding one as ``storage_corrupt``, until a full write by this version folds it into the
wallet file). Each entry is sealed with the wallet's data key; its AAD binds the wallet id,
the *generation of the wallet file it applies on top of*, and its position in the journal, so
entries cannot be moved, reordered or replayed onto another state.

**Replay.** Opening the wallet reads the file's state at generation *g*, then applies the
journal's entries for *g* in order and stops at the first entry that is incomplete or fails
authentication: a torn last entry is a write that never returned, so nothing that was
confirmed is lost. Entries for another generation are left over from before the last full
write (which included them) and are ignored. The next append first cuts the journal back to
its valid part. A full write of the wallet file (any :meth:`WalletStore.put`) makes the
journal stale (the generation moves on); the next entry is written over it from the start.

Like the wallet file, the journal does not detect a rollback (an older copy put back).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import stat
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .._errors import InvalidDataError, StorageError
from ._format import (
    FORMAT_VERSION,
    GEN,
    MAGIC,
    NONCE_LEN,
    TAG_LEN,
    Records,
    check_name,
    with_int_member,
)

__all__ = ["JOURNAL_FILE", "MAX_JOURNAL_BYTES", "Journal", "read_journal"]

JOURNAL_FILE: Final = "wallet.journal"
#: The journal's fixed size; a change that does not fit rewrites the wallet file instead.
MAX_JOURNAL_BYTES: Final = 256 * 1024
_LEN = struct.Struct(">I")
_SEQ = struct.Struct(">I")
_PAD_TO: Final = 4096


def _aad(wallet_id: bytes, generation: int, seq: int) -> bytes:
    return (
        MAGIC
        + bytes([FORMAT_VERSION])
        + b"journal"
        + wallet_id
        + GEN.pack(generation)
        + _SEQ.pack(seq)
    )


class Journal:
    """Where the next entry goes: the valid length and count of entries for ``generation``."""

    __slots__ = ("generation", "length", "seq")

    def __init__(self, generation: int, length: int = 0, seq: int = 0) -> None:
        self.generation = generation
        self.length = length
        self.seq = seq


def read_journal(
    directory: Path, dek: AESGCM, wallet_id: bytes, generation: int, records: Records
) -> Journal:
    """Apply the journal's entries for ``generation`` to ``records`` (in place); returns where
    the next entry goes. A missing journal is an empty one."""
    path = directory / JOURNAL_FILE
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return Journal(generation)
    except OSError as e:
        raise StorageError("storage_error", f"cannot open {path}: {e.strerror or e}") from e
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise StorageError("storage_corrupt", f"{path} is not a regular file")
        with io.FileIO(fd, "r", closefd=True) as f:
            data = f.read(MAX_JOURNAL_BYTES)
    except OSError as e:
        raise StorageError("storage_error", f"cannot read {path}: {e.strerror or e}") from e
    pos, seq = 0, 0
    while pos + _LEN.size <= len(data):
        (n,) = _LEN.unpack_from(data, pos)
        end = pos + _LEN.size + n
        if n < NONCE_LEN + TAG_LEN or end > len(data):
            break  # torn: the write never returned
        nonce = data[pos + _LEN.size : pos + _LEN.size + NONCE_LEN]
        try:
            plain = dek.decrypt(
                nonce, data[pos + _LEN.size + NONCE_LEN : end], _aad(wallet_id, generation, seq)
            )
        except InvalidTag:
            break  # another generation's entries, or a torn tail
        _apply(plain, records)
        pos, seq = end, seq + 1
    return Journal(generation, pos, seq)


def _apply(plaintext: bytes, records: Records) -> None:
    try:
        obj = json.loads(plaintext)
        changes = obj["changes"]
        for change in changes:
            if isinstance(change, list) and len(change) == 4:  # a counter of a stored record
                kind, rid, member, value = change
                check_name(kind, "kind")
                check_name(rid, "record_id")
                if not isinstance(member, str) or type(value) is not int:
                    raise TypeError("counter")
                stored = records.get(kind, {}).get(rid)
                if stored is None:
                    raise KeyError(f"no record {kind}/{rid} to count")
                records[kind][rid] = with_int_member(stored, member, value)
                continue
            kind, rid, text = change
            check_name(kind, "kind")
            check_name(rid, "record_id")
            if text is None:  # a deletion
                group = records.get(kind, {})
                group.pop(rid, None)
                if not group:
                    records.pop(kind, None)
            elif isinstance(text, str):
                records.setdefault(kind, {})[rid] = text
            else:
                raise TypeError("value")
    except (ValueError, TypeError, KeyError, InvalidDataError) as e:
        raise StorageError("storage_corrupt", f"a wallet journal entry is malformed: {e}") from e


def append_entry(
    directory: Path,
    journal: Journal,
    dek: AESGCM,
    wallet_id: bytes,
    changes: Sequence[tuple[str, str, str | None] | tuple[str, str, str, int]],
) -> bool:
    """Write one entry holding ``changes`` at the journal's end and sync it before
    returning; ``False`` (nothing written) when it does not fit, then the caller rewrites
    the wallet file. On failure (``storage_write_failed``) the valid part is as before."""
    plain = json.dumps(
        {"changes": list(changes)}, separators=(",", ":"), ensure_ascii=False
    ).encode()
    plain += b" " * (-len(plain) % _PAD_TO)
    nonce = os.urandom(NONCE_LEN)
    sealed = nonce + dek.encrypt(nonce, plain, _aad(wallet_id, journal.generation, journal.seq))
    entry = _LEN.pack(len(sealed)) + sealed
    if journal.length + len(entry) > MAX_JOURNAL_BYTES:
        return False
    path = directory / JOURNAL_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise StorageError("storage_corrupt", f"{path} is not a regular file")
            if st.st_size == MAX_JOURNAL_BYTES and _entry_at(fd, journal, dek, wallet_id):
                # another handle (one that bypassed the lock) appended here since we read
                raise StorageError(
                    "wallet_conflict",
                    f"the wallet in {directory} was changed by another writer; "
                    "nothing was written: close and reopen it",
                )
            if st.st_size != MAX_JOURNAL_BYTES:
                # Laid out once at its full size, zeros (an end marker) included: later
                # entries overwrite allocated blocks in place, so their sync carries no
                # metadata, and the file's size tells nothing.
                os.ftruncate(fd, 0)
                _write_all(fd, bytes(MAX_JOURNAL_BYTES), 0)
                os.fsync(fd)
                from .._files import fsync_directory

                fsync_directory(directory)  # the journal's name
            try:
                _write_all(fd, entry, journal.length)
                # the one sync an appended change costs: its entry is durable before we return
                (getattr(os, "fdatasync", None) or os.fsync)(fd)
            except OSError:
                # The call fails, so its entry must not count: cut the journal before it (best
                # effort), so that neither a later open nor our next append (which writes
                # here) takes it for a confirmed entry. Should the cut not reach the disk,
                # the entry may still be replayed: a change whose call raised, never a loss.
                with contextlib.suppress(OSError):
                    os.pwrite(fd, bytes(_LEN.size), journal.length)
                raise
        finally:
            os.close(fd)
    except OSError as e:
        raise StorageError("storage_write_failed", f"cannot write {path}: {e.strerror or e}") from e
    journal.length += len(entry)
    journal.seq += 1
    return True


def _entry_at(fd: int, journal: Journal, dek: AESGCM, wallet_id: bytes) -> bool:
    """Whether a valid entry for this generation and position is already where ours goes."""
    head = os.pread(fd, _LEN.size, journal.length)
    if len(head) < _LEN.size:
        return False
    (n,) = _LEN.unpack(head)
    if n < NONCE_LEN + TAG_LEN or journal.length + _LEN.size + n > MAX_JOURNAL_BYTES:
        return False
    body = os.pread(fd, n, journal.length + _LEN.size)
    try:
        dek.decrypt(
            body[:NONCE_LEN], body[NONCE_LEN:], _aad(wallet_id, journal.generation, journal.seq)
        )
    except InvalidTag:
        return False
    return True


def _write_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, offset)
        view, offset = view[n:], offset + n
