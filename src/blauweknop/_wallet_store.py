"""The citizen wallet's encrypted store: credentials and holder keys, encrypted at rest.

A wallet is a directory holding one file::

    wallet.bkw    the whole wallet state, encrypted (the only file with secrets in it)

**Locking.** While a :class:`WalletStore` is open it holds an exclusive ``fcntl.flock`` on the
wallet *directory* itself. A separate lock file could be unlinked by anyone who can write the
directory, after which a second handle would create a new lock file, lock it too, and one of
the two handles' writes would be lost. A directory cannot be unlinked while the wallet file is
in it, and renaming it keeps the locked inode. As a second line of defence every write first
checks that the file on disk is still the one this handle last read or wrote (same key
section and generation, same directory); if not it raises ``StorageError("wallet_conflict")``
and writes nothing. (Older versions locked a ``wallet.lock`` file; one left behind is ignored.)

**Key-derivation bounds.** A passphrase must pass a minimal policy (see
:func:`check_passphrase`; ``weak_passphrase`` otherwise). scrypt runs with r=8, p=1 and
``MIN_SCRYPT_N`` (2**10) <= n <= ``MAX_SCRYPT_N`` (2**18, 256 MiB, about 1 s): other values are
refused at creation (``invalid_data``, field ``scrypt_n``) and, in a file header, on open
(``wallet_kdf_refused``) before any key derivation runs. The floor of 2**10 exists so tests
can run fast; apps keep the default, 2**15.

**Layout: one file for the whole state.** The alternative, one file per record plus an
encrypted index, was rejected because:

- *Atomicity for free.* A commit is one :func:`~blauweknop._files.atomic_write` (temporary
  file, fsync, ``os.replace``, fsync of the directory): a crash leaves the previous or the new
  file, never a mix. Per-record files need a journal or a two-phase protocol to keep records
  and index in step, and :meth:`WalletStore.transaction` would need it too.
- *Less metadata on disk.* Per-record files reveal how many credentials there are, their
  sizes and when each one changed; one file reveals only the total size (padded to 4 KiB).
- *Size is not a problem.* A full wallet (1,000 credentials of 3 KB) is ~3 MB: one commit
  takes ~20-30 ms on an SSD (half fsync and rename, a third JSON encoding), opening it ~20 ms
  plus the scrypt time (~0.1 s at n=2**15). If wallets ever grow a hundredfold, the version
  byte allows a move to segments.

**Envelope encryption.** A random 256-bit data-encryption key (DEK) encrypts the state with
AES-256-GCM. The DEK is wrapped (AES-256-GCM) by a key-encryption key (KEK) derived from a
passphrase with scrypt, or from a raw 32-byte key from the app (the phone's keystore) with
HKDF-SHA256. Changing the passphrase rewraps the DEK and copies the encrypted state byte for
byte into the new file (one atomic write: the old or the new passphrase works, never neither).

**File format, version 1** (integers big-endian)::

    off  len  field
      0    4  magic b"BKWL"
      4    1  format version (1)
      5    1  kdf: 0 = raw key + HKDF-SHA256, 1 = scrypt
      6    1  scrypt log2(n) (0 for raw)
      7    1  scrypt r       (0 for raw)
      8    1  scrypt p       (0 for raw)
      9   16  salt
     25   16  wallet id (random; binds the data section to this wallet)
     41   12  wrap nonce
     53   48  wrapped DEK (32 + 16-byte tag); AAD = bytes 0..41
    101   32  SHA-256 of bytes 0..101 (key-section checksum, see below)
    133    8  generation (incremented by every commit)
    141   12  data nonce
    153    *  encrypted state + 16-byte tag;
              AAD = magic + version + b"data" + wallet id + generation

Every header byte is authenticated: the KDF parameters, salt and wallet id by the wrap tag,
the generation by the data tag. The plaintext state is strict JSON,
``{"records": {kind: {id: value-as-JSON-text}}}``, padded with spaces to a multiple of
4 KiB; record kinds and ids are inside the ciphertext, so they never show on disk.

**What can be told apart** (GCM cannot distinguish a wrong key from altered input, so the
unkeyed checksum over the key section is there to catch accidental damage):

- a byte changed in the key section (header, salt, wrap nonce, wrapped DEK, checksum):
  ``storage_corrupt`` (checksum mismatch);
- the key section altered *and* its checksum recomputed (deliberate tampering):
  ``wrong_passphrase`` -- indistinguishable from a wrong passphrase, and nothing is decrypted;
- a byte changed in the data section (generation, nonce, ciphertext, tag) or the file cut
  short: ``storage_corrupt`` (the DEK unwrapped, so the key was right and the data is bad);
- a version byte newer than this code, with a valid checksum: ``unsupported_version``.

A failed open never writes to the wallet file. Not detected: replacing the file with an
older copy of itself (rollback) -- that needs a counter kept outside the directory.

Example:
    >>> import tempfile, pathlib
    >>> tmp = tempfile.TemporaryDirectory()
    >>> home = pathlib.Path(tmp.name) / "wallet"
    >>> with WalletStore.create(home, passphrase="correct horse", scrypt_n=2**10) as store:
    ...     store.put("credential", "c1", {"format": "dc+sd-jwt", "token": "eyJhbGciOi..."})
    >>> with WalletStore.open(home, passphrase="correct horse") as store:
    ...     store.items("credential")
    [('c1', {'format': 'dc+sd-jwt', 'token': 'eyJhbGciOi...'})]
    >>> WalletStore.open(home, passphrase="wrong")
    Traceback (most recent call last):
    ...
    blauweknop._errors.StorageError: wrong_passphrase: wrong passphrase or key
    >>> tmp.cleanup()
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import itertools
import json
import os
import stat
import struct
import sys
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ._codec import check_depth, parse_json_object
from ._errors import InvalidDataError, MalformedError, StorageError
from ._files import atomic_write
from ._limits import DEFAULT_LIMITS

if sys.platform != "win32":  # no fcntl on Windows: the library must still import there
    import fcntl

__all__ = [
    "DEFAULT_SCRYPT_N",
    "MAX_SCRYPT_N",
    "MIN_PASSPHRASE_CHARS",
    "MIN_SCRYPT_N",
    "WalletStore",
    "check_passphrase",
]

WALLET_FILE: Final = "wallet.bkw"

FORMAT_VERSION: Final = 1
_MAGIC: Final = b"BKWL"
_KDF_RAW: Final = 0
_KDF_SCRYPT: Final = 1

_HEADER = struct.Struct(">4sBBBBB16s16s")  # magic, version, kdf, log2n, r, p, salt, wallet id
_HEADER_LEN: Final = _HEADER.size  # 41
_NONCE_LEN: Final = 12
_KEY_LEN: Final = 32
_TAG_LEN: Final = 16
_WRAPPED_LEN: Final = _KEY_LEN + _TAG_LEN
_CHECKSUM_AT: Final = _HEADER_LEN + _NONCE_LEN + _WRAPPED_LEN  # 101
_KEY_SECTION_LEN: Final = _CHECKSUM_AT + 32  # 133
_GEN = struct.Struct(">Q")
_DATA_HEADER_LEN: Final = _GEN.size + _NONCE_LEN  # generation + nonce
_MIN_FILE_LEN: Final = _KEY_SECTION_LEN + _DATA_HEADER_LEN + _TAG_LEN

DEFAULT_SCRYPT_N: Final = 2**15
#: The lowest scrypt cost accepted (2**10, 1 MiB): low enough for fast tests, never for apps.
MIN_SCRYPT_N: Final = 2**10
#: The highest scrypt cost accepted (2**18: 256 MiB and about a second); also bounds the
#: work a tampered file header can demand before a wrong passphrase is reported.
MAX_SCRYPT_N: Final = 2**18
#: A passphrase has at least this many characters (Unicode code points, after NFC).
MIN_PASSPHRASE_CHARS: Final = 8
_SCRYPT_R: Final = 8
_SCRYPT_P: Final = 1
_MAX_FILE_BYTES: Final = 256 * 1024 * 1024
_MAX_RECORD_BYTES: Final = 1024 * 1024
_MAX_NAME_BYTES: Final = 512
_PAD_TO: Final = 4096
_HKDF_INFO: Final = b"blauweknop wallet KEK v1"
_TEMP_PREFIX: Final = f".{WALLET_FILE}."  # what atomic_write names its temporary files

Records = dict[str, dict[str, str]]


class WalletStore:
    """An open, locked, decrypted wallet. Create with :meth:`create` or :meth:`open`.

    Records are JSON objects addressed by ``(kind, record_id)``; ``kind`` groups them
    (``"credential"``, ``"holder_key"``, ...). Every :meth:`put` or :meth:`delete` is written
    to disk before it returns; :meth:`transaction` groups several into one write. The whole
    state is held in memory, decrypted, while the store is open.

    The store holds an exclusive lock on the wallet directory until :meth:`close` (or the end
    of a ``with`` block); a second open, in this process or another, raises
    ``StorageError("wallet_locked")``. A write that finds the file changed by someone else
    raises ``StorageError("wallet_conflict")`` and writes nothing. One instance is not safe
    to share between threads.

    Example:
        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> store = WalletStore.create(tmp.name, key=bytes(32))
        >>> store.put("holder_key", "k1", {"kty": "EC", "crv": "P-256", "d": "..."})
        >>> store.get("holder_key", "k1")["kty"]
        'EC'
        >>> store.close(); tmp.cleanup()
    """

    __slots__ = (
        "_data_section",
        "_dek",
        "_dek_key",
        "_directory",
        "_generation",
        "_header",
        "_key_section",
        "_lock",
        "_pending",
        "_records",
        "_wallet_id",
    )

    def __init__(self) -> None:  # not public: use create() or open()
        self._directory = Path()
        self._lock: int | None = None  # a file descriptor of the locked wallet directory
        self._header = _ParsedHeader(_KDF_RAW, 0, 0, 0, b"", b"")
        self._wallet_id = b""
        self._dek_key = b""
        self._dek = AESGCM(bytes(_KEY_LEN))
        self._key_section = b""
        self._data_section = b""
        self._generation = 0
        self._records: Records = {}
        self._pending: Records | None = None

    # -- opening -------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        directory: str | os.PathLike[str],
        *,
        passphrase: str | None = None,
        key: bytes | None = None,
        scrypt_n: int = DEFAULT_SCRYPT_N,
        initial: Mapping[str, Mapping[str, dict[str, Any]]] | None = None,
    ) -> WalletStore:
        """Create a wallet in ``directory`` (made ``0700`` if missing) and open it.

        ``initial`` records (``{kind: {record_id: value}}``) are part of the very first write,
        so a crash during creation leaves either no wallet or a complete one.

        Give exactly one of ``passphrase`` (stretched with scrypt, cost ``scrypt_n``, r=8,
        p=1) or ``key`` (32 random bytes, e.g. from the phone's keystore). A passphrase must
        pass :func:`check_passphrase` (``InvalidDataError("weak_passphrase")``); ``scrypt_n``
        is a power of two from ``MIN_SCRYPT_N`` (2**10) to ``MAX_SCRYPT_N`` (2**18)
        (``InvalidDataError("invalid_data")``, field ``scrypt_n``). Raises
        ``StorageError("wallet_exists")`` if the directory already holds a wallet.

        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> WalletStore.create(tmp.name, passphrase="correct horse", scrypt_n=2**10).close()
        >>> try:
        ...     WalletStore.create(tmp.name, passphrase="correct horse", scrypt_n=2**10)
        ... except StorageError as e:
        ...     e.code
        'wallet_exists'
        >>> tmp.cleanup()
        """
        secret = _unlock_secret(passphrase, key, creating=True)
        kdf = _KDF_RAW if key is not None else _KDF_SCRYPT
        log2n = _check_scrypt_n(scrypt_n) if kdf == _KDF_SCRYPT else 0
        d = Path(directory)
        _make_directory(d)
        store = cls()
        store._directory = d
        store._lock = _acquire_lock(d)
        try:
            if (d / WALLET_FILE).exists():
                raise StorageError("wallet_exists", f"a wallet already exists in {d}")
            _remove_stale_temp_files(d)
            dek = AESGCM.generate_key(bit_length=256)
            store._wallet_id = os.urandom(16)
            store._key_section, store._header = _build_key_section(
                dek, store._wallet_id, secret, kdf, log2n
            )
            store._dek_key, store._dek = dek, AESGCM(dek)
            # generation 0 is written now; a crash before this write leaves no wallet
            first: Records = {}
            for kind, recs in (initial or {}).items():
                _check_name(kind, "kind")
                for rid, value in recs.items():
                    _check_name(rid, "record_id")
                    first.setdefault(kind, {})[rid] = _encode_value(value)
            store._commit(first, generation=0)
        except BaseException:
            store.close()
            raise
        return store

    @classmethod
    def open(
        cls,
        directory: str | os.PathLike[str],
        *,
        passphrase: str | None = None,
        key: bytes | None = None,
    ) -> WalletStore:
        """Open, lock and decrypt an existing wallet.

        Raises ``StorageError`` with code ``wallet_not_found``, ``wallet_locked``,
        ``wrong_passphrase``, ``storage_corrupt``, ``unsupported_version``,
        ``wallet_kdf_refused`` (the header asks for scrypt parameters out of bounds; refused
        before any key derivation) or ``wallet_permissions`` (the file is readable by other
        users). Never writes the wallet.

        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> try:
        ...     WalletStore.open(tmp.name, passphrase="correct horse")
        ... except StorageError as e:
        ...     e.code
        'wallet_not_found'
        >>> tmp.cleanup()
        """
        secret = _unlock_secret(passphrase, key, creating=False)
        d = Path(directory)
        if not (d / WALLET_FILE).is_file():
            raise StorageError("wallet_not_found", f"no wallet in {d}")
        store = cls()
        store._directory = d
        store._lock = _acquire_lock(d)
        try:
            store._load(secret, raw_key=key is not None)
            _remove_stale_temp_files(d)
        except BaseException:
            store.close()
            raise
        return store

    def _load(self, secret: bytes, *, raw_key: bool) -> None:
        blob = _read_wallet_file(self._directory / WALLET_FILE)
        if len(blob) < _MIN_FILE_LEN:
            raise StorageError("storage_corrupt", "wallet file is truncated")
        key_section = blob[:_KEY_SECTION_LEN]
        header = _parse_key_section(key_section)
        if raw_key != (header.kdf == _KDF_RAW):
            needed = "a raw key" if header.kdf == _KDF_RAW else "a passphrase"
            raise StorageError("wrong_passphrase", f"this wallet is unlocked with {needed}")
        kek = _derive_kek(secret, header)
        wrap_nonce = key_section[_HEADER_LEN : _HEADER_LEN + _NONCE_LEN]
        wrapped = key_section[_HEADER_LEN + _NONCE_LEN : _CHECKSUM_AT]
        try:
            dek = AESGCM(kek).decrypt(wrap_nonce, wrapped, key_section[:_HEADER_LEN])
        except InvalidTag:
            raise StorageError("wrong_passphrase", "wrong passphrase or key") from None
        data_section = blob[_KEY_SECTION_LEN:]
        (generation,) = _GEN.unpack_from(data_section)
        nonce = data_section[_GEN.size : _DATA_HEADER_LEN]
        aesgcm = AESGCM(dek)
        try:
            plaintext = aesgcm.decrypt(
                nonce, data_section[_DATA_HEADER_LEN:], _data_aad(header.wallet_id, generation)
            )
        except InvalidTag:
            raise StorageError(
                "storage_corrupt", "wallet data failed authentication (damaged or altered)"
            ) from None
        self._records = _parse_state(plaintext)
        self._header = header
        self._wallet_id = header.wallet_id
        self._dek_key, self._dek = dek, aesgcm
        self._key_section = key_section
        self._data_section = data_section
        self._generation = generation

    # -- records -------------------------------------------------------------------------
    def put(self, kind: str, record_id: str, value: dict[str, Any]) -> None:
        """Store ``value`` (a JSON object) under ``(kind, record_id)``, replacing any old one.

        Written to disk before returning (or with the enclosing :meth:`transaction`). Values
        must survive a JSON round trip unchanged: no tuples, NaN, non-string keys, sets.

        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> store = WalletStore.create(tmp.name, key=bytes(32))
        >>> try:
        ...     store.put("credential", "c1", {"when": (2026, 1, 1)})  # a tuple is not JSON
        ... except InvalidDataError as e:
        ...     e.code, e.field
        ('invalid_data', 'value')
        >>> store.close(); tmp.cleanup()
        """
        _check_name(kind, "kind")
        _check_name(record_id, "record_id")
        text = _encode_value(value)
        with self._change() as records:
            records.setdefault(kind, {})[record_id] = text

    def get(self, kind: str, record_id: str) -> dict[str, Any] | None:
        """The record stored under ``(kind, record_id)`` (a fresh copy), or ``None``.

        Inside a :meth:`transaction` this sees the transaction's own uncommitted changes.

        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> store = WalletStore.create(tmp.name, key=bytes(32))
        >>> store.get("credential", "absent") is None
        True
        >>> store.close(); tmp.cleanup()
        """
        text = self._view().get(kind, {}).get(record_id)
        return None if text is None else _decode_value(text)

    def delete(self, kind: str, record_id: str) -> None:
        """Remove a record; ``StorageError("record_not_found")`` if there is none.

        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> store = WalletStore.create(tmp.name, key=bytes(32))
        >>> store.put("credential", "c1", {"a": 1})
        >>> store.delete("credential", "c1")
        >>> store.items("credential")
        []
        >>> store.close(); tmp.cleanup()
        """
        with self._change() as records:
            group = records.get(kind, {})
            if record_id not in group:
                raise StorageError("record_not_found", f"no {kind} record with that id")
            del group[record_id]
            if not group:
                del records[kind]

    def items(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        """All records of ``kind`` as ``(record_id, value)`` pairs, sorted by id.

        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> store = WalletStore.create(tmp.name, key=bytes(32))
        >>> store.put("credential", "b", {"n": 2}); store.put("credential", "a", {"n": 1})
        >>> store.items("credential")
        [('a', {'n': 1}), ('b', {'n': 2})]
        >>> store.close(); tmp.cleanup()
        """
        group = self._view().get(kind, {})
        return [(rid, _decode_value(group[rid])) for rid in sorted(group)]

    @contextlib.contextmanager
    def transaction(self) -> Iterator[WalletStore]:
        """Group changes into one atomic write, made when the outermost block exits normally.

        If the block raises, none of its changes are kept (a nested block acts as a
        savepoint: only its own changes are dropped). If the write fails, a
        :class:`StorageError` is raised and the wallet is as before the transaction.

        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> store = WalletStore.create(tmp.name, key=bytes(32))
        >>> with store.transaction():
        ...     store.put("credential", "c1", {"n": 1})
        ...     store.put("holder_key", "k1", {"kty": "OKP"})
        >>> try:
        ...     with store.transaction():
        ...         store.delete("credential", "c1")
        ...         raise RuntimeError("changed my mind")
        ... except RuntimeError:
        ...     pass
        >>> [rid for rid, _ in store.items("credential")]
        ['c1']
        >>> store.close(); tmp.cleanup()
        """
        self._check_open()
        if self._pending is not None:
            savepoint = _clone(self._pending)
            try:
                yield self
            except BaseException:
                self._pending = savepoint
                raise
            return
        self._pending = _clone(self._records)
        try:
            yield self
        except BaseException:
            self._pending = None
            raise
        pending, self._pending = self._pending, None
        self._check_open()  # closed inside the block: nothing to commit to
        if pending is not None and pending != self._records:
            self._commit(pending)

    # -- keys ----------------------------------------------------------------------------
    def change_passphrase(
        self,
        passphrase: str | None = None,
        *,
        key: bytes | None = None,
        scrypt_n: int | None = None,
    ) -> None:
        """Rewrap the data key under a new ``passphrase`` (or raw ``key``), atomically.

        The encrypted data is copied unchanged; a crash leaves either the old or the new
        passphrase working. ``scrypt_n`` defaults to the current cost (or 2**15 when moving
        from a raw key). The new passphrase must pass :func:`check_passphrase`
        (``weak_passphrase``). Not allowed inside a :meth:`transaction`.

        Note that the data key itself does not change: someone who copied the wallet file
        *and* knows the old passphrase can still read that copy.

        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> with WalletStore.create(tmp.name, passphrase="an old one", scrypt_n=2**10) as store:
        ...     store.change_passphrase("a new passphrase")
        >>> WalletStore.open(tmp.name, passphrase="a new passphrase").close()
        >>> tmp.cleanup()
        """
        self._check_open()
        if self._pending is not None:
            raise StorageError("transaction_active", "cannot change the key in a transaction")
        secret = _unlock_secret(passphrase, key, creating=True)
        kdf = _KDF_RAW if key is not None else _KDF_SCRYPT
        if kdf == _KDF_RAW:
            log2n = 0
        elif scrypt_n is not None:
            log2n = _check_scrypt_n(scrypt_n)
        elif self._header.kdf == _KDF_SCRYPT:
            log2n = self._header.log2n
        else:
            log2n = _check_scrypt_n(DEFAULT_SCRYPT_N)
        self._check_unchanged()
        key_section, header = _build_key_section(self._dek_key, self._wallet_id, secret, kdf, log2n)
        self._write_file(key_section + self._data_section)
        self._key_section, self._header = key_section, header

    # -- lifecycle -----------------------------------------------------------------------
    @property
    def directory(self) -> Path:
        """The wallet directory."""
        return self._directory

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called (the lock is released, records are dropped)."""
        return self._lock is None

    def close(self) -> None:
        """Release the lock and drop the decrypted records and keys from this object.

        (Python cannot guarantee the memory is wiped; copies may linger until reused.)
        """
        lock, self._lock = self._lock, None
        self._records = {}
        self._pending = None
        self._data_section = b""
        self._dek_key, self._dek = b"", AESGCM(bytes(_KEY_LEN))
        if lock is not None:
            # flock belongs to this open file description: closing it releases the lock
            with contextlib.suppress(OSError):
                fcntl.flock(lock, fcntl.LOCK_UN)
            with contextlib.suppress(OSError):
                os.close(lock)

    def __enter__(self) -> WalletStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<WalletStore {str(self._directory)!r} {state}>"

    # -- internals -----------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._lock is None:
            raise StorageError("wallet_closed", "the wallet store is closed")

    def _view(self) -> Records:
        self._check_open()
        return self._pending if self._pending is not None else self._records

    @contextlib.contextmanager
    def _change(self) -> Iterator[Records]:
        """Yield a mutable copy of the state; commit it (or stage it in the transaction)."""
        self._check_open()
        if self._pending is not None:
            # in a transaction: edit the staged copy in place (callers validate first)
            yield self._pending
            return
        staged = _clone(self._records)
        yield staged
        self._commit(staged)

    def _commit(self, records: Records, *, generation: int | None = None) -> None:
        """Encrypt ``records`` and replace the wallet file; state changes only on success."""
        if generation is None:  # not the first write of create(): the file must be ours
            self._check_unchanged()
        gen = self._generation + 1 if generation is None else generation
        plaintext = json.dumps(
            {"records": records}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8")
        plaintext += b" " * (-len(plaintext) % _PAD_TO)
        nonce = os.urandom(_NONCE_LEN)
        data_section = (
            _GEN.pack(gen)
            + nonce
            + self._dek.encrypt(nonce, plaintext, _data_aad(self._wallet_id, gen))
        )
        self._write_file(self._key_section + data_section)
        self._records, self._data_section, self._generation = records, data_section, gen

    def _check_unchanged(self) -> None:
        """Refuse to write when the wallet is no longer what this handle last read or wrote.

        The directory lock makes this unreachable in normal use; it catches a lock that was
        bypassed (another writer) or a wallet directory swapped while open, so that one
        handle's write never silently replaces another's.
        """
        assert self._lock is not None  # callers check that the store is open
        path = self._directory / WALLET_FILE
        expected = self._key_section + _GEN.pack(self._generation)
        try:
            locked, current = os.fstat(self._lock), self._directory.stat()
            same_dir = (locked.st_dev, locked.st_ino) == (current.st_dev, current.st_ino)
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            with io.FileIO(fd, "r", closefd=True) as f:
                head = f.read(len(expected))
        except OSError:
            same_dir, head = False, b""
        if not same_dir or head != expected:
            raise StorageError(
                "wallet_conflict",
                f"the wallet in {self._directory} was changed by another writer; "
                "nothing was written: close and reopen it",
            )

    def _write_file(self, blob: bytes) -> None:
        if len(blob) > _MAX_FILE_BYTES:
            raise StorageError("too_large", f"the wallet would exceed {_MAX_FILE_BYTES} bytes")
        atomic_write(self._directory / WALLET_FILE, blob, mode=0o600)


@dataclass(frozen=True, slots=True)
class _ParsedHeader:
    """The key section's header fields."""

    kdf: int
    log2n: int
    r: int
    p: int
    salt: bytes
    wallet_id: bytes


# -- key derivation and wrapping ---------------------------------------------------------
def _unlock_secret(passphrase: str | None, key: bytes | None, *, creating: bool) -> bytes:
    if (passphrase is None) == (key is None):
        raise InvalidDataError(
            "invalid_data", "give exactly one of passphrase or key", field="passphrase"
        )
    if key is not None:
        if not isinstance(key, bytes) or len(key) != _KEY_LEN:
            raise InvalidDataError("invalid_data", "key must be 32 bytes", field="key")
        return key
    if not isinstance(passphrase, str):
        raise InvalidDataError("invalid_data", "passphrase must be a string", field="passphrase")
    # NFC, so the same passphrase typed on keyboards that compose differently still unlocks
    normalized = unicodedata.normalize("NFC", passphrase)
    if creating:
        check_passphrase(normalized)
    try:
        return normalized.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InvalidDataError(
            "invalid_data", "passphrase is not valid Unicode", field="passphrase"
        ) from e


def check_passphrase(passphrase: str) -> None:
    """The minimal passphrase policy for a new wallet passphrase; raises
    ``InvalidDataError("weak_passphrase")`` (field ``passphrase``) when it is not met.

    At least ``MIN_PASSPHRASE_CHARS`` (8) characters after Unicode NFC normalization, not only
    white space, at least 3 different characters, and not a plain run such as ``12345678``
    or ``hgfedcba``. (Following NIST SP 800-63B: length and a block of trivial values, no
    composition rules.) A phone app that unlocks with a PIN or biometrics should keep a
    random 32-byte key in the platform keystore and pass it as ``key=`` instead: raw keys
    are not subject to this policy.

    >>> check_passphrase("correct horse")
    >>> try:
    ...     check_passphrase("1")
    ... except InvalidDataError as e:
    ...     e.code, e.field
    ('weak_passphrase', 'passphrase')
    """
    text = unicodedata.normalize("NFC", passphrase)
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(text)}
    if len(text) < MIN_PASSPHRASE_CHARS:
        why = f"has fewer than {MIN_PASSPHRASE_CHARS} characters"
    elif not text.strip():
        why = "is only white space"
    elif len(set(text)) < 3:
        why = "has fewer than 3 different characters"
    elif steps in ({1}, {-1}):
        why = "is a plain run of consecutive characters"
    else:
        return
    raise InvalidDataError(
        "weak_passphrase",
        f"the passphrase {why}; choose a longer one (a few unrelated words work well)",
        field="passphrase",
    )


def _check_scrypt_n(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1 or n & (n - 1):
        raise InvalidDataError("invalid_data", "scrypt_n: not a power of two", field="scrypt_n")
    if not MIN_SCRYPT_N <= n <= MAX_SCRYPT_N:
        raise InvalidDataError(
            "invalid_data",
            f"scrypt_n: must be from 2**{MIN_SCRYPT_N.bit_length() - 1} "
            f"to 2**{MAX_SCRYPT_N.bit_length() - 1}",
            field="scrypt_n",
        )
    return n.bit_length() - 1


def _derive_kek(secret: bytes, header: _ParsedHeader) -> bytes:
    try:
        if header.kdf == _KDF_RAW:
            hkdf = HKDF(hashes.SHA256(), _KEY_LEN, header.salt, _HKDF_INFO)
            return hkdf.derive(secret)
        scrypt = Scrypt(header.salt, _KEY_LEN, 1 << header.log2n, header.r, header.p)
        return scrypt.derive(secret)
    except (ValueError, MemoryError) as e:
        raise StorageError("storage_error", f"cannot derive the wallet key: {e}") from e


def _build_key_section(
    dek: bytes, wallet_id: bytes, secret: bytes, kdf: int, log2n: int
) -> tuple[bytes, _ParsedHeader]:
    r, p = (_SCRYPT_R, _SCRYPT_P) if kdf == _KDF_SCRYPT else (0, 0)
    header = _ParsedHeader(kdf, log2n, r, p, os.urandom(16), wallet_id)
    header_bytes = _HEADER.pack(_MAGIC, FORMAT_VERSION, kdf, log2n, r, p, header.salt, wallet_id)
    kek = _derive_kek(secret, header)
    nonce = os.urandom(_NONCE_LEN)
    body = header_bytes + nonce + AESGCM(kek).encrypt(nonce, dek, header_bytes)
    return body + hashlib.sha256(body).digest(), header


def _parse_key_section(section: bytes) -> _ParsedHeader:
    magic, version, kdf, log2n, r, p, salt, wallet_id = _HEADER.unpack_from(section)
    if magic != _MAGIC:
        raise StorageError("storage_corrupt", "not a wallet file (bad magic)")
    if hashlib.sha256(section[:_CHECKSUM_AT]).digest() != section[_CHECKSUM_AT:]:
        raise StorageError("storage_corrupt", "wallet key section is damaged (checksum mismatch)")
    if version > FORMAT_VERSION:
        raise StorageError(
            "unsupported_version",
            f"wallet format {version} is newer than this library ({FORMAT_VERSION})",
        )
    if version != FORMAT_VERSION:
        raise StorageError("storage_corrupt", f"unknown wallet format version {version}")
    if kdf == _KDF_RAW:
        ok = log2n == r == p == 0
    elif kdf == _KDF_SCRYPT:
        # Bound the work a file header can demand before scrypt runs on it: exactly what
        # create() can write (r=8, p=1, n within bounds), at most 256 MiB and ~1 s.
        ok = (
            MIN_SCRYPT_N.bit_length() - 1 <= log2n <= MAX_SCRYPT_N.bit_length() - 1
            and r == _SCRYPT_R
            and p == _SCRYPT_P
        )
    else:
        raise StorageError("storage_corrupt", f"unknown wallet key-derivation function {kdf}")
    if not ok:
        raise StorageError(
            "wallet_kdf_refused",
            f"the wallet file asks for key derivation outside the accepted bounds "
            f"(log2 n={log2n}, r={r}, p={p}); refused before deriving anything",
        )
    return _ParsedHeader(kdf, log2n, r, p, salt, wallet_id)


def _data_aad(wallet_id: bytes, generation: int) -> bytes:
    return _MAGIC + bytes([FORMAT_VERSION]) + b"data" + wallet_id + _GEN.pack(generation)


# -- record encoding ---------------------------------------------------------------------
def _check_name(name: object, what: str) -> None:
    if not isinstance(name, str) or not name:
        raise InvalidDataError("invalid_data", f"{what} must be a non-empty string", field=what)
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError as e:
        raise InvalidDataError("invalid_data", f"{what} is not valid Unicode", field=what) from e
    if size > _MAX_NAME_BYTES:
        raise InvalidDataError(
            "invalid_data", f"{what} is longer than {_MAX_NAME_BYTES} bytes", field=what
        )


def _encode_value(value: object) -> str:
    if not isinstance(value, dict):
        raise InvalidDataError("invalid_data", "value must be a JSON object (dict)", field="value")
    try:
        check_depth(value, DEFAULT_LIMITS.max_json_depth, "value")
        # key order is kept: get() returns the value as it was put
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        size = len(text.encode("utf-8"))  # refuses lone surrogates
    except MalformedError as e:
        raise InvalidDataError("invalid_data", e.message, field="value") from e
    except (TypeError, ValueError, RecursionError) as e:
        raise InvalidDataError(
            "invalid_data", f"value is not plain JSON: {e}", field="value"
        ) from e
    if size > _MAX_RECORD_BYTES:
        raise InvalidDataError(
            "too_large", f"value is larger than {_MAX_RECORD_BYTES} bytes", field="value"
        )
    # json.dumps quietly turns tuples into lists and int keys into strings; refuse, so what
    # comes back from get() is exactly what was put
    if json.loads(text) != value:
        raise InvalidDataError(
            "invalid_data", "value does not survive a JSON round trip unchanged", field="value"
        )
    return text


def _decode_value(text: str) -> dict[str, Any]:
    # The text was produced by _encode_value and is authenticated by the data tag, so the
    # fast parser suffices; a fresh object per call means callers cannot alias the store.
    value: dict[str, Any] = json.loads(text)
    return value


def _parse_state(plaintext: bytes) -> Records:
    try:
        state = parse_json_object(plaintext, what="wallet state", max_bytes=len(plaintext) + 1)
    except MalformedError as e:
        raise StorageError("storage_corrupt", f"wallet state is not valid: {e.message}") from e
    records = state.get("records")
    if set(state) != {"records"} or not isinstance(records, dict):
        raise StorageError("storage_corrupt", "wallet state has an unexpected shape")
    for group in records.values():
        if not isinstance(group, dict) or not group:
            raise StorageError("storage_corrupt", "wallet state has an unexpected shape")
        for text in group.values():
            if not isinstance(text, str):
                raise StorageError("storage_corrupt", "wallet state has an unexpected shape")
    return records


def _clone(records: Records) -> Records:
    return {kind: dict(group) for kind, group in records.items()}


# -- files and locking -------------------------------------------------------------------
def _make_directory(d: Path) -> None:
    try:
        d.mkdir(mode=0o700)
    except FileExistsError:
        if not d.is_dir():
            raise StorageError("storage_write_failed", f"{d} is not a directory") from None
        return
    except OSError as e:
        raise StorageError("storage_write_failed", f"cannot create {d}: {e.strerror or e}") from e
    # make the new directory entry itself durable
    _fsync_directory(d.parent if str(d.parent) else Path())


def _fsync_directory(d: Path) -> None:
    try:
        fd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as e:
        raise StorageError("storage_write_failed", f"cannot sync {d}: {e.strerror or e}") from e


def _acquire_lock(d: Path) -> int:
    """Lock the wallet directory itself (not a lock file, which could be unlinked); returns
    the locked directory's file descriptor."""
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


def _read_wallet_file(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        raise StorageError("wallet_not_found", f"no wallet in {path.parent}") from None
    except OSError as e:
        raise StorageError("storage_error", f"cannot open {path}: {e.strerror or e}") from e
    with io.FileIO(fd, "r", closefd=True) as f:
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise StorageError("storage_corrupt", f"{path} is not a regular file")
            if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise StorageError(
                    "wallet_permissions",
                    f"{path} is accessible by other users (mode {oct(st.st_mode & 0o777)}); "
                    f"run: chmod 600 {path}",
                )
            data = f.read(_MAX_FILE_BYTES + 1)
        except OSError as e:
            raise StorageError("storage_error", f"cannot read {path}: {e.strerror or e}") from e
    if len(data) > _MAX_FILE_BYTES:
        raise StorageError("too_large", f"{path} is larger than {_MAX_FILE_BYTES} bytes")
    return data


def _remove_stale_temp_files(d: Path) -> None:
    """Delete temporary files left by a write that crashed (they hold only ciphertext)."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(d):
            if entry.name.startswith(_TEMP_PREFIX) and entry.name.endswith(".tmp"):
                with contextlib.suppress(OSError):
                    Path(entry.path).unlink()
