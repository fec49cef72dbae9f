"""Where the issuer service keeps its protocol state: offers, pre-authorized codes and PIN
attempts, access tokens, c_nonces, DPoP ``jti`` values, PAR requests, authorization codes and
notifications.

:class:`ProtocolStore` is the seam (a PostgreSQL backend implements the same methods);
:class:`SQLiteProtocolStore` keeps the state in the issuer's register file (tables
``oid4vci_*``, created by the register's migrations), so a restart loses nothing. Single use
is enforced by the database: each redemption is an ``UPDATE ... WHERE state/used = ...``
whose row count must be one, and replays of DPoP ``jti`` values hit a primary key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .._register._schema import migrate, sqlite_errors
from ._errors import OAuthError

__all__ = [
    "OfferRecord",
    "ProtocolStore",
    "SQLiteProtocolStore",
    "TokenRecord",
    "digest",
    "tx_code_digest",
]


def digest(secret: str) -> str:
    """What the store keeps of a bearer secret (code, token): its SHA-256, hex."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def tx_code_digest(offer_id: str, tx_code: str) -> str:
    """What the store keeps of a PIN: SHA-256 over the offer id and the PIN."""
    return hashlib.sha256(f"{offer_id}\x00{tx_code}".encode()).hexdigest()


@dataclass(frozen=True, kw_only=True)
class OfferRecord:
    """One credential offer as stored.

    Attributes:
        offer_id: random id, also the path of the offer by reference.
        code_hash: :func:`digest` of the pre-authorized code.
        configuration_id: the credential configuration offered.
        payload: the prepared domain claims (JSON text), erased once issued.
        offer_json: the credential offer object (JSON text), erased once redeemed.
        tx_code_hash: :func:`tx_code_digest` of the PIN, ``None`` without PIN.
        max_attempts: wrong PINs allowed before the offer locks.
        issuer_state: the authorization code grant's ``issuer_state``, if offered.
        created_at / expires_at: Unix times.
    """

    offer_id: str
    code_hash: str
    configuration_id: str
    payload: str
    offer_json: str
    tx_code_hash: str | None
    max_attempts: int
    issuer_state: str | None
    created_at: int
    expires_at: int


@dataclass(frozen=True, kw_only=True)
class TokenRecord:
    """An access token as stored (found by its digest)."""

    offer_id: str
    jkt: str
    expires_at: int
    used: bool
    configuration_id: str


class ProtocolStore(Protocol):
    """The protocol state an :class:`~blauweknop.oid4vci.IssuerService` needs. Every method is
    one transaction; a refused redemption raises :class:`OAuthError` with the spec's code."""

    def create_offer(self, offer: OfferRecord) -> None: ...

    def offer_json(self, offer_id: str, now: int) -> str | None: ...

    def offer_state(self, offer_id: str) -> str | None: ...

    def redeem_pre_authorized_code(
        self,
        code_hash: str,
        tx_code: str | None,
        *,
        token_hash: str,
        jkt: str,
        now: int,
        token_expires_at: int,
    ) -> str: ...

    def remember_dpop_jti(self, jkt: str, jti: str, *, now: int, expires_at: int) -> None: ...

    def create_nonce(self, nonce: str, *, now: int, expires_at: int) -> None: ...

    def token(self, token_hash: str) -> TokenRecord | None: ...

    def claim_issuance(self, token_hash: str, nonce: str, *, now: int) -> tuple[str, str]: ...

    def release_issuance(self, token_hash: str) -> None: ...

    def finish_issuance(
        self, offer_id: str, notification_id: str, credential_ids: list[str], *, now: int
    ) -> None: ...

    def notify(self, notification_id: str, offer_id: str, event: str, *, now: int) -> None: ...

    def create_par(
        self, request_uri: str, client_id: str, params: dict[str, Any], *, now: int, expires_at: int
    ) -> None: ...

    def take_par(self, request_uri: str, *, now: int) -> tuple[str, dict[str, Any]]: ...

    def offer_for_issuer_state(self, issuer_state: str, *, now: int) -> str: ...

    def create_auth_code(
        self,
        code_hash: str,
        *,
        client_id: str,
        offer_id: str,
        redirect_uri: str,
        code_challenge: str,
        now: int,
        expires_at: int,
    ) -> None: ...

    def redeem_auth_code(
        self,
        code_hash: str,
        *,
        token_hash: str,
        jkt: str,
        now: int,
        token_expires_at: int,
        check: Callable[[str, str, str], None],
    ) -> str: ...


class SQLiteProtocolStore:
    """:class:`ProtocolStore` in the issuer's register file (``HOME/register.sqlite``).

    Thread-safe (one connection behind a lock); other processes share the file through
    SQLite's own locking (``BEGIN IMMEDIATE`` for every change).

    Example:
        >>> import tempfile, os
        >>> store = SQLiteProtocolStore(os.path.join(tempfile.mkdtemp(), "register.sqlite"))
        >>> store.create_nonce("n-1", now=100, expires_at=400)
        >>> store.close()
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 5.0) -> None:
        self.path = Path(path)
        with sqlite_errors(f"opening register {self.path}"):
            self._conn = sqlite3.connect(
                self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            migrate(self._conn)
        self._lock = threading.RLock()

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    @contextmanager
    def _tx(self, what: str) -> Iterator[sqlite3.Connection]:
        with self._lock, sqlite_errors(what):
            c = self._conn
            c.execute("BEGIN IMMEDIATE")
            try:
                yield c
            except BaseException:
                if c.in_transaction:
                    c.execute("ROLLBACK")
                raise
            else:
                c.execute("COMMIT")

    # -- offers -----------------------------------------------------------------------
    def create_offer(self, offer: OfferRecord) -> None:
        """Store a new offer (its code and PIN only as digests)."""
        with self._tx("storing an offer") as c:
            c.execute(
                "INSERT INTO oid4vci_offers (offer_id, code_hash, configuration_id, payload,"
                " offer_json, tx_code_hash, max_attempts, issuer_state, state, created_at,"
                " expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'offered', ?, ?)",
                (
                    offer.offer_id,
                    offer.code_hash,
                    offer.configuration_id,
                    offer.payload,
                    offer.offer_json,
                    offer.tx_code_hash,
                    offer.max_attempts,
                    offer.issuer_state,
                    offer.created_at,
                    offer.expires_at,
                ),
            )

    def offer_json(self, offer_id: str, now: int) -> str | None:
        """The offer object of an offer that can still be redeemed, else ``None``."""
        with self._lock, sqlite_errors("reading an offer"):
            row = self._conn.execute(
                "SELECT offer_json FROM oid4vci_offers WHERE offer_id = ? AND state = 'offered'"
                " AND expires_at > ?",
                (offer_id, now),
            ).fetchone()
        return None if row is None else str(row[0])

    def offer_state(self, offer_id: str) -> str | None:
        """``offered``, ``redeemed``, ``locked``, ``issued``, or ``None`` when unknown."""
        with self._lock, sqlite_errors("reading an offer"):
            row = self._conn.execute(
                "SELECT state FROM oid4vci_offers WHERE offer_id = ?", (offer_id,)
            ).fetchone()
        return None if row is None else str(row[0])

    def redeem_pre_authorized_code(
        self,
        code_hash: str,
        tx_code: str | None,
        *,
        token_hash: str,
        jkt: str,
        now: int,
        token_expires_at: int,
    ) -> str:
        """Redeem a pre-authorized code once, checking the PIN; store the access token.

        A wrong PIN counts an attempt (committed, the error raised after); at the limit the
        offer locks. Returns the offer id.
        """
        failure: OAuthError | None = None
        with self._tx("redeeming a pre-authorized code") as c:
            row = c.execute(
                "SELECT offer_id, tx_code_hash, tx_attempts, max_attempts, state, expires_at"
                " FROM oid4vci_offers WHERE code_hash = ?",
                (code_hash,),
            ).fetchone()
            if row is None:
                raise OAuthError("invalid_grant", "unknown pre-authorized code")
            offer_id, pin_hash, attempts, max_attempts, state, expires_at = row
            if state == "locked":
                raise OAuthError("invalid_grant", "the offer is locked after too many wrong PINs")
            if state != "offered":
                raise OAuthError("invalid_grant", "the pre-authorized code was used before")
            if expires_at <= now:
                raise OAuthError("invalid_grant", "the pre-authorized code has expired")
            if pin_hash is None and tx_code is not None:
                raise OAuthError("invalid_request", "this offer has no transaction code")
            if pin_hash is not None:
                if tx_code is None:
                    raise OAuthError("invalid_request", "the transaction code is missing")
                if not hmac.compare_digest(pin_hash, tx_code_digest(offer_id, tx_code)):
                    attempts += 1
                    c.execute(
                        "UPDATE oid4vci_offers SET tx_attempts = ?, state = ?"
                        " WHERE offer_id = ? AND state = 'offered'",
                        (attempts, "locked" if attempts >= max_attempts else "offered", offer_id),
                    )
                    failure = OAuthError("invalid_grant", "wrong transaction code")
            if failure is None:
                changed = c.execute(
                    "UPDATE oid4vci_offers SET state = 'redeemed', redeemed_at = ?,"
                    " offer_json = NULL WHERE offer_id = ? AND state = 'offered'",
                    (now, offer_id),
                ).rowcount
                if changed != 1:
                    raise OAuthError("invalid_grant", "the pre-authorized code was used before")
                c.execute(
                    "INSERT INTO oid4vci_tokens (token_hash, offer_id, jkt, created_at,"
                    " expires_at) VALUES (?, ?, ?, ?, ?)",
                    (token_hash, offer_id, jkt, now, token_expires_at),
                )
        if failure is not None:
            raise failure
        return str(offer_id)

    # -- DPoP and nonces ----------------------------------------------------------------
    def remember_dpop_jti(self, jkt: str, jti: str, *, now: int, expires_at: int) -> None:
        """Record a DPoP proof's ``jti`` for its key; a second use is ``invalid_dpop_proof``."""
        try:
            with self._tx("recording a DPoP proof") as c:
                c.execute("DELETE FROM oid4vci_dpop_jtis WHERE expires_at < ?", (now,))
                c.execute(
                    "INSERT INTO oid4vci_dpop_jtis (jkt, jti, seen_at, expires_at)"
                    " VALUES (?, ?, ?, ?)",
                    (jkt, jti, now, expires_at),
                )
        except Exception as e:
            if isinstance(e.__cause__, sqlite3.IntegrityError):
                raise OAuthError("invalid_dpop_proof", "DPoP proof replayed (jti seen)") from e
            raise

    def create_nonce(self, nonce: str, *, now: int, expires_at: int) -> None:
        """Store a fresh ``c_nonce``."""
        with self._tx("storing a nonce") as c:
            c.execute("DELETE FROM oid4vci_nonces WHERE expires_at < ?", (now,))
            c.execute(
                "INSERT INTO oid4vci_nonces (nonce, created_at, expires_at) VALUES (?, ?, ?)",
                (nonce, now, expires_at),
            )

    # -- tokens and issuance -----------------------------------------------------------
    def token(self, token_hash: str) -> TokenRecord | None:
        """The access token with this digest, or ``None``."""
        with self._lock, sqlite_errors("reading an access token"):
            row = self._conn.execute(
                "SELECT t.offer_id, t.jkt, t.expires_at, t.used, o.configuration_id"
                " FROM oid4vci_tokens t JOIN oid4vci_offers o ON o.offer_id = t.offer_id"
                " WHERE t.token_hash = ?",
                (token_hash,),
            ).fetchone()
        if row is None:
            return None
        return TokenRecord(
            offer_id=row[0],
            jkt=row[1],
            expires_at=row[2],
            used=bool(row[3]),
            configuration_id=row[4],
        )

    def claim_issuance(self, token_hash: str, nonce: str, *, now: int) -> tuple[str, str]:
        """In one transaction: use the ``c_nonce`` and the access token (each once).

        Returns ``(configuration_id, payload)`` of the token's offer.
        """
        with self._tx("claiming an issuance") as c:
            used = c.execute(
                "UPDATE oid4vci_nonces SET used = 1 WHERE nonce = ? AND used = 0"
                " AND expires_at > ?",
                (nonce, now),
            ).rowcount
            if used != 1:
                raise OAuthError("invalid_nonce", "c_nonce unknown, used or expired")
            taken = c.execute(
                "UPDATE oid4vci_tokens SET used = 1 WHERE token_hash = ? AND used = 0"
                " AND expires_at > ?",
                (token_hash, now),
            ).rowcount
            if taken != 1:
                raise OAuthError("invalid_token", "the access token was used before")
            row = c.execute(
                "SELECT o.configuration_id, o.payload FROM oid4vci_tokens t"
                " JOIN oid4vci_offers o ON o.offer_id = t.offer_id"
                " WHERE t.token_hash = ? AND o.state = 'redeemed' AND o.payload IS NOT NULL",
                (token_hash,),
            ).fetchone()
            if row is None:
                raise OAuthError("invalid_token", "the offer behind this token was issued")
        return str(row[0]), str(row[1])

    def release_issuance(self, token_hash: str) -> None:
        """Give the token back after an issuance that failed before anything was issued."""
        with self._tx("releasing an access token") as c:
            c.execute("UPDATE oid4vci_tokens SET used = 0 WHERE token_hash = ?", (token_hash,))

    def finish_issuance(
        self, offer_id: str, notification_id: str, credential_ids: list[str], *, now: int
    ) -> None:
        """Mark the offer issued, erase its prepared claims, open its notification id."""
        with self._tx("finishing an issuance") as c:
            c.execute(
                "UPDATE oid4vci_offers SET state = 'issued', payload = NULL WHERE offer_id = ?",
                (offer_id,),
            )
            c.execute(
                "INSERT INTO oid4vci_notifications (notification_id, offer_id, credential_ids,"
                " created_at) VALUES (?, ?, ?, ?)",
                (notification_id, offer_id, json.dumps(credential_ids), now),
            )

    def notify(self, notification_id: str, offer_id: str, event: str, *, now: int) -> None:
        """Record the wallet's event for a notification id of this offer."""
        with self._tx("recording a notification") as c:
            n = c.execute(
                "UPDATE oid4vci_notifications SET event = ?, event_at = ?"
                " WHERE notification_id = ? AND offer_id = ?",
                (event, now, notification_id, offer_id),
            ).rowcount
            if n != 1:
                raise OAuthError("invalid_notification_id", "unknown notification_id")

    # -- authorization code grant --------------------------------------------------------
    def create_par(
        self, request_uri: str, client_id: str, params: dict[str, Any], *, now: int, expires_at: int
    ) -> None:
        """Store a pushed authorization request under its ``request_uri``."""
        with self._tx("storing a pushed authorization request") as c:
            c.execute(
                "INSERT INTO oid4vci_par_requests (request_uri, client_id, params, created_at,"
                " expires_at) VALUES (?, ?, ?, ?, ?)",
                (request_uri, client_id, json.dumps(params), now, expires_at),
            )

    def take_par(self, request_uri: str, *, now: int) -> tuple[str, dict[str, Any]]:
        """Use a pushed request once: ``(client_id, params)``."""
        with self._tx("using a pushed authorization request") as c:
            row = c.execute(
                "SELECT client_id, params FROM oid4vci_par_requests WHERE request_uri = ?"
                " AND used = 0 AND expires_at > ?",
                (request_uri, now),
            ).fetchone()
            n = c.execute(
                "UPDATE oid4vci_par_requests SET used = 1 WHERE request_uri = ? AND used = 0",
                (request_uri,),
            ).rowcount
            if row is None or n != 1:
                raise OAuthError("invalid_request_uri", "request_uri unknown, used or expired")
        return str(row[0]), dict(json.loads(row[1]))

    def offer_for_issuer_state(self, issuer_state: str, *, now: int) -> str:
        """The open offer with this ``issuer_state`` (authorization code grant)."""
        with self._lock, sqlite_errors("reading an offer"):
            row = self._conn.execute(
                "SELECT offer_id FROM oid4vci_offers WHERE issuer_state = ?"
                " AND state = 'offered' AND expires_at > ?",
                (issuer_state, now),
            ).fetchone()
        if row is None:
            raise OAuthError("invalid_request", "issuer_state unknown, used or expired")
        return str(row[0])

    def create_auth_code(
        self,
        code_hash: str,
        *,
        client_id: str,
        offer_id: str,
        redirect_uri: str,
        code_challenge: str,
        now: int,
        expires_at: int,
    ) -> None:
        """Store an authorization code (digest) with its PKCE challenge."""
        with self._tx("storing an authorization code") as c:
            c.execute(
                "INSERT INTO oid4vci_auth_codes (code_hash, client_id, offer_id, redirect_uri,"
                " code_challenge, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (code_hash, client_id, offer_id, redirect_uri, code_challenge, now, expires_at),
            )

    def redeem_auth_code(
        self,
        code_hash: str,
        *,
        token_hash: str,
        jkt: str,
        now: int,
        token_expires_at: int,
        check: Callable[[str, str, str], None],
    ) -> str:
        """Use an authorization code once and store the access token.

        ``check(client_id, redirect_uri, code_challenge)`` runs inside the transaction and
        raises to refuse (PKCE, redirect URI); a refused code stays used and no token is made.
        Returns the offer id.
        """
        failure: OAuthError | None = None
        with self._tx("redeeming an authorization code") as c:
            row = c.execute(
                "SELECT client_id, offer_id, redirect_uri, code_challenge FROM oid4vci_auth_codes"
                " WHERE code_hash = ? AND used = 0 AND expires_at > ?",
                (code_hash, now),
            ).fetchone()
            if row is None:
                raise OAuthError("invalid_grant", "authorization code unknown, used or expired")
            c.execute("UPDATE oid4vci_auth_codes SET used = 1 WHERE code_hash = ?", (code_hash,))
            try:
                check(str(row[0]), str(row[2]), str(row[3]))
            except OAuthError as e:
                failure = e
            if failure is None:
                n = c.execute(
                    "UPDATE oid4vci_offers SET state = 'redeemed', redeemed_at = ?,"
                    " offer_json = NULL WHERE offer_id = ? AND state = 'offered'",
                    (now, row[1]),
                ).rowcount
                if n != 1:
                    raise OAuthError("invalid_grant", "the offer was redeemed before")
                c.execute(
                    "INSERT INTO oid4vci_tokens (token_hash, offer_id, jkt, created_at,"
                    " expires_at) VALUES (?, ?, ?, ?, ?)",
                    (token_hash, row[1], jkt, now, token_expires_at),
                )
        if failure is not None:
            raise failure
        return str(row[1])
