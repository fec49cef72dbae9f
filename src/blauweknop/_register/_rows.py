"""The register's row operations, shared by issuance, transitions and reconciliation, and by
both backends: index allocation, status lists, credential rows, audit rows.

Every function runs inside the caller's write transaction, which holds the register's write
lock (SQLite ``BEGIN IMMEDIATE``, :meth:`Register._tx`; PostgreSQL a transaction-scoped
advisory lock, :meth:`PostgresRegister._tx`), so two issuers never read the same free index.
The SQL is the common subset of both dialects with ``?`` placeholders; the PostgreSQL backend
hands in a connection adapter that speaks it (:class:`Db`). The register sequence differs
per backend (:func:`audit_seq` is SQLite's).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from .._errors import PolicyError
from ._records import (
    DEFAULT_BITS,
    DEFAULT_LIST_SIZE,
    CredentialRecord,
    Reservation,
    from_row,
)

__all__ = [
    "CRED_SELECT",
    "Db",
    "allocate",
    "audit_seq",
    "audit_step",
    "insert_credential",
    "is_allocated",
    "kth_free",
    "new_list",
    "record",
    "record_allocation",
    "reserve_row",
    "set_state",
    "transition_row",
]


class Cursor(Protocol):
    """The part of a DB-API cursor the row operations use."""

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Db(Protocol):
    """A connection inside a write transaction: ``execute`` with ``?`` placeholders."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor: ...


CRED_SELECT = """
    SELECT c.credential_id, c.type, c.format, c.holder_thumbprint, c.bsn_hash,
           c.status_list_id, l.uri, c.status_idx, c.valid_from, c.valid_until, c.state,
           c.issued_at, c.updated_at, c.batch_row_key
    FROM credentials c JOIN status_lists l ON l.id = c.status_list_id
"""


def record(row: Sequence[Any]) -> CredentialRecord:
    """A :class:`CredentialRecord` from a row of :data:`CRED_SELECT`."""
    return from_row(CredentialRecord, row)


def audit_seq(c: Db) -> int:
    """The register's sequence: the audit trail's ``AUTOINCREMENT`` counter."""
    row = c.execute("SELECT seq FROM sqlite_sequence WHERE name = 'audit'").fetchone()
    return int(row[0]) if row else 0


def kth_free(used_sorted: Sequence[int], k: int) -> int:
    """The ``k``-th (0-based) index not in ``used_sorted`` (ascending, distinct).

    >>> kth_free([0, 1, 3], 1)
    4
    """
    idx = k
    for u in used_sorted:
        if u <= idx:
            idx += 1
        else:
            break
    return idx


def allocate(c: Db, cid: str | None, now: int) -> tuple[int, str, int, int]:
    """Pick a uniformly random free index of the newest list (a new list when it is full or
    closed) and record it for ``cid``; returns ``(list id, list uri, bits, index)``."""
    row = c.execute(
        "SELECT id, uri, bits, size, allocated FROM status_lists ORDER BY id DESC LIMIT 1"
    ).fetchone()
    closed = c.execute(
        "SELECT value FROM register_meta WHERE key = 'closed_through_list'"
    ).fetchone()
    if row is None or row[4] >= row[3] or (closed and row[0] <= int(closed[0])):
        # A list closed by reconcile() may hold indices handed out after a backup.
        row = new_list(c, (row[0] if row else 0) + 1, now)
    list_id, uri, bits, size, allocated = row
    key = (id(c), uri)
    idx = _draw_kept(c, key, list_id, allocated)
    if idx is None:
        # Rejection sampling is uniform over the free indices; after a few misses (a nearly
        # full list) draw from the list's free indices, read once and kept for this
        # connection while nobody else allocates (uniform too).
        for _ in range(16):
            candidate = secrets.randbelow(size)
            if not is_allocated(c, list_id, candidate):
                idx = candidate
                break
        else:
            idx = _draw_free(c, key, list_id, size, allocated)
    record_allocation(c, list_id, idx, cid, now)
    return list_id, uri, bits, idx


#: (connection id, list URI) -> (the list's ``allocated`` count when kept, its free
#: indices). Only used while the count in the database still equals the kept one: any
#: allocation made elsewhere (another process, the rejection sampling above, a rolled-back
#: transaction) changes the count, and the free indices are read again. Every drawn index is
#: still checked against the allocations table, so a stale entry can never hand out an index
#: twice. Bounded: a few nearly full lists at a time.
_KEPT_FREE: dict[tuple[int, str], tuple[int, list[int]]] = {}
_KEPT_MAX = 8


def _take(key: tuple[int, str], allocated: int) -> int:
    """A uniformly random index out of the kept free indices (swap-remove), counted."""
    free = _KEPT_FREE[key][1]
    j = secrets.randbelow(len(free))
    idx = free[j]
    free[j] = free[-1]
    free.pop()
    _KEPT_FREE[key] = (allocated + 1, free)
    return idx


def _draw_kept(c: Db, key: tuple[int, str], list_id: int, allocated: int) -> int | None:
    """An index from the kept free indices of the list when they are still current."""
    hit = _KEPT_FREE.get(key)
    if hit is None or hit[0] != allocated or not hit[1]:
        _KEPT_FREE.pop(key, None)
        return None
    idx = _take(key, allocated)
    if is_allocated(c, list_id, idx):  # cannot happen while the count matches; never trust
        _KEPT_FREE.pop(key, None)
        return None
    return idx


def _draw_free(c: Db, key: tuple[int, str], list_id: int, size: int, allocated: int) -> int:
    """Read the free indices of the list once, keep them, and draw one of them."""
    used = {r[0] for r in c.execute("SELECT idx FROM allocations WHERE list_id = ?", (list_id,))}
    if len(_KEPT_FREE) >= _KEPT_MAX:
        _KEPT_FREE.clear()
    _KEPT_FREE[key] = (allocated, [i for i in range(size) if i not in used])
    return _take(key, allocated)


def is_allocated(c: Db, list_id: int, idx: int) -> bool:
    """Whether index ``idx`` of list ``list_id`` was ever handed out (allocations are kept)."""
    return bool(
        c.execute(
            "SELECT 1 FROM allocations WHERE list_id = ? AND idx = ?", (list_id, idx)
        ).fetchone()
    )


def record_allocation(c: Db, list_id: int, idx: int, cid: str | None, now: int) -> None:
    """Burn index ``idx`` of list ``list_id`` for ``cid`` and count it."""
    c.execute(
        "INSERT INTO allocations (list_id, idx, credential_id, allocated_at) VALUES (?, ?, ?, ?)",
        (list_id, idx, cid, now),
    )
    c.execute("UPDATE status_lists SET allocated = allocated + 1 WHERE id = ?", (list_id,))


def new_list(c: Db, list_id: int, now: int) -> tuple[Any, ...]:
    """Create status list ``list_id`` in the shape the register's settings give; returns
    ``(id, uri, bits, size, allocated)``."""
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


def insert_credential(
    c: Db,
    cid: str,
    fields: tuple[str, str, str | None, str | None],
    list_id: int,
    idx: int,
    validity: tuple[int | None, int | None],
    batch_row_key: str | None,
    now: int,
    *,
    who: str | None,
    why: str | None,
) -> None:
    """Insert credential ``cid`` as ``pending`` at ``(list_id, idx)`` with its first audit row.

    ``fields`` is ``(type, format, holder thumbprint, BSN hash)``, ``validity`` is
    ``(valid_from, valid_until)``.
    """
    c.execute(
        "INSERT INTO credentials (credential_id, type, format, holder_thumbprint, "
        "bsn_hash, status_list_id, status_idx, valid_from, valid_until, state, "
        "issued_at, updated_at, batch_row_key) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
        (cid, *fields, list_id, idx, *validity, now, now, batch_row_key),
    )
    audit_step(c, cid, None, "pending", who, why, now)


def set_state(
    c: Db,
    cid: str,
    from_state: str,
    to_state: str,
    who: str | None,
    why: str | None,
    now: int,
) -> None:
    """Move credential ``cid`` from ``from_state`` to ``to_state`` with its audit row."""
    c.execute(
        "UPDATE credentials SET state = ?, updated_at = ? WHERE credential_id = ?",
        (to_state, now, cid),
    )
    audit_step(c, cid, from_state, to_state, who, why, now)


def audit_step(
    c: Db,
    cid: str,
    from_state: str | None,
    to_state: str,
    who: str | None,
    why: str | None,
    now: int,
) -> None:
    """Append one row to the audit trail (which triggers keep append-only)."""
    c.execute(
        "INSERT INTO audit (credential_id, at, actor, reason, from_state, to_state) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (cid, now, who, why, from_state, to_state),
    )


def reserve_row(
    c: Db,
    cid: str,
    fields: tuple[str, str, str | None, str | None],
    validity: tuple[int | None, int | None],
    brk: str | None,
    now: int,
    *,
    who: str,
    resume_pending: bool,
) -> Reservation:
    """The inside of one reservation (see :meth:`Register.reserve`): the existing
    reservation of batch row ``brk``, or of a ``pending`` credential ``cid`` when
    ``resume_pending``; else a fresh random index and a ``pending`` row. ``fields`` is
    ``(type, format, holder thumbprint, BSN hash)``, all checked by the caller.

    Raises ``PolicyError("credential_exists")`` before writing anything.
    """
    if brk is not None:
        row = c.execute(
            "SELECT c.credential_id, c.status_list_id, l.uri, c.status_idx, l.bits, c.state "
            "FROM credentials c JOIN status_lists l ON l.id = c.status_list_id "
            "WHERE c.batch_row_key = ?",
            (brk,),
        ).fetchone()
        if row is not None:
            return from_row(Reservation, row, resumed=True)
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
            and tuple(row[5:9]) == (*fields[:3], None)
        ):
            return Reservation(
                credential_id=cid,
                list_id=row[0],
                list_uri=row[1],
                idx=row[2],
                bits=row[3],
                state="pending",
                resumed=True,
            )
        raise PolicyError("credential_exists", f"credential {cid!r} is already registered")
    list_id, uri, bits, idx = allocate(c, cid, now)
    insert_credential(
        c, cid, fields, list_id, idx, validity, brk, now, who=who, why="index reserved for issuance"
    )
    return Reservation(
        credential_id=cid,
        list_id=list_id,
        list_uri=uri,
        idx=idx,
        bits=bits,
        state="pending",
        resumed=False,
    )


def confirm_row(c: Db, cid: str, who: str, now: int) -> None:
    """``pending`` → ``valid`` with its ``issued`` audit row; a row already valid is left
    as it is (a confirm repeated after a crash)."""
    transition_row(
        c, cid, "valid", ("pending",), who, "issued", now, verb="confirm", idempotent=True
    )


def transition_row(
    c: Db,
    cid: str,
    to_state: str,
    allowed_from: tuple[str, ...],
    who: str,
    why: str,
    now: int,
    *,
    verb: str,
    idempotent: bool = False,
) -> None:
    """The inside of one state transition with its audit row (see :meth:`Register.revoke`).

    Raises ``PolicyError`` (``credential_unknown``, ``illegal_transition``) before writing.
    """
    row = c.execute(
        "SELECT c.state, l.purpose FROM credentials c "
        "JOIN status_lists l ON l.id = c.status_list_id WHERE c.credential_id = ?",
        (cid,),
    ).fetchone()
    if row is None:
        raise PolicyError("credential_unknown", f"no credential {cid!r} in the register")
    state, purpose = row
    if idempotent and state == to_state:
        return
    if state not in allowed_from:
        raise PolicyError("illegal_transition", f"cannot {verb} credential {cid!r}: it is {state}")
    if to_state == "suspended" and "suspension" not in purpose:
        raise PolicyError(
            "illegal_transition",
            f"cannot suspend {cid!r}: its status list only expresses revocation",
        )
    set_state(c, cid, state, to_state, who, why, now)
