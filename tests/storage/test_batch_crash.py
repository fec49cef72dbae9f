"""Crash safety of ``rodeknop issue --batch`` (DESIGN §5, specs/rode-knop-batch.md
"Resumability"): the real command is killed with SIGKILL at random moments, then resumed.

After every kill the register passes its integrity check, no status index is used twice, at most
one chunk of rows (the group commit in flight, the last rows reserved) is pending, and every
confirmed row has its file. The resumed run then issues each row
exactly once: one register row per declaration id, state ``valid``, one output file each, signed
by the issuer and carrying the index the register holds. A register copied while a batch runs
(file copy, or ``Register.backup``) opens and passes the integrity check.
"""

from __future__ import annotations

import collections
import csv
import datetime as dt
import io
import json
import os
import random
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from blauweknop import Key, did_jwk, verify_sd_jwt
from blauweknop._register import CredentialRecord, Register, open_register
from rodeknop_vc._batch import CHUNK_FIRST, CHUNK_MAX

BIN = Path(sys.executable).parent
GEM = "urn:oin:00000001001234567000"
ROWS = 300  # long enough that a kill lands mid-batch even on a fast, idle machine (group commit)
KILLS = 20
MAX_ROUNDS = 80  # on a fast machine some runs finish before their kill
HEADER = (
    "declaration_id",
    "holder_key",
    "family_name",
    "given_names",
    "birthdate",
    "trajectory_start",
    "valid_from",
    "valid_until",
    "requested_measures",
    "executing_organisation",
    "counsellor_organisation_phone",
    "counsellor_organisation_email",
    "bsn",
)


def rodeknop(*args: str, cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(BIN / "rodeknop"), *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def run_json(*args: str, cwd: Path) -> dict[str, Any]:
    p = subprocess.run(
        [str(BIN / "rodeknop"), *args, "--json"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert p.returncode == 0, f"{args}: exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    out: dict[str, Any] = json.loads(p.stdout)
    return out


def write_batch(path: Path, prefix: str, holders: list[str], rows: int = ROWS) -> list[str]:
    today = dt.date.today()
    ids = [f"{prefix}-{i:03d}" for i in range(rows)]
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HEADER)
    for i, cid in enumerate(ids):
        w.writerow(
            [
                cid,
                holders[i % len(holders)],
                "Crashtest",
                f"Rij {i}",
                "1980-01-31",
                today.isoformat(),
                today.isoformat(),
                (today + dt.timedelta(days=120)).isoformat(),
                "suspend_collection;no_additional_costs",
                "Schuldhulp Eindhoven (fictief)",
                "040 238 6000",
                "schuldhulp@eindhoven.example",
                "999999990" if i % 3 == 0 else "",
            ]
        )
    path.write_text(buf.getvalue(), encoding="utf-8")
    return ids


def init_home(tmp_path: Path, register_url: str | None = None) -> Path:
    """``rodeknop init`` a municipality home in ``tmp_path/gem`` (its register in the home's
    SQLite file, or at ``register_url``)."""
    p = subprocess.run(
        [
            str(BIN / "rodeknop"),
            "init",
            "--home",
            "gem",
            "--id",
            GEM,
            "--name",
            "Gemeente Eindhoven",
            "--municipality-code",
            "GM0772",
            "--status-uri",
            "https://status.eindhoven.example/rk",
            *(["--register", register_url] if register_url else []),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert p.returncode == 0, p.stderr
    return tmp_path / "gem"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home with a SQLite register (for the tests of the SQLite file itself)."""
    return init_home(tmp_path)


@pytest.fixture(params=["sqlite", "postgres"])
def any_home(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str]:
    """``(home, where its register is)``: SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        h = init_home(tmp_path)
        return h, str(h / "register.sqlite")
    url = str(request.getfixturevalue("pg_url"))
    return init_home(tmp_path, url), url


def issuer_key(home: Path) -> Key:
    entry = json.loads((home / "trust-entry.json").read_text())
    return Key.from_jwk(entry["jwks"]["keys"][0])


def no_index_twice(db: Path | str) -> None:
    """Checked with plain SQL, independently of the register's own check."""
    if str(db).startswith("postgresql://"):
        import psycopg

        conn: Any = psycopg.connect(str(db))
    else:
        conn = sqlite3.connect(db)
    try:
        twice = conn.execute(
            "SELECT status_list_id, status_idx FROM credentials "
            "GROUP BY status_list_id, status_idx HAVING COUNT(*) > 1"
        ).fetchall()
        allocated_twice = conn.execute(
            "SELECT list_id, idx FROM allocations GROUP BY list_id, idx HAVING COUNT(*) > 1"
        ).fetchall()
        unallocated = conn.execute(
            "SELECT COUNT(*) FROM credentials c LEFT JOIN allocations a "
            "ON a.list_id = c.status_list_id AND a.idx = c.status_idx WHERE a.id IS NULL"
        ).fetchone()[0]
    finally:
        conn.close()
    assert twice == [] and allocated_twice == [] and unallocated == 0


def check_file(path: Path, key: Key, rec: CredentialRecord) -> None:
    v = verify_sd_jwt(path.read_text().strip(), issuer_key=key, typ="dc+sd-jwt")
    assert v.claims["declaration_id"] == rec.credential_id
    assert v.claims["status"]["status_list"] == {"idx": rec.idx, "uri": rec.list_uri}


def wait_for(path: Path, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Until the batch has created its out-dir (it has validated every row and starts issuing)."""
    deadline = time.monotonic() + timeout
    while not path.exists() and proc.poll() is None:
        assert time.monotonic() < deadline, "the batch never started issuing"
        time.sleep(0.002)


def test_sigkill_at_random_moments_then_resume_issues_every_row_once(
    any_home: tuple[Path, str],
) -> None:
    home, db = any_home
    d = home.parent
    key = issuer_key(home)
    # seeded and reproducible (BK_CRASH_SEED=<n> replays a run; the seed is printed)
    seed = int(os.environ.get("BK_CRASH_SEED", "20261206"))
    rng = random.Random(seed)
    holders = [did_jwk(Key.generate("ES256" if i % 2 else "EdDSA").public()) for i in range(6)]
    kills = 0
    at_kill: collections.Counter[str] = collections.Counter()
    confirmed_at_kill: set[int] = set()
    rounds = 0
    while kills < KILLS and rounds < MAX_ROUNDS:
        rounds += 1
        prefix = f"GM0772-RK-C{rounds:02d}"
        ids = write_batch(d / f"b{rounds}.csv", prefix, holders)
        out = d / f"out{rounds}"
        proc = rodeknop(
            "issue", "--home", "gem", "--batch", f"b{rounds}.csv", "--out-dir", out.name, cwd=d
        )
        if rounds % 5 == 1:
            time.sleep(rng.uniform(0.0, 0.8))  # may land in start-up or validation
        else:
            wait_for(out, proc)
            time.sleep(rng.uniform(0.0, 0.35))
        proc.send_signal(signal.SIGKILL)
        killed = proc.wait() == -signal.SIGKILL
        kills += killed
        where = f"seed {seed}, round {rounds}"

        # -- right after the kill ---------------------------------------------------------------
        no_index_twice(db)
        with open_register(db) as reg:
            report = reg.integrity_check()
            assert report.ok, where
            assert report.allocations == report.credentials, where  # nothing burned
            recs = {r.credential_id: r for r in reg.list() if r.credential_id.startswith(prefix)}
        states = collections.Counter(r.state for r in recs.values())
        assert set(states) <= {"pending", "valid"}, where
        # group commit: at most the chunk in flight is pending, and it is the last one
        assert states["pending"] <= CHUNK_MAX, where
        order = [recs[i].state for i in ids[: len(recs)]]
        assert order == sorted(order, key=lambda s: s == "pending"), where
        assert list(recs) == ids[: len(recs)], where  # in CSV order, none skipped
        for r in recs.values():
            assert r.batch_row_key == r.credential_id, where
            if r.state == "valid":  # confirmed => its file was written before
                check_file(out / f"{r.credential_id}.sd-jwt", key, r)
        if killed:
            confirmed_at_kill.add(states["valid"])
            if states["pending"]:
                pending = next(r for r in recs.values() if r.state == "pending")
                has_file = (out / f"{pending.credential_id}.sd-jwt").exists()
                at_kill["pending with file" if has_file else "pending"] += 1
            elif not recs:
                at_kill["before the first row"] += 1
            else:
                at_kill["between rows"] += 1
        kept = {
            cid: (out / f"{cid}.sd-jwt").read_bytes()
            for cid, r in recs.items()
            if r.state == "valid"
        }

        # -- resume -------------------------------------------------------------------------------
        result = run_json(
            "issue", "--home", "gem", "--batch", f"b{rounds}.csv", "--out-dir", out.name, cwd=d
        )
        assert result["ok"] is True and result["rejected"] == [] and result["failed"] == []
        assert result["already_done"] == list(kept), where
        assert result["issued"] == [i for i in ids if i not in kept], where
        no_index_twice(db)
        with open_register(db) as reg:
            assert reg.integrity_check().ok
            after = {r.credential_id: r for r in reg.list() if r.credential_id.startswith(prefix)}
        assert list(after) == ids, where  # one register row per declaration id
        for cid, r in after.items():
            assert (r.state, r.batch_row_key, r.format) == ("valid", cid, "dc+sd-jwt"), where
            if cid in recs:  # a pending row is resumed with its own index
                assert (r.list_id, r.idx) == (recs[cid].list_id, recs[cid].idx), where
            check_file(out / f"{cid}.sd-jwt", key, r)
        for cid, data in kept.items():
            assert (out / f"{cid}.sd-jwt").read_bytes() == data, where  # never signed again
        names = [f.name for f in out.iterdir()]
        credentials = sorted(n for n in names if n.endswith(".sd-jwt"))
        assert credentials == [f"{i}.sd-jwt" for i in ids], where
        leftovers = [n for n in names if n not in credentials and n != "batch-report.json"]
        # at most the temporary file of the one atomic write that was cut short
        assert len(leftovers) <= 1 and all(
            n.startswith(".") and n.endswith(".tmp") for n in leftovers
        ), (where, leftovers)

    assert kills >= KILLS, f"only {kills} of {rounds} runs were killed mid-way (seed {seed})"
    assert len(confirmed_at_kill) >= 3, (seed, confirmed_at_kill)  # kills at varied moments
    assert at_kill["pending"] + at_kill["pending with file"] >= 1, (seed, at_kill)
    with open_register(db) as reg:
        final = reg.integrity_check()
    assert final.credentials == final.allocations == rounds * ROWS
    assert final.pending == 0
    print(
        f"seed {seed}: {rounds} runs, {kills} killed; state at kill: {dict(at_kill)}; "
        f"rows confirmed at kill: {sorted(confirmed_at_kill)}"
    )


def test_a_register_copied_while_issuing_opens_and_passes_its_check(home: Path) -> None:
    d = home.parent
    db = home / "register.sqlite"
    holders = [did_jwk(Key.generate().public()) for _ in range(4)]
    # group commit issues 80 rows in a blink: enough rows that copies land mid-run
    ids = write_batch(d / "big.csv", "GM0772-RK-COPY", holders, rows=1000)
    proc = rodeknop("issue", "--home", "gem", "--batch", "big.csv", "--out-dir", "out", cwd=d)
    wait_for(d / "out", proc)
    copies: list[tuple[Path, bool]] = []
    live = open_register(db)
    try:
        n = 0
        while proc.poll() is None and n < 40:
            n += 1
            # 1. the online backup API
            backup = live.backup(d / f"backup-{n}.sqlite")
            copies.append((backup, proc.poll() is None))
            # 2. a file-level copy of register.sqlite + -wal + -shm, the way a backup tool
            #    would take it: hold a read transaction so SQLite cannot restart the WAL
            #    under the copy, then copy the database file before its WAL.
            snap = d / f"files-{n}"
            snap.mkdir()
            reader = sqlite3.connect(db, isolation_level=None)
            try:
                reader.execute("BEGIN")
                reader.execute("SELECT COUNT(*) FROM credentials").fetchone()
                for suffix in ("", "-wal", "-shm"):
                    src = Path(f"{db}{suffix}")
                    if src.exists():
                        shutil.copyfile(src, snap / f"register.sqlite{suffix}")
                reader.execute("ROLLBACK")
            finally:
                reader.close()
            copies.append((snap / "register.sqlite", proc.poll() is None))
            time.sleep(0.05)
    finally:
        live.close()
    assert proc.wait(timeout=120) == 0
    mid_run = [c for c, running in copies if running]
    assert len(mid_run) >= 4, f"only {len(mid_run)} copies were taken while the batch ran"
    counts = []
    for copy, _ in copies:
        with Register.open(copy) as reg:
            report = reg.integrity_check()
            assert report.ok and report.allocations == report.credentials
            assert report.pending <= CHUNK_MAX  # at most one chunk in flight
            counts.append(report.credentials)
        no_index_twice(copy)
    # copies taken one after the other never go back in time
    assert counts[0::2] == sorted(counts[0::2]) and counts[1::2] == sorted(counts[1::2])
    assert any(0 < c < len(ids) for c in counts), counts  # some really were mid-run
    with open_register(db) as reg:
        assert reg.integrity_check().credentials == len(ids)
        assert [r.credential_id for r in reg.list()] == ids


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_tells_the_operator_how_to_resume(any_home: tuple[Path, str]) -> None:
    home, db = any_home
    d = home.parent
    # enough rows that the interrupt lands while issuing, even on an idle machine
    ids = write_batch(d / "b.csv", "GM0772-RK-INT", [did_jwk(Key.generate().public())], rows=1500)
    # output to files, not pipes: a pipe nobody reads while we wait could stall the batch
    with (d / "stdout.txt").open("w") as out_f, (d / "stderr.txt").open("w") as err_f:
        proc = subprocess.Popen(
            [
                str(BIN / "rodeknop"),
                "issue",
                "--home",
                "gem",
                "--batch",
                "b.csv",
                "--out-dir",
                "out",
            ],
            cwd=d,
            stdin=subprocess.DEVNULL,
            stdout=out_f,
            stderr=err_f,
            # A shell without job control starts background jobs with SIGINT ignored, and an
            # ignored signal stays ignored across exec: Python would then never raise
            # KeyboardInterrupt. The operator's Ctrl-C reaches a normal SIGINT; so does ours.
            preexec_fn=_default_sigint,
        )
        wait_for(d / "out", proc)
        # interrupt as soon as a few credentials are written: rows are being issued (not
        # still being checked) and at least one is confirmed, on a loaded machine as on an
        # idle one (where the whole batch takes well under a second)
        deadline = time.monotonic() + 60
        # (a file of the second chunk means the first chunk is confirmed: group commit)
        while proc.poll() is None and len(list((d / "out").glob("*.sd-jwt"))) < CHUNK_FIRST + 3:
            assert time.monotonic() < deadline, "the batch never wrote a credential"
            time.sleep(0.001)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    err = (d / "stderr.txt").read_text()
    assert proc.returncode == 130, (proc.returncode, err, (d / "stdout.txt").read_text()[-2000:])
    assert "interrupted: run the same command again to resume" in err
    assert "Traceback" not in err
    with open_register(db) as reg:
        report = reg.integrity_check()
        assert report.ok and report.pending <= CHUNK_MAX  # at most the chunk in flight
        done = [r.credential_id for r in reg.list(state="valid")]
    assert 0 < len(done) < len(ids)
    result = run_json("issue", "--home", "gem", "--batch", "b.csv", "--out-dir", "out", cwd=d)
    assert result["already_done"] == done
    assert result["already_done"] + result["issued"] == ids


# -- faults beyond a killed process (issue 16): server crash, dropped connection, disk full --
FAULT_ROWS = 1500  # long enough that the fault lands mid-batch on an idle machine


def start_batch(d: Path, csv_name: str, **popen: Any) -> subprocess.Popen[bytes]:
    """The batch as a subprocess, its stderr kept in ``d/stderr.txt``."""
    err = (d / "stderr.txt").open("wb")
    return subprocess.Popen(
        [str(BIN / "rodeknop"), "issue", "--home", "gem", "--batch", csv_name, "--out-dir", "out"],
        cwd=d,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=err,
        **popen,
    )


def wait_for_files(out: Path, proc: subprocess.Popen[bytes], n: int) -> None:
    deadline = time.monotonic() + 120
    while proc.poll() is None and (not out.exists() or len(list(out.glob("*.sd-jwt"))) < n):
        assert time.monotonic() < deadline, "the batch never wrote a credential"
        time.sleep(0.002)


def resume_and_check(d: Path, where: str, ids: list[str], kept: dict[str, bytes]) -> None:
    """Resume the batch; then every row is issued exactly once, the register is clean, and
    the files of rows confirmed before the fault are unchanged (never signed again)."""
    home, out = d / "gem", d / "out"
    result = run_json("issue", "--home", "gem", "--batch", "b.csv", "--out-dir", "out", cwd=d)
    assert result["rejected"] == [] and result["failed"] == [], result["failed"][:3]
    assert sorted(result["issued"] + result["already_done"]) == sorted(ids)
    assert set(kept) <= set(result["already_done"])
    no_index_twice(where)
    with open_register(where) as reg:
        report = reg.integrity_check()
        assert report.ok and report.pending == 0
        assert report.credentials == report.allocations == len(ids)
        recs = {r.credential_id: r for r in reg.list()}
    assert sorted(recs) == sorted(ids)  # one register row per declaration id
    key = issuer_key(home)
    for cid in ids:
        assert recs[cid].state == "valid"
        check_file(out / f"{cid}.sd-jwt", key, recs[cid])
    for cid, data in kept.items():
        assert (out / f"{cid}.sd-jwt").read_bytes() == data
    names = sorted(f.name for f in out.glob("*.sd-jwt"))
    assert names == sorted(f"{i}.sd-jwt" for i in ids)


def confirmed_files(where: str, out: Path) -> dict[str, bytes]:
    """The files of the rows the register holds confirmed (each must exist and verify)."""
    with open_register(where) as reg:
        assert reg.integrity_check().ok
        valid = [r.credential_id for r in reg.list(state="valid")]
    return {cid: (out / f"{cid}.sd-jwt").read_bytes() for cid in valid}


def test_postgres_server_crash_mid_batch_then_resume(
    tmp_path: Path, pg_cluster: Any, pg_url: str
) -> None:
    """``pg_ctl stop -m immediate`` (the server dies without a checkpoint) while the batch
    runs; the batch stops with ``register_unavailable``; after the restart (WAL replay) the
    resume issues every row exactly once."""
    d = tmp_path
    init_home(d, pg_url)
    ids = write_batch(d / "b.csv", "GM0772-RK-PGX", [did_jwk(Key.generate().public())], FAULT_ROWS)
    proc = start_batch(d, "b.csv")
    try:
        wait_for_files(d / "out", proc, CHUNK_FIRST * 3)
        assert proc.poll() is None, "the batch ended before the server was stopped"
        pg_cluster.stop("immediate")
        assert proc.wait(timeout=120) == 2
    finally:
        if proc.poll() is None:
            proc.kill()
        pg_cluster.pg_ctl_start()
    err = (d / "stderr.txt").read_text()
    assert "register_unavailable" in err and "Traceback" not in err, err[-2000:]
    resume_and_check(d, pg_url, ids, confirmed_files(pg_url, d / "out"))


def test_dropped_connection_mid_batch_then_resume(
    tmp_path: Path, pg_cluster: Any, pg_url: str
) -> None:
    """The batch's connection is terminated (``pg_terminate_backend``: what a network cut
    or a failover does); the batch stops, the resume issues every row exactly once."""
    d = tmp_path
    init_home(d, pg_url)
    ids = write_batch(d / "b.csv", "GM0772-RK-DROP", [did_jwk(Key.generate().public())], FAULT_ROWS)
    proc = start_batch(d, "b.csv")
    try:
        wait_for_files(d / "out", proc, CHUNK_FIRST * 3)
        assert proc.poll() is None, "the batch ended before its connection was dropped"
        dropped = 0
        while proc.poll() is None and not dropped:
            dropped = pg_cluster.terminate_backends(pg_url)
        assert dropped >= 1
        assert proc.wait(timeout=120) == 2
    finally:
        if proc.poll() is None:
            proc.kill()
    err = (d / "stderr.txt").read_text()
    assert "register_unavailable" in err and "Traceback" not in err, err[-2000:]
    resume_and_check(d, pg_url, ids, confirmed_files(pg_url, d / "out"))


def _mount_tmpfs(path: Path, size: str, *, remount: bool = False) -> bool:
    opts = f"size={size},mode=0700" + (",remount" if remount else "")
    p = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)],
        capture_output=True,
        check=False,
    )
    return p.returncode == 0


def test_disk_full_on_the_output_folder_then_resume(any_home: tuple[Path, str]) -> None:
    """A real ENOSPC: the output folder is a 64 KiB tmpfs (mounted as root; skipped where
    mounting is not allowed). Rows whose file cannot be written stay pending, confirmed
    rows keep their files; after space is freed (remount bigger), the resume issues every
    row exactly once."""
    home, where = any_home
    d = home.parent
    out = d / "out"
    out.mkdir(mode=0o700)
    if os.geteuid() != 0 or not _mount_tmpfs(out, "64k"):
        pytest.skip("mounting a small tmpfs needs root with CAP_SYS_ADMIN")
    try:
        ids = write_batch(d / "b.csv", "GM0772-RK-FULL", [did_jwk(Key.generate().public())], 120)
        p = subprocess.run(
            [str(BIN / "rodeknop"), "issue", "--home", "gem", "--batch", "b.csv",
             "--out-dir", "out", "--json"],
            cwd=d, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert p.returncode == 2, (p.stdout[-1000:], p.stderr[-1000:])
        assert "storage_write_failed" in p.stdout + p.stderr
        kept = confirmed_files(where, out)
        assert 0 < len(kept) < len(ids), len(kept)  # the disk filled up mid-batch
        no_index_twice(where)
        assert _mount_tmpfs(out, "16m", remount=True)  # space freed
        resume_and_check(d, where, ids, kept)
    finally:
        subprocess.run(["umount", "-l", str(out)], check=False, capture_output=True)


def test_file_size_limit_on_the_batch_process_then_resume(any_home: tuple[Path, str]) -> None:
    """``RLIMIT_FSIZE`` of 1 KiB on the batch process: no credential file fits (EFBIG), and a
    SQLite register cannot grow either. Works without root. The batch fails cleanly, the
    resume issues every row exactly once."""
    home, where = any_home
    d = home.parent
    ids = write_batch(d / "b.csv", "GM0772-RK-FSZ", [did_jwk(Key.generate().public())], 60)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))

    proc = start_batch(d, "b.csv", preexec_fn=limit)
    assert proc.wait(timeout=300) == 2
    err = (d / "stderr.txt").read_text()
    assert "storage_write_failed" in err or "failed" in err, err[-2000:]
    assert "Traceback" not in err
    kept = confirmed_files(where, d / "out") if (d / "out").exists() else {}
    assert kept == {}  # nothing confirmed without its file
    resume_and_check(d, where, ids, kept)
