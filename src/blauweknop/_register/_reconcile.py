"""Reconciling a restored register (either backend) with the last published status lists.

The inside of :meth:`Register.reconcile`'s one transaction: re-apply every revocation and
suspension the published lists show (with legal, audited steps), recreate lists made after
the backup, close every list for new issuance, and move the sequence past the fence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from .._errors import InvalidDataError
from .._status import StatusList, StatusType
from ._rows import (
    Db,
    audit_seq,
    insert_credential,
    is_allocated,
    new_list,
    record_allocation,
    set_state,
)

__all__ = ["Reapplied", "reapply_published", "sqlite_raise_seq"]

#: The audited steps that bring a credential from its state to the published one.
_STEPS: dict[tuple[str, str], tuple[str, ...]] = {
    ("pending", "revoked"): ("revoked",),
    ("valid", "revoked"): ("revoked",),
    ("suspended", "revoked"): ("revoked",),
    ("pending", "suspended"): ("valid", "suspended"),
    ("valid", "suspended"): ("suspended",),
}


@dataclass
class Reapplied:
    """What :func:`reapply_published` changed."""

    revoked: list[str] = field(default_factory=list)
    suspended: list[str] = field(default_factory=list)
    placeholders: list[str] = field(default_factory=list)
    closed: tuple[int, ...] = ()


def sqlite_raise_seq(c: Db, at_least: int) -> None:
    """Move SQLite's register sequence (the audit trail's ``AUTOINCREMENT`` counter) up to
    ``at_least`` when it is below."""
    if audit_seq(c) < at_least:
        if c.execute("SELECT 1 FROM sqlite_sequence WHERE name = 'audit'").fetchone():
            c.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'audit'", (at_least,))
        else:
            c.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('audit', ?)", (at_least,))


def reapply_published(
    c: Db,
    published: Sequence[tuple[str, StatusList, int]],
    floor: int,
    *,
    who: str | None,
    why: str | None,
    now: int,
    raise_seq: Callable[[Db, int], None] = sqlite_raise_seq,
) -> Reapplied:
    """Re-apply ``published`` (``(list uri, list, register_seq)``), close every list and move
    the register's sequence past ``floor``; runs inside the caller's transaction."""
    done = Reapplied()
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
            row = new_list(c, last + 1, now)
            lists[row[1]] = (row[0], row[2], row[3])
        list_id, bits, size = lists[uri]
        if sl.bits != bits or sl.size < size:
            raise InvalidDataError(
                "invalid_data", f"published list {uri} does not have this list's shape"
            )
        for idx, value in _not_valid(sl, size):
            want = "revoked" if value == StatusType.INVALID else "suspended"
            _reapply(c, list_id, idx, want, who, why, now, done.placeholders)
            (done.revoked if want == "revoked" else done.suspended).append(f"{list_id}:{idx}")
    done.closed = tuple(sorted(v[0] for v in lists.values()))
    if done.closed:
        c.execute(
            "INSERT INTO register_meta (key, value) VALUES ('closed_through_list', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(max(done.closed)),),
        )
    raise_seq(c, floor + 1)
    return done


def _not_valid(sl: StatusList, size: int) -> Iterator[tuple[int, int]]:
    """``(index, value)`` of the first ``size`` entries whose status is not VALID.

    Reads entries through :meth:`StatusList.get` only: the bit packing stays in the status
    package. An all-zero list (the common case) is skipped without reading any entry.
    """
    if not any(sl.to_bytes()):
        return
    for idx in range(min(size, sl.size)):
        value = sl.get(idx)
        if value:
            yield idx, value


def _reapply(
    c: Db,
    list_id: int,
    idx: int,
    want: str,
    who: str | None,
    why: str | None,
    now: int,
    placeholders: list[str],
) -> None:
    """Set the credential at ``(list_id, idx)`` to ``want`` (revoked/suspended) with legal,
    audited steps; an unknown index gets a placeholder credential."""
    row = c.execute(
        "SELECT credential_id, state FROM credentials WHERE status_list_id = ? AND status_idx = ?",
        (list_id, idx),
    ).fetchone()
    if row is None:
        cid = f"lost:{list_id}:{idx}"
        if is_allocated(c, list_id, idx):
            return  # allocated but never registered: burned, nobody holds it
        record_allocation(c, list_id, idx, cid, now)
        insert_credential(
            c,
            cid,
            ("unknown", "unknown", None, None),
            list_id,
            idx,
            (None, None),
            None,
            now,
            who=who,
            why=why,
        )
        placeholders.append(cid)
        state = "pending"
    else:
        cid, state = row
    for to_state in _STEPS.get((state, want), ()):
        set_state(c, cid, state, to_state, who, why, now)
        state = to_state
