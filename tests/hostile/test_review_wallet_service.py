"""Issue 12, held-out attack review: the wallet's key derivation and lock (12.12), the wallet's
side of impossible dates (12.10) and the example creditor service (12.9, and 12.11 for its trust
list). One test per finding feeds the attack and expects the refusal or the robust behaviour.

The creditor service (``examples/creditor_service.py``) runs in this process on an ephemeral
loopback port and is spoken to over real HTTP, with raw sockets where a well-behaved client
library would refuse to send the attack. Every test is bounded in time.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import importlib.util
import json
import secrets
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hostile._world import CJIB, GEMEENTE, NOW, world
from scheme import CJIB_ORG, GEMEENTE_EINDHOVEN, today_declaration
from scheme import Scheme as SharedScheme

import blauweknop._wallet_store as wallet_store
from blauweknop import (
    RODE_KNOP_VCT,
    BlauweKnopError,
    InvalidDataError,
    Issuer,
    Key,
    TrustError,
    TrustList,
    Wallet,
    get_profile,
)

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "examples" / "data"
PASS = "review wallet tests (fictional)"
FAST_N = 2**10
#: The wallet refuses an impossible date itself (``invalid_data``); the profile's own check of
#: received claims (``claims_invalid``, issue 12.10 elsewhere) may refuse it first.
DATE_CODES = ("invalid_data", "claims_invalid")


def code_of(fn: Callable[..., Any], *args: Any, **kw: Any) -> str:
    with pytest.raises(BlauweKnopError) as info:
        fn(*args, **kw)
    return info.value.code


# == 12.12 wallet key derivation and lock ======================================================
def test_12_12_passphrase_1_is_refused(tmp_path: Path) -> None:
    assert code_of(Wallet.create, tmp_path / "w", passphrase="1", scrypt_n=FAST_N) == (
        "weak_passphrase"
    )
    assert not (tmp_path / "w" / "wallet.bkw").exists()
    with Wallet.create(tmp_path / "w", passphrase=PASS, scrypt_n=FAST_N) as w:
        before = (tmp_path / "w" / "wallet.bkw").read_bytes()
        assert code_of(w.change_passphrase, passphrase="1") == "weak_passphrase"
        assert code_of(w.change_passphrase, passphrase="12345678") == "weak_passphrase"
    assert (tmp_path / "w" / "wallet.bkw").read_bytes() == before
    Wallet.open(tmp_path / "w", passphrase=PASS).close()


@pytest.mark.parametrize("n", [2, 2**4, 2**9, 2**19, 2**20, 3 * 2**10])
def test_12_12_scrypt_n_out_of_bounds_is_refused_at_creation(tmp_path: Path, n: int) -> None:
    with pytest.raises(InvalidDataError) as info:
        Wallet.create(tmp_path / "w", passphrase=PASS, scrypt_n=n)
    assert (info.value.code, info.value.field) == ("invalid_data", "scrypt_n")
    assert not (tmp_path / "w" / "wallet.bkw").exists()


@pytest.mark.parametrize(("log2n", "r", "p"), [(20, 8, 16), (18, 8, 16), (30, 1, 1), (10, 32, 1)])
def test_12_12_tampered_header_demanding_work_is_refused_before_any(
    tmp_path: Path, log2n: int, r: int, p: int
) -> None:
    home = tmp_path / "w"
    Wallet.create(home, passphrase=PASS, scrypt_n=FAST_N).close()
    blob = bytearray((home / "wallet.bkw").read_bytes())
    blob[6], blob[7], blob[8] = log2n, r, p
    blob[101:133] = hashlib.sha256(bytes(blob[:101])).digest()  # a deliberate tamper
    (home / "wallet.bkw").write_bytes(bytes(blob))
    started = time.monotonic()
    assert code_of(Wallet.open, home, passphrase=PASS) == "wallet_kdf_refused"
    assert time.monotonic() - started < 0.5  # nothing was derived


_OPEN_IN_CHILD = """
import sys
from blauweknop import BlauweKnopError, Wallet
try:
    Wallet.open(sys.argv[1], passphrase=sys.argv[2]).close()
    print("opened")
except BlauweKnopError as e:
    print(e.code)
"""


def test_12_12_unlinking_the_lock_file_lets_no_second_handle_in(tmp_path: Path) -> None:
    home = tmp_path / "w"
    Wallet.create(home, passphrase=PASS, scrypt_n=FAST_N).close()
    (home / "wallet.lock").write_bytes(b"")  # as an older version left it
    with Wallet.open(home, passphrase=PASS):
        for p in list(home.iterdir()):  # unlink everything but the wallet itself
            if p.name != "wallet.bkw":
                p.unlink()
        assert code_of(Wallet.open, home, passphrase=PASS) == "wallet_locked"
        child = subprocess.run(
            [sys.executable, "-c", _OPEN_IN_CHILD, str(home), PASS],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert child.stdout.strip() == "wallet_locked", child.stdout + child.stderr
    Wallet.open(home, passphrase=PASS).close()


def test_12_12_a_bypassed_lock_loses_no_add(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = world()
    home = tmp_path / "w"
    Wallet.create(home, passphrase=PASS, scrypt_n=FAST_N).close()
    first = Wallet.open(home, passphrase=PASS)
    monkeypatch.setattr(  # the second handle sidesteps the lock entirely
        wallet_store, "_acquire_lock", lambda d: __import__("os").open(d, 0)
    )
    second = Wallet.open(home, passphrase=PASS)
    try:
        holder = first.holder_key()
        a = w.issue_raw(w.stmt_claims(), holder=holder)
        b = w.issue_raw(w.stmt_claims(statement_id="CJIB-2026-000999"), holder=holder)
        kept = first.add(a, trust_list=w.trust, now=NOW).credential.id
        assert code_of(second.add, b, trust_list=w.trust, now=NOW) == "wallet_conflict"
    finally:
        second.close()
        first.close()
    with Wallet.open(home, passphrase=PASS) as again:
        assert [c.id for c in again.credentials(now=NOW)] == [kept]


# == 12.10 (wallet side): impossible dates never crash the wallet ==============================
@pytest.fixture
def wallet(tmp_path: Path) -> Iterator[Wallet]:
    with Wallet.create(tmp_path / "w", passphrase=PASS, scrypt_n=FAST_N) as w:
        yield w


def _declaration_token(holder: Key, **changes: Any) -> str:
    w = world()
    data = json.loads((DATA / "rode-knop-declaration.json").read_text()) | changes
    claims = {
        "iss": GEMEENTE,
        "iat": NOW - 3600,
        "exp": NOW + 30 * 86400,
        "vct": RODE_KNOP_VCT,
        **get_profile(RODE_KNOP_VCT).mark(data),
    }
    return w.issue_raw(claims, org=w.gemeente, holder=holder)


def test_12_10_impossible_balance_at_is_refused_on_import(wallet: Wallet) -> None:
    w = world()
    token = w.issue_raw(
        w.stmt_claims(balance_at="2026-02-30T09:00:00Z"), holder=wallet.holder_key()
    )
    with pytest.raises(BlauweKnopError) as info:
        wallet.add(token, trust_list=w.trust, now=NOW)
    assert info.value.code in DATE_CODES and "balance_at" in info.value.message
    assert wallet.credentials(now=NOW) == []
    assert wallet.overview(now=NOW).creditors == ()


def test_12_10_month_13_after_a_good_statement_is_refused_not_a_crash(wallet: Wallet) -> None:
    w = world()
    good = w.issue_raw(w.stmt_claims(), holder=wallet.holder_key())
    wallet.add(good, trust_list=w.trust, now=NOW)
    bad = w.issue_raw(
        w.stmt_claims(statement_id="CJIB-2026-000998", balance_at="2026-13-01T09:00:00Z"),
        holder=wallet.holder_key(),
    )
    assert code_of(wallet.add, bad, trust_list=w.trust, now=NOW) in DATE_CODES
    assert [c.state for c in wallet.credentials(now=NOW)] == ["active"]
    assert len(wallet.overview(now=NOW).creditors) == 1


@pytest.mark.parametrize(
    "changes",
    [
        {"valid_until": "2026-11-31"},
        {"valid_from": "2026-00-10"},
        {"application_date": "2026-02-29"},
    ],
)
def test_12_10_impossible_declaration_dates_are_refused(
    wallet: Wallet, changes: dict[str, str]
) -> None:
    token = _declaration_token(wallet.holder_key(), **changes)
    with pytest.raises(BlauweKnopError) as info:
        wallet.add(token, trust_list=world().trust, now=NOW)
    assert info.value.code in DATE_CODES, info.value
    assert next(iter(changes)) in info.value.message
    assert wallet.credentials(now=NOW) == []


def test_12_10_overview_and_add_survive_a_stored_record_with_bad_dates(wallet: Wallet) -> None:
    """A record stored before dates were checked (or by an older version) is shown as a note."""
    w = world()
    wallet.add(
        w.issue_raw(w.stmt_claims(), holder=wallet.holder_key()), trust_list=w.trust, now=NOW
    )
    store = wallet._store
    ((cid, rec),) = store.items("credential")
    broken = copy.deepcopy(rec)
    broken["claims"]["balance_at"] = "2026-02-30T09:00:00Z"
    store.put("credential", cid, broken)
    decl = _declaration_token(wallet.holder_key())
    wallet.add(decl, trust_list=w.trust, now=NOW)
    ((did, drec),) = [(i, r) for i, r in store.items("credential") if i != cid]
    store.put(
        "credential", did, {**drec, "claims": {**drec["claims"], "valid_until": "2026-13-01"}}
    )
    overview = wallet.overview(now=NOW)
    assert overview.creditors == () and overview.pause is None
    assert sum("cannot be shown" in n for n in overview.notes) == 2, overview.notes
    # a newer statement from the same creditor still imports
    newer = w.issue_raw(
        w.stmt_claims(
            statement_id="CJIB-2026-000997", iat=NOW - 60, balance_at="2026-11-22T09:00:00Z"
        ),
        holder=wallet.holder_key(),
    )
    wallet.add(newer, trust_list=w.trust, now=NOW)
    assert len(wallet.overview(now=NOW).creditors) == 1


# == 12.9 the example creditor service =========================================================
def _load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "creditor_service_under_review", REPO / "examples" / "creditor_service.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cs = _load_example()


@dataclass(frozen=True)
class Scheme(SharedScheme):
    """The shared scheme (tests/scheme.py) on the real clock, as the service reads it from
    disk, with the wallet's Data Integrity declaration."""

    di_decl: dict[str, Any] = field(default_factory=dict)

    @property
    def dir(self) -> Path:
        return self.root

    @property
    def gemeente(self) -> Issuer:
        return self.gem


@pytest.fixture(scope="module")
def scheme(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scheme]:
    d = tmp_path_factory.mktemp("creditor-service")
    wallet = Wallet.create(d / "wallet", key=secrets.token_bytes(32))
    try:
        claims = today_declaration()
        base = Scheme.build(
            d,
            organisations=(GEMEENTE_EINDHOVEN, CJIB_ORG),
            now=None,  # the service reads the real clock
            trust_issued_at=time.time() - 60,
            trust_valid_days=400,
            wallet=wallet,
            claims={"gem": claims},
            status_cache=False,
        )
        di_decl = GEMEENTE_EINDHOVEN.model(
            claims | {"declaration_id": claims["declaration_id"] + "-DI"}
        )
        di = base.gem.issue(di_decl, holder_jwk=wallet.holder_jwk(), format="di")
        wallet.add(json.loads(di.text), trust_list=base.trust)
        base.status_cache(d / "status-cache", d / "published")  # after every issuance
        yield dataclasses.replace(base, di_decl=json.loads(di.text))
    finally:
        wallet.close()


def write_trust_list(scheme: Scheme, *, issued: float) -> None:
    """A fresh trust list over the scheme's organisations, dropped in place atomically."""
    tmp = scheme.root / "trust.jwt.new"
    tmp.write_text(scheme.trust_list(valid_days=400, now=issued))
    tmp.replace(scheme.root / "trust.jwt")


@dataclass
class Running:
    base: str
    port: int
    service: Any
    server: Any


@contextlib.contextmanager
def running(
    scheme: Scheme, request: str = "hold-and-totals.json", **server_kw: Any
) -> Iterator[Running]:
    service = cs.load_service(
        scheme.dir / "trust.jwt",
        scheme.dir / "anchor.pub.jwk",
        scheme.dir / "status-cache",
        CJIB,
        DATA / "requests" / request,
    )
    server = cs.make_server(service)
    for k, v in server_kw.items():
        setattr(server, k, v)
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    t.start()
    try:
        yield Running(f"http://127.0.0.1:{server.server_port}", server.server_port, service, server)
    finally:
        server.shutdown()
        server.server_close()
        t.join(timeout=10)


def exchange(port: int, raw: bytes, *, timeout: float = 20) -> tuple[int, dict[str, Any]]:
    """Send ``raw`` bytes, read to EOF; the answer must be HTTP with a JSON body with a code."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        with contextlib.suppress(OSError):
            s.sendall(raw)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    data = b"".join(chunks)
    assert data.startswith(b"HTTP/1."), data[:200]
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    assert b"content-type: application/json" in head.lower(), head
    parsed = json.loads(body)
    assert isinstance(parsed, dict) and isinstance(parsed.get("code", "ok"), str), parsed
    assert b"Traceback" not in body
    return status, parsed


def post(port: int, body: bytes, ctype: str = "application/json", extra: str = "") -> bytes:
    return (
        f"POST /response HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


def get_request(port: int) -> dict[str, Any]:
    status, req = exchange(port, b"GET /request HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 200
    return req


def answer(port: int, state: str, vp_token: Any) -> tuple[int, dict[str, Any]]:
    return exchange(port, post(port, json.dumps({"state": state, "vp_token": vp_token}).encode()))


def test_12_9_di_answer_with_valid_from_in_an_array_gets_a_json_rejection(scheme: Scheme) -> None:
    """The attack: the same RDF, ``valid_from`` as a one-element array. Whether the verifier or
    the hold decision refuses it, the wallet gets a JSON 422, and the nonce is spent."""
    with running(scheme, "rode-knop-check-di.json") as svc:
        req = get_request(svc.port)
        vp_token = scheme.wallet.present(req["dcql_query"], nonce=req["nonce"], audience=CJIB)
        tampered = copy.deepcopy(vp_token)
        (vp,) = next(iter(tampered.values()))
        vcs = vp["verifiableCredential"]
        for vc in vcs if isinstance(vcs, list) else [vcs]:
            subject = vc["credentialSubject"]
            subject["valid_from"] = [subject["valid_from"]]
        status, body = answer(svc.port, req["state"], tampered)
        assert status == 422 and body["ok"] is False, body
        # as documented: the transaction was taken out before verification
        status, body = answer(svc.port, req["state"], vp_token)
        assert status == 409 and body["code"] == "transaction_unknown_or_used"


def test_12_9_a_fault_after_verification_is_a_json_500_not_a_dropped_connection(
    scheme: Scheme,
) -> None:
    class Exploding:
        trust_list = TrustList.verify((scheme.dir / "trust.jwt").read_text(), scheme.anchor)
        kb_max_age = 300

        def verify(self, *args: Any, **kw: Any) -> Any:
            raise RuntimeError("a bug after the nonce was taken")

    with running(scheme) as svc:
        svc.service.reload = Exploding
        req = get_request(svc.port)
        status, body = answer(svc.port, req["state"], {"q": ["anything"]})
        assert (status, body["code"]) == (500, "internal_error"), body
        assert "bug" not in json.dumps(body)  # no exception text to the client
        assert answer(svc.port, req["state"], {"q": []})[0] == 409  # spent, as documented


def test_12_9_a_100k_deep_json_body_is_a_400(scheme: Scheme) -> None:
    deep = b'{"state": "s", "vp_token": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    deep_obj = b'{"state": "s", "vp_token": ' + b'{"a":' * 40 + b"1" + b"}" * 40 + b"}"
    with running(scheme) as svc:
        req = get_request(svc.port)
        for body in (deep, deep_obj):
            started = time.monotonic()
            status, out = exchange(svc.port, post(svc.port, body))
            assert (status, out["code"]) == (400, "bad_request"), out
            assert time.monotonic() - started < 5
        # deep nesting inside a form's vp_token string reaches the verifier: refused, in JSON
        form = f"state={req['state']}&vp_token=" + "%5B" * 100_000 + "%5D" * 100_000
        status, out = exchange(
            svc.port, post(svc.port, form.encode(), "application/x-www-form-urlencoded")
        )
        assert status in (400, 422) and out["ok"] is False, out


@pytest.mark.parametrize(
    ("header", "status", "code"),
    [
        ("Content-Length: abc\r\n", 400, "bad_request"),
        ("Content-Length: -5\r\n", 400, "bad_request"),
        ("Content-Length: +5\r\n", 400, "bad_request"),
        ("Content-Length: 1e3\r\n", 400, "bad_request"),
        ("Content-Length: \u0663\r\n", 400, "bad_request"),  # an Arabic-Indic digit three
        ("Content-Length: 5\r\nContent-Length: 6\r\n", 400, "bad_request"),
        ("Content-Length: 0\r\n", 400, "bad_request"),
        ("", 411, "length_required"),
        ("Transfer-Encoding: chunked\r\n", 411, "length_required"),
        ("Content-Length: 99999999999\r\n", 413, "too_large"),
        ("Content-Length: 999999999999999999999999\r\n", 400, "bad_request"),
    ],
)
def test_12_9_malformed_content_length_is_a_400(
    scheme: Scheme, header: str, status: int, code: str
) -> None:
    raw = f"POST /response HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{header}\r\n"
    with running(scheme) as svc:
        got, body = exchange(svc.port, raw.encode("utf-8") + b'{"a":1}')
    assert (got, body["code"]) == (status, code), body


def test_12_9_every_malformed_request_gets_a_json_answer(scheme: Scheme) -> None:
    cases: list[tuple[bytes, int]] = [
        (b"HELLO\r\n\r\n", 400),
        (b"GET /request HTTP/9.9\r\n\r\n", 505),
        (b"PUT /response HTTP/1.1\r\nHost: x\r\n\r\n", 501),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414),
        (b"GET /request HTTP/1.1\r\n" + b"X: y\r\n" * 120 + b"\r\n", 431),
        (b"GET /elsewhere HTTP/1.1\r\n\r\n", 404),
        (post(0, b"not json"), 400),
        (post(0, b'["state", "vp_token"]'), 400),
        (post(0, b'"just a string"'), 400),
        (post(0, b'{"state": "a", "vp_token": NaN}'), 400),
        (post(0, b'{"state": "\xff\xfe", "vp_token": {}}'), 400),
        (post(0, b'{"state": 1, "vp_token": {}}'), 400),
        (post(0, b"state=a&state=b&vp_token=x", "application/x-www-form-urlencoded"), 400),
        (post(0, b"%%%", "application/x-www-form-urlencoded"), 400),
        (post(0, b"state=unknown&vp_token=x", "application/x-www-form-urlencoded"), 409),
    ]
    with running(scheme) as svc:
        for raw, expected in cases:
            status, body = exchange(svc.port, raw)
            assert status == expected and body["ok"] is False, (raw[:60], status, body)


def test_12_9_body_shorter_than_its_length_is_a_400_once_the_client_stops(scheme: Scheme) -> None:
    with running(scheme) as svc, socket.create_connection(("127.0.0.1", svc.port), 20) as s:
        s.sendall(
            post(svc.port, b'{"state": "a", "vp_token": {}}').replace(b"Length: 30", b"Length: 90")
        )
        s.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.0 400") and b'"bad_request"' in data, data


def test_12_9_stalled_clients_are_bounded_and_cut_off(
    scheme: Scheme, monkeypatch: pytest.MonkeyPatch
) -> None:
    """200 clients that connect and say nothing (or drip a byte at a time) once held 201
    threads forever. Now: at most MAX_CONNECTIONS handler threads, a 503 JSON for the rest,
    silent sockets closed after SOCKET_TIMEOUT, dripping ones after REQUEST_DEADLINE."""
    monkeypatch.setattr(cs, "SOCKET_TIMEOUT", 2)
    before = threading.active_count()
    with running(scheme, deadline=3) as svc:
        limit = cs.MAX_CONNECTIONS
        stalled = [socket.create_connection(("127.0.0.1", svc.port), 10) for _ in range(200)]
        try:
            # the ones beyond the limit are answered 503 at once, without a thread
            busy, waiting, until = 0, list(stalled), time.monotonic() + 1.5
            while waiting and time.monotonic() < until:
                readable, _, _ = select.select(waiting, [], [], 0.1)
                for s in readable:
                    with contextlib.suppress(OSError):
                        busy += s.recv(65536).startswith(b"HTTP/1.0 503")
                    waiting.remove(s)
            assert threading.active_count() - before <= limit + 2
            assert busy >= 200 - limit - 5, busy
            assert json.loads(cs._BUSY.partition(b"\r\n\r\n")[2])["code"] == "busy"
            # the silent ones are cut off after SOCKET_TIMEOUT, and their threads end
            until = time.monotonic() + 5
            while threading.active_count() - before > 2 and time.monotonic() < until:
                time.sleep(0.1)
            assert threading.active_count() - before <= 2
        finally:
            for s in stalled:
                s.close()
        # a client that drips a byte every 0.4 s (under the idle timeout) is cut at the deadline
        with socket.create_connection(("127.0.0.1", svc.port), 10) as drip:
            started = time.monotonic()
            with contextlib.suppress(OSError):
                for b in b"POST /response HTTP/1.1\r\nHost: x\r\n" * 10:
                    drip.sendall(bytes([b]))
                    time.sleep(0.4)
            cut_after = time.monotonic() - started
        assert cut_after < 5, cut_after
        # and the service still answers
        assert get_request(svc.port)["nonce"]


def test_12_11_service_refuses_an_old_trust_list_at_start_and_while_running(
    scheme: Scheme, capsys: pytest.CaptureFixture[str]
) -> None:
    d = scheme.dir
    old = d / "old-trust.jwt"
    old.write_text(scheme.trust_list(valid_days=400, now=time.time() - 40 * 86400))
    args = ["--anchor", str(d / "anchor.pub.jwk"), "--status-dir", str(d / "status-cache")]
    args += ["--audience", CJIB, "--port", "0", "--trust-list", str(old)]
    assert cs.main(args) == 2
    assert "trust_list_expired" in capsys.readouterr().err
    with pytest.raises(TrustError) as info:
        cs.load_service(
            old,
            d / "anchor.pub.jwk",
            d / "status-cache",
            CJIB,
            DATA / "requests" / "hold-and-totals.json",
        )
    assert info.value.code == "trust_list_expired"

    # While running: the list ages past the limit; a refusal spends no nonce, and a fresh list
    # dropped in place is used without a restart.
    with running(scheme) as svc:
        req = get_request(svc.port)
        vp_token = scheme.wallet.present(req["dcql_query"], nonce=req["nonce"], audience=CJIB)
        svc.service.trust_max_age = 30  # the list in use was issued 60 s before the module ran
        status, body = answer(svc.port, req["state"], vp_token)
        assert (status, body["code"]) == (503, "trust_list_expired"), body
        write_trust_list(scheme, issued=time.time())
        status, body = answer(svc.port, req["state"], vp_token)
        assert status == 200 and body["decisions"][0]["hold"] is True, body
