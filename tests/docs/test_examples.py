"""Every program in ``examples/`` runs, as a subprocess with a timeout, and does what it says.

``examples/creditor_service.py`` is also started as a real HTTP service on an ephemeral
loopback port; a wallet in this process answers it over HTTP, and a replayed answer is refused.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import queue
import secrets
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from docs._clock import HOURS, a_year_ahead, faked

from blauweknop import (
    Issuer,
    Key,
    StatusCache,
    TrustList,
    Wallet,
    build_trust_list,
)
from blauweknop.debt import DebtStatement
from rodeknop_vc import PaymentIncapacityDeclaration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
DATA = EXAMPLES / "data"
BIN = Path(sys.executable).parent
TIMEOUT = 300
CJIB = "urn:oin:00000001003214345000"
EINDHOVEN = "urn:oin:00000001001234567000"

#: Each example program and the test that runs it (a new example needs a test here).
COVERED = {
    "pilot.py": "test_pilot",
    "municipal_operator_day.sh": "test_municipal_operator_day",
    "wallet_app.py": "test_wallet_app",
    "creditor_service.py": "test_creditor_service_demo",
    "scheme_authority.sh": "test_scheme_authority",
    "shift_dates.py": "test_shift_dates",
}


def env() -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    e["PATH"] = f"{BIN}{os.pathsep}{e.get('PATH', '')}"
    e["BLAUWEKNOP_WALLET_PASSPHRASE"] = "fictional test passphrase"
    e["NO_COLOR"] = "1"
    return e


def run(
    *args: str, cwd: Path, environ: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    p = subprocess.run(
        list(args),
        cwd=cwd,
        env=environ or env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    out, err = p.stdout[-5000:], p.stderr[-5000:]
    assert p.returncode == 0, f"{args}: exit {p.returncode}\n--- stdout:\n{out}\n--- stderr:\n{err}"
    return p


def test_every_example_is_run_here() -> None:
    found = {
        p.name
        for p in EXAMPLES.iterdir()
        if p.suffix in (".py", ".sh") and not p.name.startswith("_")
    }
    assert found == set(COVERED), (
        f"examples without a test (or tests without an example): {found ^ set(COVERED)}"
    )
    for name in COVERED.values():
        assert callable(globals().get(name)), name


def test_pilot(tmp_path: Path) -> None:
    """``make demo`` runs examples/pilot.py; ``make demo-di`` the same with W3C credentials."""
    make = subprocess.run(
        ["make", "-n", "demo", "demo-di"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if make.returncode == 0:  # without make on the machine the Makefile is not checked
        assert "examples/pilot.py" in make.stdout and "--format di" in make.stdout
    for fmt in ("sd-jwt", "di"):
        p = run(
            sys.executable,
            str(EXAMPLES / "pilot.py"),
            "--format",
            fmt,
            "--out-dir",
            str(tmp_path / fmt),
            cwd=tmp_path,
        )
        assert "PUT COLLECTION ON HOLD" in p.stdout
        assert "REJECTS the declaration: [revoked]" in p.stdout


def test_municipal_operator_day(tmp_path: Path) -> None:
    check_municipal_operator_day(tmp_path, env())


@pytest.mark.slow
@pytest.mark.parametrize("hour_minute", HOURS, ids=lambda hm: f"{hm[0]:02d}{hm[1]:02d}Z")
def test_municipal_operator_day_a_year_ahead(tmp_path: Path, hour_minute: tuple[int, int]) -> None:
    """The script and its example batch do not depend on the day or the hour (libfaketime)."""
    when = a_year_ahead(*hour_minute)
    check_municipal_operator_day(tmp_path, faked(env(), when), now=when)


def check_municipal_operator_day(
    tmp_path: Path, environ: dict[str, str], now: dt.datetime | None = None
) -> None:
    work = tmp_path / "day"
    p = run(
        "bash",
        str(EXAMPLES / "municipal_operator_day.sh"),
        str(work),
        cwd=tmp_path,
        environ=environ,
    )
    report = json.loads((work / "issued" / "batch-report.json").read_text())
    assert len(report["already_done"]) == 10, "the second run finds the rows issued by the first"
    assert report["issued"] == [] and report["failed"] == []
    listed = json.loads((work / "valid.json").read_text())["credentials"]
    revoked = listed[0]["credential_id"]
    assert f"{revoked}: revoked" in p.stdout
    published = sorted(f.name for f in (work / "public" / "status").iterdir())
    assert any(f.endswith(".jwt") for f in published), published
    # The published list really marks the revoked declaration: check it as a creditor would.
    issuer = Issuer.open(work / "gemeente")
    trust = TrustList.verify(
        build_trust_list([issuer.trust_entry()], anchor := Key.generate()), anchor.public()
    )
    row = next(r for r in issuer.register.list() if r.credential_id == revoked)
    cache = StatusCache(tmp_path / "cache", trust_list=trust)
    at = (now or dt.datetime.now(dt.UTC)).timestamp()
    for f in (work / "public" / "status").iterdir():
        cache.import_file(f, now=at)  # the lists were made on the script's (faked) day
    with pytest.raises(Exception, match="revoked") as err:
        cache.token_status(row.list_uri, row.idx, issuer=trust.organisation(EINDHOVEN), now=at)
    assert getattr(err.value, "code", None) == "revoked"


def test_shift_dates(tmp_path: Path) -> None:
    """The example data, copied with the dates moved by the days since they were written."""
    p = run(sys.executable, str(EXAMPLES / "shift_dates.py"), str(DATA), "data", cwd=tmp_path)
    today = dt.datetime.now(ZoneInfo("Europe/Amsterdam")).date()
    days = (today - dt.date(2026, 11, 22)).days
    assert f"dates moved by {days} day(s)" in p.stdout

    def moved(value: str) -> str:
        return str(dt.date.fromisoformat(value) + dt.timedelta(days=days))

    original = json.loads((DATA / "rode-knop-declaration.json").read_text())
    copy = json.loads((tmp_path / "data" / "rode-knop-declaration.json").read_text())
    for field in ("trajectory_start", "valid_from", "valid_until", "application_date"):
        assert copy[field] == moved(original[field]), field
    assert copy["subject"]["birthdate"] == original["subject"]["birthdate"]
    assert copy["declaration_id"] == original["declaration_id"]
    # The window now lies around today, as the pilot's did around 2026-11-22.
    assert dt.date.fromisoformat(copy["valid_from"]) <= today
    assert dt.date.fromisoformat(copy["valid_until"]) > today + dt.timedelta(days=100)
    stmt = json.loads((tmp_path / "data" / "debt-statement.json").read_text())
    assert stmt["balance_at"][10:] == "T09:00:00+01:00", "a date-time keeps its time"

    rows = list(csv.DictReader((DATA / "batch" / "admissions.csv").open(encoding="utf-8")))
    moved_rows = list(
        csv.DictReader((tmp_path / "data" / "batch" / "admissions.csv").open(encoding="utf-8"))
    )
    assert len(moved_rows) == len(rows) == 10
    for a, b in zip(rows, moved_rows, strict=True):
        assert b["valid_until"] == moved(a["valid_until"]) and b["birthdate"] == a["birthdate"]
        assert b["holder_key"] == a["holder_key"] and b["bsn"] == a["bsn"]
    for key in (DATA / "batch" / "holders").iterdir():  # unchanged, so the CSV's paths resolve
        assert (tmp_path / "data" / "batch" / "holders" / key.name).read_bytes() == key.read_bytes()

    # An existing folder is not overwritten.
    again = subprocess.run(
        [sys.executable, str(EXAMPLES / "shift_dates.py"), str(DATA), "data"],
        cwd=tmp_path,
        env=env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert again.returncode == 2 and "exists" in again.stderr


def test_scheme_authority(tmp_path: Path) -> None:
    work = tmp_path / "authority"
    p = run("bash", str(EXAMPLES / "scheme_authority.sh"), str(work), cwd=tmp_path)
    assert "refused, as it should be" in p.stdout
    anchor = Key.load(work / "public" / "anchor.pub.jwk")
    trust = TrustList.verify((work / "public" / "trust.jwt").read_bytes(), anchor)
    assert set(trust.organisations) == {EINDHOVEN, CJIB, "urn:oin:00000001800866472000"}
    assert trust.organisation("urn:oin:00000001800866472000").valid_until is not None
    assert "municipality" in trust.organisation(EINDHOVEN).roles


def test_wallet_app(tmp_path: Path) -> None:
    out = tmp_path / "vp_token.json"
    p = run(sys.executable, str(EXAMPLES / "wallet_app.py"), "--out", str(out), cwd=tmp_path)
    assert "Consent screen (plan.to_dict()):" in p.stdout
    consent = p.stdout.split("Consent screen (plan.to_dict()):\n", 1)[1]
    plan = json.JSONDecoder().raw_decode(consent)[0]
    assert plan["satisfiable"] is True
    disclosed = [d["path"] for q in plan["queries"] for s in q["selected"] for d in s["disclose"]]
    assert ["subject", "bsn"] not in disclosed, "the creditor's request does not ask for the BSN"
    vp_token = json.loads(out.read_text())
    assert set(vp_token) == {"payment_incapacity_declaration", "debt_statements"}
    assert "Rode Knop pause by Gemeente Eindhoven" in p.stdout


def test_wallet_app_reports_an_unanswerable_request(tmp_path: Path) -> None:
    req = {
        "credentials": [
            {"id": "x", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:example:unknown:1"]}}
        ]
    }
    (tmp_path / "req.json").write_text(json.dumps(req))
    p = subprocess.run(
        [sys.executable, str(EXAMPLES / "wallet_app.py"), "--request", "req.json"],
        cwd=tmp_path,
        env=env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert p.returncode == 1, p.stdout + p.stderr
    assert "cannot answer" in p.stdout


def test_creditor_service_demo(tmp_path: Path) -> None:
    p = run(sys.executable, str(EXAMPLES / "creditor_service.py"), "--demo", cwd=tmp_path)
    assert "POST /response -> 200" in p.stdout
    assert "(replay) -> 409 transaction_unknown_or_used" in p.stdout


# -- the creditor service as a real process, a wallet answering over loopback HTTP ---------------
def http(
    method: str, url: str, body: Any = None, *, form: bool = False
) -> tuple[int, dict[str, Any]]:
    assert url.startswith("http://127.0.0.1:"), url
    if form:
        data = urllib.parse.urlencode(body).encode()
        ctype = "application/x-www-form-urlencoded"
    else:
        data = None if body is None else json.dumps(body).encode()
        ctype = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": ctype})  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310 - loopback only
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.fixture
def scheme(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A fictional scheme on disk: trust list, anchor, status cache, and a wallet holding a
    declaration and a debt statement."""
    anchor = Key.generate()
    gemeente = Issuer.init(
        tmp_path / "gemeente",
        issuer_id=EINDHOVEN,
        name="Gemeente Eindhoven",
        roles=["municipality"],
        status_base_uri="https://status.eindhoven.example/rk",
    )
    cjib = Issuer.init(
        tmp_path / "cjib",
        issuer_id=CJIB,
        name="CJIB",
        roles=["creditor"],
        status_base_uri="https://status.cjib.example/bk",
    )
    (tmp_path / "trust.jwt").write_text(
        build_trust_list([gemeente.trust_entry(), cjib.trust_entry()], anchor, valid_days=30)
    )
    (tmp_path / "anchor.pub.jwk").write_text(json.dumps(anchor.public_jwk()))
    trust = TrustList.verify((tmp_path / "trust.jwt").read_text(), anchor.public())
    wallet = Wallet.create(tmp_path / "wallet", key=secrets.token_bytes(32))
    today = dt.date.today()
    claims = json.loads((DATA / "rode-knop-declaration.json").read_text())
    claims |= {
        "trajectory_start": str(today),
        "valid_from": str(today),
        "valid_until": str(today + dt.timedelta(days=119)),
    }
    decl = gemeente.issue(
        PaymentIncapacityDeclaration.from_claims(claims), holder_jwk=wallet.holder_jwk()
    )
    stmt = cjib.issue(
        DebtStatement.from_claims(json.loads((DATA / "debt-statement.json").read_text())),
        holder_jwk=wallet.holder_jwk(),
    )
    for c in (decl, stmt):
        wallet.add(c.text, trust_list=trust)
    cache = StatusCache(tmp_path / "status-cache", trust_list=trust)
    for issuer, name in ((gemeente, "gemeente"), (cjib, "cjib")):
        for f in issuer.publish_status(tmp_path / "published" / name):
            cache.import_file(f)
    try:
        yield {
            "dir": tmp_path,
            "wallet": wallet,
            "gemeente": gemeente,
            "cjib": cjib,
            "anchor": anchor,
            "decl": decl,
            "trust": trust,
        }
    finally:
        wallet.close()


@pytest.fixture
def service(scheme: dict[str, Any]) -> Iterator[str]:
    """``creditor_service.py`` on 127.0.0.1, port chosen by the OS; yields its base URL."""
    d = scheme["dir"]
    proc = subprocess.Popen(
        [
            sys.executable,
            str(EXAMPLES / "creditor_service.py"),
            "--trust-list",
            str(d / "trust.jwt"),
            "--anchor",
            str(d / "anchor.pub.jwk"),
            "--status-dir",
            str(d / "status-cache"),
            "--audience",
            CJIB,
            "--host",
            "127.0.0.1",
            "--port",
            "0",
        ],
        cwd=d,
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(ln) for ln in proc.stdout or ()], daemon=True
    ).start()
    try:
        try:
            first = lines.get(timeout=60)
        except queue.Empty:
            pytest.fail("the service did not start within 60 s")
        assert first.startswith("listening on http://127.0.0.1:"), first
        yield first.split()[-1].strip()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def test_creditor_service_over_http(scheme: dict[str, Any], service: str) -> None:
    wallet: Wallet = scheme["wallet"]
    status, req = http("GET", f"{service}/request")
    assert status == 200
    assert req["client_id"] == CJIB and req["response_uri"] == f"{service}/response"
    _, req2 = http("GET", f"{service}/request")
    assert req2["nonce"] != req["nonce"] and req2["state"] != req["state"]

    vp_token = wallet.present(req["dcql_query"], nonce=req["nonce"], audience=req["client_id"])
    answer = {"state": req["state"], "vp_token": vp_token}
    status, body = http("POST", req["response_uri"], answer)
    assert status == 200, body
    assert body["ok"] is True
    assert body["decisions"][0]["hold"] is True
    assert body["decisions"][0]["declaration_id"] == scheme["decl"].credential_id
    vcts = sorted(c["vct"] for c in body["credentials"])
    assert vcts == [
        "urn:blauweknop:debt-statement:1",
        "urn:rodeknop:payment-incapacity-declaration:1",
    ]
    assert "bsn" not in json.dumps(body), "not requested, so not disclosed"

    # Replay: the same answer again is refused; its nonce was used once.
    status, body = http("POST", req["response_uri"], answer)
    assert status == 409 and body["code"] == "transaction_unknown_or_used"
    # The same vp_token for another open transaction: bound to the old nonce, so rejected.
    status, body = http(
        "POST", req2["response_uri"], {"state": req2["state"], "vp_token": vp_token}
    )
    assert status == 422 and body["code"] == "nonce_mismatch", body
    # ... and that transaction is used up too, even though it failed.
    status, body = http(
        "POST", req2["response_uri"], {"state": req2["state"], "vp_token": vp_token}
    )
    assert status == 409


def test_creditor_service_form_post_and_bad_input(scheme: dict[str, Any], service: str) -> None:
    wallet: Wallet = scheme["wallet"]
    _, req = http("GET", f"{service}/request")
    vp_token = wallet.present(req["dcql_query"], nonce=req["nonce"], audience=req["client_id"])
    # direct_post as a form, the vp_token as a JSON string (OpenID4VP 1.0)
    status, body = http(
        "POST",
        req["response_uri"],
        {"state": req["state"], "vp_token": json.dumps(vp_token)},
        form=True,
    )
    assert status == 200, body
    # A presentation bound to another audience is refused.
    _, req = http("GET", f"{service}/request")
    other = wallet.present(
        req["dcql_query"], nonce=req["nonce"], audience="urn:oin:00000001800866472000"
    )
    status, body = http("POST", req["response_uri"], {"state": req["state"], "vp_token": other})
    assert status == 422 and body["code"] == "audience_mismatch", body
    # Duplicate member names are refused before anything else.
    raw = b'{"state": "a", "state": "b", "vp_token": {}}'
    r = urllib.request.Request(  # noqa: S310 - loopback only
        f"{service}/response",
        data=raw,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(r, timeout=60)  # noqa: S310 - loopback only
    assert e.value.code == 400
    assert http("GET", f"{service}/elsewhere")[0] == 404


def test_creditor_service_sees_a_revocation(scheme: dict[str, Any], service: str) -> None:
    """The service reads the status cache at every verification: a revocation synced into it
    is seen without a restart."""
    d, gemeente = scheme["dir"], scheme["gemeente"]
    gemeente.revoke(scheme["decl"].credential_id, reason="trajectory ended", actor="test")
    cache = StatusCache(d / "status-cache", trust_list=scheme["trust"])
    for f in gemeente.publish_status(d / "published" / "gemeente-2"):
        cache.import_file(f)
    _, req = http("GET", f"{service}/request")
    vp_token = scheme["wallet"].present(
        req["dcql_query"], nonce=req["nonce"], audience=req["client_id"]
    )
    status, body = http("POST", req["response_uri"], {"state": req["state"], "vp_token": vp_token})
    assert status == 422 and body["code"] == "revoked", body


def test_creditor_service_refuses_an_old_trust_list(scheme: dict[str, Any]) -> None:
    """Issue 12.11: a 40-day-old trust list (valid for 400 days) is refused at start-up by the
    default maximum age (31 days), with a message and exit code 2, not a traceback."""
    d = scheme["dir"]
    old = d / "old-trust.jwt"
    old.write_text(
        build_trust_list(
            [scheme["gemeente"].trust_entry(), scheme["cjib"].trust_entry()],
            scheme["anchor"],
            valid_days=400,
            now=dt.datetime.now(dt.UTC).timestamp() - 40 * 86400,
        )
    )
    args = [sys.executable, str(EXAMPLES / "creditor_service.py"), "--trust-list", str(old)]
    args += ["--anchor", str(d / "anchor.pub.jwk"), "--status-dir", str(d / "status-cache")]
    args += ["--audience", CJIB, "--port", "0"]
    p = subprocess.run(
        args, cwd=d, env=env(), capture_output=True, text=True, timeout=60, check=False
    )
    assert p.returncode == 2, p.stdout + p.stderr
    assert "trust_list_expired" in p.stderr and "Traceback" not in p.stderr


def test_creditor_service_answers_bad_http_with_json(service: str) -> None:
    """Issue 12.9 against the real process: a malformed ``Content-Length`` is a 400 (it was a
    413), a deep JSON body a 400 (it was a dropped connection), both as JSON with a code."""
    port = int(service.rsplit(":", 1)[1])
    deep = b'{"state": "s", "vp_token": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    for length, body in ((b"abc", b"{}"), (str(len(deep)).encode(), deep)):
        with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
            s.sendall(
                b"POST /response HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: " + length + b"\r\n\r\n" + body
            )
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        head, _, out = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.0 400"), data[:300]
        assert json.loads(out)["code"] == "bad_request"
