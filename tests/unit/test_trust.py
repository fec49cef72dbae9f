"""Trust list: build, verify against the pinned anchor, freshness, key resolution, roles."""

from __future__ import annotations

import json

import pytest

from blauweknop import Key, TrustError, TrustList, build_trust_list
from blauweknop._codec import b64u_decode, b64u_encode
from blauweknop._errors import MalformedError
from blauweknop._jws import sign_compact

NOW = 1_795_000_000
CJIB = "urn:oin:00000001003214345000"
GEM = "urn:oin:00000001001234567000"


def entry(oid: str, key: Key, roles: list[str], **extra: object) -> dict[str, object]:
    return {
        "id": oid,
        "name": oid[-6:],
        "roles": roles,
        "jwks": {"keys": [key.public_jwk()]},
        **extra,
    }


@pytest.fixture
def anchor() -> Key:
    return Key.generate()


def test_round_trip_and_resolution(anchor: Key) -> None:
    k1, k2 = Key.generate(), Key.generate("EdDSA")
    tok = build_trust_list(
        [entry(CJIB, k1, ["creditor"]), entry(GEM, k2, ["municipality"])], anchor, now=NOW
    )
    tl = TrustList.verify(tok, anchor.public(), now=NOW + 10)
    assert set(tl.organisations) == {CJIB, GEM}
    assert tl.resolve_key(CJIB, k1.kid, now=NOW) == k1.public()
    assert tl.resolve_key(GEM, None, now=NOW) == k2.public()
    assert tl.organisation(GEM, now=NOW).roles == frozenset({"municipality"})


def test_wrong_anchor_rejected(anchor: Key) -> None:
    tok = build_trust_list([entry(CJIB, Key.generate(), ["creditor"])], anchor, now=NOW)
    with pytest.raises(TrustError) as e:
        TrustList.verify(tok, Key.generate().public(), now=NOW)
    assert e.value.code == "trust_list_invalid"


def test_expired_and_max_age(anchor: Key) -> None:
    tok = build_trust_list(
        [entry(CJIB, Key.generate(), ["creditor"])], anchor, valid_days=1, now=NOW
    )
    with pytest.raises(TrustError) as e:
        TrustList.verify(tok, anchor.public(), now=NOW + 2 * 86400)
    assert e.value.code == "trust_list_expired"
    with pytest.raises(TrustError) as e:
        TrustList.verify(tok, anchor.public(), now=NOW + 3600, max_age=600)
    assert e.value.code == "trust_list_expired"
    with pytest.raises(TrustError) as e:
        TrustList.verify(tok, anchor.public(), now=NOW - 3600)
    assert e.value.code == "trust_list_not_yet_valid"


def test_tampered_payload_rejected(anchor: Key) -> None:
    tok = build_trust_list([entry(CJIB, Key.generate(), ["creditor"])], anchor, now=NOW)
    h, p, s = tok.split(".")
    payload = json.loads(b64u_decode(p))
    payload["organisations"][0]["roles"] = ["creditor", "municipality"]
    forged = ".".join([h, b64u_encode(json.dumps(payload).encode()), s])
    with pytest.raises(TrustError) as e:
        TrustList.verify(forged, anchor.public(), now=NOW)
    assert e.value.code == "trust_list_invalid"


def test_wrong_typ_rejected(anchor: Key) -> None:
    body = json.dumps({"iat": NOW, "exp": NOW + 10, "organisations": []}).encode()
    tok = sign_compact({"typ": "JWT"}, body, anchor)
    with pytest.raises(TrustError) as e:
        TrustList.verify(tok, anchor.public(), now=NOW)
    assert e.value.code == "trust_list_invalid"


def test_unknown_issuer_and_key(anchor: Key) -> None:
    k = Key.generate()
    tl = TrustList.verify(
        build_trust_list([entry(CJIB, k, ["creditor"])], anchor, now=NOW), anchor.public(), now=NOW
    )
    with pytest.raises(TrustError) as e:
        tl.organisation("urn:oin:99999999999999999999", now=NOW)
    assert e.value.code == "untrusted_issuer"
    with pytest.raises(TrustError) as e:
        tl.resolve_key(CJIB, Key.generate().kid, now=NOW)
    assert e.value.code == "untrusted_key"


def test_registration_window(anchor: Key) -> None:
    e1 = entry(CJIB, Key.generate(), ["creditor"], valid_until="2026-01-01T00:00:00Z")
    tl = TrustList.verify(build_trust_list([e1], anchor, now=NOW), anchor.public(), now=NOW)
    with pytest.raises(TrustError) as e:
        tl.organisation(CJIB, now=NOW)
    assert e.value.code == "untrusted_issuer"


def test_foreign_jwk_accepted(anchor: Key) -> None:
    """A public JWK as another tool writes it: extra members, its own kid."""
    k = Key.generate()
    jwk = {
        **k.public_jwk(with_kid=False),
        "kid": "hsm-key-2026",
        "use": "sig",
        "key_ops": ["verify"],
        "ext": True,
        "alg": "ES256",
    }
    e = {"id": CJIB, "name": "CJIB", "roles": ["creditor"], "jwks": {"keys": [jwk]}}
    tl = TrustList.verify(build_trust_list([e], anchor, now=NOW), anchor.public(), now=NOW)
    assert tl.resolve_key(CJIB, "hsm-key-2026", now=NOW) == k.public()
    assert tl.resolve_key(CJIB, k.kid, now=NOW) == k.public()


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ({"id": "oin:123", "name": "x", "roles": ["creditor"]}, "bad id"),
        ({"id": CJIB, "name": "", "roles": ["creditor"]}, "empty name"),
        ({"id": CJIB, "name": "x", "roles": []}, "no roles"),
        ({"id": CJIB, "name": "x", "roles": ["king"]}, "unknown role"),
    ],
)
def test_bad_entries_refused(anchor: Key, bad: dict[str, object], why: str) -> None:
    bad = {**bad, "jwks": {"keys": [Key.generate().public_jwk()]}}
    with pytest.raises(MalformedError) as e:
        build_trust_list([bad], anchor, now=NOW)
    assert e.value.code == "trust_entry_invalid", why


def test_private_key_in_entry_refused(anchor: Key) -> None:
    k = Key.generate()
    bad = {"id": CJIB, "name": "x", "roles": ["creditor"], "jwks": {"keys": [k.private_jwk()]}}
    with pytest.raises(MalformedError) as e:
        build_trust_list([bad], anchor, now=NOW)
    assert "private" in e.value.message


def test_duplicate_organisation_refused(anchor: Key) -> None:
    k = Key.generate()
    with pytest.raises(MalformedError):
        build_trust_list(
            [entry(CJIB, k, ["creditor"]), entry(CJIB, k, ["creditor"])], anchor, now=NOW
        )
