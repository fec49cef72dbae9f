"""The read side of the SQLite register: queries, the self-check and the online backup.

:class:`~._store.Register` adds the writes (issuance, transitions, fence, reconcile) on top.
Every read runs in one consistent snapshot.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .._errors import InvalidDataError, PolicyError, StorageError
from .._status import StatusList, StatusType
from ._bsn import bsn_hash
from ._fence import read_fence_file
from ._integrity import collect_problems
from ._publish import ietf_list
from ._records import (
    PUBLISHED_STATUS,
    STATES,
    AuditEntry,
    CredentialRecord,
    IntegrityReport,
    StatusListInfo,
    from_row,
)
from ._rows import CRED_SELECT, Db, audit_seq, record
from ._schema import sqlite_errors

__all__ = ["RegisterReader"]

#: Ids per ``IN (...)`` query (SQLite allows 32,766 parameters; stay well below).
_IN_CHUNK = 500


class RegisterReader:
    """Queries of an open SQLite register (see :class:`~._store.Register`)."""

    _conn: Any  # sqlite3.Connection, or the PostgreSQL adapter (a Db)
    _bsn_key: bytes | None
    path: Path
    read_only: bool
    fence_path: Path | None

    @property
    def register_seq(self) -> int:
        """The register's sequence: it grows with every change (reservation, transition,
        reconciliation) and never goes down, so an older copy has a smaller one."""
        with self._errors("reading the register sequence"):
            return audit_seq(self._conn)

    def read_fence(self) -> int | None:
        """The sequence recorded in the fence file (``None``: no fence, or none written yet).

        Raises ``StorageError("register_fence_unreadable")`` for a damaged fence file: a
        damaged fence is never taken as "no fence".
        """
        return None if self.fence_path is None else read_fence_file(self.fence_path)

    #: Whether the engine's own checks (``PRAGMA integrity_check``...) apply.
    _sqlite_checks = True

    def _errors(self, what: str) -> contextlib.AbstractContextManager[None]:
        """Raise the engine's errors inside the block as :class:`StorageError`."""
        return sqlite_errors(what)

    @contextlib.contextmanager
    def _read(self, what: str) -> Iterator[Db]:
        """A read transaction: one consistent snapshot across several queries."""
        c = self._conn
        with self._errors(what):
            c.execute("BEGIN")
            try:
                yield c
            finally:
                if c.in_transaction:
                    c.execute("ROLLBACK")

    @property
    def schema_version(self) -> int:
        """``PRAGMA user_version`` of the open file."""
        with self._errors("reading the schema version"):
            return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def bsn_hash(self, bsn: str) -> str:
        """HMAC-SHA256 (hex) of a BSN under the register's key; the BSN itself is never stored.

        Accepts 8 or 9 digits (an 8-digit BSN is read with a leading zero).
        """
        return bsn_hash(self._bsn_key, bsn)

    def get(self, credential_id: str) -> CredentialRecord:
        """The record of ``credential_id``; ``PolicyError("credential_unknown")`` if none."""
        with self._errors("reading the register"):
            row = self._conn.execute(
                CRED_SELECT + " WHERE c.credential_id = ?", (credential_id,)
            ).fetchone()
        if row is None:
            raise PolicyError(
                "credential_unknown", f"no credential {credential_id!r} in the register"
            )
        return record(row)

    def get_many(self, credential_ids: Sequence[str]) -> dict[str, CredentialRecord]:
        """The records of those ``credential_ids`` that exist (unknown ids are left out), read
        in one consistent snapshot: a batch looks a chunk up in one go."""
        ids = list(dict.fromkeys(credential_ids))
        out: dict[str, CredentialRecord] = {}
        with self._read("reading the register") as c:
            for i in range(0, len(ids), _IN_CHUNK):
                part = ids[i : i + _IN_CHUNK]
                marks = ", ".join("?" * len(part))
                for row in c.execute(CRED_SELECT + f" WHERE c.credential_id IN ({marks})", part):
                    out[row[0]] = record(row)
        return out

    def find_by_bsn(self, bsn: str) -> builtins.list[CredentialRecord]:
        """Credentials registered for a BSN (looked up by its keyed hash)."""
        h = self.bsn_hash(bsn)
        with self._errors("reading the register"):
            rows = self._conn.execute(
                CRED_SELECT + " WHERE c.bsn_hash = ? ORDER BY c.issued_at, c.credential_id", (h,)
            ).fetchall()
        return [record(r) for r in rows]

    def audit(self, credential_id: str | None = None) -> builtins.list[AuditEntry]:
        """Audit rows in order, for one credential or all."""
        sql = "SELECT seq, credential_id, at, actor, reason, from_state, to_state FROM audit"
        args: tuple[Any, ...] = ()
        if credential_id is not None:
            sql += " WHERE credential_id = ?"
            args = (credential_id,)
        with self._errors("reading the audit trail"):
            rows = self._conn.execute(sql + " ORDER BY seq", args).fetchall()
        return [from_row(AuditEntry, r) for r in rows]

    def lists(self) -> builtins.list[StatusListInfo]:
        """All status lists, oldest first."""
        with self._errors("reading the register"):
            rows = self._conn.execute(
                "SELECT id, uri, bits, size, purpose, allocated, created_at FROM status_lists "
                "ORDER BY id"
            ).fetchall()
        return [from_row(StatusListInfo, r) for r in rows]

    def status_entries(self, list_id: int) -> dict[int, StatusType]:
        """The published status of every index of ``list_id`` that is not VALID: revoked →
        INVALID (1), suspended → SUSPENDED (2); ``pending`` and ``valid`` publish VALID and are
        left out (IETF section "Status Types Values"). One consistent snapshot."""
        with self._read("building a status list") as c:
            if not c.execute("SELECT 1 FROM status_lists WHERE id = ?", (list_id,)).fetchone():
                raise PolicyError("status_list_unknown", f"no status list {list_id!r}")
            return {
                idx: PUBLISHED_STATUS[state]
                for idx, state in c.execute(
                    "SELECT status_idx, state FROM credentials "
                    "WHERE status_list_id = ? AND state IN ('revoked', 'suspended')",
                    (list_id,),
                )
            }

    def status_list_bits(self, list_id: int) -> StatusList:
        """The IETF status list of ``list_id`` as it is now (see :meth:`status_entries`)."""
        entries = self.status_entries(list_id)  # status_list_unknown for an unknown list
        info = next(i for i in self.lists() if i.id == list_id)  # lists are never deleted
        return ietf_list(info, entries)

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
        sql = CRED_SELECT + (" WHERE " + " AND ".join(where) if where else "")
        with self._errors("reading the register"):
            rows = self._conn.execute(
                sql + " ORDER BY c.issued_at, c.credential_id", args
            ).fetchall()
        return [record(r) for r in rows]

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
            with self._read("checking the register") as c:
                problems, counts = collect_problems(c, sqlite=self._sqlite_checks)
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
        with self._errors(f"backing up the register to {d}"):
            target = sqlite3.connect(d, isolation_level=None)
            try:
                self._conn.backup(target)
                target.execute("PRAGMA journal_mode = WAL")
            finally:
                target.close()
        return d
