"""Verifier sessions in SQLite: one row per Authorization Request, with an expiry.

Single use is the database's job: a response completes a session with one
``UPDATE ... WHERE status = 'pending' AND expires_at > now``; a second response (a replay, or a
race of two) finds no pending row and is refused. The file holds per-session private keys and
verified claims (personal data): it is created ``0600`` in a ``0700`` directory.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._errors import PolicyError, StorageError

__all__ = ["Session", "SessionStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS oid4vp_sessions (
    session_id    TEXT PRIMARY KEY,
    request_id    TEXT NOT NULL UNIQUE,
    state         TEXT NOT NULL,
    nonce         TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    audience      TEXT NOT NULL,
    dcql          TEXT NOT NULL,
    enc_key       TEXT NOT NULL,
    response_mode TEXT NOT NULL,
    origin        TEXT,
    created_at    REAL NOT NULL,
    expires_at    REAL NOT NULL,
    status        TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done')),
    response_code TEXT UNIQUE,
    result        TEXT,
    last_error    TEXT,
    completed_at  REAL
);
CREATE INDEX IF NOT EXISTS oid4vp_sessions_expiry ON oid4vp_sessions (expires_at);
"""
_COLUMNS = (
    "session_id, request_id, state, nonce, client_id, audience, dcql, enc_key, response_mode, "
    "origin, created_at, expires_at, status, response_code, result, last_error, completed_at"
)


@dataclass(frozen=True, kw_only=True)
class Session:
    """One Authorization Request and, once answered, its verified result.

    Attributes:
        session_id: the creditor's handle (secret: the back office fetches results by it).
        request_id: the public handle in ``request_uri`` and ``response_uri``.
        state / nonce: the request's values; ``audience`` what presentations must be bound to
            (the client id, or ``origin:<origin>`` over the DC API).
        status: ``pending`` or ``done``; ``result`` the stored outcome once done.
        last_error: the code of the last refused response (the session stays pending).
    """

    session_id: str
    request_id: str
    state: str = field(repr=False)
    nonce: str = field(repr=False)
    client_id: str
    audience: str
    dcql: Mapping[str, Any] = field(repr=False)
    enc_key: Mapping[str, str] = field(repr=False)
    response_mode: str
    origin: str | None
    created_at: float
    expires_at: float
    status: str = "pending"
    response_code: str | None = field(default=None, repr=False)
    result: Mapping[str, Any] | None = field(default=None, repr=False)
    last_error: str | None = None
    completed_at: float | None = None

    def expired(self, now: float) -> bool:
        """Whether the session can no longer be answered at ``now``."""
        return now >= self.expires_at


class SessionStore:
    """Sessions in one SQLite file (or ``":memory:"`` for a single process).

    Example:
        >>> store = SessionStore(":memory:")
        >>> store.get("nope") is None
        True
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._lock = threading.Lock()
        target = str(path)
        if target != ":memory:":
            p = Path(target)
            p.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not p.exists():
                os.close(os.open(p, os.O_CREAT | os.O_WRONLY, 0o600))
        try:
            self._db = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
            self._db.execute(
                "PRAGMA journal_mode=WAL" if target != ":memory:" else "PRAGMA foreign_keys=ON"
            )
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as e:
            raise StorageError("storage_error", f"cannot open the session store: {e}") from e

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                yield self._db
                self._db.execute("COMMIT")
            except BaseException as e:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                if isinstance(e, sqlite3.Error):
                    raise StorageError("storage_error", f"session store: {e}") from e
                raise

    def add(self, s: Session) -> None:
        """Store a new pending session."""
        with self._tx() as db:
            db.execute(
                f"INSERT INTO oid4vp_sessions ({_COLUMNS}) VALUES "  # noqa: S608 (fixed names)
                "(?,?,?,?,?,?,?,?,?,?,?,?,'pending',NULL,NULL,NULL,NULL)",
                (
                    s.session_id,
                    s.request_id,
                    s.state,
                    s.nonce,
                    s.client_id,
                    s.audience,
                    json.dumps(dict(s.dcql)),
                    json.dumps(dict(s.enc_key)),
                    s.response_mode,
                    s.origin,
                    s.created_at,
                    s.expires_at,
                ),
            )

    def _one(self, column: str, value: str) -> Session | None:
        with self._lock:
            try:
                row = self._db.execute(
                    f"SELECT {_COLUMNS} FROM oid4vp_sessions WHERE {column} = ?",  # noqa: S608
                    (value,),
                ).fetchone()
            except sqlite3.Error as e:
                raise StorageError("storage_error", f"session store: {e}") from e
        if row is None:
            return None
        return Session(
            session_id=row[0],
            request_id=row[1],
            state=row[2],
            nonce=row[3],
            client_id=row[4],
            audience=row[5],
            dcql=json.loads(row[6]),
            enc_key=json.loads(row[7]),
            response_mode=row[8],
            origin=row[9],
            created_at=row[10],
            expires_at=row[11],
            status=row[12],
            response_code=row[13],
            result=None if row[14] is None else json.loads(row[14]),
            last_error=row[15],
            completed_at=row[16],
        )

    def get(self, session_id: str) -> Session | None:
        """The session with this (secret) session id."""
        return self._one("session_id", session_id)

    def by_request(self, request_id: str) -> Session | None:
        """The session with this (public) request id."""
        return self._one("request_id", request_id)

    def by_response_code(self, code: str) -> Session | None:
        """The completed session with this response code (same-device redirect)."""
        return self._one("response_code", code)

    def complete(
        self, request_id: str, *, result: Mapping[str, Any], response_code: str, now: float
    ) -> None:
        """Mark a pending, unexpired session done with its result: exactly once.

        Raises:
            PolicyError: ``response_replayed`` when the session is no longer pending,
                ``session_expired`` when it expired.
        """
        with self._tx() as db:
            cur = db.execute(
                "UPDATE oid4vp_sessions SET status = 'done', result = ?, response_code = ?, "
                "completed_at = ?, last_error = NULL "
                "WHERE request_id = ? AND status = 'pending' AND expires_at > ?",
                (json.dumps(dict(result)), response_code, now, request_id, now),
            )
            if cur.rowcount == 1:
                return
            row = db.execute(
                "SELECT status FROM oid4vp_sessions WHERE request_id = ?", (request_id,)
            ).fetchone()
        if row is not None and row[0] == "done":
            raise PolicyError("response_replayed", "this request was already answered")
        raise PolicyError("session_expired", "the request has expired")

    def note_error(self, request_id: str, code: str) -> None:
        """Remember the last refusal's code for the creditor's page (the session stays open)."""
        with self._tx() as db:
            db.execute(
                "UPDATE oid4vp_sessions SET last_error = ? "
                "WHERE request_id = ? AND status = 'pending'",
                (code, request_id),
            )

    def purge(self, *, now: float, keep_done: float = 3600.0) -> int:
        """Delete expired pending sessions and results older than ``keep_done`` seconds."""
        with self._tx() as db:
            cur = db.execute(
                "DELETE FROM oid4vp_sessions WHERE (status = 'pending' AND expires_at <= ?) "
                "OR (status = 'done' AND completed_at <= ?)",
                (now, now - keep_done),
            )
            return int(cur.rowcount)
