"""The issuer's register: every credential issued, its status-list index, its state, and an
append-only audit trail, in one SQLite file (docs/issuing-organisation.md).

What it guarantees (docs/security.md):

* **Nothing committed is lost**: WAL journal with ``synchronous=FULL`` (WAL with ``NORMAL``
  can lose the last commits on power loss); every change is one transaction.
* **No index is handed out twice**: allocations are made under ``BEGIN IMMEDIATE`` and
  ``UNIQUE(list_id, idx)``; an allocated index is *burned* even if issuance then fails.
  Indices are drawn uniformly at random over a list's free indices (``secrets``), so the
  position says nothing about issuance order (W3C Bitstring Status List section 2.1,
  ``statusListIndex``; IETF Token Status List "Linkability Mitigation").
* **Exactly-once batch issuance**: :meth:`Register.reserve` (allocate + insert ``pending``,
  one transaction; idempotent per ``batch_row_key``), then the caller signs and writes the
  credential, then :meth:`Register.confirm` (``pending`` → ``valid``). A resumed run finds the
  pending row and re-uses its credential id and index.
* **History cannot be rewritten**: triggers abort ``UPDATE``/``DELETE`` on the audit trail
  and on allocations, deleting credentials, and changing a credential's fixed columns.
* **No BSN in clear**: only HMAC-SHA256 under a per-home secret key is stored.
* **A restored backup is fenced** (opened with ``fence=``): every change advances the
  register's sequence (the audit trail's ``AUTOINCREMENT`` counter), and after each commit
  that value is written durably to a small *fence file* beside the register. A register whose
  sequence is below its fence (an older copy put back) refuses every change
  (``register_rolled_back``) until :meth:`Register.reconcile` has re-applied the revocations
  of the last published lists and closed the old lists, so no index is handed out twice and
  no revocation is forgotten. :func:`publish` writes the sequence into each Status List Token
  (``register_seq``) and refuses to overwrite a list published by a newer register.

State machine (each step one transaction with one audit row)::

    (none) --reserve--> pending --confirm--> valid <--resume-- suspended
                          |                    |  \\--suspend-->   |
                          +------revoke--------+-------revoke------+--> revoked

Published status values (IETF, 2 bits): ``revoked`` → 1 (INVALID), ``suspended`` → 2
(SUSPENDED), ``pending`` and ``valid`` → 0 (a pending credential may already have been
handed out before a crash; an index nobody holds costs nothing when shown as valid).

Example:
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "register.db")
    >>> reg = Register.open(path, status_base_uri="https://ex.nl/status", list_size=64)
    >>> r = reg.reserve("cred-1", "DebtStatement", "sd-jwt")
    >>> r.list_uri, 0 <= r.idx < 64, r.state
    ('https://ex.nl/status/1.jwt', True, 'pending')
    >>> reg.confirm("cred-1").state
    'valid'
    >>> reg.revoke("cred-1", "debt settled", "clerk@ex.nl").state
    'revoked'
    >>> reg.status_list_bits(1).get(r.idx)
    1
    >>> reg.integrity_check().ok
    True
    >>> reg.close()
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import sqlite3
import stat
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ._errors import BlauweKnopError, InvalidDataError, PolicyError, StorageError
from ._files import atomic_write, safe_output_path
from ._keys import Key, Signer
from ._status._ietf import STATUS_LIST_MEDIA_TYPE, StatusList, StatusType, sign_status_list_token
from ._status._w3c import (
    MIN_BITSTRING_ENTRIES,
    BitstringStatusList,
    BitstringStatusListEntry,
    SignDocument,
    build_bitstring_status_list_credential,
)

__all__ = [
    "DEFAULT_LIST_SIZE",
    "SCHEMA_VERSION",
    "AuditEntry",
    "CredentialRecord",
    "IntegrityReport",
    "PublishedFile",
    "ReconcileReport",
    "Register",
    "Reservation",
    "StatusListInfo",
    "bitstring_list_uri",
    "generate_bsn_key",
    "load_bsn_key",
    "publish",
    "save_bsn_key",
]

#: Default entries per list: the W3C Bitstring Status List minimum (131,072 = 16 KB of bits).
DEFAULT_LIST_SIZE = MIN_BITSTRING_ENTRIES
#: Default bits per entry: 2, so that SUSPENDED (0x02) fits.
DEFAULT_BITS = 2
STATES: tuple[str, ...] = ("pending", "valid", "revoked", "suspended")

#: Legal (from_state, to_state) pairs; ``None`` is "no row yet".
_LEGAL: frozenset[tuple[str | None, str]] = frozenset(
    {
        (None, "pending"),
        ("pending", "valid"),
        ("pending", "revoked"),
        ("valid", "revoked"),
        ("suspended", "revoked"),
        ("valid", "suspended"),
        ("suspended", "valid"),
    }
)

_STATE_CHECK = "('pending', 'valid', 'revoked', 'suspended')"

# Each entry brings the schema from version i to i + 1; never edit a released entry, append.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 0 -> 1: the register proper.
    (
        """CREATE TABLE status_lists (
            id          INTEGER PRIMARY KEY,
            uri         TEXT    NOT NULL UNIQUE,
            bits        INTEGER NOT NULL CHECK (bits IN (1, 2, 4, 8)),
            size        INTEGER NOT NULL CHECK (size > 0),
            purpose     TEXT    NOT NULL
                        CHECK (purpose IN ('revocation', 'revocation+suspension')),
            allocated   INTEGER NOT NULL DEFAULT 0 CHECK (allocated BETWEEN 0 AND size),
            created_at  INTEGER NOT NULL,
            CHECK (purpose = 'revocation' OR bits >= 2)
        )""",
        """CREATE TABLE allocations (
            id            INTEGER PRIMARY KEY,
            list_id       INTEGER NOT NULL REFERENCES status_lists (id),
            idx           INTEGER NOT NULL CHECK (idx >= 0),
            credential_id TEXT    NOT NULL,
            allocated_at  INTEGER NOT NULL,
            UNIQUE (list_id, idx)
        )""",
        f"""CREATE TABLE credentials (
            credential_id     TEXT    PRIMARY KEY,
            type              TEXT    NOT NULL,
            format            TEXT    NOT NULL,
            holder_thumbprint TEXT,
            bsn_hash          TEXT,
            status_list_id    INTEGER NOT NULL,
            status_idx        INTEGER NOT NULL,
            valid_from        INTEGER,
            valid_until       INTEGER,
            state             TEXT    NOT NULL CHECK (state IN {_STATE_CHECK}),
            issued_at         INTEGER NOT NULL,
            updated_at        INTEGER NOT NULL,
            batch_row_key     TEXT    UNIQUE,
            UNIQUE (status_list_id, status_idx),
            FOREIGN KEY (status_list_id, status_idx) REFERENCES allocations (list_id, idx)
        )""",
        f"""CREATE TABLE audit (
            seq           INTEGER PRIMARY KEY AUTOINCREMENT,
            credential_id TEXT    NOT NULL REFERENCES credentials (credential_id),
            at            INTEGER NOT NULL,
            actor         TEXT    NOT NULL,
            reason        TEXT    NOT NULL,
            from_state    TEXT    CHECK (from_state IS NULL OR from_state IN {_STATE_CHECK}),
            to_state      TEXT    NOT NULL CHECK (to_state IN {_STATE_CHECK})
        )""",
        """CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
           BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END""",
        """CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
           BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END""",
        """CREATE TRIGGER allocations_no_update BEFORE UPDATE ON allocations
           BEGIN SELECT RAISE(ABORT, 'allocations are permanent'); END""",
        """CREATE TRIGGER allocations_no_delete BEFORE DELETE ON allocations
           BEGIN SELECT RAISE(ABORT, 'allocations are permanent'); END""",
        """CREATE TRIGGER credentials_no_delete BEFORE DELETE ON credentials
           BEGIN SELECT RAISE(ABORT, 'credentials are never deleted'); END""",
        """CREATE TRIGGER credentials_fixed BEFORE UPDATE OF
             credential_id, type, format, holder_thumbprint, bsn_hash, status_list_id,
             status_idx, valid_from, valid_until, issued_at, batch_row_key ON credentials
           BEGIN SELECT RAISE(ABORT, 'only a credential''s state may change'); END""",
        """CREATE TRIGGER status_lists_no_delete BEFORE DELETE ON status_lists
           BEGIN SELECT RAISE(ABORT, 'status lists are permanent'); END""",
        """CREATE TRIGGER status_lists_fixed BEFORE UPDATE OF
             id, uri, bits, size, purpose, created_at ON status_lists
           BEGIN SELECT RAISE(ABORT, 'a status list''s shape is fixed'); END""",
    ),
    # 1 -> 2: settings (status URI base, BSN-key check value) and lookup indexes.
    (
        """CREATE TABLE register_meta (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        )""",
        "CREATE INDEX credentials_by_state ON credentials (state, type)",
        "CREATE INDEX credentials_by_bsn ON credentials (bsn_hash) WHERE bsn_hash IS NOT NULL",
        "CREATE INDEX audit_by_credential ON audit (credential_id, seq)",
    ),
)
#: Schema version this code writes (``PRAGMA user_version``).
SCHEMA_VERSION = len(_MIGRATIONS)

_BSN_RE = re.compile(r"^[0-9]{8,9}$")
_KEY_CHECK_LABEL = b"blauweknop register: BSN key check v1"
_MAX_TEXT = 1024
#: Claim of a published Status List Token carrying the register sequence (rollback fence).
REGISTER_SEQ_CLAIM = "register_seq"
_FENCE_VERSION = 1
_MAX_FENCE_BYTES = 4096
#: Published token files read when fencing or reconciling are at most this large.
_MAX_PUBLISHED_BYTES = 16 * 1024 * 1024

# SQLite primary result codes (https://sqlite.org/rescode.html) -> our storage codes.
_SQLITE_CODES = {
    5: "register_locked",  # SQLITE_BUSY
    6: "register_locked",  # SQLITE_LOCKED
    8: "register_read_only",  # SQLITE_READONLY
    10: "storage_write_failed",  # SQLITE_IOERR
    11: "register_corrupt",  # SQLITE_CORRUPT
    13: "storage_write_failed",  # SQLITE_FULL
    14: "register_unreadable",  # SQLITE_CANTOPEN
    19: "register_constraint",  # SQLITE_CONSTRAINT (incl. our append-only triggers)
    23: "register_unreadable",  # SQLITE_AUTH
    26: "register_corrupt",  # SQLITE_NOTADB
}


def _wrap_sqlite(e: sqlite3.Error, what: str) -> StorageError:
    code = getattr(e, "sqlite_errorcode", None)
    name = (
        _SQLITE_CODES.get(code & 0xFF, "storage_error")
        if isinstance(code, int)
        else "storage_error"
    )
    if name == "register_locked":
        return StorageError(name, f"{what}: the register is locked by another process ({e})")
    return StorageError(name, f"{what}: {e}")


@contextlib.contextmanager
def _sqlite_errors(what: str) -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as e:
        raise _wrap_sqlite(e, what) from e


# -- BSN key ------------------------------------------------------------------------------
def generate_bsn_key() -> bytes:
    """A fresh 32-byte secret for keyed BSN hashes (one per issuer home).

    >>> len(generate_bsn_key())
    32
    """
    return secrets.token_bytes(32)


def save_bsn_key(path: str | os.PathLike[str], key: bytes) -> None:
    """Write a BSN key file (hex, mode 0600); refuses to replace an existing file, since a
    new key would make every stored hash unfindable."""
    p = Path(path)
    if p.exists():
        raise StorageError("file_exists", f"{p} exists; refusing to overwrite the BSN key")
    if len(key) < 16:
        raise InvalidDataError("invalid_data", "a BSN key must be at least 16 bytes")
    atomic_write(p, key.hex().encode() + b"\n", mode=0o600)


def load_bsn_key(path: str | os.PathLike[str]) -> bytes:
    """Read a BSN key file written by :func:`save_bsn_key`; it must not be readable by
    group or others (``key_file_permissions``)."""
    p = Path(path)
    try:
        text = p.read_text("ascii").strip()
        mode = p.stat().st_mode
    except (OSError, UnicodeDecodeError) as e:
        raise StorageError("key_file_unreadable", f"cannot read BSN key file {p}: {e}") from e
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise StorageError(
            "key_file_permissions", f"BSN key file {p} is accessible by other users; chmod 600 {p}"
        )
    try:
        key = bytes.fromhex(text)
    except ValueError as e:
        raise StorageError("key_file_unreadable", f"BSN key file {p} is not hex") from e
    if len(key) < 16:
        raise StorageError("key_file_unreadable", f"BSN key in {p} is shorter than 16 bytes")
    return key


def bitstring_list_uri(list_uri: str, purpose: str) -> str:
    """URL of the W3C ``BitstringStatusListCredential`` for one purpose of a register list:
    ``https://x/status/7.jwt`` → ``https://x/status/7-revocation.json``.

    >>> bitstring_list_uri("https://x/status/7.jwt", "suspension")
    'https://x/status/7-suspension.json'
    """
    stem = list_uri[:-4] if list_uri.endswith(".jwt") else list_uri
    return f"{stem}-{purpose}.json"


# -- records ------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True, slots=True)
class StatusListInfo:
    """One status list of the register.

    Attributes:
        id: list id (also the published file name stem).
        uri: the Status List Token's URI (``sub``; ``status.status_list.uri`` in credentials).
        bits: bits per entry.
        size: number of entries.
        purpose: ``revocation`` (1 bit) or ``revocation+suspension``.
        allocated: indices handed out (including burned ones).
        created_at: Unix seconds.
    """

    id: int
    uri: str
    bits: int
    size: int
    purpose: str
    allocated: int
    created_at: int

    @property
    def purposes(self) -> tuple[str, ...]:
        """The W3C ``statusPurpose`` values this list publishes."""
        return tuple(self.purpose.split("+"))

    def bitstring_uri(self, purpose: str) -> str:
        """URL of the W3C status list credential for ``purpose``."""
        return bitstring_list_uri(self.uri, purpose)


@dataclass(frozen=True, kw_only=True, slots=True)
class Reservation:
    """An allocated status-list index for a credential about to be issued.

    Attributes:
        credential_id: the id to put in the credential (for a resumed batch row: the id of
            the first attempt, not the one just proposed).
        list_id, list_uri, idx: where its status lives.
        bits: bits per entry of that list.
        state: ``pending`` for a fresh reservation; for a resumed batch row whatever state
            it reached (``valid`` means: already issued, skip it).
        resumed: ``True`` when the batch row existed before this call.
    """

    credential_id: str
    list_id: int
    list_uri: str
    idx: int
    bits: int
    state: str
    resumed: bool

    def status_claim(self) -> dict[str, Any]:
        """The SD-JWT VC ``status`` claim (IETF Token Status List, "Referenced Token").

        >>> Reservation(credential_id="c", list_id=1, list_uri="https://x/1.jwt", idx=9,
        ...     bits=2, state="pending", resumed=False).status_claim()
        {'status_list': {'idx': 9, 'uri': 'https://x/1.jwt'}}
        """
        return {"status_list": {"idx": self.idx, "uri": self.list_uri}}

    def bitstring_entries(self) -> list[BitstringStatusListEntry]:
        """``credentialStatus`` entries for the W3C form: revocation, and suspension when the
        list can express it. Same index, one bitstring per purpose."""
        purposes = ("revocation",) if self.bits == 1 else ("revocation", "suspension")
        return [
            BitstringStatusListEntry(
                status_purpose=p,
                status_list_index=self.idx,
                status_list_credential=bitstring_list_uri(self.list_uri, p),
            )
            for p in purposes
        ]


@dataclass(frozen=True, kw_only=True, slots=True)
class CredentialRecord:
    """One row of the register (no BSN: only its keyed hash)."""

    credential_id: str
    type: str
    format: str
    holder_thumbprint: str | None
    bsn_hash: str | None
    list_id: int
    list_uri: str
    idx: int
    valid_from: int | None
    valid_until: int | None
    state: str
    issued_at: int
    updated_at: int
    batch_row_key: str | None


@dataclass(frozen=True, kw_only=True, slots=True)
class AuditEntry:
    """One audit row: who changed which credential from what to what, when and why."""

    seq: int
    credential_id: str
    at: int
    actor: str
    reason: str
    from_state: str | None
    to_state: str


@dataclass(frozen=True, kw_only=True, slots=True)
class IntegrityReport:
    """Outcome of :meth:`Register.integrity_check`.

    Attributes:
        ok: no problems found.
        problems: one line per problem (empty when ``ok``).
        lists, allocations, credentials, audit_rows, pending: counts.
    """

    ok: bool
    problems: tuple[str, ...]
    lists: int
    allocations: int
    credentials: int
    audit_rows: int
    pending: int


@dataclass(frozen=True, kw_only=True, slots=True)
class ReconcileReport:
    """Outcome of :meth:`Register.reconcile`.

    Attributes:
        revoked / suspended: credential ids set to that state from the published lists.
        placeholders: indices the register did not know (issued after the backup) recorded
            as ``lost:<list>:<index>`` credentials in the published state, so they stay
            revoked or suspended.
        closed_lists: list ids closed for new issuance (new credentials go to a new list).
        register_seq: the register's sequence after reconciling (≥ the fence).
        needed: ``False`` when the register was not behind its fence or the published lists
            (then nothing was changed).
    """

    needed: bool
    revoked: tuple[str, ...]
    suspended: tuple[str, ...]
    placeholders: tuple[str, ...]
    closed_lists: tuple[int, ...]
    register_seq: int


@dataclass(frozen=True, kw_only=True, slots=True)
class PublishedFile:
    """A file written by :func:`publish`: where, for which URI, served as which media type."""

    path: Path
    uri: str
    media_type: str
    list_id: int


_CRED_SELECT = """
    SELECT c.credential_id, c.type, c.format, c.holder_thumbprint, c.bsn_hash,
           c.status_list_id, l.uri, c.status_idx, c.valid_from, c.valid_until, c.state,
           c.issued_at, c.updated_at, c.batch_row_key
    FROM credentials c JOIN status_lists l ON l.id = c.status_list_id
"""


def _record(row: Sequence[Any]) -> CredentialRecord:
    return CredentialRecord(
        credential_id=row[0],
        type=row[1],
        format=row[2],
        holder_thumbprint=row[3],
        bsn_hash=row[4],
        list_id=row[5],
        list_uri=row[6],
        idx=row[7],
        valid_from=row[8],
        valid_until=row[9],
        state=row[10],
        issued_at=row[11],
        updated_at=row[12],
        batch_row_key=row[13],
    )


def _text(value: object, name: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value or len(value) > _MAX_TEXT or "\x00" in value:
        raise InvalidDataError(
            "invalid_data",
            f"{name} must be a non-empty string of at most {_MAX_TEXT} characters",
            field=name,
        )
    return value


def _epoch(value: int | float | datetime | None, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidDataError("invalid_data", f"{name} must be timezone-aware", field=name)
        return int(value.timestamp())
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidDataError("invalid_data", f"{name} must be a time", field=name)
    return int(value)


def _kth_free(used_sorted: Sequence[int], k: int) -> int:
    """The ``k``-th (0-based) index not in ``used_sorted`` (ascending, distinct)."""
    idx = k
    for u in used_sorted:
        if u <= idx:
            idx += 1
        else:
            break
    return idx


class Register:
    """The issuer's SQLite register. Open with :meth:`open`; not shared between threads.

    Every public method either completes its one transaction or changes nothing and raises
    :class:`StorageError` (``register_locked``, ``register_read_only``, ``register_corrupt``,
    ``register_constraint``, ``storage_write_failed``...), :class:`PolicyError`
    (``credential_unknown``, ``illegal_transition``, ``credential_exists``...) or
    :class:`InvalidDataError`.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        *,
        bsn_key: bytes | None,
        clock: Callable[[], float],
        read_only: bool,
        fence: Path | None = None,
    ) -> None:
        self._conn = conn
        self.path = path
        self._bsn_key = bsn_key
        self._clock = clock
        self.read_only = read_only
        self.fence_path = fence

    # -- opening ---------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        bsn_key: bytes | None = None,
        status_base_uri: str | None = None,
        list_size: int | None = None,
        bits: int | None = None,
        busy_timeout: float = 5.0,
        clock: Callable[[], float] = time.time,
        read_only: bool = False,
        create: bool = True,
        fence: str | os.PathLike[str] | None = None,
    ) -> Register:
        """Open (creating and migrating if needed) the register at ``path``.

        Args:
            bsn_key: secret for keyed BSN hashes; checked against the value recorded at first
                use (``bsn_key_mismatch`` when it differs).
            status_base_uri: base for new status-list URIs (``<base>/<list id>.jwt``);
                remembered in the register.
            list_size, bits: shape of *new* lists (defaults 131,072 and 2); remembered.
            busy_timeout: seconds to wait for another process's write lock before
                ``register_locked``.
            clock: Unix-time source for ``issued_at``/``updated_at``/audit times.
            read_only: open without any write (``mode=ro``), e.g. to check a backup.
            create: create the file when missing (else ``register_missing``).
            fence: the fence file guarding against a restored older copy (the issuer home
                uses ``register.fence`` beside the register); ``None``: no fence.
        """
        p = Path(path)
        if not p.exists():
            if read_only or not create:
                raise StorageError("register_missing", f"no register at {p}")
            try:
                # 0600: the register holds identifiers of citizens (as keyed hashes).
                os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            except FileExistsError:
                pass
            except OSError as e:
                raise StorageError(
                    "storage_write_failed", f"cannot create register {p}: {e}"
                ) from e
        with _sqlite_errors(f"opening register {p}"):
            if read_only:
                uri = "file:" + urllib.parse.quote(str(p.resolve())) + "?mode=ro"
                conn = sqlite3.connect(uri, uri=True, timeout=busy_timeout, isolation_level=None)
            else:
                conn = sqlite3.connect(p, timeout=busy_timeout, isolation_level=None)
        reg = cls(
            conn,
            p,
            bsn_key=bsn_key,
            clock=clock,
            read_only=read_only,
            fence=Path(fence) if fence is not None else None,
        )
        try:
            reg._setup(status_base_uri=status_base_uri, list_size=list_size, bits=bits)
        except BaseException:
            conn.close()
            raise
        return reg

    def _setup(
        self, *, status_base_uri: str | None, list_size: int | None, bits: int | None
    ) -> None:
        c = self._conn
        with _sqlite_errors(f"opening register {self.path}"):
            c.execute("PRAGMA foreign_keys = ON")
            if not self.read_only:
                mode = c.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise StorageError("storage_error", f"register cannot use WAL (got {mode})")
                # FULL: a commit survives power loss (NORMAL in WAL may lose the last ones).
                c.execute("PRAGMA synchronous = FULL")
            version = c.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StorageError(
                    "register_version_unsupported",
                    f"register schema {version} is newer than this software ({SCHEMA_VERSION})",
                )
            if version < SCHEMA_VERSION:
                if self.read_only:
                    raise StorageError(
                        "register_read_only",
                        f"register schema {version} needs migrating to {SCHEMA_VERSION}",
                    )
                self._migrate()
        if self.read_only:
            self._check_bsn_key(write=False)
            return
        settings: dict[str, str] = {}
        if status_base_uri is not None:
            _text(status_base_uri, "status_base_uri")
            settings["status_base_uri"] = status_base_uri.rstrip("/")
        if list_size is not None:
            if isinstance(list_size, bool) or not isinstance(list_size, int) or list_size < 1:
                raise InvalidDataError("invalid_data", "list_size must be a positive integer")
            settings["list_size"] = str(list_size)
        if bits is not None:
            if bits not in (1, 2, 4, 8) or isinstance(bits, bool):
                raise InvalidDataError("invalid_data", "bits must be 1, 2, 4 or 8")
            settings["bits"] = str(bits)
        current = self._meta()
        changes = {k: v for k, v in settings.items() if current.get(k) != v}
        if changes:
            with self._tx("saving register settings", fenced=False) as c2:
                c2.executemany(
                    "INSERT INTO register_meta (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    sorted(changes.items()),
                )
        self._check_bsn_key(write=True)

    def _migrate(self) -> None:
        """Apply pending migrations, each in its own ``BEGIN IMMEDIATE`` transaction (a
        concurrent opener either waits or finds the work done)."""
        c = self._conn
        while True:
            c.execute("BEGIN IMMEDIATE")
            try:
                version = c.execute("PRAGMA user_version").fetchone()[0]
                if version >= SCHEMA_VERSION:
                    c.execute("COMMIT")
                    return
                for statement in _MIGRATIONS[version]:
                    c.execute(statement)
                c.execute(f"PRAGMA user_version = {version + 1:d}")
                c.execute("COMMIT")
            except BaseException:
                if c.in_transaction:
                    c.execute("ROLLBACK")
                raise

    def _meta(self) -> dict[str, str]:
        with _sqlite_errors("reading register settings"):
            return dict(self._conn.execute("SELECT key, value FROM register_meta").fetchall())

    def _check_bsn_key(self, *, write: bool) -> None:
        if self._bsn_key is None:
            return
        if len(self._bsn_key) < 16:
            raise InvalidDataError("invalid_data", "a BSN key must be at least 16 bytes")
        check = hmac.new(self._bsn_key, _KEY_CHECK_LABEL, hashlib.sha256).hexdigest()
        stored = self._meta().get("bsn_key_check")
        if stored is None:
            if write:
                with self._tx("recording the BSN key check", fenced=False) as c:
                    c.execute(
                        "INSERT OR IGNORE INTO register_meta (key, value) "
                        "VALUES ('bsn_key_check', ?)",
                        (check,),
                    )
                stored = self._meta().get("bsn_key_check")
            else:
                return
        if not hmac.compare_digest(stored or "", check):
            raise StorageError(
                "bsn_key_mismatch", "this BSN key is not the one the register was created with"
            )

    @contextlib.contextmanager
    def _tx(self, what: str, *, fenced: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``: take the write lock up front, so two
        issuers never read the same free index). With a fence, a rolled-back register is
        refused inside the transaction, and the fence advances after the commit."""
        c = self._conn
        if self.read_only:
            raise StorageError("register_read_only", f"{what}: the register is open read-only")
        try:
            c.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            raise _wrap_sqlite(e, what) from e
        try:
            if fenced:
                self._check_fence(c, what)
            yield c
            c.execute("COMMIT")
        except sqlite3.Error as e:
            with contextlib.suppress(sqlite3.Error):
                if c.in_transaction:
                    c.execute("ROLLBACK")
            raise _wrap_sqlite(e, what) from e
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                if c.in_transaction:
                    c.execute("ROLLBACK")
            raise
        if fenced:
            self.advance_fence()

    # -- rollback fence ---------------------------------------------------------------------
    def _seq(self, c: sqlite3.Connection) -> int:
        row = c.execute("SELECT seq FROM sqlite_sequence WHERE name = 'audit'").fetchone()
        return int(row[0]) if row else 0

    @property
    def register_seq(self) -> int:
        """The register's sequence: it grows with every change (reservation, transition,
        reconciliation) and never goes down, so an older copy has a smaller one."""
        with _sqlite_errors("reading the register sequence"):
            return self._seq(self._conn)

    def read_fence(self) -> int | None:
        """The sequence recorded in the fence file (``None``: no fence, or none written yet).

        Raises ``StorageError("register_fence_unreadable")`` for a damaged fence file: a
        damaged fence is never taken as "no fence".
        """
        if self.fence_path is None:
            return None
        from ._files import read_small_regular_file

        try:
            raw = read_small_regular_file(
                self.fence_path, max_bytes=_MAX_FENCE_BYTES, what="register fence"
            )
        except StorageError as e:
            if not self.fence_path.exists() and not self.fence_path.is_symlink():
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
                f"register fence {self.fence_path} is damaged; run reconcile to rebuild it",
            ) from e
        return int(seq)

    def _rolled_back(self, seq: int, fence: int, what: str) -> StorageError:
        return StorageError(
            "register_rolled_back",
            f"{what}: the register {self.path} is older than its fence (sequence {seq} < "
            f"{fence}): it was restored from a backup or replaced. Revocations made since may "
            "be missing and status indices could be handed out twice, so nothing is issued "
            "or published until it is reconciled with the last published status lists: "
            "blauweknop reconcile (or rodeknop reconcile) --home HOME --published DIR; "
            "see 'Restoring a backup' in the issuing organisation's guide",
        )

    def _check_fence(self, c: sqlite3.Connection, what: str) -> None:
        fence = self.read_fence()
        if fence is None:
            return
        seq = self._seq(c)
        if seq < fence:
            raise self._rolled_back(seq, fence, what)

    def check_fence(self, *, at_least: int = 0) -> None:
        """Refuse (``register_rolled_back``) when the register is older than its fence or than
        ``at_least`` (e.g. the sequence in a published list)."""
        with self._read("checking the register fence") as c:
            seq = self._seq(c)
        fence = max(self.read_fence() or 0, at_least)
        if seq < fence:
            raise self._rolled_back(seq, fence, "checking the register")

    def advance_fence(self) -> None:
        """Write the current sequence to the fence file (durably) when it is ahead of it.
        Called after every committed change; a crash before it leaves the fence behind the
        register, which is safe (only a fence *ahead* of the register refuses)."""
        if self.fence_path is None:
            return
        seq = self.register_seq
        current = self.read_fence()
        if current is not None and current >= seq:
            return
        doc = {"version": _FENCE_VERSION, "register_seq": seq, "register": self.path.name}
        atomic_write(self.fence_path, (json.dumps(doc) + "\n").encode(), mode=0o600)

    def reconcile(
        self,
        published: Sequence[tuple[str, StatusList, int]] = (),
        *,
        actor: str = "operator",
        reason: str = "reconciled after restoring the register",
        force: bool = False,
    ) -> ReconcileReport:
        """Bring a restored (older) register back into service, in one transaction.

        ``published`` holds the last published Status List Tokens as ``(list uri, list,
        register_seq)`` — already verified by the caller. Every index they show revoked or
        suspended is set so in the register (an index the register does not know becomes a
        ``lost:<list>:<index>`` placeholder in that state); every existing list is closed so
        that new credentials get indices in a fresh list (an index handed out after the
        backup is never handed out again); and the register's sequence jumps past the fence
        and the published lists. Without ``published``, revocations made after the backup
        cannot be recovered: revoke them again from your own records.

        A register that is not behind (its sequence is at least the fence's and every
        published list's) is left unchanged (``needed=False``) unless ``force`` is set.
        """
        who = _text(actor, "actor")
        why = _text(reason, "reason")
        now = int(self._clock())
        revoked: list[str] = []
        suspended: list[str] = []
        placeholders: list[str] = []
        floor = max([self.read_fence() or 0, *(p[2] for p in published)])
        if not force and self.register_seq >= floor:
            return ReconcileReport(
                needed=False,
                revoked=(),
                suspended=(),
                placeholders=(),
                closed_lists=(),
                register_seq=self.register_seq,
            )
        with self._tx("reconciling the register", fenced=False) as c:
            lists = {
                r[1]: (r[0], r[2], r[3])
                for r in c.execute("SELECT id, uri, bits, size FROM status_lists ORDER BY id")
            }
            base = dict(c.execute("SELECT key, value FROM register_meta").fetchall()).get(
                "status_base_uri", ""
            )
            for uri, sl, _seq in sorted(published, key=lambda p: p[0]):
                m = re.fullmatch(re.escape(base) + r"/([1-9][0-9]{0,5})\.jwt", uri)
                if not base or m is None:
                    raise InvalidDataError(
                        "invalid_data", f"published list {uri} is not a list of this register"
                    )
                while uri not in lists:
                    # Lists created after the backup: recreate them (same ids, same URIs).
                    last = max((v[0] for v in lists.values()), default=0)
                    if last >= int(m.group(1)):
                        raise InvalidDataError(
                            "invalid_data", f"published list {uri} does not match the register"
                        )
                    row = self._new_list(c, last + 1, now)
                    lists[row[1]] = (row[0], row[2], row[3])
                list_id, bits, size = lists[uri]
                if sl.bits != bits or sl.size < size:
                    raise InvalidDataError(
                        "invalid_data", f"published list {uri} does not have this list's shape"
                    )
                for idx in _nonzero_indices(sl):
                    if idx >= size:
                        continue
                    want = "revoked" if sl.get(idx) == StatusType.INVALID else "suspended"
                    self._reapply(c, list_id, idx, want, who, why, now, placeholders)
                    (revoked if want == "revoked" else suspended).append(f"{list_id}:{idx}")
            closed = tuple(sorted(v[0] for v in lists.values()))
            if closed:
                c.execute(
                    "INSERT INTO register_meta (key, value) VALUES ('closed_through_list', ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (str(max(closed)),),
                )
            if self._seq(c) < floor + 1:
                if c.execute("SELECT 1 FROM sqlite_sequence WHERE name = 'audit'").fetchone():
                    c.execute(
                        "UPDATE sqlite_sequence SET seq = ? WHERE name = 'audit'", (floor + 1,)
                    )
                else:
                    c.execute(
                        "INSERT INTO sqlite_sequence (name, seq) VALUES ('audit', ?)", (floor + 1,)
                    )
            seq = self._seq(c)
        if self.fence_path is not None:
            doc = {"version": _FENCE_VERSION, "register_seq": seq, "register": self.path.name}
            atomic_write(self.fence_path, (json.dumps(doc) + "\n").encode(), mode=0o600)
        return ReconcileReport(
            needed=True,
            revoked=tuple(revoked),
            suspended=tuple(suspended),
            placeholders=tuple(placeholders),
            closed_lists=closed,
            register_seq=seq,
        )

    def _reapply(
        self,
        c: sqlite3.Connection,
        list_id: int,
        idx: int,
        want: str,
        who: str | None,
        why: str | None,
        now: int,
        placeholders: builtins.list[str],
    ) -> None:
        """Set the credential at ``(list_id, idx)`` to ``want`` (revoked/suspended) with legal,
        audited steps; an unknown index gets a placeholder credential."""
        row = c.execute(
            "SELECT credential_id, state FROM credentials "
            "WHERE status_list_id = ? AND status_idx = ?",
            (list_id, idx),
        ).fetchone()
        if row is None:
            cid = f"lost:{list_id}:{idx}"
            if c.execute(
                "SELECT 1 FROM allocations WHERE list_id = ? AND idx = ?", (list_id, idx)
            ).fetchone():
                return  # allocated but never registered: burned, nobody holds it
            c.execute(
                "INSERT INTO allocations (list_id, idx, credential_id, allocated_at) "
                "VALUES (?, ?, ?, ?)",
                (list_id, idx, cid, now),
            )
            c.execute("UPDATE status_lists SET allocated = allocated + 1 WHERE id = ?", (list_id,))
            c.execute(
                "INSERT INTO credentials (credential_id, type, format, holder_thumbprint, "
                "bsn_hash, status_list_id, status_idx, valid_from, valid_until, state, "
                "issued_at, updated_at, batch_row_key) "
                "VALUES (?, 'unknown', 'unknown', NULL, NULL, ?, ?, NULL, NULL, 'pending', "
                "?, ?, NULL)",
                (cid, list_id, idx, now, now),
            )
            self._step(c, cid, None, "pending", who, why, now)
            placeholders.append(cid)
            state = "pending"
        else:
            cid, state = row
        steps = {
            ("pending", "revoked"): ("revoked",),
            ("valid", "revoked"): ("revoked",),
            ("suspended", "revoked"): ("revoked",),
            ("pending", "suspended"): ("valid", "suspended"),
            ("valid", "suspended"): ("suspended",),
        }.get((state, want), ())
        for to_state in steps:
            c.execute(
                "UPDATE credentials SET state = ?, updated_at = ? WHERE credential_id = ?",
                (to_state, now, cid),
            )
            self._step(c, cid, state, to_state, who, why, now)
            state = to_state

    @staticmethod
    def _step(
        c: sqlite3.Connection,
        cid: str,
        from_state: str | None,
        to_state: str,
        who: str | None,
        why: str | None,
        now: int,
    ) -> None:
        c.execute(
            "INSERT INTO audit (credential_id, at, actor, reason, from_state, to_state) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (cid, now, who, why, from_state, to_state),
        )

    @contextlib.contextmanager
    def _read(self, what: str) -> Iterator[sqlite3.Connection]:
        """A read transaction: one consistent snapshot across several queries."""
        c = self._conn
        with _sqlite_errors(what):
            c.execute("BEGIN")
            try:
                yield c
            finally:
                if c.in_transaction:
                    c.execute("ROLLBACK")

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with contextlib.suppress(sqlite3.Error):
            self._conn.close()

    def __enter__(self) -> Register:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Register({str(self.path)!r}{', read-only' if self.read_only else ''})"

    # -- settings ----------------------------------------------------------------------------
    @property
    def schema_version(self) -> int:
        """``PRAGMA user_version`` of the open file."""
        with _sqlite_errors("reading the schema version"):
            return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def bsn_hash(self, bsn: str) -> str:
        """HMAC-SHA256 (hex) of a BSN under the register's key; the BSN itself is never stored.

        Accepts 8 or 9 digits (an 8-digit BSN is read with a leading zero).
        """
        if self._bsn_key is None:
            raise StorageError("bsn_key_missing", "open the register with bsn_key to use BSNs")
        if not isinstance(bsn, str) or not _BSN_RE.match(bsn.strip()):
            raise InvalidDataError("invalid_data", "a BSN is 8 or 9 digits", field="bsn")
        normalized = bsn.strip().zfill(9)
        return hmac.new(self._bsn_key, b"bsn:" + normalized.encode(), hashlib.sha256).hexdigest()

    # -- issuance ---------------------------------------------------------------------------
    def reserve(
        self,
        credential_id: str,
        credential_type: str,
        credential_format: str,
        *,
        holder_thumbprint: str | None = None,
        bsn: str | None = None,
        valid_from: int | float | datetime | None = None,
        valid_until: int | float | datetime | None = None,
        batch_row_key: str | None = None,
        actor: str = "issuer",
        resume_pending: bool = False,
    ) -> Reservation:
        """Phase 1 of issuance: allocate a random free index and record the credential as
        ``pending``, in one transaction.

        With ``batch_row_key`` (e.g. ``"<batch file hash>:<row number>"``) the call is
        idempotent: if that row was reserved before, its reservation is returned (same
        credential id and index, ``resumed=True``) and nothing is allocated. Without it, an
        existing ``credential_id`` is ``PolicyError("credential_exists")`` -- unless
        ``resume_pending`` is set and that credential is still ``pending`` (never confirmed:
        its file was not written) for the same type, format and holder: then its reservation
        is returned (``resumed=True``), so a failed single issue can simply be retried.
        """
        cid = _text(credential_id, "credential_id")
        ctype = _text(credential_type, "type")
        cfmt = _text(credential_format, "format")
        thumb = _text(holder_thumbprint, "holder_thumbprint", optional=True)
        brk = _text(batch_row_key, "batch_row_key", optional=True)
        who = _text(actor, "actor")
        bsn_h = self.bsn_hash(bsn) if bsn is not None else None
        vf = _epoch(valid_from, "valid_from")
        vu = _epoch(valid_until, "valid_until")
        now = int(self._clock())
        with self._tx("reserving a status-list index") as c:
            if brk is not None:
                row = c.execute(
                    "SELECT c.credential_id, c.status_list_id, l.uri, c.status_idx, l.bits, "
                    "c.state "
                    "FROM credentials c JOIN status_lists l ON l.id = c.status_list_id "
                    "WHERE c.batch_row_key = ?",
                    (brk,),
                ).fetchone()
                if row is not None:
                    return Reservation(
                        credential_id=row[0],
                        list_id=row[1],
                        list_uri=row[2],
                        idx=row[3],
                        bits=row[4],
                        state=row[5],
                        resumed=True,
                    )
            row = c.execute(
                "SELECT c.status_list_id, l.uri, c.status_idx, l.bits, c.state, c.type, "
                "c.format, c.holder_thumbprint, c.batch_row_key "
                "FROM credentials c JOIN status_lists l ON l.id = c.status_list_id "
                "WHERE c.credential_id = ?",
                (cid,),
            ).fetchone()
            if row is not None:
                if (
                    resume_pending
                    and brk is None
                    and row[4] == "pending"
                    and tuple(row[5:9]) == (ctype, cfmt, thumb, None)
                ):
                    return Reservation(
                        credential_id=cid,  # type: ignore[arg-type]  # _text checked it
                        list_id=row[0],
                        list_uri=row[1],
                        idx=row[2],
                        bits=row[3],
                        state="pending",
                        resumed=True,
                    )
                raise PolicyError("credential_exists", f"credential {cid!r} is already registered")
            list_id, uri, bits, idx = self._allocate(c, cid, now)
            c.execute(
                "INSERT INTO credentials (credential_id, type, format, holder_thumbprint, "
                "bsn_hash, status_list_id, status_idx, valid_from, valid_until, state, "
                "issued_at, updated_at, batch_row_key) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
                (cid, ctype, cfmt, thumb, bsn_h, list_id, idx, vf, vu, now, now, brk),
            )
            c.execute(
                "INSERT INTO audit (credential_id, at, actor, reason, from_state, to_state) "
                "VALUES (?, ?, ?, 'index reserved for issuance', NULL, 'pending')",
                (cid, now, who),
            )
        return Reservation(
            credential_id=cid,  # type: ignore[arg-type]  # _text checked it
            list_id=list_id,
            list_uri=uri,
            idx=idx,
            bits=bits,
            state="pending",
            resumed=False,
        )

    def _allocate(
        self, c: sqlite3.Connection, cid: str | None, now: int
    ) -> tuple[int, str, int, int]:
        """Pick a uniformly random free index of the newest list (a new list when it is full)
        and record it. Runs inside the caller's ``BEGIN IMMEDIATE`` transaction."""
        row = c.execute(
            "SELECT id, uri, bits, size, allocated FROM status_lists ORDER BY id DESC LIMIT 1"
        ).fetchone()
        closed = c.execute(
            "SELECT value FROM register_meta WHERE key = 'closed_through_list'"
        ).fetchone()
        if row is None or row[4] >= row[3] or (closed and row[0] <= int(closed[0])):
            # A list closed by reconcile() may hold indices handed out after a backup.
            row = self._new_list(c, (row[0] if row else 0) + 1, now)
        list_id, uri, bits, size, _allocated = row
        idx = -1
        # Rejection sampling is uniform over the free indices; after a few misses (a nearly
        # full list) pick the k-th free index directly, which is uniform too.
        for _ in range(16):
            candidate = secrets.randbelow(size)
            if not c.execute(
                "SELECT 1 FROM allocations WHERE list_id = ? AND idx = ?", (list_id, candidate)
            ).fetchone():
                idx = candidate
                break
        if idx < 0:
            used = [
                r[0]
                for r in c.execute(
                    "SELECT idx FROM allocations WHERE list_id = ? ORDER BY idx", (list_id,)
                )
            ]
            idx = _kth_free(used, secrets.randbelow(size - len(used)))
        c.execute(
            "INSERT INTO allocations (list_id, idx, credential_id, allocated_at) "
            "VALUES (?, ?, ?, ?)",
            (list_id, idx, cid, now),
        )
        c.execute("UPDATE status_lists SET allocated = allocated + 1 WHERE id = ?", (list_id,))
        return list_id, uri, bits, idx

    def _new_list(self, c: sqlite3.Connection, list_id: int, now: int) -> tuple[Any, ...]:
        meta = dict(c.execute("SELECT key, value FROM register_meta").fetchall())
        base = meta.get("status_base_uri")
        if not base:
            raise PolicyError(
                "status_uri_not_configured",
                "the register has no status_base_uri; open it with status_base_uri=...",
            )
        size = int(meta.get("list_size", DEFAULT_LIST_SIZE))
        bits = int(meta.get("bits", DEFAULT_BITS))
        purpose = "revocation" if bits == 1 else "revocation+suspension"
        uri = f"{base}/{list_id}.jwt"
        c.execute(
            "INSERT INTO status_lists (id, uri, bits, size, purpose, allocated, created_at) "
            "VALUES (?, ?, ?, ?, ?, 0, ?)",
            (list_id, uri, bits, size, purpose, now),
        )
        return (list_id, uri, bits, size, 0)

    def confirm(self, credential_id: str, *, actor: str = "issuer") -> CredentialRecord:
        """Phase 2 of issuance: the credential was signed and written; ``pending`` → ``valid``.

        Idempotent: confirming a ``valid`` credential changes nothing (a resumed run may
        confirm twice). Confirming a revoked or suspended one is ``illegal_transition``.
        """
        return self._transition(
            credential_id, "valid", ("pending",), "issued", actor, idempotent=True, verb="confirm"
        )

    def revoke(self, credential_id: str, reason: str, actor: str) -> CredentialRecord:
        """``pending``/``valid``/``suspended`` → ``revoked`` (final)."""
        return self._transition(
            credential_id,
            "revoked",
            ("pending", "valid", "suspended"),
            reason,
            actor,
            verb="revoke",
        )

    def suspend(self, credential_id: str, reason: str, actor: str) -> CredentialRecord:
        """``valid`` → ``suspended`` (needs a list of 2 or more bits)."""
        return self._transition(
            credential_id, "suspended", ("valid",), reason, actor, verb="suspend"
        )

    def resume(self, credential_id: str, reason: str, actor: str) -> CredentialRecord:
        """``suspended`` → ``valid``."""
        return self._transition(
            credential_id, "valid", ("suspended",), reason, actor, verb="resume"
        )

    def _transition(
        self,
        credential_id: str,
        to_state: str,
        allowed_from: tuple[str, ...],
        reason: str,
        actor: str,
        *,
        verb: str,
        idempotent: bool = False,
    ) -> CredentialRecord:
        cid = _text(credential_id, "credential_id")
        why = _text(reason, "reason")
        who = _text(actor, "actor")
        now = int(self._clock())
        with self._tx(f"{verb} {cid}") as c:
            row = c.execute(
                "SELECT c.state, l.purpose FROM credentials c "
                "JOIN status_lists l ON l.id = c.status_list_id WHERE c.credential_id = ?",
                (cid,),
            ).fetchone()
            if row is None:
                raise PolicyError("credential_unknown", f"no credential {cid!r} in the register")
            state, purpose = row
            if idempotent and state == to_state:
                pass
            elif state not in allowed_from:
                raise PolicyError(
                    "illegal_transition", f"cannot {verb} credential {cid!r}: it is {state}"
                )
            elif to_state == "suspended" and "suspension" not in purpose:
                raise PolicyError(
                    "illegal_transition",
                    f"cannot suspend {cid!r}: its status list only expresses revocation",
                )
            else:
                c.execute(
                    "UPDATE credentials SET state = ?, updated_at = ? WHERE credential_id = ?",
                    (to_state, now, cid),
                )
                c.execute(
                    "INSERT INTO audit (credential_id, at, actor, reason, from_state, to_state) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (cid, now, who, why, state, to_state),
                )
        return self.get(cid)  # type: ignore[arg-type]  # _text checked it

    # -- queries ------------------------------------------------------------------------------
    def get(self, credential_id: str) -> CredentialRecord:
        """The record of ``credential_id``; ``PolicyError("credential_unknown")`` if none."""
        with _sqlite_errors("reading the register"):
            row = self._conn.execute(
                _CRED_SELECT + " WHERE c.credential_id = ?", (credential_id,)
            ).fetchone()
        if row is None:
            raise PolicyError(
                "credential_unknown", f"no credential {credential_id!r} in the register"
            )
        return _record(row)

    def find_by_bsn(self, bsn: str) -> builtins.list[CredentialRecord]:
        """Credentials registered for a BSN (looked up by its keyed hash)."""
        h = self.bsn_hash(bsn)
        with _sqlite_errors("reading the register"):
            rows = self._conn.execute(
                _CRED_SELECT + " WHERE c.bsn_hash = ? ORDER BY c.issued_at, c.credential_id", (h,)
            ).fetchall()
        return [_record(r) for r in rows]

    def audit(self, credential_id: str | None = None) -> builtins.list[AuditEntry]:
        """Audit rows in order, for one credential or all."""
        sql = "SELECT seq, credential_id, at, actor, reason, from_state, to_state FROM audit"
        args: tuple[Any, ...] = ()
        if credential_id is not None:
            sql += " WHERE credential_id = ?"
            args = (credential_id,)
        with _sqlite_errors("reading the audit trail"):
            rows = self._conn.execute(sql + " ORDER BY seq", args).fetchall()
        return [
            AuditEntry(
                seq=r[0],
                credential_id=r[1],
                at=r[2],
                actor=r[3],
                reason=r[4],
                from_state=r[5],
                to_state=r[6],
            )
            for r in rows
        ]

    def lists(self) -> builtins.list[StatusListInfo]:
        """All status lists, oldest first."""
        with _sqlite_errors("reading the register"):
            rows = self._conn.execute(
                "SELECT id, uri, bits, size, purpose, allocated, created_at FROM status_lists "
                "ORDER BY id"
            ).fetchall()
        return [
            StatusListInfo(
                id=r[0],
                uri=r[1],
                bits=r[2],
                size=r[3],
                purpose=r[4],
                allocated=r[5],
                created_at=r[6],
            )
            for r in rows
        ]

    def status_list_bits(self, list_id: int) -> StatusList:
        """The IETF status list of ``list_id`` as it is now: revoked → 1, suspended → 2, the
        rest 0 (section "Status Types Values")."""
        with self._read("building a status list") as c:
            row = c.execute(
                "SELECT bits, size FROM status_lists WHERE id = ?", (list_id,)
            ).fetchone()
            if row is None:
                raise PolicyError("status_list_unknown", f"no status list {list_id!r}")
            sl = StatusList(row[1], row[0])
            for idx, state in c.execute(
                "SELECT status_idx, state FROM credentials "
                "WHERE status_list_id = ? AND state IN ('revoked', 'suspended')",
                (list_id,),
            ):
                sl.set(idx, StatusType.INVALID if state == "revoked" else StatusType.SUSPENDED)
        return sl

    def list(
        self,
        state: str | None = None,
        type: str | None = None,  # noqa: A002 - column name
    ) -> builtins.list[CredentialRecord]:
        """Credentials, optionally filtered by state and type, in issuance order."""
        if state is not None and state not in STATES:
            raise InvalidDataError("invalid_data", f"unknown state {state!r}", field="state")
        where, args = [], []
        if state is not None:
            where.append("c.state = ?")
            args.append(state)
        if type is not None:
            where.append("c.type = ?")
            args.append(type)
        sql = _CRED_SELECT + (" WHERE " + " AND ".join(where) if where else "")
        with _sqlite_errors("reading the register"):
            rows = self._conn.execute(
                sql + " ORDER BY c.issued_at, c.credential_id", args
            ).fetchall()
        return [_record(r) for r in rows]

    # -- safety -------------------------------------------------------------------------------
    def integrity_check(self, *, raise_on_error: bool = True) -> IntegrityReport:
        """Check the file and the register's invariants in one consistent snapshot.

        SQLite ``PRAGMA integrity_check`` and ``foreign_key_check``, then: no index used
        twice; every credential's index allocated and inside its list; allocation counters
        match; every allocation belongs to its credential; the audit trail of each credential
        is a chain of legal transitions ending in its current state.

        Raises ``StorageError("register_corrupt")`` listing the problems (or returns a report
        with ``ok=False`` when ``raise_on_error=False``).
        """
        try:
            problems, counts = self._collect_problems()
        except StorageError as e:
            if e.code != "storage_error":
                raise
            # SQLite refused to run a check (e.g. a damaged schema): that is corruption too.
            raise StorageError("register_corrupt", f"register {self.path}: {e.message}") from e
        if self.fence_path is not None:
            fence = self.read_fence()
            if fence is not None and self.register_seq < fence:
                problems.append(
                    f"register sequence {self.register_seq} is below its fence {fence}: an "
                    "older copy was restored; run reconcile"
                )
        report = IntegrityReport(
            ok=not problems,
            problems=tuple(problems),
            lists=counts[0],
            allocations=counts[1],
            credentials=counts[2],
            audit_rows=counts[3],
            pending=counts[4],
        )
        if problems and raise_on_error:
            shown = "; ".join(problems[:5]) + (
                f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
            )
            raise StorageError("register_corrupt", f"register {self.path} fails its check: {shown}")
        return report

    def _collect_problems(self) -> tuple[builtins.list[str], tuple[int, ...]]:
        problems: list[str] = []
        with self._read("checking the register") as c:
            result = [r[0] for r in c.execute("PRAGMA integrity_check")]
            if result != ["ok"]:
                problems.extend(f"sqlite: {r}" for r in result[:20])
            for r in c.execute("PRAGMA foreign_key_check").fetchall()[:20]:
                problems.append(f"foreign key: table {r[0]} row {r[1]} -> {r[2]}")
            for r in c.execute(
                "SELECT status_list_id, status_idx, COUNT(*) FROM credentials "
                "GROUP BY status_list_id, status_idx HAVING COUNT(*) > 1 LIMIT 20"
            ):
                problems.append(f"index {r[1]} of list {r[0]} is used by {r[2]} credentials")
            for r in c.execute(
                "SELECT list_id, idx, COUNT(*) FROM allocations "
                "GROUP BY list_id, idx HAVING COUNT(*) > 1 LIMIT 20"
            ):
                problems.append(f"index {r[1]} of list {r[0]} is allocated {r[2]} times")
            for r in c.execute(
                "SELECT c.credential_id, c.status_list_id, c.status_idx FROM credentials c "
                "LEFT JOIN allocations a ON a.list_id = c.status_list_id AND a.idx = c.status_idx "
                "WHERE a.id IS NULL LIMIT 20"
            ):
                problems.append(
                    f"credential {r[0]}: index {r[2]} of list {r[1]} was never allocated"
                )
            for r in c.execute(
                "SELECT c.credential_id, a.credential_id FROM credentials c "
                "JOIN allocations a ON a.list_id = c.status_list_id AND a.idx = c.status_idx "
                "WHERE a.credential_id <> c.credential_id LIMIT 20"
            ):
                problems.append(f"credential {r[0]} holds an index allocated to {r[1]}")
            for r in c.execute(
                "SELECT a.list_id, a.idx, l.size FROM allocations a "
                "LEFT JOIN status_lists l ON l.id = a.list_id "
                "WHERE l.id IS NULL OR a.idx < 0 OR a.idx >= l.size LIMIT 20"
            ):
                problems.append(f"allocation {r[1]} is outside list {r[0]}")
            for r in c.execute(
                "SELECT l.id, l.allocated, COUNT(a.id) FROM status_lists l "
                "LEFT JOIN allocations a ON a.list_id = l.id GROUP BY l.id "
                "HAVING l.allocated <> COUNT(a.id)"
            ):
                problems.append(f"list {r[0]} counts {r[1]} allocations but has {r[2]}")
            states = dict(c.execute("SELECT credential_id, state FROM credentials").fetchall())
            chains: dict[str, str | None] = {}
            broken: set[str] = set()
            for cid, from_state, to_state in c.execute(
                "SELECT credential_id, from_state, to_state FROM audit ORDER BY seq"
            ):
                prev = chains.get(cid)
                if cid not in states:
                    broken.add(cid)
                    problems.append(f"audit row for unknown credential {cid}")
                elif from_state != prev or (from_state, to_state) not in _LEGAL:
                    if cid not in broken:
                        problems.append(
                            f"credential {cid}: audit step {from_state} -> {to_state} "
                            f"does not follow {prev}"
                        )
                    broken.add(cid)
                chains[cid] = to_state
            for cid, state in states.items():
                if cid not in broken and chains.get(cid) != state:
                    problems.append(
                        f"credential {cid} is {state} but its audit trail ends in {chains.get(cid)}"
                    )
            counts = c.execute(
                "SELECT (SELECT COUNT(*) FROM status_lists), (SELECT COUNT(*) FROM allocations), "
                "(SELECT COUNT(*) FROM credentials), (SELECT COUNT(*) FROM audit), "
                "(SELECT COUNT(*) FROM credentials WHERE state = 'pending')"
            ).fetchone()
        return problems, tuple(counts)

    def backup(self, dest: str | os.PathLike[str]) -> Path:
        """Copy the register to ``dest`` with SQLite's online backup API: a consistent
        snapshot even while other processes keep issuing. ``dest`` must not exist."""
        d = Path(dest)
        try:
            os.close(os.open(d, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError as e:
            raise StorageError("file_exists", f"{d} exists; refusing to overwrite it") from e
        except OSError as e:
            raise StorageError("storage_write_failed", f"cannot create {d}: {e}") from e
        with _sqlite_errors(f"backing up the register to {d}"):
            target = sqlite3.connect(d, isolation_level=None)
            try:
                self._conn.backup(target)
                target.execute("PRAGMA journal_mode = WAL")
            finally:
                target.close()
        return d


def _nonzero_indices(sl: StatusList) -> Iterator[int]:
    """Indices whose status is not VALID, scanning only the non-zero bytes."""
    per_byte = 8 // sl.bits
    for byte_no, byte in enumerate(sl.to_bytes()):
        if byte:
            for idx in range(byte_no * per_byte, min(sl.size, (byte_no + 1) * per_byte)):
                if sl.get(idx):
                    yield idx


def publish(
    register: Register,
    signer: Signer,
    issuer_id: str,
    out_dir: str | os.PathLike[str],
    now: float,
    ttl: int,
    *,
    valid_for: int = 24 * 3600,
    sign_bitstring: SignDocument | None = None,
    known_keys: Sequence[Key] | None = None,
) -> builtins.list[PublishedFile]:
    """Write the current status of every list in ``register`` to ``out_dir``.

    Per list ``<id>``: ``<id>.jwt`` — the IETF Status List Token (media type
    ``application/statuslist+jwt``), ``sub`` = the list URI, ``exp`` = ``now + valid_for``.
    With ``sign_bitstring`` (the Data Integrity signer, ``document -> signed document``)
    also ``<id>-revocation.json`` and, for 2-bit lists, ``<id>-suspension.json``: W3C
    ``BitstringStatusListCredential``s (``application/vc``) of at least 131,072 entries with
    the same indices. Each file is replaced atomically, so a server never serves half a list.

    Each token carries the register's sequence (claim ``register_seq``). A token already in
    ``out_dir`` signed by one of ``known_keys`` (default: the signer's key) with a higher
    sequence means the register is older than what was published: ``register_rolled_back``,
    and nothing is written.

    Example:
        >>> import tempfile, os
        >>> from blauweknop._keys import Key
        >>> d = tempfile.mkdtemp()
        >>> reg = Register.open(os.path.join(d, "r.db"), status_base_uri="https://x/s")
        >>> _ = reg.reserve("c1", "DebtStatement", "sd-jwt")
        >>> [f.path.name for f in publish(reg, Key.generate(), "urn:oin:1", d, 0, 3600)]
        ['1.jwt']
        >>> reg.close()
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StorageError("storage_write_failed", f"cannot create {out}: {e}") from e
    lists = register.lists()
    own_keys = list(known_keys) if known_keys is not None else [Key.from_jwk(signer.public_jwk())]
    seen = [p[2] for p in read_published(out, lists, own_keys, issuer_id, what="publishing status")]
    # Never replace a list published by a newer register (a restored backup would un-revoke).
    register.check_fence(at_least=max(seen, default=0))
    seq = register.register_seq
    written: list[PublishedFile] = []
    for info in lists:
        sl = register.status_list_bits(info.id)
        token = sign_status_list_token(
            sl,
            uri=info.uri,
            issuer=issuer_id,
            signer=signer,
            now=now,
            ttl=ttl,
            valid_for=valid_for,
            extra_claims={REGISTER_SEQ_CLAIM: seq},
        )
        path = safe_output_path(out, f"{info.id}.jwt")
        atomic_write(path, token.encode("ascii"))
        written.append(
            PublishedFile(
                path=path, uri=info.uri, media_type=STATUS_LIST_MEDIA_TYPE, list_id=info.id
            )
        )
        if sign_bitstring is None:
            continue
        for purpose in info.purposes:
            wanted = StatusType.INVALID if purpose == "revocation" else StatusType.SUSPENDED
            bl = BitstringStatusList(max(info.size, MIN_BITSTRING_ENTRIES))
            for idx in _nonzero_indices(sl):
                if sl.get(idx) == wanted:
                    bl.set(idx, 1)
            uri = info.bitstring_uri(purpose)
            doc = build_bitstring_status_list_credential(
                credential_id=uri,
                issuer=issuer_id,
                status_purpose=purpose,
                status_list=bl,
                valid_from=now,
                valid_until=now + valid_for,
                ttl_ms=ttl * 1000,
                sign=sign_bitstring,
            )
            path = safe_output_path(out, f"{info.id}-{purpose}.json")
            atomic_write(path, (json.dumps(doc, indent=1, ensure_ascii=False) + "\n").encode())
            written.append(
                PublishedFile(path=path, uri=uri, media_type="application/vc", list_id=info.id)
            )
    return written


def read_published(
    directory: str | os.PathLike[str],
    lists: Sequence[StatusListInfo] | None,
    keys: Sequence[Key],
    issuer_id: str,
    *,
    what: str,
) -> builtins.list[tuple[str, StatusList, int]]:
    """The Status List Tokens this issuer published in ``directory``: ``(uri, list,
    register_seq)`` for every ``<n>.jwt`` signed by one of ``keys`` with ``iss`` =
    ``issuer_id``. With ``lists``, only files of those lists are read. A file that is not
    ours (bad signature, other issuer) is skipped: it cannot prove anything about us. A token
    without ``register_seq`` (published before the fence existed) counts as 0.
    """
    from ._files import read_small_regular_file
    from ._jws import parse_compact
    from ._status._ietf import STATUS_LIST_JWT_TYP

    d = Path(directory)
    names: list[tuple[str, str | None]]
    if lists is not None:
        names = [(f"{i.id}.jwt", i.uri) for i in lists]
    else:
        try:
            names = [
                (e.name, None)
                for e in sorted(os.scandir(d), key=lambda e: e.name)
                if re.fullmatch(r"[1-9][0-9]{0,5}\.jwt", e.name)
            ]
        except OSError as e:
            raise StorageError("file_unreadable", f"{what}: cannot list {d}: {e.strerror}") from e
    found: list[tuple[str, StatusList, int]] = []
    for name, uri in names:
        p = d / name
        if not p.exists():
            continue
        raw = read_small_regular_file(p, max_bytes=_MAX_PUBLISHED_BYTES, what="published list")
        try:
            parsed = parse_compact(
                raw.decode("ascii").strip(),
                typ=STATUS_LIST_JWT_TYP,
                max_bytes=_MAX_PUBLISHED_BYTES,
            )
            for k in keys:
                try:
                    parsed.verify(k)
                    break
                except BlauweKnopError:
                    continue
            else:
                continue
            claims = parsed.payload_json()
            sub = claims.get("sub")
            seq = claims.get(REGISTER_SEQ_CLAIM, 0)
            if claims.get("iss") != issuer_id or not isinstance(sub, str):
                continue
            if uri is not None and sub != uri:
                continue
            if type(seq) is not int or seq < 0:
                continue
            sl = StatusList.from_json(claims.get("status_list") or {})
        except (BlauweKnopError, UnicodeDecodeError, ValueError):
            continue
        found.append((sub, sl, seq))
    return found
