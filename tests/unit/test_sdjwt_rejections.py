"""Every way an SD-JWT (+KB) presentation must be refused, each with its exact error and code.

Inputs are built by hand here, not with the library's issuer, and re-signed with the issuer
(or holder) key wherever the fault would otherwise also break the signature: in each case the
fault under test is the only thing wrong. A control test shows the unmodified hand-built
presentation verifies, so a rejection cannot come from a broken baseline.

Rules: RFC 9901 section 7 (verification), RFC 7515/8725 (JWS), RFC 7519 4.1.4/4.1.5 (time),
SECURITY-BATTERY.md sections A-E.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from blauweknop import (
    SD,
    DisclosureError,
    HolderBindingError,
    KeyBindingPolicy,
    Limits,
    MalformedError,
    SignatureError,
    ValidityError,
    issue_sd_jwt,
    verify_sd_jwt,
)
from blauweknop._errors import BlauweKnopError
from blauweknop._keys import Key

NOW = 1_750_000_000
NONCE = "n-0S6_WzA2Mj"
AUD = "https://schuldeiser.example/verifier"
ISSUER = Key.generate("ES256")
HOLDER = Key.generate("ES256")
ATTACKER = Key.generate("ES256")
KB_POLICY = KeyBindingPolicy(nonce=NONCE, audience=AUD)


# ------------------------------------------------------------------------------------------
# Hand-made encodings (independent of blauweknop._codec)
# ------------------------------------------------------------------------------------------
def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def digest_of(encoded: str) -> str:
    return b64(hashlib.sha256(encoded.encode("ascii")).digest())


def to_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def jws(
    header: Any,
    payload: Any,
    key: Key = ISSUER,
    *,
    enc_header: str | None = None,
    enc_payload: str | None = None,
    sign: Callable[[bytes], bytes] | None = None,
) -> str:
    """Compact JWS; header/payload may be dicts, raw JSON text or bytes, or pre-encoded."""
    eh = enc_header if enc_header is not None else b64(to_bytes(header))
    ep = enc_payload if enc_payload is not None else b64(to_bytes(payload))
    signing_input = f"{eh}.{ep}".encode("ascii")
    sig = sign(signing_input) if sign else key.sign(signing_input)
    return f"{eh}.{ep}.{b64(sig)}"


@dataclass(frozen=True)
class Disc:
    encoded: str

    @property
    def digest(self) -> str:
        return digest_of(self.encoded)


def disc(*items: Any) -> Disc:
    return Disc(b64(json.dumps(list(items), ensure_ascii=False).encode("utf-8")))


def disc_raw(text: str | bytes) -> Disc:
    return Disc(b64(to_bytes(text)))


ISS_HEADER = {"alg": "ES256", "typ": "dc+sd-jwt", "kid": ISSUER.kid}
NAAM = disc("c2FsdC0x", "naam", "Jan de Vries")
BEDRAG = disc("c2FsdC0y", "bedrag", 1250)
ZAAK = disc("c2FsdC0z", {"zaaknummer": "Z-1"})


def base_payload(**extra: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "iss": "https://gemeente.example",
        "iat": NOW - 100,
        "exp": NOW + 3600,
        "_sd_alg": "sha-256",
        "_sd": sorted([NAAM.digest, BEDRAG.digest]),
        "zaken": [{"...": ZAAK.digest}, {"zaaknummer": "Z-0"}],
        "cnf": {"jwk": HOLDER.public_jwk()},
    }
    payload.update(extra)
    return {k: v for k, v in payload.items() if v is not None}


def sd_jwt(payload: Any, disclosures: list[Disc], header: Any = None) -> str:
    jwt = jws(ISS_HEADER if header is None else header, payload)
    return jwt + "~" + "".join(d.encoded + "~" for d in disclosures)


@dataclass
class KB:
    typ: Any = "kb+jwt"
    iat: Any = NOW - 5
    aud: Any = AUD
    nonce: Any = NONCE
    sd_hash: Any = None  # None: computed over the presentation
    key: Key = HOLDER
    header_extra: dict[str, Any] = field(default_factory=dict)
    drop: tuple[str, ...] = ()

    def sign_for(self, presentation_without_kb: str) -> str:
        header = {"alg": self.key.alg, "typ": self.typ, **self.header_extra}
        if self.typ is None:
            del header["typ"]
        payload = {
            "iat": self.iat,
            "aud": self.aud,
            "nonce": self.nonce,
            "sd_hash": digest_of(presentation_without_kb) if self.sd_hash is None else self.sd_hash,
        }
        for name in self.drop:
            del payload[name]
        return jws(header, payload, self.key)


def with_kb(presentation: str, kb: KB | None = None) -> str:
    return presentation + (kb or KB()).sign_for(presentation)


def verify(token: str, **kw: Any) -> Any:
    kw.setdefault("issuer_key", ISSUER.public())
    kw.setdefault("now", NOW)
    return verify_sd_jwt(token, **kw)


def rejects(cls: type[BlauweKnopError], code: str, token: str, **kw: Any) -> BlauweKnopError:
    with pytest.raises(BlauweKnopError) as err:
        verify(token, **kw)
    assert type(err.value) is cls, f"{type(err.value).__name__}({err.value.code}) != {cls.__name__}"
    assert err.value.code == code, err.value
    return err.value


GOOD = sd_jwt(base_payload(), [NAAM, BEDRAG, ZAAK])


# ------------------------------------------------------------------------------------------
# Controls
# ------------------------------------------------------------------------------------------
def test_control_hand_built_presentation_verifies() -> None:
    res = verify(with_kb(GOOD), key_binding=KB_POLICY)
    assert res.claims["naam"] == "Jan de Vries"
    assert res.claims["bedrag"] == 1250
    assert res.claims["zaken"] == [{"zaaknummer": "Z-1"}, {"zaaknummer": "Z-0"}]
    assert "_sd" not in res.claims and "_sd_alg" not in res.claims
    assert res.key_bound is True
    no_kb = verify(GOOD)
    assert no_kb.key_bound is False and no_kb.claims == res.claims


def test_control_withheld_disclosures_are_simply_absent() -> None:
    res = verify(sd_jwt(base_payload(), [BEDRAG]))
    assert "naam" not in res.claims and res.claims["bedrag"] == 1250
    assert res.claims["zaken"] == [{"zaaknummer": "Z-0"}]


# ------------------------------------------------------------------------------------------
# B. Signature and algorithm
# ------------------------------------------------------------------------------------------
def test_signature_by_another_key() -> None:
    jwt = jws(ISS_HEADER, base_payload(), ATTACKER)
    rejects(SignatureError, "signature_invalid", jwt + "~")


def test_payload_swapped_under_a_valid_signature() -> None:
    h, _, s = GOOD.split("~")[0].split(".")
    other = b64(to_bytes(base_payload(iss="https://andere-gemeente.example")))
    rejects(SignatureError, "signature_invalid", f"{h}.{other}.{s}~")


def test_signature_bytes_altered() -> None:
    h, p, s = GOOD.split("~")[0].split(".")
    raw = bytearray(base64.urlsafe_b64decode(s + "=="))
    raw[10] ^= 0x01
    rejects(SignatureError, "signature_invalid", f"{h}.{p}.{b64(bytes(raw))}~")


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "noNE"])
def test_alg_none(alg: str) -> None:
    token = jws({"alg": alg, "typ": "dc+sd-jwt"}, base_payload(), sign=lambda _: b"")
    rejects(SignatureError, "algorithm_not_allowed", token + "~")


def _public_key_forms(key: Key) -> dict[str, bytes]:
    pub = key.public_key
    return {
        "pem": pub.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "der_spki": pub.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "jwk_json": json.dumps(key.public_jwk()).encode(),
        "raw_uncompressed": key.public_bytes(compressed=False),
        "raw_compressed": key.public_bytes(compressed=True),
        "openssh": pub.public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        ),
    }


@pytest.mark.parametrize("form", sorted(_public_key_forms(ISSUER)))
@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_hmac_with_the_public_key_as_secret(form: str, alg: str) -> None:
    secret = _public_key_forms(ISSUER)[form]
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    token = jws(
        {"alg": alg, "typ": "dc+sd-jwt"},
        base_payload(),
        sign=lambda data: hmac.new(secret, data, digest).digest(),
    )
    rejects(SignatureError, "algorithm_not_allowed", token + "~")


def test_es384_is_not_allowed_even_with_a_p384_issuer_key() -> None:
    p384 = Key.generate("ES384")
    token = jws({"alg": "ES384", "typ": "dc+sd-jwt"}, base_payload(), p384)
    p384.public().verify(
        token.rsplit(".", 1)[0].encode(), base64.urlsafe_b64decode(token.rsplit(".", 1)[1] + "==")
    )
    rejects(SignatureError, "algorithm_not_allowed", token + "~")
    rejects(SignatureError, "algorithm_not_allowed", token + "~", issuer_key=p384.public())


def test_rs256_is_not_allowed() -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jws(
        {"alg": "RS256", "typ": "dc+sd-jwt"},
        base_payload(),
        sign=lambda data: rsa_key.sign(data, padding.PKCS1v15(), hashes.SHA256()),
    )
    rejects(SignatureError, "algorithm_not_allowed", token + "~")


def test_eddsa_token_against_a_p256_issuer_key() -> None:
    ed = Key.generate("EdDSA")
    token = jws({"alg": "EdDSA", "typ": "dc+sd-jwt"}, base_payload(), ed)
    verify(token + "~", issuer_key=ed.public())  # control: fine with its own key
    rejects(SignatureError, "algorithm_key_mismatch", token + "~")


def test_es256_token_against_an_ed25519_issuer_key() -> None:
    ed = Key.generate("EdDSA")
    rejects(SignatureError, "algorithm_key_mismatch", GOOD, issuer_key=ed.public())


def test_crit_header() -> None:
    header = {
        **ISS_HEADER,
        "crit": ["urn:example:must-understand"],
        "urn:example:must-understand": 1,
    }
    rejects(SignatureError, "crit_not_understood", sd_jwt(base_payload(), [], header))
    rejects(
        SignatureError,
        "crit_not_understood",
        sd_jwt(base_payload(), [], {**ISS_HEADER, "crit": []}),
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("jwk", ATTACKER.public_jwk()),
        ("jku", "https://attacker.example/jwks.json"),
        ("x5u", "https://attacker.example/cert.pem"),
        ("x5c", ["MIIBszCCAVmgAwIBAgIUU"]),
        ("x5t", "dGh1bWJwcmludA"),
        ("x5t#S256", "dGh1bWJwcmludA"),
    ],
)
def test_key_selecting_headers(name: str, value: Any) -> None:
    # Signed by the attacker whose key the header names: the header must not be trusted.
    token = jws({**ISS_HEADER, name: value}, base_payload(), ATTACKER)
    rejects(SignatureError, "header_not_allowed", token + "~")
    # Even signed by the real issuer, the header is refused outright.
    token = jws({**ISS_HEADER, name: value}, base_payload(), ISSUER)
    rejects(SignatureError, "header_not_allowed", token + "~")


def test_jws_with_two_or_four_segments() -> None:
    h, p, s = GOOD.split("~")[0].split(".")
    for jwt in (f"{h}.{p}", f"{h}.{p}.{s}.{s}", f"{h}{p}{s}"):
        rejects(MalformedError, "malformed_jws", jwt + "~")


def test_empty_signature_segment() -> None:
    h, p, _ = GOOD.split("~")[0].split(".")
    rejects(SignatureError, "signature_invalid", f"{h}.{p}.~")


def test_payload_not_an_object() -> None:
    rejects(MalformedError, "malformed_json", jws(ISS_HEADER, [1, 2]) + "~")


def test_unencoded_payload_header() -> None:
    rejects(
        MalformedError, "malformed_jws", sd_jwt(base_payload(), [], {**ISS_HEADER, "b64": False})
    )


def test_typ_checked_when_asked() -> None:
    for typ in ("JWT", "kb+jwt", ["dc+sd-jwt"], None):
        header = {k: v for k, v in {**ISS_HEADER, "typ": typ}.items() if v is not None}
        rejects(MalformedError, "typ_mismatch", sd_jwt(base_payload(), [], header), typ="dc+sd-jwt")
    verify(sd_jwt(base_payload(), []), typ="dc+sd-jwt")


# ------------------------------------------------------------------------------------------
# C. Disclosures and digests
# ------------------------------------------------------------------------------------------
def test_digest_twice_in_one_sd_array() -> None:
    payload = base_payload(_sd=[NAAM.digest, NAAM.digest])
    rejects(DisclosureError, "digest_duplicate", sd_jwt(payload, [NAAM]))
    rejects(DisclosureError, "digest_duplicate", sd_jwt(payload, []))  # even if undisclosed


def test_digest_at_two_nesting_levels() -> None:
    payload = base_payload(adres={"_sd": [NAAM.digest], "stad": "Utrecht"})
    rejects(DisclosureError, "digest_duplicate", sd_jwt(payload, [NAAM]))


def test_digest_in_sd_and_in_an_array_element() -> None:
    # An undisclosed digest (decoy-like) in both places: refused whatever is presented.
    payload = base_payload(lijst=[{"...": NAAM.digest}])
    rejects(DisclosureError, "digest_duplicate", sd_jwt(payload, []))
    rejects(DisclosureError, "digest_duplicate", sd_jwt(payload, [BEDRAG, ZAAK]))
    # A disclosed array element whose digest the issuer also put in `_sd`: the array is
    # processed first, so the second sighting (in `_sd`) is the duplicate.
    payload = base_payload(_sd=sorted([NAAM.digest, BEDRAG.digest, ZAAK.digest]))
    rejects(DisclosureError, "digest_duplicate", sd_jwt(payload, [NAAM, BEDRAG, ZAAK]))


def test_digest_repeated_inside_a_disclosure() -> None:
    inner = disc("c2FsdC01", "adres", {"_sd": [NAAM.digest]})
    payload = base_payload(_sd=sorted([NAAM.digest, inner.digest]))
    rejects(DisclosureError, "digest_duplicate", sd_jwt(payload, [NAAM, inner]))


def test_disclosure_not_referenced() -> None:
    stray = disc("c2FsdC05", "extra", "x")
    rejects(DisclosureError, "disclosure_unreferenced", GOOD + stray.encoded + "~")


def test_disclosure_referenced_only_from_an_undisclosed_one() -> None:
    child = disc("c2FsdC02", "stad", "Utrecht")
    parent = disc("c2FsdC01", "adres", {"_sd": [child.digest]})
    payload = base_payload(_sd=[parent.digest])
    assert verify(sd_jwt(payload, [parent, child])).claims["adres"] == {"stad": "Utrecht"}
    rejects(DisclosureError, "disclosure_unreferenced", sd_jwt(payload, [child]))


def test_same_disclosure_twice() -> None:
    rejects(DisclosureError, "disclosure_duplicate", GOOD + NAAM.encoded + "~")


@pytest.mark.parametrize("name", ["_sd", "..."])
def test_disclosure_with_reserved_name(name: str) -> None:
    bad = disc("c2FsdC03", name, ["x"])
    payload = base_payload(_sd=sorted([NAAM.digest, bad.digest]))
    rejects(DisclosureError, "disclosure_name_reserved", sd_jwt(payload, [NAAM, bad]))


def test_disclosure_name_clashes_with_plaintext_claim() -> None:
    clash = disc("c2FsdC04", "bedrag", 1)
    payload = base_payload(_sd=[clash.digest], bedrag=999_999)
    rejects(DisclosureError, "disclosure_name_clash", sd_jwt(payload, [clash]))


def test_two_disclosures_with_the_same_name_at_one_level() -> None:
    other = disc("c2FsdC04", "bedrag", 1)
    payload = base_payload(_sd=sorted([BEDRAG.digest, other.digest]))
    rejects(DisclosureError, "disclosure_name_clash", sd_jwt(payload, [BEDRAG, other]))


@pytest.mark.parametrize(
    "raw",
    [
        "[]",
        '["c2FsdA"]',
        '["c2FsdA","naam","Jan","extra"]',
        '{"salt":"c2FsdA","naam":"Jan"}',
        '"c2FsdA"',
        "42",
        "null",
        '[1,"naam","Jan"]',  # salt not a string
        '[null,"Jan"]',
        '["c2FsdA",7,"Jan"]',  # name not a string
        '["c2FsdA",null,"Jan"]',
        '["c2FsdA","naam",{"a":1,"a":2}]',  # duplicate member inside the value
        '["c2FsdA","naam",NaN]',
        '["c2FsdA","naam",Infinity]',
        '["c2FsdA","naam","\\ud800"]',  # lone surrogate
        '["c2FsdA","naam","Jan"',  # not JSON
        "\xef\xbb\xbf[]",
    ],
)
def test_malformed_disclosure_content(raw: str) -> None:
    bad = Disc(b64(raw.encode("latin-1") if raw.startswith("\xef") else raw.encode("utf-8")))
    payload = base_payload(_sd=sorted([NAAM.digest, bad.digest]))
    rejects(DisclosureError, "disclosure_malformed", sd_jwt(payload, [NAAM, bad]))


def test_disclosure_not_json_bytes() -> None:
    bad = Disc(b64(b"\xff\xfe\x00garbage"))
    payload = base_payload(_sd=[bad.digest])
    rejects(DisclosureError, "disclosure_malformed", sd_jwt(payload, [bad]))


@pytest.mark.parametrize("variant", ["padding", "alphabet", "trailing_bits", "space", "dot"])
def test_disclosure_not_canonical_base64url(variant: str) -> None:
    enc = _noncanonical(to_bytes(["???>>>", "naam", "Jan"]), variant)
    bad = Disc(enc)  # the issuer even signed this exact string's digest
    payload = base_payload(_sd=[bad.digest])
    rejects(DisclosureError, "disclosure_malformed", sd_jwt(payload, [bad]))


def test_empty_disclosure_between_tildes() -> None:
    jwt = GOOD.split("~")[0]
    for token in (f"{jwt}~~", f"{jwt}~{NAAM.encoded}~~", f"{jwt}~~{NAAM.encoded}~"):
        rejects(DisclosureError, "disclosure_malformed", token)


@pytest.mark.parametrize(
    "payload_extra",
    [
        {"adres": {"_sd_alg": "sha-256", "stad": "Utrecht"}},
        {"lijst": [{"_sd_alg": "sha-256"}]},
    ],
)
def test_sd_alg_below_top_level(payload_extra: dict[str, Any]) -> None:
    rejects(DisclosureError, "sd_alg_not_top_level", sd_jwt(base_payload(**payload_extra), []))


def test_sd_alg_inside_a_disclosure() -> None:
    inner = disc("c2FsdC01", "adres", {"_sd_alg": "sha-256", "stad": "Utrecht"})
    payload = base_payload(_sd=[inner.digest])
    rejects(DisclosureError, "sd_alg_not_top_level", sd_jwt(payload, [inner]))


@pytest.mark.parametrize(
    "alg",
    ["sha-1", "md5", "SHA-256", "sha-256-32", "sha-512", "", ["sha-256"], {"a": 1}, 256, None],
)
def test_sd_alg_unsupported(alg: Any) -> None:
    payload = base_payload()
    payload["_sd_alg"] = alg
    rejects(DisclosureError, "sd_alg_unsupported", sd_jwt(payload, [NAAM]))


def test_array_digest_with_extra_keys() -> None:
    payload = base_payload(zaken=[{"...": ZAAK.digest, "x": 1}])
    rejects(DisclosureError, "array_digest_malformed", sd_jwt(payload, [ZAAK]))
    rejects(DisclosureError, "array_digest_malformed", sd_jwt(payload, []))


def test_array_digest_marker_outside_an_array() -> None:
    payload = base_payload(zaak={"...": ZAAK.digest})
    rejects(DisclosureError, "array_digest_malformed", sd_jwt(payload, [ZAAK]))


@pytest.mark.parametrize(
    "extra",
    [
        {"zaken": [{"...": 123}]},
        {"zaken": [{"...": None}]},
        {"_sd": "abc"},
        {"_sd": [1]},
        {"_sd": {}},
    ],
)
def test_digest_not_a_string(extra: dict[str, Any]) -> None:
    rejects(DisclosureError, "digest_malformed", sd_jwt(base_payload(**extra), []))


def test_array_element_disclosure_referenced_from_sd() -> None:
    payload = base_payload(_sd=[ZAAK.digest], zaken=None)
    rejects(DisclosureError, "disclosure_kind_mismatch", sd_jwt(payload, [ZAAK]))


def test_property_disclosure_referenced_from_an_array() -> None:
    payload = base_payload(_sd=None, zaken=[{"...": NAAM.digest}])
    rejects(DisclosureError, "disclosure_kind_mismatch", sd_jwt(payload, [NAAM]))


def test_too_many_disclosures() -> None:
    rejects(MalformedError, "too_large", GOOD, limits=Limits(max_disclosures=2))


def test_too_many_digests() -> None:
    decoys = sorted(b64(hashlib.sha256(bytes([i])).digest()) for i in range(20))
    payload = base_payload(_sd=decoys)
    rejects(MalformedError, "too_large", sd_jwt(payload, []), limits=Limits(max_digests=10))


# ------------------------------------------------------------------------------------------
# D. Key binding
# ------------------------------------------------------------------------------------------
def test_key_binding_missing_when_required() -> None:
    rejects(HolderBindingError, "key_binding_missing", GOOD, key_binding=KB_POLICY)


@pytest.mark.parametrize("typ", ["JWT", "jwt", "kb+JWT", "dc+sd-jwt", None])
def test_key_binding_typ(typ: str | None) -> None:
    rejects(
        HolderBindingError, "key_binding_typ", with_kb(GOOD, KB(typ=typ)), key_binding=KB_POLICY
    )


@pytest.mark.parametrize("nonce", ["other-nonce", "", NONCE + " ", 12345])
def test_nonce_mismatch(nonce: Any) -> None:
    rejects(
        HolderBindingError, "nonce_mismatch", with_kb(GOOD, KB(nonce=nonce)), key_binding=KB_POLICY
    )


@pytest.mark.parametrize("aud", ["https://andere-schuldeiser.example", [AUD], AUD + "/", ""])
def test_audience_mismatch(aud: Any) -> None:
    rejects(
        HolderBindingError, "audience_mismatch", with_kb(GOOD, KB(aud=aud)), key_binding=KB_POLICY
    )


def test_nonce_and_audience_must_be_strings_even_without_expectations() -> None:
    lax = KeyBindingPolicy(required=False)
    rejects(
        HolderBindingError, "key_binding_malformed", with_kb(GOOD, KB(nonce=1)), key_binding=lax
    )
    rejects(
        HolderBindingError, "key_binding_malformed", with_kb(GOOD, KB(aud=[AUD])), key_binding=lax
    )


def test_key_binding_iat_window() -> None:
    policy = KeyBindingPolicy(nonce=NONCE, audience=AUD, max_age=300, max_future=60)
    verify(with_kb(GOOD, KB(iat=NOW - 300)), key_binding=policy)
    verify(with_kb(GOOD, KB(iat=NOW + 60)), key_binding=policy)
    for iat in (NOW - 301, NOW + 61, NOW - 10**9, NOW + 10**9):
        rejects(
            HolderBindingError, "key_binding_iat", with_kb(GOOD, KB(iat=iat)), key_binding=policy
        )


@pytest.mark.parametrize("iat", ["1750000000", True, None, [NOW], {"t": NOW}])
def test_key_binding_iat_not_a_number(iat: Any) -> None:
    kb = KB(iat=iat, drop=("iat",) if iat is None else ())
    rejects(HolderBindingError, "key_binding_iat", with_kb(GOOD, kb), key_binding=KB_POLICY)


def test_key_binding_iat_fractional_numeric_date() -> None:
    # RFC 7519 NumericDate may be fractional; the window applies to it all the same.
    verify(with_kb(GOOD, KB(iat=NOW - 0.5)), key_binding=KB_POLICY)
    rejects(
        HolderBindingError,
        "key_binding_iat",
        with_kb(GOOD, KB(iat=NOW - 300.5)),
        key_binding=KB_POLICY,
    )
    rejects(
        HolderBindingError,
        "key_binding_iat",
        with_kb(GOOD, KB(iat=NOW + 60.5)),
        key_binding=KB_POLICY,
    )


def test_sd_hash_wrong() -> None:
    without_tilde = GOOD[:-1]
    other_set = sd_jwt(base_payload(), [NAAM, BEDRAG])
    for sd_hash in (
        digest_of(without_tilde),  # computed without the trailing '~'
        digest_of(other_set),  # over another set of disclosures
        b64(hashlib.sha384(GOOD.encode()).digest()),  # another hash than _sd_alg
        digest_of(GOOD)[:-1] + ("A" if digest_of(GOOD)[-1] != "A" else "B"),  # one char off
        "",
        1,
    ):
        token = with_kb(GOOD, KB(sd_hash=sd_hash))
        rejects(HolderBindingError, "sd_hash_mismatch", token, key_binding=KB_POLICY)
    rejects(
        HolderBindingError,
        "sd_hash_mismatch",
        with_kb(GOOD, KB(drop=("sd_hash",))),
        key_binding=KB_POLICY,
    )


def test_disclosure_added_after_key_binding() -> None:
    kb = KB().sign_for(sd_jwt(base_payload(), [NAAM]))
    token = sd_jwt(base_payload(), [NAAM, BEDRAG]) + kb
    rejects(HolderBindingError, "sd_hash_mismatch", token, key_binding=KB_POLICY)


def test_disclosure_removed_after_key_binding() -> None:
    kb = KB().sign_for(GOOD)
    token = sd_jwt(base_payload(), [NAAM, BEDRAG]) + kb
    rejects(HolderBindingError, "sd_hash_mismatch", token, key_binding=KB_POLICY)


def test_key_binding_jwt_from_another_presentation() -> None:
    # Same credential, same holder, same verifier, but the KB-JWT was made for another SD-JWT.
    other_credential = sd_jwt(base_payload(iat=NOW - 99), [NAAM, BEDRAG, ZAAK])
    stolen_kb = KB().sign_for(other_credential)
    rejects(HolderBindingError, "sd_hash_mismatch", GOOD + stolen_kb, key_binding=KB_POLICY)


def test_key_binding_signed_by_another_key() -> None:
    rejects(
        HolderBindingError,
        "key_binding_signature",
        with_kb(GOOD, KB(key=ATTACKER)),
        key_binding=KB_POLICY,
    )
    ed = Key.generate("EdDSA")
    rejects(
        HolderBindingError,
        "key_binding_signature",
        with_kb(GOOD, KB(key=ed)),
        key_binding=KB_POLICY,
    )


def test_key_binding_header_jwk_is_not_trusted() -> None:
    kb = KB(key=ATTACKER, header_extra={"jwk": ATTACKER.public_jwk()})
    rejects(SignatureError, "header_not_allowed", with_kb(GOOD, kb), key_binding=KB_POLICY)


@pytest.mark.parametrize("alg", ["none", "HS256"])
def test_key_binding_alg_not_allowed(alg: str) -> None:
    secret = HOLDER.public_bytes(compressed=False)
    kb = jws(
        {"alg": alg, "typ": "kb+jwt"},
        {"iat": NOW, "aud": AUD, "nonce": NONCE, "sd_hash": digest_of(GOOD)},
        sign=(lambda _: b"")
        if alg == "none"
        else (lambda d: hmac.new(secret, d, hashlib.sha256).digest()),
    )
    rejects(SignatureError, "algorithm_not_allowed", GOOD + kb, key_binding=KB_POLICY)


def test_key_binding_present_but_no_cnf() -> None:
    presentation = sd_jwt(base_payload(cnf=None), [NAAM])
    rejects(HolderBindingError, "holder_key_missing", with_kb(presentation), key_binding=KB_POLICY)
    lax = KeyBindingPolicy(required=False)
    rejects(HolderBindingError, "holder_key_missing", with_kb(presentation), key_binding=lax)


def test_cnf_jwk_with_private_key_material() -> None:
    presentation = sd_jwt(base_payload(cnf={"jwk": HOLDER.private_jwk()}), [NAAM])
    rejects(HolderBindingError, "holder_key_invalid", with_kb(presentation), key_binding=KB_POLICY)


def test_cnf_jwk_not_a_key() -> None:
    presentation = sd_jwt(base_payload(cnf={"jwk": {"kty": "oct", "k": "c2VjcmV0"}}), [NAAM])
    rejects(HolderBindingError, "holder_key_invalid", with_kb(presentation), key_binding=KB_POLICY)


def test_key_binding_jwt_malformed() -> None:
    for kb in ("not-a-jwt", "a.b", GOOD.split("~")[0] + ".x"):
        rejects(HolderBindingError, "key_binding_malformed", GOOD + kb, key_binding=KB_POLICY)


def test_cnf_in_a_disclosure_still_binds() -> None:
    """Control for the policy: cnf is an ordinary claim to the SD processor; what matters is
    that the KB-JWT is checked against whatever cnf.jwk the processed payload holds."""
    cnf = disc("c2FsdC04", "cnf", {"jwk": HOLDER.public_jwk()})
    presentation = sd_jwt(base_payload(cnf=None, _sd=[cnf.digest]), [cnf])
    assert verify(with_kb(presentation), key_binding=KB_POLICY).key_bound is True


# ------------------------------------------------------------------------------------------
# E. Validity time (RFC 7519 4.1.4: valid while now < exp; 4.1.5: valid from nbf on)
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("leeway", [0, 30, 120])
def test_exp_with_caller_leeway(leeway: int) -> None:
    exp = NOW
    token = sd_jwt(base_payload(exp=exp), [])
    verify(token, now=exp + leeway - 1, leeway=leeway)  # inside the leeway: accepted
    rejects(ValidityError, "expired", token, now=exp + leeway, leeway=leeway)
    rejects(ValidityError, "expired", token, now=exp + leeway + 1, leeway=leeway)


@pytest.mark.parametrize("leeway", [0, 30, 120])
def test_nbf_with_caller_leeway(leeway: int) -> None:
    nbf = NOW
    token = sd_jwt(base_payload(nbf=nbf), [])
    verify(token, now=nbf - leeway, leeway=leeway)  # inside the leeway: accepted
    rejects(ValidityError, "not_yet_valid", token, now=nbf - leeway - 1, leeway=leeway)


def test_iat_in_the_future() -> None:
    token = sd_jwt(base_payload(iat=NOW + 61), [])
    rejects(ValidityError, "iat_in_future", token, leeway=60)
    verify(sd_jwt(base_payload(iat=NOW + 60), []), leeway=60)


@pytest.mark.parametrize("value", ["1750000000", True, [NOW], {"t": NOW}])
@pytest.mark.parametrize("name", ["exp", "nbf", "iat"])
def test_time_claim_not_a_number(name: str, value: Any) -> None:
    rejects(MalformedError, "malformed_claim", sd_jwt(base_payload(**{name: value}), []))


@pytest.mark.parametrize("literal", ["1e400", "-1e400", "NaN", "Infinity", "-Infinity"])
def test_time_claim_not_finite(literal: str) -> None:
    text = json.dumps(base_payload(exp=0)).replace('"exp": 0', f'"exp": {literal}')
    assert literal in text
    rejects(MalformedError, "malformed_json", jws(ISS_HEADER, text) + "~")


def test_expired_credential_selectively_disclosed_exp() -> None:
    exp = disc("c2FsdC04", "exp", NOW - 1)
    token = sd_jwt(base_payload(exp=None, _sd=[exp.digest]), [exp])
    rejects(ValidityError, "expired", token, leeway=0)


# ------------------------------------------------------------------------------------------
# A. The JSON and encoding layer
# ------------------------------------------------------------------------------------------
def test_duplicate_member_in_payload() -> None:
    text = '{"iss":"https://gemeente.example","bedrag":1,"bedrag":1000000,"_sd_alg":"sha-256"}'
    rejects(MalformedError, "duplicate_json_key", jws(ISS_HEADER, text) + "~")


def test_duplicate_member_in_header() -> None:
    token = jws('{"alg":"ES256","typ":"dc+sd-jwt","alg":"none"}', base_payload())
    rejects(MalformedError, "duplicate_json_key", token + "~")
    token = jws('{"alg":"ES256","typ":"dc+sd-jwt","typ":"kb+jwt"}', base_payload())
    rejects(MalformedError, "duplicate_json_key", token + "~")


def test_duplicate_member_in_key_binding_payload() -> None:
    sd_hash = digest_of(GOOD)
    text = f'{{"iat":{NOW},"aud":"{AUD}","nonce":"x","nonce":"{NONCE}","sd_hash":"{sd_hash}"}}'
    kb = jws({"alg": "ES256", "typ": "kb+jwt"}, text, HOLDER)
    rejects(HolderBindingError, "key_binding_malformed", GOOD + kb, key_binding=KB_POLICY)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_in_payload(literal: str) -> None:
    text = '{"iss":"https://gemeente.example","bedrag":' + literal + "}"
    rejects(MalformedError, "malformed_json", jws(ISS_HEADER, text) + "~")


@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "\\ud83d", "x\\udc00y"])
def test_lone_surrogate_in_payload(escape: str) -> None:
    text = '{"iss":"https://gemeente.example","naam":"' + escape + '"}'
    rejects(MalformedError, "malformed_json", jws(ISS_HEADER, text) + "~")


def test_lone_surrogate_in_a_member_name() -> None:
    text = '{"iss":"https://gemeente.example","\\ud800":1}'
    rejects(MalformedError, "malformed_json", jws(ISS_HEADER, text) + "~")


def test_surrogate_pair_is_fine() -> None:
    text = '{"iss":"https://gemeente.example","naam":"\\ud83d\\ude00"}'
    assert verify(jws(ISS_HEADER, text) + "~").claims["naam"] == "\U0001f600"


def test_invalid_utf8_and_bom_in_payload() -> None:
    rejects(MalformedError, "malformed_json", jws(ISS_HEADER, b'{"naam":"\xff"}') + "~")
    rejects(MalformedError, "malformed_json", jws(ISS_HEADER, b"\xef\xbb\xbf{}") + "~")


def test_deep_nesting() -> None:
    just_over = "[" * 40 + "]" * 40
    rejects(MalformedError, "too_deep", jws(ISS_HEADER, '{"x":' + just_over + "}") + "~")
    very_deep = "[" * 50_000 + "]" * 50_000
    rejects(MalformedError, "too_deep", jws(ISS_HEADER, '{"x":' + very_deep + "}") + "~")
    objects = '{"x":' + '{"a":' * 40 + "1" + "}" * 40 + "}"
    rejects(MalformedError, "too_deep", jws(ISS_HEADER, objects) + "~")


def test_deep_nesting_inside_a_disclosure() -> None:
    bad = disc_raw('["c2FsdA","naam",' + "[" * 50_000 + "]" * 50_000 + "]")
    rejects(DisclosureError, "disclosure_malformed", sd_jwt(base_payload(_sd=[bad.digest]), [bad]))


def test_huge_integer_in_payload() -> None:
    text = '{"iss":"https://gemeente.example","bedrag":' + "9" * 5000 + "}"
    rejects(MalformedError, "malformed_json", jws(ISS_HEADER, text) + "~")


def _noncanonical(raw: bytes, variant: str) -> str:
    """A base64url text that a lenient decoder maps to ``raw``, but which is not canonical."""
    canon = b64(raw)
    if variant == "padding":
        assert len(canon) % 4, "needs a length that canonical form leaves unpadded"
        return canon + "=" * (-len(canon) % 4)
    if variant == "alphabet":
        assert "-" in canon or "_" in canon
        return canon.replace("-", "+").replace("_", "/")
    if variant == "trailing_bits":
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        assert len(canon) % 4 in (2, 3), "needs unused bits in the last character"
        out = canon[:-1] + alphabet[alphabet.index(canon[-1]) | 1]
        assert base64.urlsafe_b64decode(out + "=" * (-len(out) % 4)) == raw
        return out
    if variant == "space":
        return canon[:4] + " " + canon[4:]
    if variant == "dot":
        return canon + "."
    raise AssertionError(variant)


def _header_text() -> bytes:
    # '???' and '>>>' force '_' and '-' into the encoding; the length leaves unused bits.
    for pad in range(3):
        text = json.dumps({**ISS_HEADER, "x": "???>>>" + "a" * pad}, separators=(",", ":")).encode()
        if len(text) % 3:
            return text
    raise AssertionError("unreachable")


def _payload_text() -> bytes:
    for pad in range(3):
        text = to_bytes(base_payload(x="???>>>" + "a" * pad))
        if len(text) % 3:
            return text
    raise AssertionError("unreachable")


@pytest.mark.parametrize("variant", ["padding", "alphabet", "trailing_bits"])
def test_noncanonical_base64url_in_header(variant: str) -> None:
    enc = _noncanonical(_header_text(), variant)
    token = jws(None, base_payload(), enc_header=enc)  # signed over the exact string
    rejects(MalformedError, "malformed_base64", token + "~")


@pytest.mark.parametrize("variant", ["padding", "alphabet", "trailing_bits"])
def test_noncanonical_base64url_in_payload(variant: str) -> None:
    enc = _noncanonical(_payload_text(), variant)
    token = jws(ISS_HEADER, None, enc_payload=enc)
    rejects(MalformedError, "malformed_base64", token + "~")


@pytest.mark.parametrize("variant", ["padding", "alphabet", "trailing_bits"])
def test_noncanonical_base64url_in_signature(variant: str) -> None:
    h, p, s = GOOD.split("~")[0].split(".")
    raw = base64.urlsafe_b64decode(s + "==")
    if variant == "alphabet" and "-" not in s and "_" not in s:  # pragma: no cover - 1 in ~10^5
        pytest.skip("this signature's encoding has no '-' or '_'")
    rejects(MalformedError, "malformed_base64", f"{h}.{p}.{_noncanonical(raw, variant)}~")


def test_control_lenient_decoding_would_accept_these() -> None:
    """The non-canonical forms above decode to the right bytes with Python's lenient decoder,
    so only the strict codec stands between them and acceptance."""
    raw = _payload_text()
    for variant in ("padding", "alphabet", "trailing_bits"):
        enc = _noncanonical(raw, variant).replace("+", "-").replace("/", "_")
        assert base64.urlsafe_b64decode(enc + "=" * (-len(enc) % 4)) == raw


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t.replace("~", "é~", 1),
        lambda t: "\ufeff" + t,
        lambda t: t[:-1] + "\u00a0~",
        lambda t: t + "ｅｙＪ",
        lambda t: t.replace(".", "\u2024", 1),
    ],
    ids=["latin1", "bom", "nbsp", "fullwidth", "one-dot-leader"],
)
def test_non_ascii_token(mutate: Callable[[str], str]) -> None:
    token = mutate(GOOD)
    assert not token.isascii()
    rejects(MalformedError, "malformed_sd_jwt", token)


def test_oversized_token() -> None:
    limit = Limits().max_token_bytes
    padding_claim = "x" * (limit * 3 // 4)
    token = sd_jwt(base_payload(padding=padding_claim), [])
    assert len(token) > limit
    rejects(MalformedError, "too_large", token)
    rejects(MalformedError, "too_large", GOOD, limits=Limits(max_token_bytes=len(GOOD) - 1))
    verify(GOOD, limits=Limits(max_token_bytes=len(GOOD)))


def test_truncated_tokens_with_key_binding() -> None:
    full = with_kb(GOOD)
    verify(full, key_binding=KB_POLICY)
    for cut in range(len(full)):
        with pytest.raises(BlauweKnopError):
            verify(full[:cut], key_binding=KB_POLICY)


def test_truncated_tokens_without_key_binding() -> None:
    """Cut anywhere: refused, except exactly after a '~', which is a (shorter) valid
    presentation that then lacks the cut-off claims."""
    full_claims = verify(GOOD).claims
    boundaries = {i + 1 for i, ch in enumerate(GOOD) if ch == "~"}
    for cut in range(len(GOOD)):
        if cut in boundaries:
            res = verify(GOOD[:cut])
            assert set(res.claims) <= set(full_claims) and res.claims != full_claims
            continue
        with pytest.raises(BlauweKnopError) as err:
            verify(GOOD[:cut])
        assert err.value.code in {
            "malformed_sd_jwt",
            "malformed_jws",
            "malformed_base64",
            "malformed_json",
            "signature_invalid",
            "disclosure_malformed",
            "holder_key_missing",
            "key_binding_malformed",
            "disclosure_unreferenced",
        }, err.value


def test_structure_of_tildes() -> None:
    jwt = GOOD.split("~")[0]
    kb = KB().sign_for(GOOD)
    rejects(MalformedError, "malformed_sd_jwt", jwt)  # no '~' at all
    rejects(MalformedError, "malformed_sd_jwt", "~" + GOOD)  # empty issuer JWT
    rejects(DisclosureError, "disclosure_malformed", GOOD + kb + "~", key_binding=KB_POLICY)
    rejects(DisclosureError, "disclosure_malformed", GOOD + kb + "~" + kb, key_binding=KB_POLICY)
    rejects(DisclosureError, "disclosure_malformed", GOOD + "~" + kb, key_binding=KB_POLICY)


def test_presentation_with_two_key_binding_jwts_fails_closed() -> None:
    kb = KB().sign_for(GOOD)
    with pytest.raises(DisclosureError) as err:
        verify(GOOD + kb + "~" + kb)
    assert err.value.code == "disclosure_malformed"


# ------------------------------------------------------------------------------------------
# The issuer refuses what a verifier would refuse
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "claims",
    [
        {"a": float("inf")},
        {"a": SD(float("-inf"))},
        {"a": [SD(float("nan"))]},
        {"a": {"b": float("nan")}},
    ],
)
def test_issuer_refuses_non_finite_numbers(claims: dict[str, Any]) -> None:
    with pytest.raises(MalformedError) as err:
        issue_sd_jwt(claims, ISSUER)
    assert err.value.code == "invalid_claims"


@pytest.mark.parametrize("name", ["_sd", "...", "_sd_alg"])
def test_issuer_refuses_reserved_claim_names(name: str) -> None:
    with pytest.raises(BlauweKnopError) as err:
        issue_sd_jwt({"a": {name: SD(1)}}, ISSUER)
    assert err.value.code == "claim_name_reserved"


def test_issuer_refuses_a_mark_without_a_claim_name() -> None:
    with pytest.raises(MalformedError) as err:
        issue_sd_jwt({"a": SD(SD(1))}, ISSUER)
    assert err.value.code == "invalid_sd_mark"
