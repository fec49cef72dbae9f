"""Held-out attack review (issues 11 and 12): the issuer's state and files.

One test (or a few) per finding; each feeds the attack or the fault and expects the refusal or
the fixed behaviour:

* 12.5  a register restored from a backup un-revoked and re-used indices → fenced, reconcile
* 12.7  credential files were world-readable → 0600 files in 0700 folders
* 12.8  a failed ``--out`` write left the credential valid and a retry failed → retry-safe
* 12.13 batch ``holder_key`` paths: a FIFO hung the run, a sparse 6 GiB file → refused
* 12.15 a formula in a single-issue ``--data`` file was issued → one rule for all issuance
* 11.3  two batch runs on one home wrote twice as many files as the register holds → locked
* 11.6  a ``;``-separated CSV (Dutch Excel) → read
* 11.2  a batch whose windows lie in the past passed its pre-check → rejected before signing
* 11.11 ``fcntl`` imported unguarded → the library imports without it

Clocks are injected (``now=``) or dates are made relative to today.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from blauweknop_cli.main import blauweknop, rodeknop
from click.testing import CliRunner

from blauweknop import InvalidDataError, Issuer, Key, StorageError, did_jwk
from blauweknop._jws import parse_compact
from blauweknop._status._ietf import StatusList
from blauweknop.debt import DebtStatement
from rodeknop_vc import PaymentIncapacityDeclaration
from rodeknop_vc._batch import issue_batch, read_batch

ROOT = Path(__file__).resolve().parents[2]
DECL = json.loads((ROOT / "examples/data/rode-knop-declaration.json").read_text())
GEM = "urn:oin:00000001001234567000"
BIN = Path(sys.executable).parent
TODAY = dt.datetime.now(dt.UTC).date()
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
)


# -- helpers --------------------------------------------------------------------------------
def current_decl(declaration_id: str = "GM0772-RK-2026-0815", **changes: Any) -> dict[str, Any]:
    """The example declaration with a window around today (never in the past)."""
    start = (TODAY - dt.timedelta(days=5)).isoformat()
    d = {
        **DECL,
        "declaration_id": declaration_id,
        "trajectory_start": start,
        "valid_from": start,
        "valid_until": (TODAY + dt.timedelta(days=120)).isoformat(),
        "application_date": (TODAY - dt.timedelta(days=20)).isoformat(),
        "admission_decision_date": (TODAY - dt.timedelta(days=8)).isoformat(),
    }
    d.update(changes)
    return d


def municipality(tmp_path: Path, name: str = "gem", **kw: Any) -> Issuer:
    return Issuer.init(
        tmp_path / name,
        issuer_id=GEM,
        name="Gemeente Eindhoven",
        roles=["municipality"],
        status_base_uri="https://status.eindhoven.example/rk",
        extra={"municipality_code": "GM0772"},
        **kw,
    )


def issue(iss: Issuer, declaration_id: str, **kw: Any) -> Any:
    return iss.issue(
        PaymentIncapacityDeclaration.from_claims(current_decl(declaration_id)),
        holder_jwk=Key.generate().public_jwk(),
        **kw,
    )


def published_bits(token_file: Path) -> tuple[StatusList, dict[str, Any]]:
    claims = parse_compact(token_file.read_text().strip()).payload_json()
    return StatusList.from_json(claims["status_list"]), claims


def restore(home: Path, backup: Path) -> None:
    """What an operator does with last night's copy: put register.sqlite back."""
    for suffix in ("-wal", "-shm"):
        (home / f"register.sqlite{suffix}").unlink(missing_ok=True)
    shutil.copyfile(backup, home / "register.sqlite")


def batch_folder(d: Path, rows: int, *, delimiter: str = ",", **changes: str) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    start = (TODAY - dt.timedelta(days=5)).isoformat()
    buf = io.StringIO(newline="")
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    w.writerow(HEADER)
    for i in range(rows):
        values = {
            "declaration_id": f"GM0772-RK-2026-{i + 1:04d}",
            "holder_key": did_jwk(Key.generate().public()),
            "family_name": "Bakker",
            "given_names": "Anna",
            "birthdate": "1979-03-02",
            "trajectory_start": start,
            "valid_from": start,
            "valid_until": (TODAY + dt.timedelta(days=120)).isoformat(),
            "requested_measures": "suspend_collection;no_additional_costs",
            "executing_organisation": "Schuldhulp Eindhoven (fictief)",
            "counsellor_organisation_phone": "+31 40 238 6000",
            "counsellor_organisation_email": "schuldhulp@eindhoven.example",
        }
        values.update(changes)
        w.writerow([values[c] for c in HEADER])
    (d / "batch.csv").write_text(buf.getvalue(), encoding="utf-8")
    return d / "batch.csv"


# -- 12.5 restoring a register backup ------------------------------------------------------
def test_restored_register_refuses_to_issue_or_publish_until_reconciled(tmp_path: Path) -> None:
    gem = municipality(tmp_path)
    home, pub = gem.home, tmp_path / "public"
    a = issue(gem, "GM0772-RK-2026-0001")
    backup = gem.register.backup(tmp_path / "nightly.sqlite")
    b = issue(gem, "GM0772-RK-2026-0002")
    gem.revoke(a.credential_id, reason="trajectory ended")
    gem.publish_status(pub)
    gem.register.close()

    restore(home, backup)
    old = Issuer.open(home, lock_timeout=0)
    # The restored register looks healthy to SQLite, but the fence knows better.
    report = old.register.integrity_check(raise_on_error=False)
    assert not report.ok
    assert any("fence" in p for p in report.problems)
    assert old.register.get(a.credential_id).state == "valid"  # the lost revocation
    for attempt in (
        lambda: issue(old, "GM0772-RK-2026-0003"),
        lambda: old.publish_status(pub),
        lambda: old.revoke(b.credential_id, reason="x"),
    ):
        with pytest.raises(StorageError) as e:
            attempt()
        assert e.value.code == "register_rolled_back"
    # Nothing was published over the good lists: a is still revoked there.
    sl, _ = published_bits(pub / "1.jwt")
    assert sl.get(a.status_index) == 1

    rep = old.reconcile(pub)
    assert old.register.get(a.credential_id).state == "revoked"
    assert f"lost:1:{a.status_index}" not in rep.placeholders  # a is known to the backup
    assert rep.closed_lists == (1,)
    assert old.register.integrity_check().ok
    c = issue(old, "GM0772-RK-2026-0003")
    # b's index (issued after the backup, unknown to it) can never be handed out again:
    # new credentials go to a fresh list.
    assert c.status_uri != b.status_uri
    assert c.status_uri.endswith("/2.jwt")
    old.publish_status(pub)
    sl, claims = published_bits(pub / "1.jwt")
    assert sl.get(a.status_index) == 1
    assert claims["register_seq"] == old.register.register_seq


def test_reconcile_keeps_revocations_of_credentials_unknown_to_the_backup(tmp_path: Path) -> None:
    gem = municipality(tmp_path)
    pub = tmp_path / "public"
    issue(gem, "GM0772-RK-2026-0001")
    backup = gem.register.backup(tmp_path / "nightly.sqlite")
    late = issue(gem, "GM0772-RK-2026-0002")
    gem.suspend(late.credential_id, reason="in doubt")
    gem.publish_status(pub)
    gem.register.close()
    restore(gem.home, backup)
    old = Issuer.open(gem.home)
    rep = old.reconcile(pub)
    placeholder = f"lost:1:{late.status_index}"
    assert rep.placeholders == (placeholder,)
    assert old.register.get(placeholder).state == "suspended"
    old.publish_status(pub)
    sl, _ = published_bits(pub / "1.jwt")
    assert sl.get(late.status_index) == 2  # still suspended for creditors


def test_publish_refuses_to_overwrite_lists_of_a_newer_register(tmp_path: Path) -> None:
    """The whole home restored (fence included): the published lists still fence it."""
    gem = municipality(tmp_path)
    pub = tmp_path / "public"
    a = issue(gem, "GM0772-RK-2026-0001")
    gem.register.close()
    saved = tmp_path / "home-backup"
    shutil.copytree(gem.home, saved)
    gem = Issuer.open(gem.home)
    gem.revoke(a.credential_id, reason="trajectory ended")
    gem.publish_status(pub)
    gem.register.close()
    shutil.rmtree(gem.home)
    shutil.copytree(saved, gem.home)
    old = Issuer.open(gem.home)
    before = (pub / "1.jwt").read_bytes()
    with pytest.raises(StorageError) as e:
        old.publish_status(pub)
    assert e.value.code == "register_rolled_back"
    assert (pub / "1.jwt").read_bytes() == before
    rep = old.reconcile(pub)
    assert rep.needed
    assert rep.revoked == (f"1:{a.status_index}",)
    old.publish_status(pub)
    sl, _ = published_bits(pub / "1.jwt")
    assert sl.get(a.status_index) == 1


def test_restored_register_stops_a_batch_before_any_row(tmp_path: Path) -> None:
    gem = municipality(tmp_path)
    backup = gem.register.backup(tmp_path / "nightly.sqlite")
    issue(gem, "GM0772-RK-2026-0100")
    gem.register.close()
    restore(gem.home, backup)
    old = Issuer.open(gem.home)
    rows, rejected = read_batch(batch_folder(tmp_path / "b", 2), old)
    assert len(rows) == 2
    assert not rejected
    with pytest.raises(StorageError) as e:
        issue_batch(old, rows, tmp_path / "out")
    assert e.value.code == "register_rolled_back"
    assert old.register.list() == []


def test_reconcile_command(tmp_path: Path) -> None:
    gem = municipality(tmp_path)
    pub = tmp_path / "public"
    a = issue(gem, "GM0772-RK-2026-0001")
    backup = gem.register.backup(tmp_path / "nightly.sqlite")
    gem.revoke(a.credential_id, reason="trajectory ended")
    gem.publish_status(pub)
    gem.register.close()
    restore(gem.home, backup)
    home = str(gem.home)
    runner = CliRunner()
    res = runner.invoke(rodeknop, ["status", "publish", "--home", home, "--out-dir", str(pub)])
    assert res.exit_code == 2
    assert "register_rolled_back" in res.output
    res = runner.invoke(rodeknop, ["reconcile", "--home", home, "--check"])
    assert res.exit_code == 2
    assert "needs reconciling" in res.output
    res = runner.invoke(rodeknop, ["reconcile", "--home", home])  # neither option
    assert res.exit_code == 2
    res = runner.invoke(rodeknop, ["reconcile", "--home", home, "--published", str(pub), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["revoked"] == [f"1:{a.status_index}"]
    assert "rodeknop status publish" in out["next"]
    res = runner.invoke(blauweknop, ["reconcile", "--home", home, "--check"])
    assert res.exit_code == 0, res.output
    # Once reconciled, a second run changes nothing (no new list is opened for nothing).
    res = runner.invoke(rodeknop, ["reconcile", "--home", home, "--published", str(pub), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["needed"] is False
    res = runner.invoke(rodeknop, ["status", "publish", "--home", home, "--out-dir", str(pub)])
    assert res.exit_code == 0, res.output


# -- 12.7 credential files are private -------------------------------------------------------
def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_credential_files_are_private(tmp_path: Path) -> None:
    gem = municipality(tmp_path)
    holder = tmp_path / "holder.pub.jwk"
    holder.write_text(json.dumps(Key.generate().public_jwk()))
    data = tmp_path / "decl.json"
    data.write_text(json.dumps(current_decl()))
    old = os.umask(0o022)  # the usual umask: what made the files 0644 and folders 0755
    try:
        out = tmp_path / "deliver" / "today" / "decl.sd-jwt"
        res = CliRunner().invoke(
            rodeknop,
            [
                *("issue", "--home", str(gem.home), "--holder-key", str(holder)),
                *("--data", str(data), "--out", str(out)),
            ],
        )
        assert res.exit_code == 0, res.output
        assert _mode(out) == 0o600
        assert _mode(out.parent) == 0o700
        csv_file = batch_folder(tmp_path / "b", 2)
        rows, rejected = read_batch(csv_file, gem)
        assert not rejected
        out_dir = tmp_path / "batch-out"
        issued, _, failed = issue_batch(gem, rows, out_dir)
        assert len(issued) == 2
        assert not failed
        assert _mode(out_dir) == 0o700
        files = list(out_dir.iterdir())
        assert len(files) == 2
        assert all(_mode(f) == 0o600 for f in files)
    finally:
        os.umask(old)


# -- 12.8 single issue is retry-safe -----------------------------------------------------------
def test_failed_write_leaves_credential_pending_and_a_retry_reemits(tmp_path: Path) -> None:
    gem = municipality(tmp_path)
    decl = PaymentIncapacityDeclaration.from_claims(current_decl())
    holder = Key.generate().public_jwk()

    def disk_full(_text: str) -> None:
        raise StorageError("storage_write_failed", "No space left on device")

    with pytest.raises(StorageError):
        gem.issue(decl, holder_jwk=holder, write=disk_full)
    rec = gem.register.get(decl.declaration_id)
    assert rec.state == "pending"  # not marked valid without its file
    written: list[str] = []
    cred = gem.issue(decl, holder_jwk=holder, write=written.append)
    assert written == [cred.text]
    assert (cred.credential_id, cred.status_index) == (rec.credential_id, rec.idx)
    assert gem.register.get(decl.declaration_id).state == "valid"
    # Another holder key for the same id is still refused.
    with pytest.raises(Exception) as e:
        gem.issue(decl, holder_jwk=Key.generate().public_jwk())
    assert getattr(e.value, "code", "") == "credential_exists"


def test_cli_issue_retry_after_unwritable_out(tmp_path: Path) -> None:
    gem = municipality(tmp_path)
    holder = tmp_path / "holder.pub.jwk"
    holder.write_text(json.dumps(Key.generate().public_jwk()))
    data = tmp_path / "decl.json"
    data.write_text(json.dumps(current_decl()))
    (tmp_path / "not-a-folder").write_text("x")
    args = ["issue", "--home", str(gem.home), "--holder-key", str(holder), "--data", str(data)]
    runner = CliRunner()
    res = runner.invoke(rodeknop, [*args, "--out", str(tmp_path / "not-a-folder" / "d.sd-jwt")])
    assert res.exit_code == 2
    assert "storage_write_failed" in res.output
    res = runner.invoke(rodeknop, [*args, "--out", str(tmp_path / "d.sd-jwt"), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["credential_id"] == DECL["declaration_id"]
    assert (tmp_path / "d.sd-jwt").read_text().startswith("ey")
    # An existing --out is refused before anything is reserved.
    res = runner.invoke(rodeknop, [*args, "--out", str(tmp_path / "d.sd-jwt")])
    assert res.exit_code == 2
    assert "file_exists" in res.output
    assert len(gem.register.list()) == 1


# -- 12.13 batch holder_key files --------------------------------------------------------------
def _read_batch_bounded(csv_file: Path, gem: Issuer) -> Any:
    result: dict[str, Any] = {}

    def run() -> None:
        result["value"] = read_batch(csv_file, gem)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout=30)
    assert not t.is_alive(), "read_batch hangs"
    return result["value"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_batch_holder_key_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    gem = municipality(tmp_path)
    d = tmp_path / "b"
    d.mkdir()
    os.mkfifo(d / "eve.pub.jwk")
    csv_file = batch_folder(d, 1, holder_key="eve.pub.jwk")
    rows, rejected = _read_batch_bounded(csv_file, gem)
    assert rows == []
    assert rejected[0].field == "holder_key"
    assert "not a regular file" in rejected[0].message


def test_batch_holder_key_huge_sparse_file_is_refused(tmp_path: Path) -> None:
    gem = municipality(tmp_path)
    d = tmp_path / "b"
    d.mkdir()
    with (d / "huge.pub.jwk").open("wb") as f:
        f.truncate(6 * 1024**3)  # sparse: no disk used, 6 GiB if read
    csv_file = batch_folder(d, 1, holder_key="huge.pub.jwk")
    rows, rejected = _read_batch_bounded(csv_file, gem)
    assert rows == []
    assert rejected[0].field == "holder_key"
    assert "larger than" in rejected[0].message


# -- 12.15 CSV injection in every issued text claim -----------------------------------------
@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("subject", "family_name"), '=HYPERLINK("https://evil.example","Jansen")'),
        (("executing_organisation", "name"), "@SUM(1+1)*cmd|' /C calc'!A0"),
        (("counsellor", "name"), "-2+3+cmd|' /C calc'!A0"),
    ],
)
def test_formula_in_single_issue_data_is_refused(
    tmp_path: Path, path: tuple[str, str], value: str
) -> None:
    gem = municipality(tmp_path)
    data = current_decl()
    data[path[0]] = {**data[path[0]], path[1]: value}
    decl = PaymentIncapacityDeclaration.from_claims(data)
    with pytest.raises(InvalidDataError) as e:
        gem.issue(decl, holder_jwk=Key.generate().public_jwk())
    assert e.value.field == ".".join(path)
    assert "formula" in e.value.message
    assert gem.register.list() == []  # nothing reserved


def test_formula_in_cli_data_file_is_refused(tmp_path: Path) -> None:
    gem = municipality(tmp_path)
    holder = tmp_path / "holder.pub.jwk"
    holder.write_text(json.dumps(Key.generate().public_jwk()))
    data = tmp_path / "decl.json"
    decl = current_decl()
    decl["subject"] = {**decl["subject"], "given_names": '=HYPERLINK("https://x.example")'}
    data.write_text(json.dumps(decl))
    res = CliRunner().invoke(
        rodeknop,
        [
            *("issue", "--home", str(gem.home), "--holder-key", str(holder)),
            *("--data", str(data), "--out", str(tmp_path / "d.sd-jwt")),
        ],
    )
    assert res.exit_code == 2
    assert "subject.given_names: starts with a formula character" in res.output
    assert not (tmp_path / "d.sd-jwt").exists()


# -- 11.3 one writer per issuer home ------------------------------------------------------------
def test_second_writer_gets_home_locked(tmp_path: Path) -> None:
    gem = municipality(tmp_path)
    a = issue(gem, "GM0772-RK-2026-0001")
    other = Issuer.open(gem.home, lock_timeout=0.2)
    with gem.exclusive():
        for attempt in (
            lambda: issue(other, "GM0772-RK-2026-0002"),
            lambda: other.revoke(a.credential_id, reason="x"),
            lambda: other.suspend(a.credential_id, reason="x"),
            lambda: other.publish_status(tmp_path / "pub"),
            lambda: other.rotate_key(),
        ):
            with pytest.raises(StorageError) as e:
                attempt()
            assert e.value.code == "home_locked"
        issue(gem, "GM0772-RK-2026-0003")  # the holder itself goes on (re-entrant)
    assert [r.credential_id for r in gem.register.list()] == [
        "GM0772-RK-2026-0001",
        "GM0772-RK-2026-0003",
    ]
    issue(other, "GM0772-RK-2026-0002")  # free again


def test_home_lock_dies_with_its_process(tmp_path: Path) -> None:
    """A writer killed while it holds the lock never leaves the home locked."""
    gem = municipality(tmp_path)
    code = (
        "import sys, time\n"
        "from blauweknop import Issuer\n"
        "iss = Issuer.open(sys.argv[1])\n"
        "with iss.exclusive():\n"
        "    print('locked', flush=True)\n"
        "    time.sleep(600)\n"
    )
    p = subprocess.Popen(
        [sys.executable, "-c", code, str(gem.home)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert p.stdout is not None
        assert p.stdout.readline().strip() == "locked"
        waiting = Issuer.open(gem.home, lock_timeout=0)
        with pytest.raises(StorageError) as e:
            issue(waiting, "GM0772-RK-2026-0001")
        assert e.value.code == "home_locked"
    finally:
        p.kill()
        p.wait(timeout=60)
    assert issue(waiting, "GM0772-RK-2026-0001").credential_id == "GM0772-RK-2026-0001"


def test_two_batch_runs_at_once_issue_each_row_once(tmp_path: Path) -> None:
    init = subprocess.run(
        [
            *(str(BIN / "rodeknop"), "init", "--home", "gem", "--id", GEM),
            *("--name", "Gemeente Eindhoven", "--municipality-code", "GM0772"),
            *("--status-uri", "https://status.eindhoven.example/rk"),
        ],
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    assert init.returncode == 0, init.stderr
    rows = 40
    batch_folder(tmp_path, rows)
    cmd = [str(BIN / "rodeknop"), "issue", "--home", "gem", "--batch", "batch.csv"]
    cmd += ["--out-dir", "out", "--json"]
    procs = [
        subprocess.Popen(
            cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    issued = 0
    for p, (stdout, stderr) in zip(procs, outs, strict=True):
        doc = json.loads(stdout)
        if p.returncode == 0:
            issued += len(doc["issued"])
        else:  # the loser waited, then stopped without touching anything
            assert doc["code"] == "home_locked", (stdout, stderr)
    assert issued == rows
    files = sorted((tmp_path / "out").glob("*.sd-jwt"))
    assert len(files) == rows
    with sqlite3.connect(tmp_path / "gem" / "register.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM credentials").fetchone()[0] == rows


# -- 11.6 semicolon CSV ------------------------------------------------------------------------
def test_semicolon_separated_csv_from_dutch_excel(tmp_path: Path) -> None:
    gem = municipality(tmp_path)
    csv_file = batch_folder(tmp_path / "b", 3, delimiter=";")
    assert ";" in csv_file.read_text().splitlines()[0]
    rows, rejected = read_batch(csv_file, gem)
    assert not rejected
    assert len(rows) == 3
    # requested_measures was quoted (it holds ';'): both measures survive.
    assert rows[0].declaration.to_claims()["requested_measures"] == [
        "suspend_collection",
        "no_additional_costs",
    ]


def test_tab_separated_export_is_named(tmp_path: Path) -> None:
    gem = municipality(tmp_path)
    d = tmp_path / "b"
    d.mkdir()
    (d / "batch.csv").write_text("\t".join(HEADER) + "\n")
    with pytest.raises(InvalidDataError) as e:
        read_batch(d / "batch.csv", gem)
    assert "tabs" in e.value.message
    assert "';'" in e.value.message


# -- 11.2 the pre-check runs the issuer's own checks -------------------------------------------
def test_batch_precheck_rejects_windows_in_the_past(tmp_path: Path) -> None:
    gem = municipality(tmp_path)
    csv_file = batch_folder(tmp_path / "b", 3)
    next_year = dt.datetime.now(dt.UTC).timestamp() + 365 * 86400  # the example a year on
    rows, rejected = read_batch(csv_file, gem, now=next_year)
    assert rows == []
    assert [r.field for r in rejected] == ["valid_until"] * 3
    assert all("past" in r.message for r in rejected)
    rows, rejected = read_batch(csv_file, gem)  # today: fine
    assert len(rows) == 3
    assert not rejected


def test_batch_precheck_rejects_what_the_issuer_role_forbids(tmp_path: Path) -> None:
    cjib = Issuer.init(
        tmp_path / "cjib",
        issuer_id="urn:oin:00000001003214345000",
        name="CJIB",
        roles=["creditor"],
        status_base_uri="https://status.example/cjib",
    )
    rows, rejected = read_batch(batch_folder(tmp_path / "b", 2), cjib)
    assert rows == []
    assert len(rejected) == 2


# -- 11.11 the library imports without fcntl ------------------------------------------------
def test_library_imports_where_fcntl_is_missing() -> None:
    code = (
        "import sys, sysconfig, types\n"
        "sysconfig.get_config_vars()\n"  # read before the platform name is changed
        "sys.modules['fcntl'] = None\n"  # import fcntl -> ImportError, as on Windows
        "m = types.ModuleType('msvcrt')\n"
        "m.LK_NBLCK, m.LK_UNLCK = 2, 0\n"
        "m.locking = lambda fd, mode, n: None\n"
        "sys.modules['msvcrt'] = m\n"
        "sys.platform = 'win32'\n"
        "import blauweknop, blauweknop._wallet_store, blauweknop._files, rodeknop_vc\n"
        "print('ok')\n"
    )
    p = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "ok"


@pytest.mark.parametrize(
    ("ttl", "valid_seconds"), [(0, 86400), (-5, 86400), (True, 86400), (60, 0), (60, -1)]
)
def test_publish_refuses_a_ttl_or_validity_that_is_not_positive(
    tmp_path: Path, ttl: Any, valid_seconds: int
) -> None:
    """12.14: a zero or negative ttl is a typed error in the library (the CLI's IntRange aside),
    before any file is written."""
    iss = Issuer.init(
        tmp_path / "home",
        issuer_id="urn:oin:00000001003214345000",
        name="CJIB",
        roles=["creditor"],
        status_base_uri="https://status.cjib.example/bk",
    )
    iss.issue(
        DebtStatement.from_claims(
            json.loads((ROOT / "examples/data/debt-statement.json").read_text())
        ),
        holder_jwk=Key.generate().public_jwk(),
    )
    with pytest.raises(InvalidDataError) as err:
        iss.publish_status(tmp_path / "out", ttl=ttl, valid_seconds=valid_seconds)
    assert err.value.code == "invalid_data"
    assert not (tmp_path / "out").exists()
    assert iss.publish_status(tmp_path / "out", ttl=60, valid_seconds=3600)  # the sane case
