"""The citizen wallet's encrypted store: credentials and holder keys, encrypted at rest.

A wallet is a directory holding::

    wallet.bkw      the whole wallet state, encrypted
    wallet.journal  small changes made since wallet.bkw was written, encrypted (see
                    :mod:`._journal`; :meth:`WalletStore.append`)

**What each fsync protects.** A full write (:meth:`WalletStore.put`, ``delete``, a
:meth:`~WalletStore.transaction`, creation, a passphrase change) is one
:func:`~blauweknop._files.atomic_write`: the fsync of the temporary file makes the new state's
bytes durable before the rename can expose them (else a crash could leave a renamed but empty
or partial file), and the fsync of the directory makes the rename itself durable (else a crash
could bring back the previous state after the call returned). An appended change
(:meth:`WalletStore.append`, what a presentation uses to count itself) costs one
``fdatasync`` of the journal: its entry is durable before the call returns (so a copy of a
single-use batch is never presented twice after a crash), plus, once, an fsync of the journal
and of the directory when the journal file is laid out (its blocks and its name). An entry
whose write or sync fails is cut off again (best effort) and the call raises
``storage_write_failed``. ``Wallet.present`` does not append at every presentation: it takes
presentation counts ahead (see ``blauweknop._wallet``, "presentation counts"), so most
presentations sync nothing, and no sync ever stands between a crash and a stored credential
or key (those are written in full, as above).

A private package, split by job (issue 13): :mod:`._envelope` (envelope encryption and the
key-derivation bounds), :mod:`._format` (the file layout, the state's plaintext, reading the
file), :mod:`._lock` (the directory lock); this module holds the store itself, so the file
write (``atomic_write``) and the lock (``_acquire_lock``) are looked up here, where fault
tests replace them.

**Locking.** While a :class:`WalletStore` is open it holds an exclusive ``fcntl.flock`` on the
wallet *directory* (see :mod:`._lock`). As a second line of defence every write first checks
that the file on disk is still the one this handle last read or wrote (same key section and
generation, same directory); if not it raises ``StorageError("wallet_conflict")`` and writes
nothing.

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

**Encryption** (:mod:`._envelope`): a random data key encrypts the state (AES-256-GCM); it is
wrapped by a key derived from the passphrase (scrypt, bounded) or from a raw 32-byte key
(HKDF). The file format is drawn in :mod:`._format`; what each kind of damage is reported as,
in :mod:`._envelope`.

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
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .._errors import InvalidDataError, StorageError  # noqa: F401 - the doctests raise it
from .._files import atomic_write
from ._envelope import (
    DEFAULT_SCRYPT_N,
    KDF_RAW,
    KDF_SCRYPT,
    MAX_SCRYPT_N,
    MIN_PASSPHRASE_CHARS,
    MIN_SCRYPT_N,
    ParsedHeader,
    build_key_section,
    check_passphrase,
    check_scrypt_n,
    open_data,
    seal_data,
    unlock_secret,
    unwrap_dek,
)
from ._format import FORMAT_VERSION as FORMAT_VERSION
from ._format import (
    GEN,
    KEY_LEN,
    KEY_SECTION_LEN,
    MAX_FILE_BYTES,
    MIN_FILE_LEN,
    WALLET_FILE,
    Records,
    check_name,
    clone,
    decode_value,
    encode_state,
    encode_value,
    parse_state,
    read_head,
    read_wallet_file,
    remove_stale_temp_files,
    with_int_member,
)
from ._journal import Journal, append_entry, read_journal
from ._lock import acquire_lock as _acquire_lock
from ._lock import is_locked_directory, make_directory, release_lock

__all__ = [
    "DEFAULT_SCRYPT_N",
    "MAX_SCRYPT_N",
    "MIN_PASSPHRASE_CHARS",
    "MIN_SCRYPT_N",
    "WalletStore",
    "check_passphrase",
]


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
        "_changes",
        "_data_section",
        "_dek",
        "_dek_key",
        "_directory",
        "_generation",
        "_header",
        "_journal",
        "_key_section",
        "_lock",
        "_pending",
        "_records",
        "_wallet_id",
    )

    def __init__(self) -> None:  # not public: use create() or open()
        self._directory = Path()
        self._lock: int | None = None  # a file descriptor of the locked wallet directory
        self._header = ParsedHeader(KDF_RAW, 0, 0, 0, b"", b"")
        self._wallet_id = b""
        self._dek_key = b""
        self._dek = AESGCM(bytes(KEY_LEN))
        self._key_section = b""
        self._data_section = b""
        self._generation = 0
        self._records: Records = {}
        self._pending: Records | None = None
        self._journal = Journal(0)
        self._changes = 0  # bumped by every change of the visible state (see `changes`)

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
        secret = unlock_secret(passphrase, key, creating=True)
        kdf = KDF_RAW if key is not None else KDF_SCRYPT
        log2n = check_scrypt_n(scrypt_n) if kdf == KDF_SCRYPT else 0
        d = Path(directory)
        make_directory(d)
        store = cls()
        store._directory = d
        store._lock = _acquire_lock(d)
        try:
            if (d / WALLET_FILE).exists():
                raise StorageError("wallet_exists", f"a wallet already exists in {d}")
            remove_stale_temp_files(d)
            dek = AESGCM.generate_key(bit_length=256)
            store._wallet_id = os.urandom(16)
            store._key_section, store._header = build_key_section(
                dek, store._wallet_id, secret, kdf, log2n
            )
            store._dek_key, store._dek = dek, AESGCM(dek)
            # generation 0 is written now; a crash before this write leaves no wallet
            first: Records = {}
            for kind, recs in (initial or {}).items():
                check_name(kind, "kind")
                for rid, value in recs.items():
                    check_name(rid, "record_id")
                    first.setdefault(kind, {})[rid] = encode_value(value)
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
        secret = unlock_secret(passphrase, key, creating=False)
        d = Path(directory)
        if not (d / WALLET_FILE).is_file():
            raise StorageError("wallet_not_found", f"no wallet in {d}")
        store = cls()
        store._directory = d
        store._lock = _acquire_lock(d)
        try:
            store._load(secret, raw_key=key is not None)
            remove_stale_temp_files(d)
        except BaseException:
            store.close()
            raise
        return store

    def _load(self, secret: bytes, *, raw_key: bool) -> None:
        blob = read_wallet_file(self._directory / WALLET_FILE)
        if len(blob) < MIN_FILE_LEN:
            raise StorageError("storage_corrupt", "wallet file is truncated")
        key_section, data_section = blob[:KEY_SECTION_LEN], blob[KEY_SECTION_LEN:]
        header, dek = unwrap_dek(key_section, secret, raw_key=raw_key)
        aesgcm = AESGCM(dek)
        generation, plaintext = open_data(aesgcm, header.wallet_id, data_section)
        records = parse_state(plaintext)
        # the changes appended since this generation was written (see _journal)
        self._journal = read_journal(self._directory, aesgcm, header.wallet_id, generation, records)
        self._records = records
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
        check_name(kind, "kind")
        check_name(record_id, "record_id")
        text = encode_value(value)
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
        return None if text is None else decode_value(text)

    def append(self, changes: Iterable[tuple[str, str, dict[str, Any]]]) -> None:
        """Store a few records like :meth:`put`, durably, with one synced entry appended to
        the wallet's journal (:mod:`._journal`) instead of a rewrite of the wallet file:
        one ``fdatasync`` instead of two fsyncs and the encryption of every record. When
        the journal is full (it is folded into the wallet file then), or inside a
        :meth:`transaction`, this is an ordinary write.

        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> with WalletStore.create(tmp.name, key=bytes(32)) as store:
        ...     store.append([("credential", "c1", {"presented": 1})])
        >>> with WalletStore.open(tmp.name, key=bytes(32)) as store:
        ...     store.get("credential", "c1")
        {'presented': 1}
        >>> tmp.cleanup()
        """
        texts = []
        for kind, record_id, value in changes:
            check_name(kind, "kind")
            check_name(record_id, "record_id")
            texts.append((kind, record_id, encode_value(value)))
        self._append_texts(texts)

    def append_counts(self, changes: Iterable[tuple[str, str, str, int]]) -> None:
        """Set a top-level integer member of stored records, durably, like :meth:`append`
        (one synced journal entry): ``(kind, record_id, member, value)`` each. The record's
        stored text is changed where the counter is written, not decoded and encoded again
        (the wallet counts presentations with this).
        ``StorageError("record_not_found")`` for a record that is not stored.

        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> with WalletStore.create(tmp.name, key=bytes(32)) as store:
        ...     store.put("credential", "c1", {"a": [1]})
        ...     store.append_counts([("credential", "c1", "presented", 1)])
        ...     store.get("credential", "c1")
        {'a': [1], 'presented': 1}
        >>> tmp.cleanup()
        """
        view = self._view()
        texts = []
        counters = []  # what the journal entry holds: the counter, not the whole record
        for kind, record_id, member, value in changes:
            text = view.get(kind, {}).get(record_id)
            if text is None:
                raise StorageError("record_not_found", f"no record {kind}/{record_id}")
            texts.append((kind, record_id, with_int_member(text, member, value)))
            counters.append((kind, record_id, member, value))
        self._append_texts(texts, counters)

    def _append_texts(
        self,
        texts: list[tuple[str, str, str]],
        counters: list[tuple[str, str, str, int]] | None = None,
    ) -> None:
        """Make ``texts`` the records' new values with one journal entry (``counters``, when
        given, is the same change as counters: what the entry holds)."""
        if not texts:
            return
        self._check_open()
        if self._pending is None:
            self._check_unchanged()
            entry = texts if counters is None else counters
            if append_entry(self._directory, self._journal, self._dek, self._wallet_id, entry):
                self._changes += 1
                for kind, record_id, text in texts:  # on disk now: the state follows
                    self._records.setdefault(kind, {})[record_id] = text
                return
        with self._change() as records:  # in a transaction, or the journal is full
            for kind, record_id, text in texts:
                records.setdefault(kind, {})[record_id] = text

    @property
    def changes(self) -> int:
        """A counter that moves whenever the records this handle sees change (a write, a
        staged change, a rolled-back transaction): what a cache of derived data compares.

        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> store = WalletStore.create(tmp.name, key=bytes(32))
        >>> before = store.changes
        >>> store.put("credential", "c1", {"n": 1})
        >>> store.changes != before
        True
        >>> store.close(); tmp.cleanup()
        """
        return self._changes

    @property
    def in_transaction(self) -> bool:
        """Whether a :meth:`transaction` is open (its changes staged, not yet written)."""
        return self._pending is not None

    def texts(self, kind: str) -> Mapping[str, str]:
        """The records of ``kind`` as their stored JSON texts, by id, without decoding them
        (a read-only view; a changed record gets a new text object). For caches of derived
        data keyed by the text; everyone else uses :meth:`items`."""
        return MappingProxyType(self._view().get(kind, {}))

    def has(self, kind: str, record_id: str) -> bool:
        """Whether a record is stored under ``(kind, record_id)`` (nothing is decoded).

        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> store = WalletStore.create(tmp.name, key=bytes(32))
        >>> store.has("credential", "c1")
        False
        >>> store.close(); tmp.cleanup()
        """
        return record_id in self._view().get(kind, {})

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
        return [(rid, decode_value(group[rid])) for rid in sorted(group)]

    @contextlib.contextmanager
    def transaction(self, *, journal: bool = False) -> Iterator[WalletStore]:
        """Group changes into one atomic write, made when the outermost block exits normally.

        If the block raises, none of its changes are kept (a nested block acts as a
        savepoint: only its own changes are dropped). If the write fails, a
        :class:`StorageError` is raised and the wallet is as before the transaction.
        With ``journal`` (outermost block only) the changes are appended to the journal as
        one synced entry when they fit (see :meth:`append`), else written as usual.

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
            savepoint = clone(self._pending)
            try:
                yield self
            except BaseException:
                self._pending = savepoint
                self._changes += 1  # the state seen inside went back
                raise
            return
        self._pending = clone(self._records)
        try:
            yield self
        except BaseException:
            self._pending = None
            self._changes += 1
            raise
        pending, self._pending = self._pending, None
        self._check_open()  # closed inside the block: nothing to commit to
        if pending is not None and pending != self._records:
            if journal and self._append_diff(pending):
                return
            self._commit(pending)

    def _append_diff(self, pending: Records) -> bool:
        """Append what changed from the committed state to ``pending`` as one journal entry;
        ``False`` (nothing written) when it does not fit."""
        changes: list[tuple[str, str, str | None]] = []
        for kind, group in pending.items():
            old = self._records.get(kind, {})
            changes += [(kind, rid, text) for rid, text in group.items() if old.get(rid) != text]
            changes += [(kind, rid, None) for rid in old if rid not in group]
        for kind, group in self._records.items():
            if kind not in pending:
                changes += [(kind, rid, None) for rid in group]
        self._check_unchanged()
        if not append_entry(self._directory, self._journal, self._dek, self._wallet_id, changes):
            return False
        self._records = pending
        return True

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
        secret = unlock_secret(passphrase, key, creating=True)
        kdf = KDF_RAW if key is not None else KDF_SCRYPT
        if kdf == KDF_RAW:
            log2n = 0
        elif scrypt_n is not None:
            log2n = check_scrypt_n(scrypt_n)
        elif self._header.kdf == KDF_SCRYPT:
            log2n = self._header.log2n
        else:
            log2n = check_scrypt_n(DEFAULT_SCRYPT_N)
        self._check_unchanged()
        key_section, header = build_key_section(self._dek_key, self._wallet_id, secret, kdf, log2n)
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
        self._dek_key, self._dek = b"", AESGCM(bytes(KEY_LEN))
        if lock is not None:
            release_lock(lock)

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
        self._changes += 1
        if self._pending is not None:
            # in a transaction: edit the staged copy in place (callers validate first)
            yield self._pending
            return
        staged = clone(self._records)
        yield staged
        self._commit(staged)

    def _commit(self, records: Records, *, generation: int | None = None) -> None:
        """Encrypt ``records`` and replace the wallet file; state changes only on success."""
        if generation is None:  # not the first write of create(): the file must be ours
            self._check_unchanged()
        gen = self._generation + 1 if generation is None else generation
        data_section = seal_data(self._dek, self._wallet_id, gen, encode_state(records))
        self._write_file(self._key_section + data_section)
        self._records, self._data_section, self._generation = records, data_section, gen
        self._journal = Journal(gen)  # the file holds everything; older entries are stale

    def _check_unchanged(self) -> None:
        """Refuse to write when the wallet is no longer what this handle last read or wrote.

        The directory lock makes this unreachable in normal use; it catches a lock that was
        bypassed (another writer) or a wallet directory swapped while open, so that one
        handle's write never silently replaces another's.
        """
        assert self._lock is not None  # callers check that the store is open
        expected = self._key_section + GEN.pack(self._generation)
        if not is_locked_directory(self._lock, self._directory) or (
            read_head(self._directory / WALLET_FILE, len(expected)) != expected
        ):
            raise StorageError(
                "wallet_conflict",
                f"the wallet in {self._directory} was changed by another writer; "
                "nothing was written: close and reopen it",
            )

    def _write_file(self, blob: bytes) -> None:
        if len(blob) > MAX_FILE_BYTES:
            raise StorageError("too_large", f"the wallet would exceed {MAX_FILE_BYTES} bytes")
        atomic_write(self._directory / WALLET_FILE, blob, mode=0o600)
