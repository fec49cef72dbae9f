"""The issuer's SQLite register: opening and migrating the file, write transactions, index
allocation, state transitions with their audit rows, and the rollback fence.

It implements :class:`~._protocol.IssuerRegister`, the seam a second backend (PostgreSQL)
implements too; the reads are in :mod:`._reads`, the SQL row operations in :mod:`._rows`.
"""

from __future__ import annotations

import builtins
import contextlib
import hmac
import os
import sqlite3
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from .._errors import PolicyError, StorageError
from .._status import StatusList
from ._bsn import key_check
from ._fence import rolled_back, write_fence_file
from ._protocol import IssuerRegister
from ._reconcile import reapply_published
from ._records import (
    CredentialRecord,
    ReconcileReport,
    Reservation,
    ReserveRequest,
    check_text,
)
from ._rows import audit_seq, confirm_row, reserve_row, transition_row
from ._schema import SCHEMA_VERSION, migrate, sqlite_errors, wrap_sqlite
from ._writes import RegisterWriter

__all__ = ["Register"]


class Register(RegisterWriter):
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
        with sqlite_errors(f"opening register {p}"):
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
        with sqlite_errors(f"opening register {self.path}"):
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
                migrate(c)
        if self.read_only:
            self._check_bsn_key(write=False)
            return
        self._save_settings(status_base_uri=status_base_uri, list_size=list_size, bits=bits)
        self._check_bsn_key(write=True)

    def _meta(self) -> dict[str, str]:
        with sqlite_errors("reading register settings"):
            return dict(self._conn.execute("SELECT key, value FROM register_meta").fetchall())

    def _check_bsn_key(self, *, write: bool) -> None:
        if self._bsn_key is None:
            return
        check = key_check(self._bsn_key)
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
            raise wrap_sqlite(e, what) from e
        seen: int | None = None
        try:
            if fenced:
                seen = self._check_fence(c, what)
            yield c
            # The sequence this commit leaves, read under the write lock (for the fence).
            seq = audit_seq(c) if fenced and self.fence_path is not None else 0
            c.execute("COMMIT")  # synchronous=FULL: the one fsync (of the WAL) per change
        except sqlite3.Error as e:
            with contextlib.suppress(sqlite3.Error):
                if c.in_transaction:
                    c.execute("ROLLBACK")
            raise wrap_sqlite(e, what) from e
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                if c.in_transaction:
                    c.execute("ROLLBACK")
            raise
        if fenced and self.fence_path is not None and (seen is None or seen < seq):
            # After the durable commit, never before: the fence may lag the register (safe),
            # never lead it. Not synced (see _fence.py): no fsync of its own.
            write_fence_file(self.fence_path, seq, self.path.name, durable=seen is None)

    # -- rollback fence ---------------------------------------------------------------------
    def _check_fence(self, c: sqlite3.Connection, what: str) -> int | None:
        """Refuse a register behind its fence; returns the fence read (``None``: none)."""
        fence = self.read_fence()
        if fence is None:
            return None
        seq = audit_seq(c)
        if seq < fence:
            raise rolled_back(self.path, seq, fence, what)
        return fence

    def check_fence(self, *, at_least: int = 0) -> None:
        """Refuse (``register_rolled_back``) when the register is older than its fence or than
        ``at_least`` (e.g. the sequence in a published list)."""
        with self._read("checking the register fence") as c:
            seq = audit_seq(c)
        fence = max(self.read_fence() or 0, at_least)
        if seq < fence:
            raise rolled_back(self.path, seq, fence, "checking the register")

    def advance_fence(self) -> None:
        """Write the current sequence to the fence file when it is ahead of it (each write
        transaction does this itself after its commit, without a sync: see ``_fence.py``); a
        crash before it leaves the fence behind the register, which is safe (only a fence
        *ahead* of the register refuses)."""
        if self.fence_path is None:
            return
        seq = self.register_seq
        current = self.read_fence()
        if current is not None and current >= seq:
            return
        write_fence_file(self.fence_path, seq, self.path.name, durable=current is None)

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
        who = check_text(actor, "actor")
        why = check_text(reason, "reason")
        now = int(self._clock())
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
            done = reapply_published(c, published, floor, who=who, why=why, now=now)
            seq = audit_seq(c)
        if self.fence_path is not None:
            write_fence_file(self.fence_path, seq, self.path.name)
        return ReconcileReport(
            needed=True,
            revoked=tuple(done.revoked),
            suspended=tuple(done.suspended),
            placeholders=tuple(done.placeholders),
            closed_lists=done.closed,
            register_seq=seq,
        )

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

    def reserve_many(
        self, requests: Sequence[ReserveRequest], *, actor: str = "issuer"
    ) -> builtins.list[Reservation | PolicyError]:
        """Group commit of phase 1: :meth:`reserve` for every request (with
        ``resume_pending=False``), in ONE transaction and one durable commit.

        Returns one outcome per request, in order: its :class:`Reservation`, or the
        ``PolicyError`` (``credential_exists``) that refused that row alone (nothing was
        written for it). Bad input (:class:`InvalidDataError`) refuses the whole call before
        anything is written; a storage error rolls the whole chunk back.
        """
        who = str(check_text(actor, "actor"))
        checked = [self._checked_request(r) for r in requests]
        now = int(self._clock())
        out: builtins.list[Reservation | PolicyError] = []
        if not checked:
            return out
        with self._tx(f"reserving {len(checked)} status-list indices") as c:
            for cid, fields, validity, brk in checked:
                try:
                    out.append(
                        reserve_row(
                            c,
                            cid,
                            fields,
                            validity,
                            brk,
                            now,
                            who=who,
                            resume_pending=False,
                        )
                    )
                except PolicyError as e:
                    out.append(e)
        return out

    def confirm_many(
        self, credential_ids: Sequence[str], *, actor: str = "issuer"
    ) -> builtins.list[PolicyError | None]:
        """Group commit of phase 2: :meth:`confirm` for every credential, in ONE transaction
        and one durable commit. Returns ``None`` per confirmed (or already valid) credential,
        or the ``PolicyError`` that refused it alone (``credential_unknown``,
        ``illegal_transition``)."""
        who = str(check_text(actor, "actor"))
        cids = [str(check_text(cid, "credential_id")) for cid in credential_ids]
        now = int(self._clock())
        out: builtins.list[PolicyError | None] = []
        if not cids:
            return out
        with self._tx(f"confirming {len(cids)} credentials") as c:
            for cid in cids:
                try:
                    confirm_row(c, cid, who, now)
                    out.append(None)
                except PolicyError as e:
                    out.append(e)
        return out

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
        cid = check_text(credential_id, "credential_id")
        why = check_text(reason, "reason")
        who = check_text(actor, "actor")
        now = int(self._clock())
        with self._tx(f"{verb} {cid}") as c:
            transition_row(
                c,
                cid,  # type: ignore[arg-type]  # check_text checked it
                to_state,
                allowed_from,
                who,  # type: ignore[arg-type]  # checked too
                why,  # type: ignore[arg-type]  # checked too
                now,
                verb=verb,
                idempotent=idempotent,
            )
        return self.get(cid)  # type: ignore[arg-type]  # _text checked it

    # -- queries ------------------------------------------------------------------------------


def _conforms(register: Register) -> IssuerRegister:
    return register  # mypy checks here that the SQLite register implements the seam
