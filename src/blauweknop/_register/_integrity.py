"""The register's self-check: SQLite's own checks and the register's invariants (both backends)."""

from __future__ import annotations

from ._records import LEGAL
from ._rows import Db

__all__ = ["collect_problems"]


def collect_problems(c: Db, *, sqlite: bool = True) -> tuple[list[str], tuple[int, ...]]:
    """Problems found (one line each) and the counts ``(lists, allocations, credentials,
    audit rows, pending)``; run it inside one read transaction for a consistent snapshot.
    ``sqlite``: run SQLite's own file checks too (PostgreSQL enforces its foreign keys
    itself and checks its pages with ``amcheck``, an operator's tool)."""
    problems: list[str] = []
    if sqlite:
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
        problems.append(f"credential {r[0]}: index {r[2]} of list {r[1]} was never allocated")
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
        elif from_state != prev or (from_state, to_state) not in LEGAL:
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
