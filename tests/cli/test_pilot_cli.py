"""The whole pilot through the real commands, as subprocesses (DESIGN §6 contract)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DATA = ROOT / "examples" / "data"
CJIB = "urn:oin:00000001003214345000"
DUO = "urn:oin:00000001800866472000"
GEM = "urn:oin:00000001001234567000"


def run(
    *args: str, cwd: Path, expect: int = 0, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    prog = BIN / args[0]
    assert prog.exists(), f"{prog} missing: is the package installed?"
    e = {**os.environ, "BLAUWEKNOP_WALLET_PASSPHRASE": "pilot passphrase", **(env or {})}
    p = subprocess.run(
        [str(prog), *args[1:]],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=e,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert p.returncode == expect, (
        f"{args}: exit {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    )
    return p


@pytest.fixture(scope="module", params=["sd-jwt", "di"])
def fmt(request: pytest.FixtureRequest) -> str:
    return str(request.param)


#: Today where the pause windows' days are counted (at 23:30 UTC it is tomorrow there).
TODAY = dt.datetime.now(ZoneInfo("Europe/Amsterdam")).date()
#: The declaration's pause window, shifted to today so the CLI (which uses the real clock)
#: accepts it on any day; the pilot data itself is fixed in time.
HOLD_UNTIL = TODAY + dt.timedelta(days=113)


def declaration_for_today() -> dict[str, object]:
    data = json.loads((DATA / "rode-knop-declaration.json").read_text())
    start = TODAY - dt.timedelta(days=6)
    data.update(
        trajectory_start=start.isoformat(),
        valid_from=start.isoformat(),
        valid_until=HOLD_UNTIL.isoformat(),
        application_date=(start - dt.timedelta(days=19)).isoformat(),
        admission_decision_date=(start - dt.timedelta(days=4)).isoformat(),
    )
    return data


@pytest.fixture(scope="module")
def pilot(tmp_path_factory: pytest.TempPathFactory, fmt: str) -> Path:
    d = tmp_path_factory.mktemp(f"pilot-{fmt}")
    (d / "declaration.json").write_text(json.dumps(declaration_for_today()))
    run("blauweknop", "keys", "generate", "--out", "anchor.jwk", cwd=d)
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
    run(
        "blauweknop",
        "issuer",
        "init",
        "--home",
        "duo",
        "--id",
        DUO,
        "--name",
        "DUO",
        "--status-uri",
        "https://status.duo.example/bk",
        cwd=d,
    )
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
        "--entry",
        "duo/trust-entry.json",
        "--out",
        "trust.jwt",
        cwd=d,
    )
    run("blauweknop", "wallet", "init", "--wallet", "wallet", cwd=d)
    run(
        "blauweknop", "wallet", "holder-key", "--wallet", "wallet", "--out", "holder.pub.jwk", cwd=d
    )
    run(
        "rodeknop",
        "issue",
        "--home",
        "gem",
        "--holder-key",
        "holder.pub.jwk",
        "--data",
        "declaration.json",
        "--out",
        "decl.sdjwt",
        "--format",
        fmt,
        cwd=d,
    )
    run(
        "blauweknop",
        "issue",
        "--home",
        "cjib",
        "--holder-key",
        "holder.pub.jwk",
        "--data",
        str(DATA / "debt-statement.json"),
        "--out",
        "cjib.sdjwt",
        "--format",
        fmt,
        cwd=d,
    )
    run(
        "blauweknop",
        "issue",
        "--home",
        "duo",
        "--holder-key",
        "holder.pub.jwk",
        "--data",
        str(DATA / "debt-statement-duo.json"),
        "--out",
        "duo.sdjwt",
        "--format",
        fmt,
        cwd=d,
    )
    for f in ("decl.sdjwt", "cjib.sdjwt", "duo.sdjwt"):
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
    return d


def publish_and_sync(d: Path) -> None:
    for home in ("gem", "cjib", "duo"):
        out = d / "published" / home
        shutil.rmtree(out, ignore_errors=True)
        prog = "rodeknop" if home == "gem" else "blauweknop"
        run(prog, "status", "publish", "--home", home, "--out-dir", str(out), cwd=d)
        run(
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


def test_trust_show(pilot: Path) -> None:
    p = run(
        "blauweknop",
        "trust",
        "show",
        "trust.jwt",
        "--anchor",
        "anchor.pub.jwk",
        "--json",
        cwd=pilot,
    )
    out = json.loads(p.stdout)
    assert {o["id"] for o in out["organisations"]} == {CJIB, DUO, GEM}
    p = run(
        "blauweknop",
        "trust",
        "show",
        "trust.jwt",
        "--anchor",
        "gem/trust-entry.json",
        cwd=pilot,
        expect=2,
    )
    assert "error" in p.stderr


def test_wallet_list_and_overview(pilot: Path) -> None:
    creds = json.loads(
        run("blauweknop", "wallet", "list", "--wallet", "wallet", "--json", cwd=pilot).stdout
    )["credentials"]
    assert sorted(c["issuer"] for c in creds) == sorted([CJIB, DUO, GEM])
    ov = json.loads(
        run("blauweknop", "wallet", "overview", "--wallet", "wallet", "--json", cwd=pilot).stdout
    )
    assert ov["total_outstanding"] == 50000 + 1438000
    assert ov["pause"]["valid_until"] == HOLD_UNTIL.isoformat()
    assert ov["pause"]["days_left"] == 113
    text = run("blauweknop", "wallet", "overview", "--wallet", "wallet", cwd=pilot).stdout
    assert "TOTAL" in text and "Gemeente Eindhoven" in text


def test_present_verify_decide_then_revoke(pilot: Path, fmt: str) -> None:
    d = pilot
    req = str(
        DATA
        / "requests"
        / ("hold-and-totals.json" if fmt == "sd-jwt" else "hold-and-totals-di.json")
    )
    publish_and_sync(d)
    run(
        "blauweknop",
        "wallet",
        "present",
        "--wallet",
        "wallet",
        "--request",
        req,
        "--nonce",
        "n-1",
        "--audience",
        CJIB,
        "--out",
        "vp.json",
        cwd=d,
    )
    vp = json.loads((d / "vp.json").read_text())
    assert "999999990" not in json.dumps(
        vp
    )  # not requested, so not disclosed (DI shows values in clear)
    p = run(
        "blauweknop",
        "verify",
        "vp.json",
        "--trust-list",
        "trust.jwt",
        "--anchor",
        "anchor.pub.jwk",
        "--nonce",
        "n-1",
        "--audience",
        CJIB,
        "--request",
        req,
        "--status-dir",
        "cache",
        "--json",
        cwd=d,
    )
    out = json.loads(p.stdout)
    assert out["ok"] is True
    assert out["decisions"][0]["hold_until"] == HOLD_UNTIL.isoformat()
    decl = next(c for c in out["credentials"] if c["vct"].startswith("urn:rodeknop"))
    assert "bsn" not in decl["claims"].get("subject", {})
    text = run(
        "blauweknop",
        "verify",
        "vp.json",
        "--trust-list",
        "trust.jwt",
        "--anchor",
        "anchor.pub.jwk",
        "--nonce",
        "n-1",
        "--audience",
        CJIB,
        "--status-dir",
        "cache",
        cwd=d,
    ).stdout
    assert "PUT COLLECTION ON HOLD" in text
    # replay to another nonce / audience: rejected, exit 1, reason code printed
    p = run(
        "blauweknop",
        "verify",
        "vp.json",
        "--trust-list",
        "trust.jwt",
        "--anchor",
        "anchor.pub.jwk",
        "--nonce",
        "other",
        "--audience",
        CJIB,
        "--status-dir",
        "cache",
        cwd=d,
        expect=1,
    )
    assert "[nonce_mismatch]" in p.stderr
    p = run(
        "blauweknop",
        "verify",
        "vp.json",
        "--trust-list",
        "trust.jwt",
        "--anchor",
        "anchor.pub.jwk",
        "--nonce",
        "n-1",
        "--audience",
        DUO,
        "--status-dir",
        "cache",
        cwd=d,
        expect=1,
    )
    assert "[audience_mismatch]" in p.stderr
    # no status cache: fail closed
    p = run(
        "blauweknop",
        "verify",
        "vp.json",
        "--trust-list",
        "trust.jwt",
        "--anchor",
        "anchor.pub.jwk",
        "--nonce",
        "n-1",
        "--audience",
        CJIB,
        cwd=d,
        expect=1,
    )
    assert "[status_unavailable]" in p.stderr
    # the municipality ends the trajectory
    run(
        "rodeknop",
        "revoke",
        "--home",
        "gem",
        "--reason",
        "trajectory ended",
        "GM0772-RK-2026-0815",
        cwd=d,
    )
    listed = json.loads(run("rodeknop", "list", "--home", "gem", "--json", cwd=d).stdout)[
        "credentials"
    ]
    assert [r["state"] for r in listed] == ["revoked"]
    publish_and_sync(d)
    run(
        "blauweknop",
        "wallet",
        "present",
        "--wallet",
        "wallet",
        "--request",
        req,
        "--nonce",
        "n-2",
        "--audience",
        CJIB,
        "--out",
        "vp2.json",
        cwd=d,
    )
    p = run(
        "blauweknop",
        "verify",
        "vp2.json",
        "--trust-list",
        "trust.jwt",
        "--anchor",
        "anchor.pub.jwk",
        "--nonce",
        "n-2",
        "--audience",
        CJIB,
        "--status-dir",
        "cache",
        cwd=d,
        expect=1,
    )
    assert "[revoked]" in p.stderr


def test_usage_errors_exit_2(pilot: Path) -> None:
    p = run(
        "blauweknop",
        "verify",
        "missing.json",
        "--trust-list",
        "trust.jwt",
        "--anchor",
        "anchor.pub.jwk",
        "--nonce",
        "n",
        "--audience",
        CJIB,
        cwd=pilot,
        expect=2,
    )
    assert "file_unreadable" in p.stderr or "does not exist" in p.stderr
    run("blauweknop", "verify", cwd=pilot, expect=2)
    (pilot / "garbage.json").write_text("{not json")
    p = run(
        "blauweknop",
        "verify",
        "garbage.json",
        "--trust-list",
        "trust.jwt",
        "--anchor",
        "anchor.pub.jwk",
        "--nonce",
        "n",
        "--audience",
        CJIB,
        cwd=pilot,
        expect=1,
    )
    assert "[malformed_json]" in p.stderr
    bad = declaration_for_today()
    bad["valid_until"] = "2020-01-01"
    (pilot / "bad.json").write_text(json.dumps(bad))
    p = run(
        "rodeknop",
        "issue",
        "--home",
        "gem",
        "--holder-key",
        "holder.pub.jwk",
        "--data",
        "bad.json",
        "--out",
        "bad.sdjwt",
        cwd=pilot,
        expect=2,
    )
    assert "valid_until" in p.stderr
    assert not (pilot / "bad.sdjwt").exists()


def test_creditor_cannot_issue_rode_knop(pilot: Path) -> None:
    p = run(
        "rodeknop",
        "issue",
        "--home",
        "cjib",
        "--holder-key",
        "holder.pub.jwk",
        "--data",
        str(DATA / "rode-knop-declaration.json"),
        "--out",
        "forged.sdjwt",
        cwd=pilot,
        expect=2,
    )
    assert "untrusted_issuer" in p.stderr


def test_wrong_passphrase(pilot: Path) -> None:
    p = run(
        "blauweknop",
        "wallet",
        "list",
        "--wallet",
        "wallet",
        cwd=pilot,
        expect=2,
        env={"BLAUWEKNOP_WALLET_PASSPHRASE": "wrong"},
    )
    assert "[wrong_passphrase]" in p.stderr
