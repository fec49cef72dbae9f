"""OpenID4VP hostile inputs: each is refused with its stable code and changes nothing (the
session stays pending with no result, the wallet presents nothing, an honest answer still
works afterwards)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from blauweknop import BlauweKnopError, Key
from blauweknop._codec import b64u_encode
from blauweknop._jws import sign_compact
from blauweknop.oid4vp import RequestHandle, VerifierService
from blauweknop.oid4vp._certs import chain_der, client_id_for
from blauweknop.oid4vp._jwe import encrypt_response, public_enc_jwk
from blauweknop.oid4vp._request import REQUEST_TYP, verify_request_object
from tests.oid4vp import conftest as _oid4vp_fixtures
from tests.oid4vp.world import World, request_file, verifier_entry
from tests.scheme import DUO

world = _oid4vp_fixtures.world  # the OpenID4VP world, built once for this module

HOLD = "rode-knop-check.json"


@dataclass
class Setup:
    world: World
    service: VerifierService
    client: httpx.Client
    handle: RequestHandle

    def session(self) -> Any:
        return self.service.store.get(self.handle.session_id)

    def post(self, form: dict[str, str], request_id: str | None = None) -> Any:
        rid = request_id or self.handle.request_id
        return self.client.post(f"/oid4vp/response/{rid}", data=form)

    def encrypt(self, payload: dict[str, Any], *, handle: RequestHandle | None = None) -> str:
        s = self.service.store.get((handle or self.handle).session_id)
        return encrypt_response(payload, public_enc_jwk(s.enc_key))

    def vp_token(self, *, nonce: str | None = None, audience: str | None = None) -> Any:
        return self.world.wallet.present(
            request_file(HOLD),
            nonce=nonce or self.handle.nonce,
            audience=audience or self.service.client_id,
            now=self.world.now,
        )

    def assert_unchanged(self) -> None:
        """Nothing changed: still pending, no result, and the honest wallet still gets in."""
        s = self.session()
        assert s.status == "pending" and s.result is None and s.response_code is None
        responder = self.world.responder(client=self.client)
        received = responder.fetch(self.handle.wallet_url)
        responder.respond(received, consent=lambda r, p: True)
        assert self.service.result(self.handle.session_id)["status"] == "done"


@pytest.fixture
def setup(world: World) -> Iterator[Setup]:
    with world.running() as (service, client):
        yield Setup(world, service, client, service.create_request(request_file(HOLD)))


def code_of(response: Any) -> str:
    body = response.json()
    assert response.status_code >= 400, body
    return str(body["code"])


def raises_code(code: str, fn: Any, *args: Any, **kw: Any) -> BlauweKnopError:
    with pytest.raises(BlauweKnopError) as info:
        fn(*args, **kw)
    assert info.value.code == code, info.value
    return info.value


def presented_counts(world: World) -> dict[str, int]:
    return {cid: rec.presented for cid, rec in world.wallet._records()}


# -- the request, at the wallet ---------------------------------------------------------------
def test_plain_unsigned_parameters_are_refused(setup: Setup) -> None:
    link = (
        "openid4vp://?client_id=x509_hash%3Aabc&response_type=vp_token&nonce=n"
        "&response_mode=direct_post.jwt&response_uri=http%3A%2F%2F127.0.0.1%3A9%2Fx"
    )
    raises_code("request_unsigned", setup.world.responder(client=setup.client).fetch, link)
    setup.assert_unchanged()


def _jar_parts(setup: Setup) -> tuple[dict[str, Any], dict[str, Any]]:
    jar = setup.service.request_object(setup.handle.request_id)
    h, p, _ = jar.split(".")
    from blauweknop._codec import b64u_decode

    return json.loads(b64u_decode(h)), json.loads(b64u_decode(p))


def _by_value(setup: Setup, token: str) -> str:
    import urllib.parse

    return "haip-vp://?" + urllib.parse.urlencode(
        {"client_id": setup.service.client_id, "request": token}
    )


def test_alg_none_request_is_refused(setup: Setup) -> None:
    header, claims = _jar_parts(setup)
    token = (
        b64u_encode(json.dumps({**header, "alg": "none"}).encode())
        + "."
        + b64u_encode(json.dumps(claims).encode())
        + "."
    )
    raises_code(
        "request_unsigned",
        setup.world.responder(client=setup.client).fetch,
        _by_value(setup, token),
    )
    setup.assert_unchanged()


def test_request_signed_by_another_key_is_refused(setup: Setup) -> None:
    header, claims = _jar_parts(setup)
    token = sign_compact(header, json.dumps(claims).encode(), Key.generate())
    raises_code(
        "signature_invalid",
        setup.world.responder(client=setup.client).fetch,
        _by_value(setup, token),
    )
    setup.assert_unchanged()


def test_request_tampered_after_signing_is_refused(setup: Setup) -> None:
    jar = setup.service.request_object(setup.handle.request_id)
    h, _, sig = jar.split(".")
    _, claims = _jar_parts(setup)
    claims["dcql_query"] = request_file("rode-knop-check-public-creditor.json")
    forged = f"{h}.{b64u_encode(json.dumps(claims).encode())}.{sig}"
    raises_code(
        "signature_invalid",
        setup.world.responder(client=setup.client).fetch,
        _by_value(setup, forged),
    )
    setup.assert_unchanged()


def test_x5c_chain_to_an_unknown_root_is_refused(setup: Setup) -> None:
    from blauweknop._x509 import CertificateAuthority

    w = setup.world
    rogue = CertificateAuthority.create("Rogue CA", valid_days=30, now=w.now)
    cert = rogue.issue(
        "CJIB verifier",
        w.creditor_key.public(),
        uris=("urn:oin:00000001003214345000",),
        role="verifier",
        valid_days=30,
        now=w.now,
    )
    with w.running(x5c=chain_der([cert])) as (service, client):
        handle = service.create_request(request_file(HOLD))
        with pytest.raises(BlauweKnopError) as info:
            w.responder(client=client).fetch(handle.wallet_url)
    assert info.value.code == "x5c_untrusted_root", info.value
    assert service.store.get(handle.session_id).status == "pending"


def test_verifier_certificate_revoked_by_the_trust_list_is_refused(setup: Setup) -> None:
    from blauweknop import TrustList, build_trust_list
    from blauweknop.x509 import x509_hash

    w = setup.world
    entries = [w.scheme.gem.trust_entry(), verifier_entry(w.scheme)]
    leaf_hash = x509_hash(base64.b64decode(w.x5c[0]))
    token = build_trust_list(entries, w.scheme.anchor, now=w.now, x509_revoked=[leaf_hash])
    trust = TrustList.verify(token, w.scheme.anchor.public(), now=w.now)
    responder = w.responder(client=setup.client, trust_list=trust)
    raises_code("x5c_revoked", responder.fetch, setup.handle.wallet_url)
    setup.assert_unchanged()


def test_expired_verifier_certificate_is_refused(setup: Setup) -> None:
    jar = setup.service.request_object(setup.handle.request_id)
    later = setup.world.now + 91 * 86400  # the certificate is valid for 90 days
    raises_code("x5c_expired", verify_request_object, jar, roots=[setup.world.root], now=later)


def test_x509_hash_that_does_not_match_the_leaf_is_refused(setup: Setup) -> None:
    header, claims = _jar_parts(setup)
    other = setup.world.ca.issue(
        "Other",
        Key.generate().public(),
        uris=("urn:oin:00000001003214345000",),
        role="verifier",
        valid_days=30,
        now=setup.world.now,
    )
    claims["client_id"] = client_id_for(chain_der([other]))
    token = sign_compact(header, json.dumps(claims).encode(), setup.world.creditor_key)
    responder = setup.world.responder(client=setup.client)
    # the link names the forged id too, so only the leaf comparison can catch it
    import urllib.parse

    link = "haip-vp://?" + urllib.parse.urlencode(
        {"client_id": claims["client_id"], "request": token}
    )
    raises_code("client_id_mismatch", responder.fetch, link)
    setup.assert_unchanged()


def test_client_id_of_the_link_must_equal_the_request_s(setup: Setup) -> None:
    link = setup.handle.wallet_url.replace("x509_hash%3A", "x509_hash%3AAAAA")
    raises_code("client_id_mismatch", setup.world.responder(client=setup.client).fetch, link)
    setup.assert_unchanged()


def test_over_asking_is_shown_and_refused_by_default(setup: Setup) -> None:
    w = setup.world
    handle = setup.service.create_request(request_file("rode-knop-check-public-creditor.json"))
    responder = w.responder(client=setup.client)
    received = responder.fetch(handle.wallet_url)
    assert received.over_asking == (
        "payment_incapacity_declaration: subject.bsn is not registered",
    )
    before = presented_counts(w)
    asked: list[Any] = []
    raises_code(
        "request_not_registered",
        responder.respond,
        received,
        consent=lambda r, p: asked.append(r) or True,
    )
    assert asked == [] and presented_counts(w) == before
    assert setup.service.store.get(handle.session_id).status == "pending"


def test_organisation_without_the_verifier_role_is_refused(setup: Setup) -> None:
    w = setup.world
    key = Key.generate()
    cert = w.ca.issue("DUO", key.public(), uris=(DUO,), role="verifier", valid_days=30, now=w.now)
    with w.running(x5c=chain_der([cert]), signer=key) as (service, client):
        handle = service.create_request(request_file(HOLD))
        raises_code("verifier_not_registered", w.responder(client=client).fetch, handle.wallet_url)


def test_trust_entry_with_verifier_member_but_no_role_is_invalid(world: World) -> None:
    from blauweknop._trust import parse_entry

    entry = verifier_entry(world.scheme)
    entry["roles"] = ["creditor"]
    raises_code("trust_entry_invalid", parse_entry, entry)
    entry = verifier_entry(world.scheme, may_request=[{"vct": "x", "claims": [[True]]}])
    raises_code("trust_entry_invalid", parse_entry, entry)


def test_expired_request_object_and_wallet_nonce(setup: Setup) -> None:
    jar = setup.service.request_object(setup.handle.request_id, wallet_nonce="abc")
    roots = [setup.world.root]
    raises_code(
        "request_expired", verify_request_object, jar, roots=roots, now=setup.world.now + 3600
    )
    raises_code(
        "wallet_nonce_mismatch",
        verify_request_object,
        jar,
        roots=roots,
        now=setup.world.now,
        wallet_nonce="xyz",
    )
    assert verify_request_object(jar, roots=roots, now=setup.world.now, wallet_nonce="abc")
    assert REQUEST_TYP == "oauth-authz-req+jwt"


# -- the response, at the verifier --------------------------------------------------------------
def test_replayed_response_is_refused(setup: Setup) -> None:
    form = {"response": setup.encrypt({"vp_token": setup.vp_token(), "state": setup.handle.state})}
    first = setup.post(form)
    assert first.status_code == 200, first.json()
    done = setup.service.result(setup.handle.session_id)
    assert code_of(setup.post(form)) == "response_replayed"
    assert setup.service.result(setup.handle.session_id) == done


def test_response_posted_to_another_session_is_refused(setup: Setup) -> None:
    other = setup.service.create_request(request_file(HOLD))
    form = {"response": setup.encrypt({"vp_token": setup.vp_token(), "state": setup.handle.state})}
    assert code_of(setup.post(form, request_id=other.request_id)) == "jwe_key_unknown"
    assert setup.service.store.get(other.session_id).status == "pending"
    setup.assert_unchanged()


def test_state_from_another_session_is_refused(setup: Setup) -> None:
    other = setup.service.create_request(request_file(HOLD))
    payload = {"vp_token": setup.vp_token(), "state": other.state}
    assert code_of(setup.post({"response": setup.encrypt(payload)})) == "state_mismatch"
    assert setup.session().last_error == "state_mismatch"
    setup.assert_unchanged()


def test_nonce_from_another_session_is_refused(setup: Setup) -> None:
    other = setup.service.create_request(request_file(HOLD))
    payload = {"vp_token": setup.vp_token(nonce=other.nonce), "state": setup.handle.state}
    assert code_of(setup.post({"response": setup.encrypt(payload)})) == "nonce_mismatch"
    setup.assert_unchanged()


def test_vp_token_for_another_audience_is_refused(setup: Setup) -> None:
    payload = {
        "vp_token": setup.vp_token(audience="x509_hash:another-creditor"),
        "state": setup.handle.state,
    }
    assert code_of(setup.post({"response": setup.encrypt(payload)})) == "audience_mismatch"
    setup.assert_unchanged()


def _fake_jwe(header: dict[str, Any]) -> str:
    seg = b64u_encode(b"x" * 16)
    return ".".join([b64u_encode(json.dumps(header).encode()), "", seg, seg, seg])


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ({"alg": "dir", "enc": "A128GCM"}, "jwe_alg_not_allowed"),
        ({"alg": "none", "enc": "A128GCM"}, "jwe_alg_not_allowed"),
        ({"alg": "RSA-OAEP-256", "enc": "A128GCM"}, "jwe_alg_not_allowed"),
        ({"alg": "ECDH-ES+A128KW", "enc": "A128GCM"}, "jwe_alg_not_allowed"),
        ({"alg": "ECDH-ES", "enc": "A128CBC-HS256"}, "jwe_enc_not_allowed"),
        ({"alg": "ECDH-ES", "enc": "A192GCM"}, "jwe_enc_not_allowed"),
        ({"alg": "ECDH-ES", "enc": "A128GCM", "zip": "DEF"}, "jwe_header_not_allowed"),
        ({"alg": "ECDH-ES", "enc": "A128GCM", "kid": "someone-else"}, "jwe_key_unknown"),
    ],
)
def test_jwe_headers_outside_the_profile_are_refused(
    setup: Setup, header: dict[str, Any], code: str
) -> None:
    assert code_of(setup.post({"response": _fake_jwe(header)})) == code
    setup.assert_unchanged()


def test_jwe_to_a_key_that_is_not_the_session_s_is_refused(setup: Setup) -> None:
    from blauweknop.oid4vp._jwe import ephemeral_key

    stranger = public_enc_jwk(ephemeral_key())
    session_kid = setup.session().enc_key["kid"]
    payload = {"vp_token": setup.vp_token(), "state": setup.handle.state}
    # the kid names the session's key, but the content key was agreed with another one
    token = encrypt_response(payload, {**stranger, "kid": session_kid})
    assert code_of(setup.post({"response": token})) == "jwe_invalid"
    setup.assert_unchanged()


def test_oversized_body_is_refused_before_parsing(setup: Setup) -> None:
    r = setup.post({"response": "a" * (4 * 1024 * 1024)})
    assert r.status_code == 413 and code_of(r) == "too_large"
    setup.assert_unchanged()


def test_deeply_nested_payload_is_refused(setup: Setup) -> None:
    nested: Any = "x"
    for _ in range(200):
        nested = [nested]
    payload = {"vp_token": {"q": nested}, "state": setup.handle.state}
    assert code_of(setup.post({"response": setup.encrypt(payload)})) == "too_deep"
    setup.assert_unchanged()


def test_duplicate_form_fields_and_wrong_content_type_are_refused(setup: Setup) -> None:
    r = setup.client.post(
        f"/oid4vp/response/{setup.handle.request_id}",
        content=b"response=a&response=b",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert code_of(r) == "response_invalid"
    r = setup.client.post(f"/oid4vp/response/{setup.handle.request_id}", json={"response": "x"})
    assert code_of(r) == "response_invalid"
    setup.assert_unchanged()


def test_expired_session_refuses_request_and_response(setup: Setup) -> None:
    form = {"response": setup.encrypt({"vp_token": setup.vp_token(), "state": setup.handle.state})}
    later = setup.handle.expires_at + 1
    raises_code("session_expired", setup.service.request_object, setup.handle.request_id, now=later)
    raises_code(
        "session_expired", setup.service.handle_response, setup.handle.request_id, form, now=later
    )
    assert setup.service.result(setup.handle.session_id, now=later)["status"] == "expired"
    assert setup.session().result is None


def test_unknown_session_and_wallet_error_response(setup: Setup) -> None:
    assert code_of(setup.post({"response": "x"}, request_id="nope")) == "session_unknown"
    assert code_of(setup.post({"error": "access_denied", "state": setup.handle.state})) == (
        "wallet_error"
    )
    setup.assert_unchanged()
