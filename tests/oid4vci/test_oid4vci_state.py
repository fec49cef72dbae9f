"""Protocol state in the register: survives a restart, single use held by the database, and
the metadata documents."""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scheme import CJIB_ORG, PILOT_NOW, Scheme

from blauweknop import Key
from blauweknop._codec import b64u_decode
from blauweknop._jws import ParsedJWS
from blauweknop.oid4vci import IssuerService, SQLiteProtocolStore

from ._driver import ISSUER_URL, Clock, Driver, allocations, credentials, pre_auth_code

_ids = itertools.count(1)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Scheme:
    return Scheme.build(tmp_path_factory.mktemp("oid4vci-state"), status_cache=False)


def _service(home: Path, clock: Clock, **kw: Any) -> IssuerService:
    return IssuerService.for_home(home, issuer_url=ISSUER_URL, clock=clock, **kw)


def _offer(svc: IssuerService, **kw: Any) -> tuple[str, str | None]:
    model = CJIB_ORG.model(CJIB_ORG.claims(statement_id=f"CJIB-2026-S{next(_ids):05d}"))
    link = svc.create_offer(model, **kw)
    return pre_auth_code(link.offer), link.tx_code


def test_restart_loses_nothing_and_redeems_nothing_twice(world: Scheme) -> None:
    home, clock = world.root / "cjib", Clock(PILOT_NOW)
    first = Driver(_service(home, clock), clock)
    code, pin = _offer(first.svc)
    token = first.access_token(code, pin)
    nonce = first.nonce()
    first.svc.store.close()  # type: ignore[attr-defined]
    # A new process: a new service on the same home.
    second = Driver(_service(home, clock), clock, dpop_key=first.dpop_key)
    assert second.token(code, pin).json_body()["error"] == "invalid_grant"
    holder = Key.generate()
    r = second.credential(
        token, second.request_body("debt_statement_dc_sd_jwt", [second.proof(holder, nonce)])
    )
    assert r.status == 200, r.json_body()
    # The offer's prepared claims are erased once issued.
    import sqlite3

    with sqlite3.connect(home / "register.sqlite") as c:
        rows = c.execute("SELECT payload, offer_json, state FROM oid4vci_offers").fetchall()
    assert all(p is None and o is None for p, o, s in rows if s == "issued")


def test_concurrent_redemption_issues_one_token(world: Scheme) -> None:
    home, clock = world.root / "cjib", Clock(PILOT_NOW)
    svc = _service(home, clock)
    code, pin = _offer(svc)
    drivers = [Driver(_service(home, clock), clock) for _ in range(6)]
    statuses: list[int] = []
    barrier = threading.Barrier(len(drivers))

    def go(d: Driver) -> None:
        barrier.wait()
        statuses.append(d.token(code, pin).status)

    threads = [threading.Thread(target=go, args=(d,)) for d in drivers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] + [400] * 5


def test_pin_attempts_survive_a_restart(world: Scheme) -> None:
    home, clock = world.root / "cjib", Clock(PILOT_NOW)
    code, pin = _offer(_service(home, clock, max_tx_code_attempts=2), tx_code="97531")
    assert Driver(_service(home, clock), clock).token(code, "11111").status == 400
    assert Driver(_service(home, clock), clock).token(code, "22222").status == 400
    assert Driver(_service(home, clock), clock).token(code, pin).json_body()["error"] == (
        "invalid_grant"
    )


def test_store_single_use_is_in_the_database(tmp_path: Path) -> None:
    # Two stores on one file (two processes): a nonce is used once, whoever asks.
    a, b = SQLiteProtocolStore(tmp_path / "r.sqlite"), SQLiteProtocolStore(tmp_path / "r.sqlite")
    a.remember_dpop_jti("jkt", "jti-1", now=1, expires_at=100)
    with pytest.raises(Exception) as e:
        b.remember_dpop_jti("jkt", "jti-1", now=2, expires_at=100)
    assert getattr(e.value, "code", None) == "invalid_dpop_proof"


# -- metadata ------------------------------------------------------------------------------------
def test_metadata_both_types_both_formats(world: Scheme, tmp_path: Path) -> None:
    from blauweknop import Issuer

    home = tmp_path / "both"
    Issuer.init(
        home,
        issuer_id="urn:oin:00000001001234567000",
        name="Gemeente Eindhoven",
        roles=["municipality", "creditor"],
        extra={"municipality_code": "GM0772"},
    )
    svc = IssuerService.for_home(home, issuer_url="https://issuer.eindhoven.example")
    md = svc.metadata()
    cfgs = md["credential_configurations_supported"]
    assert sorted(cfgs) == [
        "debt_statement_dc_sd_jwt",
        "debt_statement_ldp_vc",
        "payment_incapacity_declaration_dc_sd_jwt",
        "payment_incapacity_declaration_ldp_vc",
    ]
    rk = cfgs["payment_incapacity_declaration_dc_sd_jwt"]
    assert rk["vct"] == "urn:rodeknop:payment-incapacity-declaration:1"
    assert rk["scope"] == "payment_incapacity_declaration_dc_sd_jwt"
    assert {d["locale"] for d in rk["credential_metadata"]["display"]} == {"nl-NL", "en-GB"}
    ldp = cfgs["debt_statement_ldp_vc"]["credential_definition"]
    assert ldp["type"] == ["VerifiableCredential", "DebtStatement"]
    assert md["nonce_endpoint"] == "https://issuer.eindhoven.example/nonce"
    assert md["batch_credential_issuance"] == {"batch_size": 10}
    assert "signed_metadata" not in md
    asm = svc.authorization_server_metadata()
    assert asm["issuer"] == "https://issuer.eindhoven.example"
    assert asm["token_endpoint"] == "https://issuer.eindhoven.example/token"
    assert asm["pre-authorized_grant_anonymous_access_supported"] is True
    assert asm["dpop_signing_alg_values_supported"] == ["ES256", "EdDSA"]


def _cert_for(key: Key) -> bytes:
    ca = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CJIB issuer")])
    start = dt.datetime.fromtimestamp(PILOT_NOW, dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")]))
        .public_key(key.public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(ISSUER_URL)]),
            critical=False,
        )
        .sign(ca, hashes.SHA256())
    )
    from cryptography.hazmat.primitives.serialization import Encoding

    return cert.public_bytes(Encoding.DER)


def test_signed_metadata_with_x5c(world: Scheme) -> None:
    home, clock = world.root / "cjib", Clock(PILOT_NOW)
    signer = world.cjib.signer
    assert isinstance(signer, Key)
    der = _cert_for(signer)
    svc = _service(home, clock, certificate_chain=[der])
    md = svc.metadata()
    token = md["signed_metadata"]
    head = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert head["typ"] == "openid-credential-issuer-metadata+jwt"
    assert base64.b64decode(head["x5c"][0]) == der
    cert = x509.load_der_x509_certificate(base64.b64decode(head["x5c"][0]))
    leaf = Key.from_jwk(signer.public_jwk())
    assert cert.public_key() == leaf.public_key
    h, p, sig = token.split(".")
    parsed = ParsedJWS(head, b64u_decode(p), f"{h}.{p}".encode(), b64u_decode(sig))
    parsed.verify(leaf)  # signed by the issuer's key, over the header as sent
    claims = parsed.payload_json()
    assert claims["iss"] == claims["sub"] == ISSUER_URL
    assert (
        claims["credential_configurations_supported"] == md["credential_configurations_supported"]
    )


# -- whatever arrives, the answer is a spec error, never a crash --------------------------------
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(["/token", "/credential", "/nonce", "/notification", "/par"]),
    body=st.binary(max_size=300),
    ctype=st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain"]),
    auth=st.one_of(st.none(), st.text(max_size=40)),
    dpop=st.one_of(st.none(), st.text(max_size=80)),
)
def test_garbage_gets_a_spec_error(
    world: Scheme, path: str, body: bytes, ctype: str, auth: str | None, dpop: str | None
) -> None:
    home = world.root / "cjib"
    clock = Clock(PILOT_NOW)
    drv = _GARBAGE.setdefault("drv", Driver(_service(home, clock), clock))
    before = (credentials(home), allocations(home))
    headers = {"Content-Type": ctype}
    if auth is not None:
        headers["Authorization"] = auth
    if dpop is not None:
        headers["DPoP"] = dpop
    r = drv.request("POST", path, body=body, headers=headers)
    if path == "/nonce":
        assert r.status == 200
        return
    assert 400 <= r.status < 500
    err = r.json_body()["error"]
    assert err in {
        "invalid_request",
        "invalid_token",
        "invalid_dpop_proof",
        "unsupported_grant_type",
        "invalid_grant",
        "invalid_credential_request",
        "invalid_notification_request",
    }
    assert (credentials(home), allocations(home)) == before


_GARBAGE: dict[str, Driver] = {}
