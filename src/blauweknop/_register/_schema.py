"""The SQLite register's schema, its migrations and the mapping of SQLite errors.

Each entry of ``_MIGRATIONS`` brings the schema from version *i* to *i + 1* (``PRAGMA
user_version``); released entries are never edited, new ones are appended. The append-only
rules (audit trail, allocations, fixed columns) are triggers, so they hold for any client of
the file, not only for this code.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator

from .._errors import StorageError

__all__ = ["SCHEMA_VERSION", "migrate", "sqlite_errors", "wrap_sqlite"]

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
    # 2 -> 3: OpenID4VCI protocol state (blauweknop.oid4vci): offers, pre-authorized codes and
    # PIN attempts, access tokens, c_nonces, DPoP jtis, PAR requests, authorization codes and
    # notifications. Single use is enforced here (UNIQUE keys, used flags updated WHERE used=0).
    (
        """CREATE TABLE oid4vci_offers (
            offer_id         TEXT    PRIMARY KEY,
            code_hash        TEXT    NOT NULL UNIQUE,
            configuration_id TEXT    NOT NULL,
            payload          TEXT,
            offer_json       TEXT,
            tx_code_hash     TEXT,
            tx_attempts      INTEGER NOT NULL DEFAULT 0 CHECK (tx_attempts >= 0),
            max_attempts     INTEGER NOT NULL CHECK (max_attempts > 0),
            issuer_state     TEXT    UNIQUE,
            state            TEXT    NOT NULL
                             CHECK (state IN ('offered', 'redeemed', 'locked', 'issued')),
            created_at       INTEGER NOT NULL,
            expires_at       INTEGER NOT NULL,
            redeemed_at      INTEGER
        )""",
        """CREATE TABLE oid4vci_tokens (
            token_hash  TEXT    PRIMARY KEY,
            offer_id    TEXT    NOT NULL REFERENCES oid4vci_offers (offer_id),
            jkt         TEXT    NOT NULL,
            created_at  INTEGER NOT NULL,
            expires_at  INTEGER NOT NULL,
            used        INTEGER NOT NULL DEFAULT 0 CHECK (used IN (0, 1))
        )""",
        """CREATE TABLE oid4vci_nonces (
            nonce       TEXT    PRIMARY KEY,
            created_at  INTEGER NOT NULL,
            expires_at  INTEGER NOT NULL,
            used        INTEGER NOT NULL DEFAULT 0 CHECK (used IN (0, 1))
        )""",
        """CREATE TABLE oid4vci_dpop_jtis (
            jkt         TEXT    NOT NULL,
            jti         TEXT    NOT NULL,
            seen_at     INTEGER NOT NULL,
            expires_at  INTEGER NOT NULL,
            PRIMARY KEY (jkt, jti)
        )""",
        """CREATE TABLE oid4vci_par_requests (
            request_uri TEXT    PRIMARY KEY,
            client_id   TEXT    NOT NULL,
            params      TEXT    NOT NULL,
            created_at  INTEGER NOT NULL,
            expires_at  INTEGER NOT NULL,
            used        INTEGER NOT NULL DEFAULT 0 CHECK (used IN (0, 1))
        )""",
        """CREATE TABLE oid4vci_auth_codes (
            code_hash      TEXT    PRIMARY KEY,
            client_id      TEXT    NOT NULL,
            offer_id       TEXT    NOT NULL REFERENCES oid4vci_offers (offer_id),
            redirect_uri   TEXT    NOT NULL,
            code_challenge TEXT    NOT NULL,
            created_at     INTEGER NOT NULL,
            expires_at     INTEGER NOT NULL,
            used           INTEGER NOT NULL DEFAULT 0 CHECK (used IN (0, 1))
        )""",
        """CREATE TABLE oid4vci_notifications (
            notification_id TEXT    PRIMARY KEY,
            offer_id        TEXT    NOT NULL REFERENCES oid4vci_offers (offer_id),
            credential_ids  TEXT    NOT NULL,
            created_at      INTEGER NOT NULL,
            event           TEXT,
            event_at        INTEGER
        )""",
        "CREATE INDEX oid4vci_dpop_jtis_by_expiry ON oid4vci_dpop_jtis (expires_at)",
    ),
    # 3 -> 4: area signals for prevention (specs/area-report.md): per credential the
    # subject's four-digit postcode area, a coarse amount band and an arrears flag, and the
    # BSN sealed to the pseudonymisation party (a JWE only it opens). Never in a credential.
    (
        """CREATE TABLE area_signals (
            credential_id TEXT    PRIMARY KEY REFERENCES credentials (credential_id),
            pc4           TEXT    NOT NULL
                          CHECK (length(pc4) = 4 AND pc4 GLOB '[1-9][0-9][0-9][0-9]'),
            amount_band   TEXT    CHECK (amount_band IS NULL OR amount_band IN
                          ('none', 'lt_1000', '1000_5000', '5000_20000', 'ge_20000')),
            in_arrears    INTEGER CHECK (in_arrears IS NULL OR in_arrears IN (0, 1)),
            sealed_bsn    TEXT,
            recorded_at   INTEGER NOT NULL
        )""",
        """CREATE TRIGGER area_signals_fixed BEFORE UPDATE ON area_signals
           BEGIN SELECT RAISE(ABORT, 'area signals are recorded once'); END""",
    ),
)
#: Schema version this code writes (``PRAGMA user_version``).
SCHEMA_VERSION = len(_MIGRATIONS)


def migrate(c: sqlite3.Connection) -> None:
    """Apply pending migrations, each in its own ``BEGIN IMMEDIATE`` transaction (a
    concurrent opener either waits or finds the work done)."""
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


def wrap_sqlite(e: sqlite3.Error, what: str) -> StorageError:
    """The :class:`StorageError` for a SQLite error met while doing ``what``."""
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
def sqlite_errors(what: str) -> Iterator[None]:
    """Raise SQLite errors inside the block as :class:`StorageError` (see :func:`wrap_sqlite`)."""
    try:
        yield
    except sqlite3.Error as e:
        raise wrap_sqlite(e, what) from e
