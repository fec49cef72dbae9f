"""The issuer's register in PostgreSQL: one register shared by several issuing processes on
several machines (docs/register-postgresql.md).

It implements :class:`~._protocol.IssuerRegister` with the guarantees of the SQLite register
(:mod:`._store`), on the same tables, constraints and append-only triggers
(:mod:`._pg_schema`), and runs the same row operations (:mod:`._rows`) through a small
adapter that speaks their ``?`` placeholders:

* **Nothing committed is lost**: every change is one transaction committed with
  ``synchronous_commit = on`` (set per session, whatever the server's default): the commit
  returns only once its WAL record is flushed.
* **No index is handed out twice, across machines**: every writing transaction first takes
  one transaction-scoped advisory lock (:data:`~._pg_schema.WRITE_LOCK_KEY`), so writers
  queue as SQLite's ``BEGIN IMMEDIATE`` makes them; ``UNIQUE(list_id, idx)`` backs it up.
  A lock not granted within ``busy_timeout`` is ``register_locked``.
* **Group commit** (:meth:`PostgresRegister.reserve_many`, :meth:`confirm_many`): a chunk
  is reserved with a handful of set-based statements (candidate indices drawn uniformly at
  random, the taken ones dropped in one query) and one commit.
* **The register sequence** is the audit trail's identity sequence: it only grows (a
  sequence never goes back, not even after a crash or a rolled-back transaction).
* A dropped connection (server restarted, backend terminated) is ``register_unavailable``;
  the next call opens a new connection. A transaction cut off this way either committed or
  did not; a batch finds its rows by batch row key either way (exactly once).

Example (needs a server)::

    reg = PostgresRegister.open("postgresql:///blauweknop?host=/run/postgresql",
                                status_base_uri="https://ex.nl/status")
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import hmac
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from .._errors import InvalidDataError, PolicyError, StorageError
from .._status import StatusList
from ._bsn import key_check
from ._fence import rolled_back, write_fence_file
from ._pg_schema import WRITE_LOCK_KEY, migrate_pg, pg_errors
from ._protocol import IssuerRegister, reserve_sign_confirm
from ._reconcile import reapply_published
from ._records import (
    CredentialRecord,
    ReconcileReport,
    Reservation,
    ReserveRequest,
    check_text,
)
from ._rows import Cursor, Db, new_list, reserve_row, transition_row
from ._writes import RegisterWriter

if TYPE_CHECKING:
    import psycopg

__all__ = ["PostgresRegister", "is_postgres_url", "redact_url"]

_T = TypeVar("_T")

_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(value: str) -> bool:
    """Whether ``value`` names a PostgreSQL register (``postgresql://...``)."""
    return value.startswith(_SCHEMES)


def redact_url(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        parts = conninfo_to_dict(url)
    except Exception:  # noqa: BLE001 - an unparsable URL is shown as its scheme only
        return url.split("://", 1)[0] + "://..."
    user = f"{parts['user']}@" if parts.get("user") else ""
    host = str(parts.get("host") or "")
    port = f":{parts['port']}" if parts.get("port") else ""
    where = host if not host.startswith("/") else f"[{host}]"
    return f"postgresql://{user}{where}{port}/{parts.get('dbname') or ''}"


@functools.lru_cache(maxsize=1024)
def _pg_sql(sql: str) -> str:
    """The row operations' SQL with psycopg's placeholders (their SQL holds no ``%``)."""
    return sql.replace("%", "%%").replace("?", "%s")


class _PgDb:
    """A psycopg connection that speaks the row operations' dialect (``?`` placeholders)."""

    def __init__(self, owner: PostgresRegister) -> None:
        self._owner = owner

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor:
        conn = self._owner._connection(reconnect=not self._owner._in_tx)
        return conn.execute(_pg_sql(sql), parameters)


class PostgresRegister(RegisterWriter):
    """The issuer's register in PostgreSQL. Open with :meth:`open`; not shared between
    threads (open one per thread or process: the database serialises the writers).

    Errors as the SQLite register's, plus ``StorageError("register_unavailable")`` when the
    server cannot be reached or the connection dropped.
    """

    _sqlite_checks = False

    def __init__(
        self,
        url: str,
        *,
        bsn_key: bytes | None,
        clock: Callable[[], float],
        fence: Path | None,
        busy_timeout: float,
        connect_timeout: float,
    ) -> None:
        self.url = url
        # RegisterReader shows ``path`` in messages only: here the URL without password.
        self.path = cast("Path", redact_url(url))
        self._bsn_key = bsn_key
        self._clock = clock
        self.read_only = False
        self.fence_path = fence
        self._busy_ms = max(1, int(busy_timeout * 1000))
        self._connect_timeout = max(1, int(connect_timeout))
        self._raw: psycopg.Connection[Any] | None = None
        self._in_tx = False
        self._conn = _PgDb(self)

    # -- connection ------------------------------------------------------------------------
    def _connect(self) -> psycopg.Connection[Any]:
        try:
            import psycopg
        except ImportError as e:  # pragma: no cover - the extra is missing
            raise StorageError(
                "register_unavailable",
                "a PostgreSQL register needs psycopg: pip install 'blauweknop[postgres]'",
            ) from e
        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=self._connect_timeout)
        except psycopg.Error as e:
            raise StorageError(
                "register_unavailable",
                f"cannot connect to the register {self.path}: {str(e).strip()}",
            ) from e
        with pg_errors(f"opening register {self.path}"):
            # A commit returns only once durable, whatever the server's default.
            conn.execute("SET synchronous_commit = on")
            conn.execute(f"SET lock_timeout = {self._busy_ms:d}")
            conn.execute("SET idle_in_transaction_session_timeout = 0")
        return conn

    def _connection(self, *, reconnect: bool = True) -> psycopg.Connection[Any]:
        """The open connection; a closed or broken one is replaced (never inside a
        transaction: its work is lost with the old connection and must be redone)."""
        raw = self._raw
        if raw is not None and not raw.closed and not raw.broken:
            return raw
        if not reconnect:
            raise StorageError(
                "register_unavailable", f"the connection to the register {self.path} dropped"
            )
        if raw is not None:
            with contextlib.suppress(Exception):
                raw.close()
        self._raw = None
        self._raw = self._connect()
        return self._raw

    @classmethod
    def open(
        cls,
        url: str,
        *,
        bsn_key: bytes | None = None,
        status_base_uri: str | None = None,
        list_size: int | None = None,
        bits: int | None = None,
        busy_timeout: float = 5.0,
        clock: Callable[[], float] = time.time,
        fence: str | Path | None = None,
        connect_timeout: float = 10.0,
    ) -> PostgresRegister:
        """Connect to the register at ``url`` (``postgresql://user@host/db``; a password
        comes from ``PGPASSWORD`` or ``~/.pgpass``, never from a command line), migrating its
        schema when needed. The other arguments are those of :meth:`Register.open`."""
        if not isinstance(url, str) or not is_postgres_url(url):
            raise InvalidDataError("invalid_data", "a register URL starts with postgresql://")
        reg = cls(
            url,
            bsn_key=bsn_key,
            clock=clock,
            fence=Path(fence) if fence is not None else None,
            busy_timeout=busy_timeout,
            connect_timeout=connect_timeout,
        )
        try:
            conn = reg._connection()
            with pg_errors(f"migrating register {reg.path}"):
                migrate_pg(conn)
            reg._setup(status_base_uri=status_base_uri, list_size=list_size, bits=bits)
        except BaseException:
            reg.close()
            raise
        return reg

    def _setup(
        self, *, status_base_uri: str | None, list_size: int | None, bits: int | None
    ) -> None:
        self._save_settings(status_base_uri=status_base_uri, list_size=list_size, bits=bits)
        if self._bsn_key is not None:
            check = key_check(self._bsn_key)
            if "bsn_key_check" not in self._meta():
                with self._tx("recording the BSN key check", fenced=False) as c:
                    c.execute(
                        "INSERT INTO register_meta (key, value) VALUES ('bsn_key_check', ?) "
                        "ON CONFLICT (key) DO NOTHING",
                        (check,),
                    )
            if not hmac.compare_digest(self._meta().get("bsn_key_check", ""), check):
                raise StorageError(
                    "bsn_key_mismatch",
                    "this BSN key is not the one the register was created with (every "
                    "issuing machine of one register needs the same register.secret)",
                )

    def _meta(self) -> dict[str, str]:
        with pg_errors("reading register settings"):
            return dict(self._conn.execute("SELECT key, value FROM register_meta").fetchall())

    # -- transactions ----------------------------------------------------------------------
    def _errors(self, what: str) -> contextlib.AbstractContextManager[None]:
        return pg_errors(what)

    @contextlib.contextmanager
    def _read(self, what: str) -> Iterator[Db]:
        with pg_errors(what):
            conn = self._connection()
            self._in_tx = True
            try:
                with conn.transaction():
                    conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    yield self._conn
            finally:
                self._in_tx = False

    @contextlib.contextmanager
    def _tx(self, what: str, *, fenced: bool = True) -> Iterator[Db]:
        """One write transaction under the register's write lock (every machine queues on
        it); with a fence, a rolled-back register is refused inside the transaction and the
        fence advances after the commit."""
        with pg_errors(what):
            conn = self._connection()
            self._in_tx = True
            try:
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
                    if fenced:
                        fence = self.read_fence()
                        if fence is not None:
                            seq = self._seq(conn)
                            if seq < fence:
                                raise rolled_back(self.path, seq, fence, what)
                    yield self._conn
            finally:
                self._in_tx = False
        if fenced:
            self.advance_fence()

    # -- sequence and fence ----------------------------------------------------------------
    @staticmethod
    def _seq(conn: psycopg.Connection[Any]) -> int:
        row = conn.execute("SELECT last_value, is_called FROM audit_seq_seq").fetchone()
        return int(row[0]) if row and row[1] else 0

    @property
    def register_seq(self) -> int:
        """The register's sequence: the audit trail's identity sequence (it only grows)."""
        with pg_errors("reading the register sequence"):
            return self._seq(self._connection(reconnect=not self._in_tx))

    @property
    def schema_version(self) -> int:
        """``register_schema.version`` of the database."""
        with pg_errors("reading the schema version"):
            row = self._conn.execute("SELECT version FROM register_schema").fetchone()
        return int(row[0]) if row else 0

    def check_fence(self, *, at_least: int = 0) -> None:
        """Refuse (``register_rolled_back``) when the register is older than its fence or
        than ``at_least``."""
        seq = self.register_seq
        fence = max(self.read_fence() or 0, at_least)
        if seq < fence:
            raise rolled_back(self.path, seq, fence, "checking the register")

    def advance_fence(self) -> None:
        """Write the current sequence to this machine's fence file when it is ahead of it.
        Called after each commit returned (durable: ``synchronous_commit = on``); not synced
        itself, as a fence that lags is safe (see ``_fence.py``)."""
        if self.fence_path is None:
            return
        seq = self.register_seq
        current = self.read_fence()
        if current is not None and current >= seq:
            return
        write_fence_file(self.fence_path, seq, "postgresql register", durable=current is None)

    # -- issuance --------------------------------------------------------------------------
    def reserve_many(
        self, requests: Sequence[ReserveRequest], *, actor: str = "issuer"
    ) -> builtins.list[Reservation | PolicyError]:
        """Group commit of phase 1 (see :meth:`Register.reserve_many`), set-based: a few
        statements and one commit per chunk, whatever its size."""
        who = str(check_text(actor, "actor"))
        checked = [self._checked_request(r) for r in requests]
        now = int(self._clock())
        if not checked:
            return []
        cids = [c[0] for c in checked]
        brks = [c[3] for c in checked if c[3] is not None]
        with self._tx(f"reserving {len(checked)} status-list indices") as c:
            if len(set(cids)) < len(cids) or len(set(brks)) < len(brks):
                # repeated ids in one chunk: row by row, as single calls would go
                out: builtins.list[Reservation | PolicyError] = []
                for cid, fields, validity, brk in checked:
                    try:
                        out.append(
                            reserve_row(
                                c, cid, fields, validity, brk, now, who=who, resume_pending=False
                            )
                        )
                    except PolicyError as e:
                        out.append(e)
                return out
            return self._reserve_set(checked, now, who)

    def _reserve_set(
        self,
        checked: builtins.list[
            tuple[
                str,
                tuple[str, str, str | None, str | None],
                tuple[int | None, int | None],
                str | None,
            ]
        ],
        now: int,
        who: str,
    ) -> builtins.list[Reservation | PolicyError]:
        conn = self._connection(reconnect=False)
        join = (
            "SELECT c.{key}, c.credential_id, c.status_list_id, l.uri, c.status_idx, l.bits, "
            "c.state FROM credentials c JOIN status_lists l ON l.id = c.status_list_id "
            "WHERE c.{key} = ANY(%s)"
        )
        brks = [c[3] for c in checked if c[3] is not None]
        by_brk = {
            r[0]: r[1:] for r in conn.execute(join.format(key="batch_row_key"), (brks,)).fetchall()
        }
        by_cid = {
            r[0]
            for r in conn.execute(
                "SELECT credential_id FROM credentials WHERE credential_id = ANY(%s)",
                ([c[0] for c in checked],),
            ).fetchall()
        }
        out: builtins.list[Reservation | PolicyError | None] = [None] * len(checked)
        fresh: builtins.list[int] = []
        for k, (cid, _fields, _validity, brk) in enumerate(checked):
            if brk is not None and brk in by_brk:
                r = by_brk[brk]
                out[k] = Reservation(
                    credential_id=r[0],
                    list_id=r[1],
                    list_uri=r[2],
                    idx=r[3],
                    bits=r[4],
                    state=r[5],
                    resumed=True,
                )
            elif cid in by_cid:
                out[k] = PolicyError(
                    "credential_exists", f"credential {cid!r} is already registered"
                )
            else:
                fresh.append(k)
        slots = self._allocate_many([checked[k][0] for k in fresh], now)
        if not fresh:
            return [o for o in out if o is not None]
        # One statement per table for the whole chunk (unnest of arrays): the server parses,
        # plans and checks once, not once per row.
        cols = list(zip(*[(*checked[k][1], *checked[k][2]) for k in fresh], strict=True))
        conn.execute(
            "INSERT INTO credentials (credential_id, type, format, holder_thumbprint, "
            "bsn_hash, status_list_id, status_idx, valid_from, valid_until, state, "
            "issued_at, updated_at, batch_row_key) "
            "SELECT c, t, f, h, b, l, i, vf, vu, 'pending', %s, %s, k FROM unnest("
            "%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::int[], "
            "%s::int[], %s::bigint[], %s::bigint[], %s::text[]) "
            "AS x(c, t, f, h, b, l, i, vf, vu, k)",
            (
                now,
                now,
                [checked[k][0] for k in fresh],
                *(list(col) for col in cols[:4]),
                [s[0] for s in slots],
                [s[3] for s in slots],
                *(list(col) for col in cols[4:6]),
                [checked[k][3] for k in fresh],
            ),
        )
        _audit_rows(
            conn, [checked[k][0] for k in fresh], now, who, "index reserved for issuance", None,
            "pending",
        )  # fmt: skip
        for k, s in zip(fresh, slots, strict=True):
            out[k] = Reservation(
                credential_id=checked[k][0],
                list_id=s[0],
                list_uri=s[1],
                idx=s[3],
                bits=s[2],
                state="pending",
                resumed=False,
            )
        return [o for o in out if o is not None]

    def _allocate_many(
        self, cids: builtins.list[str], now: int
    ) -> builtins.list[tuple[int, str, int, int]]:
        """Burn ``len(cids)`` random free indices (filling the newest list, then new ones),
        each uniformly random over the free indices of its list; ``(list id, uri, bits,
        index)`` per credential, in order."""
        conn = self._connection(reconnect=False)
        out: builtins.list[tuple[int, str, int, int]] = []
        while len(out) < len(cids):
            row = conn.execute(
                "SELECT id, uri, bits, size, allocated FROM status_lists ORDER BY id DESC LIMIT 1"
            ).fetchone()
            closed = conn.execute(
                "SELECT value FROM register_meta WHERE key = 'closed_through_list'"
            ).fetchone()
            if row is None or row[4] >= row[3] or (closed and row[0] <= int(closed[0])):
                row = new_list(self._conn, (row[0] if row else 0) + 1, now)
            list_id, uri, bits, size, allocated = row
            take = min(len(cids) - len(out), size - allocated)
            picks = self._draw(list_id, size, allocated, take)
            part = cids[len(out) : len(out) + take]
            conn.execute(
                "INSERT INTO allocations (list_id, idx, credential_id, allocated_at) "
                "SELECT %s, i, c, %s FROM unnest(%s::int[], %s::text[]) AS x(i, c)",
                (list_id, now, picks, part),
            )
            conn.execute(
                "UPDATE status_lists SET allocated = allocated + %s WHERE id = %s",
                (take, list_id),
            )
            out.extend((list_id, uri, bits, idx) for idx in picks)
        return out

    def _draw(self, list_id: int, size: int, allocated: int, take: int) -> builtins.list[int]:
        """``take`` distinct free indices of a list, in random order, each uniform over the
        free ones: candidates drawn at random and the taken ones dropped in one query
        (rejection sampling); a nearly full list draws from its free indices (one read)."""
        conn = self._connection(reconnect=False)
        free = size - allocated
        if free < 4 * take or free < size // 4:
            used = {
                r[0]
                for r in conn.execute(
                    "SELECT idx FROM allocations WHERE list_id = %s", (list_id,)
                ).fetchall()
            }
            # the free indices once, then uniform draws without replacement (swap-remove):
            # one read per chunk, no walk over the used ones per draw
            pool = [i for i in range(size) if i not in used]
            picks: builtins.list[int] = []
            for _ in range(take):
                j = secrets.randbelow(len(pool))
                picks.append(pool[j])
                pool[j] = pool[-1]
                pool.pop()
            return picks
        chosen: dict[int, None] = {}
        while len(chosen) < take:
            want = take - len(chosen)
            candidates = list(
                dict.fromkeys(
                    c
                    for c in (secrets.randbelow(size) for _ in range(want * 2 + 8))
                    if c not in chosen
                )
            )
            taken = {
                r[0]
                for r in conn.execute(
                    "SELECT idx FROM allocations WHERE list_id = %s AND idx = ANY(%s)",
                    (list_id, candidates),
                ).fetchall()
            }
            for cnd in candidates:
                if cnd not in taken and len(chosen) < take:
                    chosen[cnd] = None
        return list(chosen)

    def reserve_confirmed(
        self,
        request: ReserveRequest,
        sign: Callable[[Reservation, int | None], _T],
        *,
        actor: str = "issuer",
    ) -> tuple[Reservation, _T]:
        """:meth:`reserve`, ``sign``, :meth:`confirm`: two transactions here, not one.

        Signing inside one transaction would hold the register's write lock (an advisory
        lock every issuing *machine* queues on) while a possibly slow signer (an HSM) works,
        so machines would sign one at a time. The two durable commits keep signing in
        parallel; the guarantees are those of the two-step path (the index stays burned
        when signing fails)."""
        return reserve_sign_confirm(self, request, sign, actor=actor)

    def confirm_many(
        self, credential_ids: Sequence[str], *, actor: str = "issuer"
    ) -> builtins.list[PolicyError | None]:
        """Group commit of phase 2 (see :meth:`Register.confirm_many`), set-based."""
        who = str(check_text(actor, "actor"))
        cids = [str(check_text(cid, "credential_id")) for cid in credential_ids]
        now = int(self._clock())
        if not cids:
            return []
        with self._tx(f"confirming {len(cids)} credentials"):
            conn = self._connection(reconnect=False)
            states = dict(
                conn.execute(
                    "SELECT credential_id, state FROM credentials WHERE credential_id = ANY(%s)",
                    (cids,),
                ).fetchall()
            )
            pending = [cid for cid in dict.fromkeys(cids) if states.get(cid) == "pending"]
            if pending:
                conn.execute(
                    "UPDATE credentials SET state = 'valid', updated_at = %s "
                    "WHERE credential_id = ANY(%s)",
                    (now, pending),
                )
                _audit_rows(conn, pending, now, who, "issued", "pending", "valid")
        out: builtins.list[PolicyError | None] = []
        for cid in cids:
            state = states.get(cid)
            if state is None:
                out.append(
                    PolicyError("credential_unknown", f"no credential {cid!r} in the register")
                )
            elif state in ("pending", "valid"):
                out.append(None)
            else:
                out.append(
                    PolicyError(
                        "illegal_transition", f"cannot confirm credential {cid!r}: it is {state}"
                    )
                )
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
        cid = str(check_text(credential_id, "credential_id"))
        why = str(check_text(reason, "reason"))
        who = str(check_text(actor, "actor"))
        now = int(self._clock())
        with self._tx(f"{verb} {cid}") as c:
            transition_row(
                c, cid, to_state, allowed_from, who, why, now, verb=verb, idempotent=idempotent
            )
        return self.get(cid)

    # -- recovery --------------------------------------------------------------------------
    def reconcile(
        self,
        published: Sequence[tuple[str, StatusList, int]] = (),
        *,
        actor: str = "operator",
        reason: str = "reconciled after restoring the register",
        force: bool = False,
    ) -> ReconcileReport:
        """Bring a restored (older) register back into service (see
        :meth:`Register.reconcile`)."""
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
            done = reapply_published(
                c, published, floor, who=who, why=why, now=now, raise_seq=_pg_raise_seq
            )
        seq = self.register_seq
        if self.fence_path is not None:
            write_fence_file(self.fence_path, seq, "postgresql register")
        return ReconcileReport(
            needed=True,
            revoked=tuple(done.revoked),
            suspended=tuple(done.suspended),
            placeholders=tuple(done.placeholders),
            closed_lists=done.closed,
            register_seq=seq,
        )

    def backup(self, dest: Any) -> Path:
        """Not offered for PostgreSQL: back the database up with ``pg_dump`` or a base backup
        with WAL archiving (docs/register-postgresql.md)."""
        raise StorageError(
            "storage_error",
            "a PostgreSQL register is backed up with pg_dump or pg_basebackup, not here",
        )

    def close(self) -> None:
        """Close the connection (idempotent)."""
        raw, self._raw = self._raw, None
        if raw is not None:
            with contextlib.suppress(Exception):
                raw.close()

    def __enter__(self) -> PostgresRegister:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PostgresRegister({self.path!r})"


def _audit_rows(
    conn: psycopg.Connection[Any],
    cids: builtins.list[str],
    now: int,
    who: str,
    why: str,
    from_state: str | None,
    to_state: str,
) -> None:
    """One audit row per credential, in the order given, with one statement."""
    conn.execute(
        "INSERT INTO audit (credential_id, at, actor, reason, from_state, to_state) "
        "SELECT c, %s, %s, %s, %s, %s FROM unnest(%s::text[]) WITH ORDINALITY AS x(c, n) "
        "ORDER BY n",
        (now, who, why, from_state, to_state, cids),
    )


def _pg_raise_seq(c: Db, at_least: int) -> None:
    """Move the register sequence (the audit identity) up to ``at_least`` when below."""
    c.execute(
        "SELECT setval(pg_get_serial_sequence('audit', 'seq'), ?, true) "
        "WHERE (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM audit_seq_seq) < ?",
        (at_least, at_least),
    )


def _conforms(register: PostgresRegister) -> IssuerRegister:
    return register  # mypy checks here that the PostgreSQL register implements the seam
