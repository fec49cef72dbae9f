"""The SQLite register's row operations, shared by issuance, transitions and reconciliation:
index allocation, status lists, credential rows, audit rows and the register sequence.

Every function runs inside the caller's ``BEGIN IMMEDIATE`` transaction (:meth:`Register._tx`),
so two issuers never read the same free index.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Sequence
from typing import Any

from .._errors import PolicyError
from ._records import DEFAULT_BITS, DEFAULT_LIST_SIZE, CredentialRecord, from_row

__all__ = [
    "CRED_SELECT",
    "allocate",
    "audit_seq",
    "audit_step",
    "insert_credential",
    "is_allocated",
    "kth_free",
    "new_list",
    "record",
    "record_allocation",
    "set_state",
]

CRED_SELECT = """
    SELECT c.credential_id, c.type, c.format, c.holder_thumbprint, c.bsn_hash,
           c.status_list_id, l.uri, c.status_idx, c.valid_from, c.valid_until, c.state,
           c.issued_at, c.updated_at, c.batch_row_key
    FROM credentials c JOIN status_lists l ON l.id = c.status_list_id
"""


def record(row: Sequence[Any]) -> CredentialRecord:
    """A :class:`CredentialRecord` from a row of :data:`CRED_SELECT`."""
    return from_row(CredentialRecord, row)


def audit_seq(c: sqlite3.Connection) -> int:
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


def allocate(c: sqlite3.Connection, cid: str | None, now: int) -> tuple[int, str, int, int]:
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
    list_id, uri, bits, size, _allocated = row
    idx = -1
    # Rejection sampling is uniform over the free indices; after a few misses (a nearly
    # full list) pick the k-th free index directly, which is uniform too.
    for _ in range(16):
        candidate = secrets.randbelow(size)
        if not is_allocated(c, list_id, candidate):
            idx = candidate
            break
    if idx < 0:
        used = [
            r[0]
            for r in c.execute(
                "SELECT idx FROM allocations WHERE list_id = ? ORDER BY idx", (list_id,)
            )
        ]
        idx = kth_free(used, secrets.randbelow(size - len(used)))
    record_allocation(c, list_id, idx, cid, now)
    return list_id, uri, bits, idx


def is_allocated(c: sqlite3.Connection, list_id: int, idx: int) -> bool:
    """Whether index ``idx`` of list ``list_id`` was ever handed out (allocations are kept)."""
    return bool(
        c.execute(
            "SELECT 1 FROM allocations WHERE list_id = ? AND idx = ?", (list_id, idx)
        ).fetchone()
    )


def record_allocation(
    c: sqlite3.Connection, list_id: int, idx: int, cid: str | None, now: int
) -> None:
    """Burn index ``idx`` of list ``list_id`` for ``cid`` and count it."""
    c.execute(
        "INSERT INTO allocations (list_id, idx, credential_id, allocated_at) VALUES (?, ?, ?, ?)",
        (list_id, idx, cid, now),
    )
    c.execute("UPDATE status_lists SET allocated = allocated + 1 WHERE id = ?", (list_id,))


def new_list(c: sqlite3.Connection, list_id: int, now: int) -> tuple[Any, ...]:
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
    c: sqlite3.Connection,
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
    c: sqlite3.Connection,
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
    c: sqlite3.Connection,
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
