"""The issuer register: allocation, transitions, audit, keyed BSN, migrations, integrity,
backup while issuing, locking, and crash safety under SIGKILL (SECURITY-BATTERY H1, H3, H4).

The tests of the register's guarantees run against both backends (``backend`` fixture:
SQLite, and PostgreSQL on the throw-away server of tests/storage/conftest.py); those about
one engine's file, pragmas or migrations run against that engine only."""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blauweknop._errors import InvalidDataError, PolicyError, StatusError, StorageError
from blauweknop._keys import Key
from blauweknop._register import (
    _MIGRATIONS,
    SCHEMA_VERSION,
    Register,
    ReserveRequest,
    _kth_free,
    generate_bsn_key,
    load_bsn_key,
    open_register,
    publish,
    save_bsn_key,
)
from blauweknop._status import (
    BitstringStatusList,
    list_admission,
    verify_status_list_token,
)
from blauweknop._status import (
    StatusListStore as StatusCache,
)

WORKER = Path(__file__).with_name("_register_worker.py")
WORKER_BSN_KEY = bytes(range(32))
BASE = "https://status.example/lists"
ISS = "urn:oin:00000001234567890000"
NOW = 1_700_000_000


class Clock:
    def __init__(self) -> None:
        self.t = NOW

    def __call__(self) -> float:
        self.t += 1
        return self.t


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "register.db"


@pytest.fixture
def reg(target: str) -> Iterator[Register]:
    r = open_register(
        target, bsn_key=generate_bsn_key(), status_base_uri=BASE, list_size=64, clock=Clock()
    )
    yield r  # type: ignore[misc]  # both backends implement what the tests call
    r.close()


@pytest.fixture
def sqlite_reg(db: Path) -> Iterator[Register]:
    """A SQLite register, for the tests of the file itself (pragmas, modes, read-only)."""
    r = Register.open(
        db, bsn_key=generate_bsn_key(), status_base_uri=BASE, list_size=64, clock=Clock()
    )
    yield r
    r.close()


def _no_index_twice_in(target: str) -> None:
    if target.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(target) as c:
            if c.execute("SELECT to_regclass('allocations')").fetchone() == (None,):
                return  # killed before the first migration committed
            for sql in (
                "SELECT COUNT(*) FROM "
                "(SELECT 1 FROM allocations GROUP BY list_id, idx HAVING COUNT(*) > 1) x",
                "SELECT COUNT(*) FROM (SELECT 1 FROM credentials "
                "GROUP BY status_list_id, status_idx HAVING COUNT(*) > 1) x",
            ):
                assert c.execute(sql).fetchone() == (0,)  # type: ignore[arg-type]
    else:
        _no_index_twice(Path(target))


def _issue(reg: Register, cid: str, **kw: Any) -> Any:
    r = reg.reserve(cid, "DebtStatement", "sd-jwt", **kw)
    reg.confirm(r.credential_id)
    return r


def _no_index_twice(path: Path) -> None:
    with contextlib.closing(sqlite3.connect(path)) as c:
        assert c.execute(
            "SELECT COUNT(*) FROM "
            "(SELECT 1 FROM allocations GROUP BY list_id, idx HAVING COUNT(*) > 1)"
        ).fetchone() == (0,)
        assert c.execute(
            "SELECT COUNT(*) FROM (SELECT 1 FROM credentials "
            "GROUP BY status_list_id, status_idx HAVING COUNT(*) > 1)"
        ).fetchone() == (0,)


# -- opening and settings ------------------------------------------------------------------
def test_pragmas_and_file_mode(sqlite_reg: Register, db: Path) -> None:
    c = sqlite_reg._conn
    assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert c.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert c.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert sqlite_reg.schema_version == SCHEMA_VERSION
    assert db.stat().st_mode & 0o077 == 0


def test_reservation_shape(reg: Register) -> None:
    r = reg.reserve("c1", "DebtStatement", "sd-jwt", holder_thumbprint="tp", valid_until=NOW + 10)
    assert (r.credential_id, r.list_id, r.list_uri, r.bits, r.state, r.resumed) == (
        "c1",
        1,
        f"{BASE}/1.jwt",
        2,
        "pending",
        False,
    )
    assert 0 <= r.idx < 64
    assert r.status_claim() == {"status_list": {"idx": r.idx, "uri": f"{BASE}/1.jwt"}}
    entries = [e.to_claims() for e in r.bitstring_entries()]
    assert entries == [
        {
            "type": "BitstringStatusListEntry",
            "statusPurpose": p,
            "statusListIndex": str(r.idx),
            "statusListCredential": f"{BASE}/1-{p}.json",
        }
        for p in ("revocation", "suspension")
    ]
    rec = reg.get("c1")
    assert (rec.type, rec.format, rec.holder_thumbprint, rec.valid_until, rec.idx) == (
        "DebtStatement",
        "sd-jwt",
        "tp",
        NOW + 10,
        r.idx,
    )


def test_status_base_uri_is_required_for_a_new_list(target: str) -> None:
    with open_register(target) as r:
        with pytest.raises(PolicyError) as ei:
            r.reserve("c1", "DebtStatement", "sd-jwt")
        assert ei.value.code == "status_uri_not_configured"
    with open_register(target, status_base_uri=BASE + "/") as r:
        assert r.reserve("c1", "DebtStatement", "sd-jwt").list_uri == f"{BASE}/1.jwt"
    with open_register(target) as r:  # remembered
        assert r.reserve("c2", "DebtStatement", "sd-jwt").list_uri == f"{BASE}/1.jwt"


def test_input_validation(reg: Register) -> None:
    with pytest.raises(InvalidDataError):
        reg.reserve("", "DebtStatement", "sd-jwt")
    with pytest.raises(InvalidDataError):
        reg.reserve("c1", "DebtStatement", "sd-jwt", bsn="12345")
    with pytest.raises(InvalidDataError):
        reg.list(state="deleted")
    assert reg.list() == []  # nothing was written by the refused calls


# -- allocation ----------------------------------------------------------------------------
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(size=st.integers(1, 16), n=st.integers(0, 50))
def test_allocation_is_unique_and_rolls_over(size: int, n: int) -> None:
    with (
        tempfile.TemporaryDirectory() as d,
        Register.open(Path(d) / "r.db", status_base_uri=BASE, list_size=size) as reg,
    ):
        seen = set()
        for i in range(n):
            r = reg.reserve(f"c{i}", "DebtStatement", "sd-jwt")
            assert 0 <= r.idx < size
            assert (r.list_id, r.idx) not in seen
            seen.add((r.list_id, r.idx))
        lists = reg.lists()
        assert len(lists) == math.ceil(n / size)
        assert [info.uri for info in lists] == [f"{BASE}/{i + 1}.jwt" for i in range(len(lists))]
        assert sum(info.allocated for info in lists) == n
        assert all(info.allocated == size for info in lists[:-1])
        assert reg.integrity_check().ok


@given(used=st.sets(st.integers(0, 63)), data=st.data())
def test_kth_free_matches_brute_force(used: set[int], data: st.DataObject) -> None:
    free = [i for i in range(64) if i not in used]
    if not free:
        return
    k = data.draw(st.integers(0, len(free) - 1))
    assert _kth_free(sorted(used), k) == free[k]


def test_a_full_list_uses_every_index_once(target: str) -> None:
    """Filling a list exercises the fallback (k-th free index) once rejection sampling misses."""
    with open_register(target, status_base_uri=BASE, list_size=50) as reg:
        idxs = [reg.reserve(f"c{i}", "T", "sd-jwt").idx for i in range(50)]
        assert sorted(idxs) == list(range(50))
        assert reg.reserve("c50", "T", "sd-jwt").list_id == 2


def test_two_writers_filling_one_list_never_share_an_index(target: str) -> None:
    """The free indices a writer keeps for a nearly full list go stale when another writer
    allocates: each writer, taking turns on one register, still hands out distinct indices
    (the kept ones are re-read when the list's count moved, and checked before use)."""
    with (
        open_register(target, status_base_uri=BASE, list_size=64) as a,
        open_register(target, status_base_uri=BASE, list_size=64) as b,
    ):
        idxs = [(a if i % 3 else b).reserve(f"c{i}", "T", "sd-jwt").idx for i in range(64)]
        assert sorted(idxs) == list(range(64))
        many = a.reserve_many(
            [
                ReserveRequest(
                    credential_id=f"m{i}", credential_type="T", credential_format="sd-jwt"
                )
                for i in range(60)
            ]
        )
        more = b.reserve_many(
            [
                ReserveRequest(
                    credential_id=f"n{i}", credential_type="T", credential_format="sd-jwt"
                )
                for i in range(4)
            ]
        )
        second = [r.idx for r in [*many, *more] if not isinstance(r, Exception)]
        assert sorted(second) == list(range(64))


def test_indices_are_random(target: str) -> None:
    with open_register(target, status_base_uri=BASE, list_size=131_072) as reg:
        idxs = [reg.reserve(f"c{i}", "T", "sd-jwt").idx for i in range(20)]
    assert idxs != sorted(idxs)
    assert max(idxs) > 1000


def test_a_failed_issuance_burns_its_index(target: str) -> None:
    """Reserve, then the signing fails: the index stays allocated and is never reused."""
    with open_register(target, status_base_uri=BASE, list_size=4) as reg:
        burned = reg.reserve("lost", "T", "sd-jwt")
        reg.revoke("lost", "issuance failed", "issuer")
        others = {reg.reserve(f"c{i}", "T", "sd-jwt").idx for i in range(3)}
        assert burned.idx not in others
        assert reg.reserve("c3", "T", "sd-jwt").list_id == 2


# -- two-phase issuance --------------------------------------------------------------------
def test_batch_rows_are_exactly_once(reg: Register) -> None:
    first = reg.reserve("c-a", "T", "sd-jwt", batch_row_key="batch1:7")
    again = reg.reserve("c-b", "T", "sd-jwt", batch_row_key="batch1:7")  # resumed run, new id
    assert again.resumed
    assert (again.credential_id, again.list_id, again.idx, again.state) == (
        "c-a",
        first.list_id,
        first.idx,
        "pending",
    )
    reg.confirm("c-a")
    done = reg.reserve("c-c", "T", "sd-jwt", batch_row_key="batch1:7")
    assert (done.state, done.resumed) == ("valid", True)
    assert len(reg.list()) == 1
    assert reg.lists()[0].allocated == 1


def test_duplicate_credential_id(reg: Register) -> None:
    reg.reserve("c1", "T", "sd-jwt")
    with pytest.raises(PolicyError) as ei:
        reg.reserve("c1", "T", "sd-jwt")
    assert ei.value.code == "credential_exists"
    assert reg.lists()[0].allocated == 1  # the refused call allocated nothing


def test_pending_rows_are_found_for_resumption(reg: Register) -> None:
    reg.reserve("c1", "T", "sd-jwt", batch_row_key="b:1")
    _issue(reg, "c2", batch_row_key="b:2")
    assert [r.credential_id for r in reg.list(state="pending")] == ["c1"]
    assert [r.credential_id for r in reg.list(state="valid", type="DebtStatement")] == ["c2"]
    assert reg.list(type="Other") == []


# -- transitions and audit -----------------------------------------------------------------
def test_transitions_and_audit(reg: Register) -> None:
    _issue(reg, "c1")
    assert reg.suspend("c1", "payment plan under review", "alice").state == "suspended"
    assert reg.resume("c1", "review done", "bob").state == "valid"
    assert reg.revoke("c1", "debt settled", "carol").state == "revoked"
    trail = [(a.from_state, a.to_state, a.actor, a.reason) for a in reg.audit("c1")]
    assert trail == [
        (None, "pending", "issuer", "index reserved for issuance"),
        ("pending", "valid", "issuer", "issued"),
        ("valid", "suspended", "alice", "payment plan under review"),
        ("suspended", "valid", "bob", "review done"),
        ("valid", "revoked", "carol", "debt settled"),
    ]
    ats = [a.at for a in reg.audit("c1")]
    assert ats == sorted(ats)
    assert reg.get("c1").updated_at == ats[-1]


@pytest.mark.parametrize(
    ("setup", "action"),
    [
        (["revoke"], "revoke"),
        (["revoke"], "resume"),
        (["revoke"], "suspend"),
        (["revoke"], "confirm"),
        ([], "resume"),
        (["suspend"], "suspend"),
        (["suspend"], "confirm"),
    ],
)
def test_illegal_transitions(reg: Register, setup: list[str], action: str) -> None:
    _issue(reg, "c1")
    for step in setup:
        getattr(reg, step)("c1", "setup", "tester")
    rows_before = len(reg.audit())
    with pytest.raises(PolicyError) as ei:
        if action == "confirm":
            reg.confirm("c1")
        else:
            getattr(reg, action)("c1", "why", "tester")
    assert ei.value.code == "illegal_transition"
    assert len(reg.audit()) == rows_before


def test_suspending_a_pending_credential_is_illegal(reg: Register) -> None:
    reg.reserve("c1", "T", "sd-jwt")
    with pytest.raises(PolicyError, match="illegal_transition"):
        reg.suspend("c1", "why", "tester")
    assert reg.revoke("c1", "never delivered", "tester").state == "revoked"


def test_confirm_is_idempotent(reg: Register) -> None:
    _issue(reg, "c1")
    rows = len(reg.audit())
    assert reg.confirm("c1").state == "valid"
    assert len(reg.audit()) == rows


def test_unknown_credential(reg: Register) -> None:
    calls: list[Callable[[], object]] = [
        lambda: reg.get("nope"),
        lambda: reg.revoke("nope", "r", "a"),
        lambda: reg.confirm("nope"),
    ]
    for call in calls:
        with pytest.raises(PolicyError) as ei:
            call()
        assert ei.value.code == "credential_unknown"


def test_one_bit_lists_cannot_suspend(target: str) -> None:
    with open_register(target, status_base_uri=BASE, list_size=8, bits=1) as reg:
        r = _issue(reg, "c1")
        assert [e.status_purpose for e in r.bitstring_entries()] == ["revocation"]
        with pytest.raises(PolicyError, match="only expresses revocation"):
            reg.suspend("c1", "why", "tester")
        reg.revoke("c1", "why", "tester")
        assert reg.status_list_bits(1).get(r.idx) == 1


_TAMPERING = (
    "UPDATE audit SET actor = 'mallory'",
    "DELETE FROM audit",
    "DELETE FROM allocations",
    "UPDATE allocations SET idx = idx + 1",
    "DELETE FROM credentials",
    "UPDATE credentials SET status_idx = status_idx + 1",
    "UPDATE credentials SET bsn_hash = 'x'",
    "DELETE FROM status_lists",
    "UPDATE status_lists SET size = 1",
)


def test_audit_is_append_only_in_postgresql_too(pg_url: str) -> None:
    """The database itself refuses (triggers), for any client: UPDATE/DELETE and TRUNCATE."""
    import psycopg

    with open_register(pg_url, status_base_uri=BASE, list_size=64) as reg:
        _issue(reg, "c1")
        reg.record_area("c1", pc4="5611")
        with psycopg.connect(pg_url, autocommit=True) as c:
            for sql in (
                *_TAMPERING,
                "UPDATE area_signals SET pc4 = '1234'",
                "DELETE FROM area_signals",
                "TRUNCATE area_signals",
                "TRUNCATE audit CASCADE",
                "TRUNCATE allocations CASCADE",
                "TRUNCATE credentials CASCADE",
            ):
                with pytest.raises(psycopg.errors.IntegrityError):
                    c.execute(sql)  # type: ignore[arg-type]
        assert len(reg.audit("c1")) == 2
        assert reg.integrity_check().ok


def test_an_issuing_role_that_does_not_own_the_tables(pg_cluster: Any, pg_url: str) -> None:
    """The deployment of docs/register-postgresql.md: the owner migrates, the issuing role
    (SELECT/INSERT/UPDATE only) issues, and cannot edit the audit trail nor drop its
    triggers."""
    import psycopg

    open_register(pg_url, status_base_uri=BASE, list_size=64).close()  # owner: migrates
    dbname = pg_url.split("/", 3)[3].split("?", 1)[0]
    role = f"issuer_{dbname}"
    pg_cluster.admin(f'CREATE ROLE "{role}" LOGIN')
    for sql in (
        f'GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO "{role}"',
        f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"',
        f'REVOKE CREATE ON SCHEMA public FROM PUBLIC, "{role}"',
    ):
        pg_cluster.admin(sql, dbname)
    url = pg_url.replace("postgresql://postgres@", f"postgresql://{role}@")
    with open_register(url, status_base_uri=BASE) as reg:
        _issue(reg, "c1")
        reg.revoke("c1", "settled", "clerk")
        assert reg.integrity_check().ok
    with psycopg.connect(url, autocommit=True) as c:
        for sql in (
            "UPDATE audit SET actor = 'mallory'",
            "DELETE FROM audit",
            "DROP TRIGGER audit_append_only ON audit",
            "ALTER TABLE audit DISABLE TRIGGER ALL",
            "TRUNCATE audit",
            "SET session_replication_role = replica",
        ):
            with pytest.raises(psycopg.Error):
                c.execute(sql)  # type: ignore[arg-type]
    with open_register(pg_url) as reg:
        assert [a.to_state for a in reg.audit("c1")] == ["pending", "valid", "revoked"]


def test_audit_is_append_only(tmp_path: Path) -> None:
    db = tmp_path / "register.db"
    reg = Register.open(db, status_base_uri=BASE, list_size=64)
    _issue(reg, "c1")
    with contextlib.closing(sqlite3.connect(db)) as c:
        for sql in (
            "UPDATE audit SET actor = 'mallory'",
            "DELETE FROM audit",
            "DELETE FROM allocations",
            "UPDATE allocations SET idx = idx + 1",
            "DELETE FROM credentials",
            "UPDATE credentials SET status_idx = status_idx + 1",
            "UPDATE credentials SET bsn_hash = 'x'",
            "DELETE FROM status_lists",
            "UPDATE status_lists SET size = 1",
        ):
            with pytest.raises(sqlite3.IntegrityError):
                c.execute(sql)
        c.rollback()
    assert len(reg.audit("c1")) == 2
    assert reg.integrity_check().ok


# -- keyed BSN -----------------------------------------------------------------------------
def test_bsn_is_stored_only_as_a_keyed_hash(db: Path) -> None:
    bsn = "111222333"
    key = generate_bsn_key()
    with Register.open(db, bsn_key=key, status_base_uri=BASE, list_size=8) as reg:
        _issue(reg, "c1", bsn=bsn)
        _issue(reg, "c2", bsn="08765432")  # 8 digits: read with a leading zero
        h = reg.get("c1").bsn_hash
        assert h is not None
        assert len(h) == 64
        assert bsn not in h
        assert [r.credential_id for r in reg.find_by_bsn(bsn)] == ["c1"]
        assert [r.credential_id for r in reg.find_by_bsn("08765432")] == ["c2"]
        assert [r.credential_id for r in reg.find_by_bsn("008765432")] == ["c2"]
        blob = b"".join(p.read_bytes() for p in db.parent.iterdir() if p.name.startswith(db.name))
        for form in (bsn.encode(), bsn.encode("utf-16-le"), bsn.encode("utf-16-be"), b"008765432"):
            assert form not in blob


def test_a_different_bsn_key_is_refused(target: str) -> None:
    open_register(target, bsn_key=generate_bsn_key(), status_base_uri=BASE).close()
    with pytest.raises(StorageError) as ei:
        open_register(target, bsn_key=generate_bsn_key())
    assert ei.value.code == "bsn_key_mismatch"


def test_bsn_needs_a_key(target: str) -> None:
    with open_register(target, status_base_uri=BASE) as reg, pytest.raises(StorageError) as ei:
        reg.reserve("c1", "T", "sd-jwt", bsn="111222333")
    assert ei.value.code == "bsn_key_missing"


def test_bsn_key_file(tmp_path: Path) -> None:
    p = tmp_path / "bsn.key"
    key = generate_bsn_key()
    save_bsn_key(p, key)
    assert p.stat().st_mode & 0o777 == 0o600
    assert load_bsn_key(p) == key
    with pytest.raises(StorageError, match="file_exists"):
        save_bsn_key(p, generate_bsn_key())
    p.chmod(0o644)
    with pytest.raises(StorageError, match="key_file_permissions"):
        load_bsn_key(p)


# -- migrations ----------------------------------------------------------------------------
def test_migration_from_version_0(db: Path) -> None:
    sqlite3.connect(db).close()  # an empty database: user_version 0
    with contextlib.closing(sqlite3.connect(db)) as c:
        assert c.execute("PRAGMA user_version").fetchone()[0] == 0
    with Register.open(db, status_base_uri=BASE) as reg:
        assert reg.schema_version == SCHEMA_VERSION
        _issue(reg, "c1")
        assert reg.integrity_check().ok


def test_migration_from_version_1_keeps_data(db: Path) -> None:
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as c:
        for statement in _MIGRATIONS[0]:
            c.execute(statement)
        c.execute("PRAGMA user_version = 1")
        c.execute(
            "INSERT INTO status_lists VALUES (1, ?, 2, 8, 'revocation+suspension', 1, 0)",
            (f"{BASE}/1.jwt",),
        )
        c.execute(
            "INSERT INTO allocations (list_id, idx, credential_id, allocated_at) "
            "VALUES (1, 5, 'old', 0)"
        )
        c.execute(
            "INSERT INTO credentials (credential_id, type, format, status_list_id, status_idx, "
            "state, issued_at, updated_at) VALUES ('old', 'T', 'sd-jwt', 1, 5, 'pending', 0, 0)"
        )
        c.execute(
            "INSERT INTO audit (credential_id, at, actor, reason, from_state, to_state) "
            "VALUES ('old', 0, 'issuer', 'reserved', NULL, 'pending')"
        )
    with Register.open(db, status_base_uri=BASE) as reg:
        assert reg.schema_version == SCHEMA_VERSION
        assert reg.get("old").idx == 5
        assert reg.confirm("old").state == "valid"
        assert {reg.reserve(f"n{i}", "T", "sd-jwt").idx for i in range(7)}.isdisjoint({5})
        assert reg.integrity_check().ok


def test_newer_schema_is_refused(db: Path) -> None:
    with contextlib.closing(sqlite3.connect(db)) as c:
        c.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StorageError) as ei:
        Register.open(db)
    assert ei.value.code == "register_version_unsupported"


def test_not_a_database(db: Path) -> None:
    db.write_bytes(b"this is not an SQLite database, just text" * 100)
    with pytest.raises(StorageError) as ei:
        Register.open(db)
    assert ei.value.code == "register_corrupt"


def test_missing_file(db: Path) -> None:
    kws: list[dict[str, Any]] = [{"read_only": True}, {"create": False}]
    for kw in kws:
        with pytest.raises(StorageError) as ei:
            Register.open(db, **kw)
        assert ei.value.code == "register_missing"


# -- integrity -----------------------------------------------------------------------------
def _tamper(db: Path, *sql: str) -> None:
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as c:
        c.execute("PRAGMA foreign_keys = OFF")
        for s in sql:
            c.execute(s)


@pytest.mark.parametrize(
    ("sql", "needle"),
    [
        # a state change without its audit row
        (
            ["UPDATE credentials SET state = 'revoked' WHERE credential_id = 'c1'"],
            "audit trail ends",
        ),
        # a credential whose index was never allocated
        (
            [
                "INSERT INTO credentials (credential_id, type, format, status_list_id, "
                "status_idx, state, issued_at, updated_at) "
                "VALUES ('ghost', 'T', 'sd-jwt', 1, 999, 'valid', 0, 0)"
            ],
            "never allocated",
        ),
        # a counter that no longer matches
        (["UPDATE status_lists SET allocated = allocated - 1"], "counts"),
        # an index used twice (the UNIQUE constraint removed first)
        (
            [
                "CREATE TABLE c2 (credential_id TEXT PRIMARY KEY, type, format, "
                "holder_thumbprint, bsn_hash, status_list_id, status_idx, valid_from, "
                "valid_until, state, issued_at, updated_at, batch_row_key)",
                "INSERT INTO c2 SELECT * FROM credentials",
                "DROP TABLE credentials",
                "ALTER TABLE c2 RENAME TO credentials",
                "INSERT INTO credentials SELECT 'twin', type, format, holder_thumbprint, "
                "bsn_hash, status_list_id, status_idx, valid_from, valid_until, state, "
                "issued_at, updated_at, NULL FROM credentials WHERE credential_id = 'c1'",
            ],
            "used by 2 credentials",
        ),
        # a schema SQLite itself cannot check any more (foreign key target without a key)
        (
            [
                "CREATE TABLE c2 AS SELECT * FROM credentials",
                "DROP TABLE credentials",
                "ALTER TABLE c2 RENAME TO credentials",
            ],
            "foreign key mismatch",
        ),
    ],
)
def test_integrity_check_detects_corruption(
    sqlite_reg: Register, db: Path, sql: list[str], needle: str
) -> None:
    reg = sqlite_reg
    _issue(reg, "c1")
    _issue(reg, "c2")
    assert reg.integrity_check().ok
    _tamper(db, *sql)
    with pytest.raises(StorageError) as ei:
        reg.integrity_check()
    assert ei.value.code == "register_corrupt"
    assert needle in ei.value.message
    if needle != "foreign key mismatch":
        report = reg.integrity_check(raise_on_error=False)
        assert not report.ok
        assert report.problems


@pytest.mark.parametrize(
    ("sql", "needle"),
    [
        (
            ["UPDATE credentials SET state = 'revoked' WHERE credential_id = 'c1'"],
            "audit trail ends",
        ),
        (
            [
                "INSERT INTO credentials (credential_id, type, format, status_list_id, "
                "status_idx, state, issued_at, updated_at) "
                "VALUES ('ghost', 'T', 'sd-jwt', 1, 999, 'valid', 0, 0)"
            ],
            "never allocated",
        ),
        (["UPDATE status_lists SET allocated = allocated - 1"], "counts"),
        (
            [
                "ALTER TABLE credentials DROP CONSTRAINT credentials_status_list_id_status_idx_key",
                "INSERT INTO credentials SELECT 'twin', type, format, holder_thumbprint, "
                "bsn_hash, status_list_id, status_idx, valid_from, valid_until, state, "
                "issued_at, updated_at, NULL FROM credentials WHERE credential_id = 'c1'",
            ],
            "used by 2 credentials",
        ),
    ],
)
def test_integrity_check_detects_corruption_in_postgresql(
    pg_url: str, sql: list[str], needle: str
) -> None:
    """A superuser can switch the triggers and foreign keys off (``session_replication_role
    = replica``): the register's own check still finds what was done."""
    import psycopg

    with open_register(pg_url, status_base_uri=BASE, list_size=64) as reg:
        _issue(reg, "c1")
        _issue(reg, "c2")
        assert reg.integrity_check().ok
        with psycopg.connect(pg_url, autocommit=True) as c:
            c.execute("SET session_replication_role = replica")
            for q in sql:
                c.execute(q)  # type: ignore[arg-type]
        with pytest.raises(StorageError) as ei:
            reg.integrity_check()
        assert ei.value.code == "register_corrupt"
        assert needle in ei.value.message


def test_integrity_report_counts(reg: Register) -> None:
    _issue(reg, "c1")
    reg.reserve("c2", "T", "sd-jwt")
    reg.revoke("c1", "r", "a")
    rep = reg.integrity_check()
    assert (rep.lists, rep.allocations, rep.credentials, rep.audit_rows, rep.pending) == (
        1,
        2,
        2,
        4,
        1,
    )


# -- locking and read-only -----------------------------------------------------------------
def test_locked_register(db: Path) -> None:
    Register.open(db, status_base_uri=BASE).close()
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        with Register.open(db, busy_timeout=0.2) as reg:
            start = time.monotonic()
            with pytest.raises(StorageError) as ei:
                reg.reserve("c1", "T", "sd-jwt")
            assert ei.value.code == "register_locked"
            assert time.monotonic() - start < 3
            assert reg.list() == []  # reads still work in WAL mode
        other.execute("ROLLBACK")
    with Register.open(db) as reg:
        assert reg.reserve("c1", "T", "sd-jwt").state == "pending"


def test_read_only_open(sqlite_reg: Register, db: Path) -> None:
    _issue(sqlite_reg, "c1")
    with Register.open(db, read_only=True) as ro:
        assert ro.get("c1").state == "valid"
        assert ro.integrity_check().ok
        with pytest.raises(StorageError) as ei:
            ro.revoke("c1", "r", "a")
        assert ei.value.code == "register_read_only"


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_file(sqlite_reg: Register, db: Path) -> None:
    _issue(sqlite_reg, "c1")
    sqlite_reg.close()
    for p in db.parent.iterdir():
        p.chmod(0o444)
    db.parent.chmod(0o555)
    try:
        with pytest.raises(StorageError), Register.open(db) as r:
            r.revoke("c1", "r", "a")
    finally:
        db.parent.chmod(0o755)


def test_unwritable_file_even_for_root(sqlite_reg: Register, db: Path) -> None:
    """The same as above where root ignores permissions: an immutable file (chattr +i)."""
    _issue(sqlite_reg, "c1")
    sqlite_reg.close()
    if subprocess.run(["chattr", "+i", str(db)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here")
    try:
        with Register.open(db) as r:
            assert r.get("c1").state == "valid"
            with pytest.raises(StorageError) as ei:
                r.revoke("c1", "r", "a")
            assert ei.value.code == "register_read_only"
    finally:
        subprocess.run(["chattr", "-i", str(db)], check=True)


# -- status lists and publishing -----------------------------------------------------------
def test_status_list_bits(reg: Register) -> None:
    a, b, c = (_issue(reg, f"c{i}") for i in range(3))
    reg.revoke("c0", "r", "x")
    reg.suspend("c1", "r", "x")
    sl = reg.status_list_bits(1)
    assert (sl.size, sl.bits) == (64, 2)
    assert (sl.get(a.idx), sl.get(b.idx), sl.get(c.idx)) == (1, 2, 0)
    assert sum(1 for i in range(64) if sl.get(i)) == 2
    with pytest.raises(PolicyError, match="status_list_unknown"):
        reg.status_list_bits(99)


def test_publish_and_verify_end_to_end(target: str, tmp_path: Path) -> None:
    key = Key.generate()
    out = tmp_path / "public"
    with open_register(target, status_base_uri=BASE, list_size=4) as reg:
        rs = [_issue(reg, f"c{i}") for i in range(6)]  # two lists
        reg.revoke("c0", "r", "x")
        reg.suspend("c5", "r", "x")
        signed: list[dict[str, Any]] = []

        def sign(doc: dict[str, Any]) -> dict[str, Any]:
            signed.append(doc)
            return {**doc, "proof": {"type": "DataIntegrityProof"}}

        files = publish(reg, key, ISS, out, NOW, 3600, sign_bitstring=sign)
    names = sorted(f.path.name for f in files)
    assert names == [
        "1-revocation.json",
        "1-suspension.json",
        "1.jwt",
        "2-revocation.json",
        "2-suspension.json",
        "2.jwt",
    ]
    assert {f.media_type for f in files} == {"application/statuslist+jwt", "application/vc"}
    assert all(f.uri.rsplit("/", 1)[1] == f.path.name for f in files)
    assert len(signed) == 4

    cache = StatusCache(tmp_path / "cache")
    admit = list_admission(keys_for=lambda iss: [key], now=NOW)  # the W3C proofs here are fake
    for f in files:
        if f.path.suffix == ".jwt":
            cache.put(f.uri, f.path.read_bytes(), fetched_at=NOW, admit=admit)
    for r in rs:
        expected = {"c0": "revoked", "c5": "suspended"}.get(r.credential_id)
        try:
            cache.check_token_status(
                r.list_uri, r.idx, issuer_key=key, expected_issuer=ISS, now=NOW + 10
            )
            got = None
        except StatusError as e:
            got = e.code
        assert got == expected

    tok = verify_status_list_token(
        (out / "1.jwt").read_text(), key=key, expected_uri=f"{BASE}/1.jwt", now=NOW
    )
    assert tok.ttl == 3600
    assert tok.expires_at == NOW + 86400
    doc = json.loads((out / "1-revocation.json").read_text())
    bl = BitstringStatusList.decode(doc["credentialSubject"]["encodedList"])
    assert bl.size == 131_072  # padded to the W3C minimum
    assert [i for i in range(4) if bl.get(i)] == [rs[0].idx]
    sus = json.loads((out / "2-suspension.json").read_text())
    bl2 = BitstringStatusList.decode(sus["credentialSubject"]["encodedList"])
    assert [i for i in range(4) if bl2.get(i)] == [rs[5].idx]


# -- concurrency and crashes ---------------------------------------------------------------
def _worker(db: Path | str, run: str, *extra: str) -> subprocess.Popen[str]:
    # cwd fixed: another test in this process may have left the working directory elsewhere
    return subprocess.Popen(
        [sys.executable, str(WORKER), str(db), run, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=WORKER.parent,
    )


def _wait_ready(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"worker did not start (exit {proc.returncode}): {line!r}\n{err}")


def test_eight_processes_never_share_an_index(target: str) -> None:
    """SECURITY-BATTERY H4: 8 concurrent issuers (single rows and group-committed chunks),
    the write lock (SQLite BEGIN IMMEDIATE, PostgreSQL advisory lock) + UNIQUE(list_id, idx)."""
    open_register(target, bsn_key=WORKER_BSN_KEY, status_base_uri=BASE, list_size=40).close()
    procs = [
        _worker(target, f"p{i}", "--count", "40", *(["--chunk", "7"] if i % 2 else []))
        for i in range(8)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    _no_index_twice_in(target)
    with open_register(target, bsn_key=WORKER_BSN_KEY) as reg:
        rep = reg.integrity_check()
        assert rep.credentials == rep.allocations == 320
        assert rep.lists == 8
        assert {r.state for r in reg.list()} <= {"valid", "revoked", "suspended"}


def test_backup_while_another_process_issues(db: Path, tmp_path: Path) -> None:
    Register.open(db, bsn_key=WORKER_BSN_KEY, status_base_uri=BASE, list_size=40).close()
    proc = _worker(db, "bk")
    try:
        _wait_ready(proc)
        assert proc.stdout is not None
        backups = []
        with Register.open(db, bsn_key=WORKER_BSN_KEY) as reg:
            for n in range(3):
                for _ in range(10):  # let it issue a few between copies
                    proc.stdout.readline()
                backups.append(reg.backup(tmp_path / f"backup-{n}.db"))
        assert proc.poll() is None, "the worker should still be issuing"
    finally:
        proc.kill()
        proc.wait()
    counts = []
    for b in backups:
        with Register.open(b, bsn_key=WORKER_BSN_KEY, read_only=True) as copy:
            counts.append(copy.integrity_check().credentials)
        _no_index_twice(b)
    assert counts == sorted(counts)
    assert counts[0] >= 10


@pytest.mark.slow
def test_sigkill_at_random_moments_never_corrupts(target: str) -> None:
    """SECURITY-BATTERY H1/H3: kill -9 a worker 20 times at random moments (some during
    start-up and migration). After each kill the register passes its integrity check and no
    index is used twice; at the end a resumed run completes every row exactly once."""
    rng = random.Random(os.getpid())
    runs = 20
    for run in range(runs):
        proc = _worker(target, f"r{run}", *(["--chunk", "5"] if run % 2 else []))
        if run % 5 == 0:
            time.sleep(rng.uniform(0.0, 0.4))  # may land in interpreter start-up or migration
        else:
            _wait_ready(proc)
            time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if not target.startswith("postgresql://") and not Path(target).exists():
            continue
        _no_index_twice_in(target)
        with open_register(target, bsn_key=WORKER_BSN_KEY, status_base_uri=BASE) as reg:
            reg.integrity_check()
    # resume: every reserved-but-unconfirmed row is completed with its own id and index
    with open_register(target, bsn_key=WORKER_BSN_KEY, status_base_uri=BASE) as reg:
        before = {r.credential_id: (r.list_id, r.idx) for r in reg.list()}
        for rec in reg.list(state="pending"):
            assert rec.batch_row_key is not None
            again = reg.reserve(
                "fresh-id", "DebtStatement", "sd-jwt", batch_row_key=rec.batch_row_key
            )
            assert again.resumed
            assert (again.credential_id, again.list_id, again.idx) == (
                rec.credential_id,
                rec.list_id,
                rec.idx,
            )
            reg.confirm(again.credential_id)
        assert reg.list(state="pending") == []
        assert {r.credential_id: (r.list_id, r.idx) for r in reg.list()} == before
        report = reg.integrity_check()
        assert report.credentials == len(before) > 0
    _no_index_twice_in(target)


# -- rollback fence (issue 12.5) -------------------------------------------------------------
@pytest.fixture
def fenced(target: str, request: pytest.FixtureRequest) -> Callable[[Path], Register]:
    """Opens the test's register (either backend) with the fence file ``<path>.fence``; a
    second ``path`` is a second register (for PostgreSQL: a second database)."""
    places: dict[Path, str] = {}

    def open_it(path: Path) -> Register:
        if path not in places:
            if not target.startswith("postgresql://"):
                places[path] = str(path)
            elif not places:
                places[path] = target
            else:
                places[path] = request.getfixturevalue("pg_cluster").new_database()
        return open_register(  # type: ignore[return-value]  # both backends
            places[path],
            status_base_uri=BASE,
            list_size=64,
            clock=Clock(),
            fence=path.with_suffix(".fence"),
        )

    return open_it


def test_fence_follows_every_change_and_a_lagging_fence_is_safe(
    fenced: Callable[[Path], Register], tmp_path: Path
) -> None:
    r = fenced(tmp_path / "r.db")
    assert r.read_fence() is None
    _issue(r, "c1")
    assert r.read_fence() == r.register_seq == 2  # reserve + confirm
    # A crash between a commit and the fence write leaves the fence behind: still accepted,
    # and the next change moves it on.
    fence = tmp_path / "r.fence"
    fence.write_text(json.dumps({"version": 1, "register_seq": 1}))
    _issue(r, "c2")
    assert r.read_fence() == r.register_seq == 4
    assert r.integrity_check().ok
    r.close()


def test_fence_ahead_of_the_register_refuses_every_change(
    fenced: Callable[[Path], Register], tmp_path: Path
) -> None:
    r = fenced(tmp_path / "r.db")
    _issue(r, "c1")
    (tmp_path / "r.fence").write_text(json.dumps({"version": 1, "register_seq": 99}))
    for attempt in (
        lambda: r.reserve("c2", "DebtStatement", "sd-jwt"),
        lambda: r.revoke("c1", "x", "y"),
        lambda: r.suspend("c1", "x", "y"),
    ):
        with pytest.raises(StorageError) as e:
            attempt()
        assert e.value.code == "register_rolled_back"
    assert r.get("c1").state == "valid"
    assert r.register_seq == 2
    assert not r.integrity_check(raise_on_error=False).ok
    rep = r.reconcile()
    assert rep.needed
    assert rep.register_seq > 99
    assert rep.closed_lists == (1,)
    assert _issue(r, "c2").list_id == 2  # a fresh list: no index of list 1 handed out again
    r.close()


@pytest.mark.parametrize("content", [b"", b"{", b'{"version": 1, "register_seq": -1}', b"[]"])
def test_damaged_fence_is_not_taken_as_no_fence(
    fenced: Callable[[Path], Register], tmp_path: Path, content: bytes
) -> None:
    r = fenced(tmp_path / "r.db")
    _issue(r, "c1")
    (tmp_path / "r.fence").write_bytes(content)
    with pytest.raises(StorageError) as e:
        r.reserve("c2", "DebtStatement", "sd-jwt")
    assert e.value.code == "register_fence_unreadable"
    r.close()


def test_published_lists_carry_the_register_sequence(
    fenced: Callable[[Path], Register], tmp_path: Path
) -> None:
    r = fenced(tmp_path / "r.db")
    key = Key.generate()
    c1 = _issue(r, "c1")
    out = tmp_path / "pub"
    publish(r, key, ISS, out, NOW, 3600)
    tok = verify_status_list_token(
        (out / "1.jwt").read_bytes(), key=key, expected_uri=c1.list_uri, now=NOW
    )
    assert tok.uri == c1.list_uri
    from blauweknop._jws import parse_compact

    payload = parse_compact((out / "1.jwt").read_text().strip()).payload_json()
    assert payload["register_seq"] == r.register_seq
    # A list file signed by someone else cannot fence us out.
    forged = tmp_path / "forged"
    r2 = fenced(tmp_path / "r2.db")
    _issue(r2, "x1")
    for i in range(5):
        _issue(r2, f"x{i + 2}")
    publish(r2, Key.generate(), ISS, forged, NOW, 3600)
    (out / "1.jwt").write_bytes((forged / "1.jwt").read_bytes())
    publish(r, key, ISS, out, NOW + 1, 3600)  # not refused: the foreign token is ignored
    r.close()
    r2.close()


# -- PostgreSQL: selecting it, and what it refuses ---------------------------------------------
def test_a_register_url_with_a_password_is_refused(tmp_path: Path) -> None:
    """A password never goes into config.json or onto a command line (PGPASSWORD, ~/.pgpass)."""
    from blauweknop import Issuer

    for url in (
        "postgresql://bk:hunter2@db.example/register",
        "postgresql://bk@db.example/register?password=hunter2",
    ):
        with pytest.raises(InvalidDataError) as ei:
            Issuer.init(
                tmp_path / f"h{len(url)}",
                issuer_id=ISS,
                name="CJIB",
                status_base_uri=BASE,
                register=url,
            )
        assert "hunter2" not in ei.value.message
    with pytest.raises(InvalidDataError):
        Issuer.init(tmp_path / "h2", issuer_id=ISS, name="CJIB", register="mysql://x/y")


def test_an_unreachable_server_is_register_unavailable(tmp_path: Path) -> None:
    from blauweknop._register import redact_url

    url = f"postgresql://bk:hunter2@/register?host={tmp_path}/nowhere&port=5999"
    assert "hunter2" not in redact_url(url)
    with pytest.raises(StorageError) as ei:
        open_register(url, connect_timeout=2)
    assert ei.value.code == "register_unavailable"
    assert "hunter2" not in ei.value.message


def test_a_newer_postgresql_schema_is_refused(pg_cluster: Any, pg_url: str) -> None:
    from blauweknop._register._pg_schema import PG_SCHEMA_VERSION

    open_register(pg_url, status_base_uri=BASE).close()
    dbname = pg_url.split("/", 3)[3].split("?", 1)[0]
    newer = PG_SCHEMA_VERSION + 1
    pg_cluster.admin(f"UPDATE register_schema SET version = {newer:d}", dbname)  # noqa: S608
    with pytest.raises(StorageError) as ei:
        open_register(pg_url)
    assert ei.value.code == "register_version_unsupported"


def test_a_dropped_connection_fails_the_call_and_the_next_one_reconnects(
    pg_cluster: Any, pg_url: str
) -> None:
    with open_register(pg_url, status_base_uri=BASE, list_size=64) as reg:
        _issue(reg, "c1")
        assert pg_cluster.terminate_backends(pg_url) == 1
        with pytest.raises(StorageError) as ei:
            reg.revoke("c1", "r", "a")
        assert ei.value.code == "register_unavailable"
        assert reg.get("c1").state == "valid"  # nothing half-done; a new connection
        assert reg.revoke("c1", "r", "a").state == "revoked"
        assert reg.integrity_check().ok


def test_the_openid4vci_service_refuses_a_postgresql_home(pg_url: str, tmp_path: Path) -> None:
    """Its protocol state has a SQLite store only: on a PostgreSQL home it would live on one
    machine beside a shared register, so ``for_home`` refuses instead of splitting the state."""
    from blauweknop import Issuer
    from blauweknop.oid4vci import IssuerService

    home = tmp_path / "pg-home"
    Issuer.init(home, issuer_id=ISS, name="CJIB", status_base_uri=BASE, register=pg_url)
    with pytest.raises(PolicyError) as ei:
        IssuerService.for_home(home, issuer_url="http://127.0.0.1:1")
    assert ei.value.code == "register_backend_unsupported"
    assert not (home / "register.sqlite").exists()


# -- area signals (specs/area-report.md), both backends ----------------------------------------
def test_area_signals_are_recorded_once_and_read_as_of_a_moment(reg: Register) -> None:
    _issue(reg, "c1")
    _issue(reg, "c2")
    reg.record_area("c1", pc4="5611", amount_band="lt_1000", in_arrears=True, sealed_bsn="s1")
    after_first = int(reg._clock.t)  # type: ignore[attr-defined]  # the test's Clock
    reg.record_area("c2", pc4="5612", amount_band=None, in_arrears=None)
    # a repeat (a resumed batch) changes nothing
    reg.record_area("c1", pc4="9999", amount_band="ge_20000", in_arrears=False)
    reg.revoke("c2", "test", "tester")
    rows = {r["credential_id"]: r for r in reg.area_snapshot(NOW + 10_000)}
    assert rows["c1"]["pc4"] == "5611" and rows["c1"]["amount_band"] == "lt_1000"
    assert rows["c1"]["in_arrears"] == 1 and rows["c1"]["sealed_bsn"] == "s1"
    assert rows["c1"]["state"] == "valid" and rows["c2"]["state"] == "revoked"
    # as of a moment before c2's signal: only c1, in the state it had then
    assert [r["credential_id"] for r in reg.area_snapshot(after_first)] == ["c1"]
    with pytest.raises(PolicyError) as ei:
        reg.record_area("nope", pc4="5611")
    assert ei.value.code == "credential_unknown"
