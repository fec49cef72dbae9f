"""Revoke / suspend / resume, ``list --state`` and ``status publish`` through both commands, and
what a creditor sees after publish + sync (DESIGN §5 and §6), as subprocesses.

Every test builds its own issuer homes, so the tests do not depend on each other's order (the
suite runs with ``pytest -n 2``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from blauweknop import Key
from blauweknop._register import Register
from blauweknop._status import BitstringStatusList, verify_status_list_token

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DATA = ROOT / "examples" / "data"
GEM = "urn:oin:00000001001234567000"
CJIB = "urn:oin:00000001003214345000"
EXAMPLES_DATED = dt.date(2026, 11, 22)
RK_IDS = ["GM0772-RK-2026-0901", "GM0772-RK-2026-0902", "GM0772-RK-2026-0903"]
BK_IDS = ["CJIB-2026-000123", "CJIB-2026-000124"]


def run(*args: str, cwd: Path, expect: int = 0) -> subprocess.CompletedProcess[str]:
    prog = BIN / args[0]
    assert prog.exists(), f"{prog} missing: is the package installed?"
    env = {**os.environ, "BLAUWEKNOP_WALLET_PASSPHRASE": "lifecycle passphrase"}
    p = subprocess.run(
        [str(prog), *args[1:]],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert p.returncode == expect, (
        f"{args}: exit {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    )
    return p


def batch_csv(d: Path, holder_for_first: str | None = None) -> Path:
    """The first three rows of the example batch, dates shifted to stay current; optionally the
    first row bound to another holder key file."""
    days = max(0, (dt.date.today() - EXAMPLES_DATED).days)
    text = (DATA / "batch" / "admissions.csv").read_text("utf-8")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))[:3]
    for r in rows:
        for k in ("birthdate", "trajectory_start", "valid_from", "valid_until"):
            r[k] = (dt.date.fromisoformat(r[k]) + dt.timedelta(days=days)).isoformat()
        for k in ("application_date", "admission_decision_date"):
            if r[k]:
                r[k] = (dt.date.fromisoformat(r[k]) + dt.timedelta(days=days)).isoformat()
    if holder_for_first:
        rows[0]["holder_key"] = holder_for_first
    shutil.copytree(DATA / "batch" / "holders", d / "holders", dirs_exist_ok=True)
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    (d / "admissions.csv").write_text(buf.getvalue(), encoding="utf-8")
    return d / "admissions.csv"


def municipality(d: Path, holder_for_first: str | None = None) -> None:
    """HOME gem with three declarations issued by batch."""
    run(
        "rodeknop",
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
        cwd=d,
    )
    batch_csv(d, holder_for_first)
    run("rodeknop", "issue", "--home", "gem", "--batch", "admissions.csv", "--out-dir", "rk", cwd=d)


def creditor(d: Path, holder: str = "holders/bakker.pub.jwk") -> None:
    """HOME cjib with two debt statements (the first to ``holder``)."""
    run(
        "blauweknop",
        "issuer",
        "init",
        "--home",
        "cjib",
        "--id",
        CJIB,
        "--name",
        "CJIB",
        "--status-uri",
        "https://status.cjib.example/bk",
        cwd=d,
    )
    shutil.copytree(DATA / "batch" / "holders", d / "holders", dirs_exist_ok=True)
    second = json.loads((DATA / "debt-statement.json").read_text())
    second["statement_id"] = BK_IDS[1]
    (d / "second.json").write_text(json.dumps(second))
    run(
        "blauweknop",
        "issue",
        "--home",
        "cjib",
        "--holder-key",
        holder,
        "--data",
        str(DATA / "debt-statement.json"),
        "--out",
        "s1.sdjwt",
        cwd=d,
    )
    run(
        "blauweknop",
        "issue",
        "--home",
        "cjib",
        "--holder-key",
        "holders/smit.pub.jwk",
        "--data",
        "second.json",
        "--out",
        "s2.sdjwt",
        cwd=d,
    )


def listed(prog: str, home: str, d: Path, *extra: str) -> list[str]:
    out = json.loads(run(prog, "list", "--home", home, "--json", *extra, cwd=d).stdout)
    return sorted(r["credential_id"] for r in out["credentials"])


def audit(d: Path, home: str, cid: str) -> list[tuple[str | None, str, str, str]]:
    with Register.open(d / home / "register.sqlite", read_only=True) as reg:
        return [(a.from_state, a.to_state, a.reason, a.actor) for a in reg.audit(cid)]


CASES = {
    "rodeknop": ("gem", RK_IDS),
    "blauweknop": ("cjib", BK_IDS),
}


@pytest.fixture(params=sorted(CASES))
def issuer(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str, list[str], Path]:
    prog = request.param
    home, ids = CASES[prog]
    if prog == "rodeknop":
        municipality(tmp_path)
    else:
        creditor(tmp_path)
    return prog, home, ids, tmp_path


def test_suspend_resume_revoke_and_list_by_state(issuer: tuple[str, str, list[str], Path]) -> None:
    prog, home, ids, d = issuer
    x, y = ids[0], ids[1]
    assert listed(prog, home, d, "--state", "valid") == sorted(ids)
    p = run(
        prog,
        "suspend",
        "--home",
        home,
        "--reason",
        "address in doubt",
        "--actor",
        "clerk@example",
        x,
        cwd=d,
    )
    assert f"{x}: suspended" in p.stdout and "status publish" in p.stdout
    assert listed(prog, home, d, "--state", "suspended") == [x]
    assert listed(prog, home, d, "--state", "valid") == sorted(set(ids) - {x})
    p = run(prog, "resume", "--home", home, "--reason", "address confirmed", x, cwd=d)
    assert f"{x}: resumed" in p.stdout
    assert listed(prog, home, d, "--state", "suspended") == []
    p = run(prog, "revoke", "--home", home, "--reason", "trajectory ended", y, cwd=d)
    assert f"{y}: revoked" in p.stdout
    assert listed(prog, home, d, "--state", "revoked") == [y]
    assert listed(prog, home, d, "--state", "pending") == []
    assert listed(prog, home, d) == sorted(ids)
    assert audit(d, home, x)[2:] == [
        ("valid", "suspended", "address in doubt", "clerk@example"),
        ("suspended", "valid", "address confirmed", "operator"),
    ]
    assert audit(d, home, y)[2:] == [("valid", "revoked", "trajectory ended", "operator")]
    text = run(prog, "list", "--home", home, "--state", "revoked", cwd=d).stdout
    assert y in text and "revoked" in text and x not in text


def test_illegal_transitions_exit_2_with_the_code(issuer: tuple[str, str, list[str], Path]) -> None:
    prog, home, ids, d = issuer
    x, y = ids[0], ids[1]
    run(prog, "revoke", "--home", home, "--reason", "ended", y, cwd=d)
    run(prog, "suspend", "--home", home, "--reason", "doubt", x, cwd=d)
    trails = {cid: audit(d, home, cid) for cid in ids}
    for action, cid, state in (
        ("resume", y, "revoked"),  # nothing after revoked
        ("revoke", y, "revoked"),  # revoke twice
        ("suspend", y, "revoked"),
        ("suspend", x, "suspended"),  # suspend twice
    ):
        p = run(prog, action, "--home", home, "--reason", "again", cid, cwd=d, expect=2)
        assert "error [illegal_transition]" in p.stderr, (action, cid)
        assert f"cannot {action} credential {cid!r}: it is {state}" in p.stderr
    run(prog, "resume", "--home", home, "--reason", "cleared", x, cwd=d)
    p = run(prog, "resume", "--home", home, "--reason", "again", x, cwd=d, expect=2)
    assert "error [illegal_transition]" in p.stderr and "it is valid" in p.stderr
    # a refused change leaves no trace in the audit trail
    assert audit(d, home, y) == trails[y]
    assert audit(d, home, x) == [*trails[x], ("suspended", "valid", "cleared", "operator")]
    assert listed(prog, home, d, "--state", "revoked") == [y]
    assert listed(prog, home, d, "--state", "suspended") == []


def test_unknown_id_and_missing_reason(issuer: tuple[str, str, list[str], Path]) -> None:
    prog, home, ids, d = issuer
    for action in ("revoke", "suspend", "resume"):
        p = run(prog, action, "--home", home, "--reason", "r", "NO-SUCH-ID", cwd=d, expect=2)
        assert "error [credential_unknown]" in p.stderr and "NO-SUCH-ID" in p.stderr
    p = run(prog, "revoke", "--home", home, ids[0], cwd=d, expect=2)
    assert "Missing option '--reason'" in p.stderr
    p = run(prog, "revoke", "--home", "nowhere", "--reason", "r", ids[0], cwd=d, expect=2)
    assert "[home_not_found]" in p.stderr
    assert listed(prog, home, d, "--state", "valid") == sorted(ids)


def test_status_publish_writes_the_lists(issuer: tuple[str, str, list[str], Path]) -> None:
    prog, home, ids, d = issuer
    x, y = ids[0], ids[1]
    run(prog, "revoke", "--home", home, "--reason", "ended", x, cwd=d)
    run(prog, "suspend", "--home", home, "--reason", "doubt", y, cwd=d)
    p = run(prog, "status", "publish", "--home", home, "--out-dir", "pub", cwd=d)
    names = sorted(f.name for f in (d / "pub").iterdir())
    assert "1.jwt" in names
    assert sorted(p.stdout.split()[1::2]) == [str((d / "pub" / n).resolve()) for n in names]
    records = {
        r["credential_id"]: r
        for r in json.loads(run(prog, "list", "--home", home, "--json", cwd=d).stdout)[
            "credentials"
        ]
    }
    entry = json.loads((d / home / "trust-entry.json").read_text())
    key = Key.from_jwk(entry["jwks"]["keys"][0])
    token = verify_status_list_token(
        (d / "pub" / "1.jwt").read_bytes(),
        key=key,
        expected_uri=records[x]["list_uri"],
        now=time.time(),
        expected_issuer=entry["id"],
    )
    assert token.status(records[x]["idx"]) == 1  # INVALID
    assert token.status(records[y]["idx"]) == 2  # SUSPENDED
    for untouched in set(ids) - {x, y}:
        assert token.status(records[untouched]["idx"]) == 0
    if "1-revocation.json" in names:  # W3C form, when the Data Integrity signer is present
        assert "1-suspension.json" in names
        for purpose, hit in (("revocation", x), ("suspension", y)):
            doc = json.loads((d / "pub" / f"1-{purpose}.json").read_text())
            bits = BitstringStatusList.decode(doc["credentialSubject"]["encodedList"])
            assert bits.get(records[hit]["idx"]) == 1
            other = y if hit == x else x
            assert bits.get(records[other]["idx"]) == 0


# -- what a creditor sees -----------------------------------------------------------------
def publish_and_sync(d: Path) -> None:
    for prog, home in (("rodeknop", "gem"), ("blauweknop", "cjib")):
        out = d / "published" / home
        shutil.rmtree(out, ignore_errors=True)
        run(prog, "status", "publish", "--home", home, "--out-dir", str(out), cwd=d)
        p = run(
            "blauweknop",
            "status",
            "sync",
            "--status-dir",
            "cache",
            "--from-dir",
            str(out),
            "--trust-list",
            "trust.jwt",
            "--anchor",
            "anchor.pub.jwk",
            cwd=d,
        )
        assert "cached https://status." in p.stdout


def present_and_verify(d: Path, request: str, nonce: str, expect: int) -> str:
    req = str(DATA / "requests" / request)
    run(
        "blauweknop",
        "wallet",
        "present",
        "--wallet",
        "wallet",
        "--request",
        req,
        "--nonce",
        nonce,
        "--audience",
        CJIB,
        "--out",
        f"{nonce}.json",
        cwd=d,
    )
    p = run(
        "blauweknop",
        "verify",
        f"{nonce}.json",
        "--trust-list",
        "trust.jwt",
        "--anchor",
        "anchor.pub.jwk",
        "--nonce",
        nonce,
        "--audience",
        CJIB,
        "--request",
        req,
        "--status-dir",
        "cache",
        "--json",
        cwd=d,
        expect=expect,
    )
    out = json.loads(p.stdout)
    if expect == 0:
        assert out["ok"] is True
        return ",".join(c["status"] for c in out["credentials"])
    assert out["ok"] is False
    return f"[{out['code']}]"


def test_creditor_sees_suspended_resumed_and_revoked_after_publish_and_sync(tmp_path: Path) -> None:
    d = tmp_path
    run("blauweknop", "keys", "generate", "--out", "anchor.jwk", cwd=d)
    run("blauweknop", "wallet", "init", "--wallet", "wallet", cwd=d)
    run(
        "blauweknop", "wallet", "holder-key", "--wallet", "wallet", "--out", "holder.pub.jwk", cwd=d
    )
    municipality(d, holder_for_first="holder.pub.jwk")
    creditor(d, holder="holder.pub.jwk")
    run(
        "blauweknop",
        "trust",
        "build",
        "--anchor-key",
        "anchor.jwk",
        "--entry",
        "gem/trust-entry.json",
        "--entry",
        "cjib/trust-entry.json",
        "--out",
        "trust.jwt",
        cwd=d,
    )
    for f in (f"rk/{RK_IDS[0]}.sd-jwt", "s1.sdjwt"):
        run(
            "blauweknop",
            "wallet",
            "add",
            "--wallet",
            "wallet",
            f,
            "--trust-list",
            "trust.jwt",
            "--anchor",
            "anchor.pub.jwk",
            cwd=d,
        )
    rk, bk = "rode-knop-check.json", "outstanding-totals.json"
    publish_and_sync(d)
    assert present_and_verify(d, rk, "n-1", 0) == "valid"
    assert present_and_verify(d, bk, "n-2", 0) == "valid"

    run("rodeknop", "suspend", "--home", "gem", "--reason", "in doubt", RK_IDS[0], cwd=d)
    # not yet published: the creditor's cache still says valid
    assert present_and_verify(d, rk, "n-3", 0) == "valid"
    publish_and_sync(d)
    assert present_and_verify(d, rk, "n-4", 1) == "[suspended]"
    run("rodeknop", "resume", "--home", "gem", "--reason", "cleared", RK_IDS[0], cwd=d)
    publish_and_sync(d)
    assert present_and_verify(d, rk, "n-5", 0) == "valid"

    run("blauweknop", "suspend", "--home", "cjib", "--reason", "disputed", BK_IDS[0], cwd=d)
    publish_and_sync(d)
    assert present_and_verify(d, bk, "n-6", 1) == "[suspended]"
    run("blauweknop", "revoke", "--home", "cjib", "--reason", "paid", BK_IDS[0], cwd=d)
    publish_and_sync(d)
    assert present_and_verify(d, bk, "n-7", 1) == "[revoked]"

    run("rodeknop", "revoke", "--home", "gem", "--reason", "trajectory ended", RK_IDS[0], cwd=d)
    publish_and_sync(d)
    assert present_and_verify(d, rk, "n-8", 1) == "[revoked]"
    p = run(
        "blauweknop",
        "verify",
        "n-8.json",
        "--trust-list",
        "trust.jwt",
        "--anchor",
        "anchor.pub.jwk",
        "--nonce",
        "n-8",
        "--audience",
        CJIB,
        "--status-dir",
        "cache",
        cwd=d,
        expect=1,
    )
    assert p.stderr.startswith("rejected [revoked]: ")
    # the other declarations of the batch were never touched
    assert listed("rodeknop", "gem", d, "--state", "valid") == RK_IDS[1:]
