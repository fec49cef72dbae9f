"""Hostile input to the issuer service, one test per bad input of issue 14.

Each test feeds the attack to the framework-free core and asserts the spec's error code and
HTTP status, and that nothing was issued and no status index was burned (the register's
``credentials`` and ``allocations`` rows are counted before and after).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scheme import CJIB_ORG, PILOT_NOW, Scheme

from blauweknop import Key
from blauweknop._codec import b64u_encode
from blauweknop._jws import sign_compact
from blauweknop.oid4vci import IssuerService
from blauweknop.oid4vci._proofs import DPOP_TYP, PROOF_TYP

from ._driver import ISSUER_URL, Clock, Driver, allocations, credentials, pre_auth_code

CFG = "debt_statement_dc_sd_jwt"
_ids = itertools.count(1)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Scheme:
    return Scheme.build(tmp_path_factory.mktemp("oid4vci-hostile"), status_cache=False)


@pytest.fixture
def home(world: Scheme) -> Path:
    return world.root / "cjib"


@pytest.fixture
def drv(home: Path) -> Iterator[Driver]:
    clock = Clock(PILOT_NOW)
    svc = IssuerService.for_home(
        home, issuer_url=ISSUER_URL, clock=clock, batch_size=4, max_tx_code_attempts=3
    )
    yield Driver(svc, clock)


def _offer(drv: Driver, **kw: Any) -> tuple[str, str | None]:
    model = CJIB_ORG.model(CJIB_ORG.claims(statement_id=f"CJIB-2026-H{next(_ids):05d}"))
    link = drv.svc.create_offer(model, **kw)
    return pre_auth_code(link.offer), link.tx_code


@pytest.fixture
def ready(drv: Driver) -> tuple[str, Key]:
    """An access token for a fresh offer, and a holder key."""
    code, pin = _offer(drv)
    return drv.access_token(code, pin), Key.generate()


def _refused(r: Any, code: str, status: int = 400) -> None:
    body = r.json_body()
    assert (r.status, body["error"]) == (status, code), body
    assert "Traceback" not in r.body.decode()


class _Counts:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.before = (credentials(home), allocations(home))

    def unchanged(self) -> None:
        assert (credentials(self.home), allocations(self.home)) == self.before


# -- the pre-authorized code and the PIN ------------------------------------------------------
def test_replayed_pre_authorized_code(drv: Driver) -> None:
    code, pin = _offer(drv)
    assert drv.token(code, pin).status == 200
    _refused(drv.token(code, pin), "invalid_grant")


def test_expired_pre_authorized_code(drv: Driver) -> None:
    code, pin = _offer(drv, ttl=600)
    drv.clock.now += 601
    _refused(drv.token(code, pin), "invalid_grant")


def test_unknown_pre_authorized_code(drv: Driver) -> None:
    _refused(drv.token("not-a-code", "123456"), "invalid_grant")


def test_wrong_pin_then_lock_out(drv: Driver) -> None:
    code, pin = _offer(drv, tx_code="246810")
    for _ in range(3):
        _refused(drv.token(code, "000000"), "invalid_grant")
    # The limit is reached: even the right PIN is refused now, and stays refused.
    _refused(drv.token(code, pin), "invalid_grant")


def test_wrong_pins_below_the_limit_leave_the_offer_usable(drv: Driver) -> None:
    code, pin = _offer(drv, tx_code="246810")
    for _ in range(2):
        _refused(drv.token(code, "111111"), "invalid_grant")
    assert drv.token(code, pin).status == 200


def test_missing_pin_and_unexpected_pin(drv: Driver) -> None:
    code, _ = _offer(drv)
    _refused(drv.token(code, None), "invalid_request")
    code2, _ = _offer(drv, tx_code=False)
    _refused(drv.token(code2, "123456"), "invalid_request")
    assert drv.token(code2, None).status == 200  # neither attempt used the code


def test_unsupported_grant_type(drv: Driver) -> None:
    code, pin = _offer(drv)
    r = drv.request(
        "POST",
        "/token",
        body=b"grant_type=password&username=a&password=b",
        headers={"Content-Type": "application/x-www-form-urlencoded", "DPoP": drv.dpop("/token")},
    )
    _refused(r, "unsupported_grant_type")
    assert drv.token(code, pin).status == 200


def test_repeated_form_parameter(drv: Driver) -> None:
    code, pin = _offer(drv)
    body = f"grant_type=x&grant_type={PRE}&pre-authorized_code={code}&tx_code={pin}"
    r = drv.request(
        "POST",
        "/token",
        body=body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "DPoP": drv.dpop("/token")},
    )
    _refused(r, "invalid_request")


PRE = "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code"


# -- DPoP ------------------------------------------------------------------------------------------
def test_token_request_without_dpop(drv: Driver) -> None:
    code, pin = _offer(drv)
    r = drv.request(
        "POST",
        "/token",
        body=f"grant_type={PRE}&pre-authorized_code={code}&tx_code={pin}".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    _refused(r, "invalid_dpop_proof")
    assert drv.token(code, pin).status == 200  # the code was not used up


def test_dpop_for_another_url(drv: Driver) -> None:
    code, pin = _offer(drv)
    _refused(
        drv.token(code, pin, dpop=drv.dpop("/token", url="https://evil.example/token")),
        "invalid_dpop_proof",
    )
    _refused(drv.token(code, pin, dpop=drv.dpop("/token", method="GET")), "invalid_dpop_proof")
    assert drv.token(code, pin).status == 200


def test_dpop_replayed(drv: Driver, ready: tuple[str, Key], home: Path) -> None:
    token, holder = ready
    counts = _Counts(home)
    proof = drv.dpop("/credential", token=token)
    bad = drv.request_body("no_such_configuration", [drv.proof(holder, drv.nonce())])
    _refused(drv.credential(token, bad, dpop=proof), "unknown_credential_configuration")
    good = drv.request_body(CFG, [drv.proof(holder, drv.nonce())])
    r = drv.credential(token, good, dpop=proof)
    _refused(r, "invalid_dpop_proof", 401)
    assert r.headers["WWW-Authenticate"].startswith("DPoP")
    counts.unchanged()


def test_dpop_old_iat_and_missing_ath(drv: Driver, ready: tuple[str, Key], home: Path) -> None:
    token, holder = ready
    counts = _Counts(home)
    body = drv.request_body(CFG, [drv.proof(holder, drv.nonce())])
    _refused(
        drv.credential(token, body, dpop=drv.dpop("/credential", token=token, iat=drv.now - 3600)),
        "invalid_dpop_proof",
        401,
    )
    _refused(drv.credential(token, body, dpop=drv.dpop("/credential")), "invalid_dpop_proof", 401)
    counts.unchanged()


def test_dpop_key_other_than_the_tokens(drv: Driver, ready: tuple[str, Key], home: Path) -> None:
    token, holder = ready
    counts = _Counts(home)
    body = drv.request_body(CFG, [drv.proof(holder, drv.nonce())])
    thief = Key.generate()
    _refused(
        drv.credential(token, body, dpop=drv.dpop("/credential", token=token, key=thief)),
        "invalid_dpop_proof",
        401,
    )
    counts.unchanged()


def test_bearer_use_of_a_dpop_token(drv: Driver, ready: tuple[str, Key], home: Path) -> None:
    token, holder = ready
    counts = _Counts(home)
    body = drv.request_body(CFG, [drv.proof(holder, drv.nonce())])
    _refused(drv.credential(token, body, scheme="Bearer"), "invalid_token", 401)
    _refused(drv.credential("forged-token", body), "invalid_token", 401)
    counts.unchanged()


def test_dpop_with_private_key_or_hmac(drv: Driver, ready: tuple[str, Key]) -> None:
    token, _ = ready
    k = Key.generate()
    claims = {
        "jti": "abcdefgh1234",
        "htm": "POST",
        "htu": ISSUER_URL + "/credential",
        "iat": drv.now,
    }
    leaky = sign_compact({"typ": DPOP_TYP, "jwk": k.private_jwk()}, json.dumps(claims).encode(), k)
    _refused(drv.credential(token, {}, dpop=leaky), "invalid_dpop_proof", 401)
    head = b64u_encode(
        json.dumps({"typ": DPOP_TYP, "alg": "HS256", "jwk": k.public_jwk()}).encode()
    )
    hmac_proof = f"{head}.{b64u_encode(json.dumps(claims).encode())}.c2ln"
    _refused(drv.credential(token, {}, dpop=hmac_proof), "invalid_dpop_proof", 401)


# -- key proofs ------------------------------------------------------------------------------------
def _proof_with(
    key: Key, header: dict[str, Any], claims: dict[str, Any], signer: Key | None = None
) -> str:
    return sign_compact(header, json.dumps(claims).encode(), signer or key)


@pytest.mark.parametrize(
    "case",
    [
        "typ",
        "aud",
        "old_iat",
        "future_iat",
        "no_nonce",
        "key_mismatch",
        "private_jwk",
        "no_jwk",
        "not_a_jwt",
    ],
)
def test_bad_key_proof(drv: Driver, ready: tuple[str, Key], home: Path, case: str) -> None:
    token, holder = ready
    counts = _Counts(home)
    nonce = drv.nonce()
    claims = {"aud": ISSUER_URL, "iat": drv.now, "nonce": nonce}
    header: dict[str, Any] = {"typ": PROOF_TYP, "jwk": holder.public_jwk(with_kid=False)}
    signer = holder
    if case == "typ":
        header["typ"] = "JWT"
    elif case == "aud":
        claims["aud"] = "https://other-issuer.example"
    elif case == "old_iat":
        claims["iat"] = drv.now - 3600
    elif case == "future_iat":
        claims["iat"] = drv.now + 3600
    elif case == "no_nonce":
        del claims["nonce"]
    elif case == "key_mismatch":
        signer = Key.generate()
    elif case == "private_jwk":
        header["jwk"] = holder.private_jwk()
    elif case == "no_jwk":
        del header["jwk"]
        header["kid"] = holder.kid
    proof = "garbage" if case == "not_a_jwt" else _proof_with(holder, header, claims, signer)
    _refused(drv.credential(token, drv.request_body(CFG, [proof])), "invalid_proof")
    counts.unchanged()
    # The token and nonce were not used up: the honest request still works.
    r = drv.credential(token, drv.request_body(CFG, [drv.proof(holder, nonce)]))
    assert r.status == 200, r.json_body()


def test_proof_with_unknown_or_used_nonce(drv: Driver, ready: tuple[str, Key], home: Path) -> None:
    token, holder = ready
    counts = _Counts(home)
    _refused(
        drv.credential(token, drv.request_body(CFG, [drv.proof(holder, "made-up")])),
        "invalid_nonce",
    )
    nonce = drv.nonce()
    drv.clock.now += 301  # the c_nonce's lifetime is 300 s
    token2_offer = drv.access_token(*_offer(drv))
    _refused(
        drv.credential(token2_offer, drv.request_body(CFG, [drv.proof(holder, nonce)])),
        "invalid_nonce",
    )
    counts.unchanged()


def test_proofs_missing_or_wrong_shape(drv: Driver, ready: tuple[str, Key], home: Path) -> None:
    token, holder = ready
    counts = _Counts(home)
    proof = drv.proof(holder, drv.nonce())
    _refused(drv.credential(token, {"credential_configuration_id": CFG}), "invalid_proof")
    _refused(
        drv.credential(
            token,
            {"credential_configuration_id": CFG, "proof": {"proof_type": "jwt", "jwt": proof}},
        ),
        "invalid_proof",
    )
    _refused(
        drv.credential(
            token,
            {
                "credential_configuration_id": CFG,
                "proofs": {
                    "jwt": [],
                },
            },
        ),
        "invalid_proof",
    )
    _refused(
        drv.credential(
            token, {"credential_configuration_id": CFG, "proofs": {"jwt": [proof], "di_vp": []}}
        ),
        "invalid_proof",
    )
    counts.unchanged()


def test_batch_too_large_and_same_key_twice(
    drv: Driver, ready: tuple[str, Key], home: Path
) -> None:
    token, holder = ready
    counts = _Counts(home)
    nonce = drv.nonce()
    five = [drv.proof(Key.generate(), nonce) for _ in range(5)]
    _refused(drv.credential(token, drv.request_body(CFG, five)), "invalid_credential_request")
    twice = [drv.proof(holder, nonce), drv.proof(holder, nonce)]
    _refused(drv.credential(token, drv.request_body(CFG, twice)), "invalid_proof")
    counts.unchanged()


# -- the access token's reach ---------------------------------------------------------------------
def test_access_token_used_twice(drv: Driver, ready: tuple[str, Key], home: Path) -> None:
    token, holder = ready
    r = drv.credential(token, drv.request_body(CFG, [drv.proof(holder, drv.nonce())]))
    assert r.status == 200
    counts = _Counts(home)
    again = drv.credential(token, drv.request_body(CFG, [drv.proof(Key.generate(), drv.nonce())]))
    _refused(again, "invalid_token", 401)
    counts.unchanged()


def test_access_token_for_another_configuration(
    drv: Driver, ready: tuple[str, Key], home: Path
) -> None:
    token, holder = ready
    counts = _Counts(home)
    nonce = drv.nonce()
    body = drv.request_body("debt_statement_ldp_vc", [drv.proof(holder, nonce)])
    _refused(drv.credential(token, body), "insufficient_scope", 403)
    counts.unchanged()
    # Neither the token nor the c_nonce was used up by the refused request.
    r = drv.credential(token, drv.request_body(CFG, [drv.proof(holder, nonce)]))
    assert r.status == 200


def test_expired_access_token(drv: Driver, ready: tuple[str, Key], home: Path) -> None:
    token, holder = ready
    counts = _Counts(home)
    drv.clock.now += 301
    body = drv.request_body(CFG, [drv.proof(holder, drv.nonce())])
    _refused(drv.credential(token, body), "invalid_token", 401)
    counts.unchanged()


# -- the request body ---------------------------------------------------------------------------
def test_oversized_body(drv: Driver, ready: tuple[str, Key], home: Path) -> None:
    token, _ = ready
    counts = _Counts(home)
    r = drv.credential(token, None, raw=b"{" + b" " * (64 * 1024) + b"}")
    _refused(r, "request_too_large", 413)
    counts.unchanged()


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b'{"a":1,"a":2}',
        b'{"credential_configuration_id": NaN}',
        b"[]",
        b'"\\ud800"',
        b"\xff\xfe",
    ],
)
def test_malformed_json(drv: Driver, ready: tuple[str, Key], home: Path, raw: bytes) -> None:
    token, _ = ready
    counts = _Counts(home)
    _refused(drv.credential(token, None, raw=raw), "invalid_credential_request")
    counts.unchanged()


def test_unknown_configuration(drv: Driver, ready: tuple[str, Key], home: Path) -> None:
    token, holder = ready
    counts = _Counts(home)
    body = drv.request_body(
        "payment_incapacity_declaration_dc_sd_jwt", [drv.proof(holder, drv.nonce())]
    )
    _refused(drv.credential(token, body), "unknown_credential_configuration")
    counts.unchanged()


def test_credential_identifier_is_refused(drv: Driver, ready: tuple[str, Key]) -> None:
    token, holder = ready
    body = {"credential_identifier": "x", "proofs": {"jwt": [drv.proof(holder, drv.nonce())]}}
    _refused(drv.credential(token, body), "unknown_credential_identifier")
    body["credential_configuration_id"] = CFG
    _refused(drv.credential(token, body), "invalid_credential_request")


def test_unknown_path_and_method(drv: Driver) -> None:
    _refused(drv.request("GET", "/admin"), "not_found", 404)
    _refused(drv.request("GET", "/token"), "method_not_allowed", 405)
    _refused(drv.request("GET", "/offers/nope"), "not_found", 404)


def test_offer_for_an_issued_id_is_refused(drv: Driver, home: Path) -> None:
    from blauweknop import PolicyError

    code, pin = _offer(drv)
    token = drv.access_token(code, pin)
    r = drv.credential(token, drv.request_body(CFG, [drv.proof(Key.generate(), drv.nonce())]))
    assert r.status == 200
    issued_id = f"CJIB-2026-H{next(_ids) - 1:05d}"
    counts = _Counts(home)
    model = CJIB_ORG.model(CJIB_ORG.claims(statement_id=issued_id))
    with pytest.raises(PolicyError) as e:
        drv.svc.create_offer(model)
    assert e.value.code == "credential_exists"
    counts.unchanged()


def test_offer_with_a_bad_pin_or_format_is_refused(drv: Driver) -> None:
    from blauweknop import InvalidDataError

    model = CJIB_ORG.model(CJIB_ORG.claims(statement_id="CJIB-2026-BADPIN"))
    for kw in ({"tx_code": "12a4"}, {"tx_code": "12"}, {"format": "mdoc"}):
        with pytest.raises(InvalidDataError):
            drv.svc.create_offer(model, **kw)


def test_dpop_proof_replayed_at_the_token_endpoint(drv: Driver) -> None:
    code, pin = _offer(drv)
    proof = drv.dpop("/token")
    _refused(drv.token("wrong-code", pin, dpop=proof), "invalid_grant")
    _refused(drv.token(code, pin, dpop=proof), "invalid_dpop_proof")
    assert drv.token(code, pin).status == 200  # the code survived the replay


def test_notification_errors(drv: Driver, ready: tuple[str, Key]) -> None:
    token, holder = ready
    r = drv.credential(token, drv.request_body(CFG, [drv.proof(holder, drv.nonce())]))
    nid = r.json_body()["notification_id"]

    def notify(body: Any, tok: str = token) -> Any:
        return drv.request(
            "POST",
            "/notification",
            body=json.dumps(body).encode(),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"DPoP {tok}",
                "DPoP": drv.dpop("/notification", token=tok),
            },
        )

    _refused(
        notify({"notification_id": nid, "event": "credential_stolen"}),
        "invalid_notification_request",
    )
    _refused(
        notify({"notification_id": "other", "event": "credential_accepted"}),
        "invalid_notification_id",
    )
    # Another offer's token cannot touch this notification.
    code, pin = _offer(drv)
    other = drv.access_token(code, pin)
    _refused(
        notify({"notification_id": nid, "event": "credential_deleted"}, other),
        "invalid_notification_id",
    )
    assert notify({"notification_id": nid, "event": "credential_accepted"}).status == 204


def test_server_dpop_nonces(home: Path) -> None:
    clock = Clock(PILOT_NOW)
    svc = IssuerService.for_home(
        home, issuer_url=ISSUER_URL, clock=clock, dpop_nonces=True, token_ttl=900
    )
    d = Driver(svc, clock)
    counts = _Counts(home)
    code, pin = _offer(d)
    r = d.token(code, pin)  # no nonce in the proof: asked for one, the code stays usable
    _refused(r, "use_dpop_nonce")
    nonce = r.headers["DPoP-Nonce"]
    forged = nonce[:-2] + ("AA" if nonce[-2:] != "AA" else "AB")
    _refused(d.token(code, pin, dpop=d.dpop("/token", nonce=forged)), "use_dpop_nonce")
    r = d.token(code, pin, dpop=d.dpop("/token", nonce=nonce))
    assert r.status == 200, r.json_body()
    token = r.json_body()["access_token"]
    clock.now += 400  # the server nonce has gone stale (300 s); the token lives 900 s
    holder = Key.generate()
    body = d.request_body(CFG, [d.proof(holder, d.nonce())])
    r = d.credential(token, body, dpop=d.dpop("/credential", token=token, nonce=nonce))
    _refused(r, "use_dpop_nonce", 401)
    assert r.headers["WWW-Authenticate"] == 'DPoP error="use_dpop_nonce"'
    counts.unchanged()
    fresh = r.headers["DPoP-Nonce"]
    r = d.credential(token, body, dpop=d.dpop("/credential", token=token, nonce=fresh))
    assert r.status == 200, r.json_body()
