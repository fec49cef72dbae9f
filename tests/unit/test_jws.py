"""Compact JWS (blauweknop._jws), cross-checked against jwcrypto in both directions.

jwcrypto is always given an explicit algorithm list (its default includes HS256/384/512,
SECURITY.md). Rules: RFC 7515 (compact serialization, crit), RFC 7518 section 3.4 (ECDSA
signature form), RFC 8037 (EdDSA), RFC 8725 sections 3.1 and 3.10 (allow-lists, no
key-selecting headers), RFC 7797 (b64).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jws as jwcrypto_jws
from jwcrypto.common import JWException

from blauweknop._errors import MalformedError, SignatureError
from blauweknop._jws import parse_compact, sign_compact
from blauweknop._keys import Key
from blauweknop._limits import Limits

PAYLOAD = json.dumps({"iss": "https://gemeente.example", "naam": "Jan"}).encode()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwcrypto_verify(token: str, key: Key, algs: list[str]) -> bytes:
    obj = jwcrypto_jws.JWS()
    obj.allowed_algs = algs
    obj.deserialize(token)
    obj.verify(jwcrypto_jwk.JWK(**key.public_jwk()))
    payload: bytes = obj.payload
    return payload


def _jwcrypto_sign(payload: bytes, key: Key, header: dict[str, Any]) -> str:
    obj = jwcrypto_jws.JWS(payload)
    obj.allowed_algs = [header["alg"]]
    obj.add_signature(jwcrypto_jwk.JWK(**key.private_jwk()), protected=json.dumps(header))
    token: str = obj.serialize(compact=True)
    return token


# ------------------------------------------------------------------------------------------
# Interop with jwcrypto
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_our_tokens_verify_in_jwcrypto(alg: str) -> None:
    key = Key.generate(alg)
    token = sign_compact({"typ": "dc+sd-jwt", "kid": key.kid}, PAYLOAD, key)
    assert _jwcrypto_verify(token, key, [alg]) == PAYLOAD
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header == {"alg": alg, "typ": "dc+sd-jwt", "kid": key.kid}


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_jwcrypto_refuses_what_we_refuse(alg: str) -> None:
    key = Key.generate(alg)
    token = sign_compact({}, PAYLOAD, key)
    other = "EdDSA" if alg == "ES256" else "ES256"
    with pytest.raises(JWException):
        _jwcrypto_verify(token, key, [other])  # the explicit list is what protects
    h, _, s = token.split(".")
    tampered = f"{h}.{b64(PAYLOAD + b' ')}.{s}"
    with pytest.raises(JWException):
        _jwcrypto_verify(tampered, key, [alg])
    with pytest.raises(SignatureError) as err:
        parse_compact(tampered).verify(key)
    assert err.value.code == "signature_invalid"
    with pytest.raises(JWException):
        _jwcrypto_verify(token, Key.generate(alg), [alg])
    with pytest.raises(SignatureError) as err:
        parse_compact(token).verify(Key.generate(alg))
    assert err.value.code == "signature_invalid"


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_jwcrypto_tokens_verify_with_us(alg: str) -> None:
    key = Key.generate(alg)
    token = _jwcrypto_sign(PAYLOAD, key, {"alg": alg, "typ": "JWT"})
    parsed = parse_compact(token, typ="JWT")
    parsed.verify(key.public())
    assert parsed.payload == PAYLOAD
    assert parsed.payload_json() == json.loads(PAYLOAD)
    assert parsed.header == {"alg": alg, "typ": "JWT"}


def test_jwcrypto_es384_token_is_refused_even_with_the_right_key() -> None:
    key = Key.generate("ES384")
    token = _jwcrypto_sign(PAYLOAD, key, {"alg": "ES384"})
    assert _jwcrypto_verify(token, key, ["ES384"]) == PAYLOAD  # a genuine signature
    with pytest.raises(SignatureError) as err:
        parse_compact(token)
    assert err.value.code == "algorithm_not_allowed"


def test_hs256_with_the_public_key_is_refused() -> None:
    key = Key.generate("ES256")
    secret = json.dumps(key.public_jwk()).encode()
    head = b64(json.dumps({"alg": "HS256"}).encode())
    body = b64(PAYLOAD)
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    token = f"{head}.{body}.{b64(mac)}"
    with pytest.raises(SignatureError) as err:
        parse_compact(token)
    assert err.value.code == "algorithm_not_allowed"
    with pytest.raises(JWException):  # jwcrypto too, once told which algorithms are allowed
        _jwcrypto_verify(token, key, ["ES256"])


def test_der_form_of_a_good_signature_is_refused_by_both() -> None:
    key = Key.generate("ES256")
    head, body, sig = sign_compact({}, PAYLOAD, key).split(".")
    raw = base64.urlsafe_b64decode(sig + "==")
    assert len(raw) == 64  # RFC 7518 3.4: R || S, 32 bytes each
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    der_token = f"{head}.{body}.{b64(der)}"
    with pytest.raises(SignatureError) as err:
        parse_compact(der_token).verify(key)
    assert err.value.code == "signature_invalid"
    with pytest.raises(JWException):
        _jwcrypto_verify(der_token, key, ["ES256"])


# ------------------------------------------------------------------------------------------
# Header checks
# ------------------------------------------------------------------------------------------
def _token(header: Any, payload: bytes = PAYLOAD, key: Key | None = None) -> str:
    key = key or Key.generate()
    head = b64(header if isinstance(header, bytes) else json.dumps(header).encode())
    signing_input = f"{head}.{b64(payload)}"
    return f"{signing_input}.{b64(key.sign(signing_input.encode()))}"


@pytest.mark.parametrize(
    ("header", "error", "code"),
    [
        ({"alg": "none"}, SignatureError, "algorithm_not_allowed"),
        ({"alg": "HS256"}, SignatureError, "algorithm_not_allowed"),
        ({"alg": "HS512"}, SignatureError, "algorithm_not_allowed"),
        ({"alg": "RS256"}, SignatureError, "algorithm_not_allowed"),
        ({"alg": "PS256"}, SignatureError, "algorithm_not_allowed"),
        ({"alg": "ES512"}, SignatureError, "algorithm_not_allowed"),
        ({"alg": "es256"}, SignatureError, "algorithm_not_allowed"),
        ({"alg": "Ed25519"}, SignatureError, "algorithm_not_allowed"),
        ({}, MalformedError, "malformed_jws"),
        ({"alg": None}, MalformedError, "malformed_jws"),
        ({"alg": ["ES256"]}, MalformedError, "malformed_jws"),
        ({"alg": "ES256", "crit": ["b64"], "b64": True}, SignatureError, "crit_not_understood"),
        ({"alg": "ES256", "crit": []}, SignatureError, "crit_not_understood"),
        ({"alg": "ES256", "jwk": {"kty": "EC"}}, SignatureError, "header_not_allowed"),
        ({"alg": "ES256", "jku": "https://a.example"}, SignatureError, "header_not_allowed"),
        ({"alg": "ES256", "x5u": "https://a.example"}, SignatureError, "header_not_allowed"),
        ({"alg": "ES256", "x5c": []}, SignatureError, "header_not_allowed"),
        ({"alg": "ES256", "x5t": "AA"}, SignatureError, "header_not_allowed"),
        ({"alg": "ES256", "x5t#S256": "AA"}, SignatureError, "header_not_allowed"),
        ({"alg": "ES256", "b64": False}, MalformedError, "malformed_jws"),
        ({"alg": "ES256", "b64": "false"}, MalformedError, "malformed_jws"),
        (b'{"alg":"ES256","alg":"none"}', MalformedError, "duplicate_json_key"),
        (b'["ES256"]', MalformedError, "malformed_json"),
        (b'{"alg":"ES256","x":NaN}', MalformedError, "malformed_json"),
    ],
)
def test_header_refusals(header: Any, error: type[Exception], code: str) -> None:
    with pytest.raises(error) as err:
        parse_compact(_token(header))
    assert err.value.code == code  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "typ", ["JWT", "kb+jwt", "DC+SD-JWT", "", None, ["dc+sd-jwt"], {"t": 1}, 1]
)
def test_typ_must_match_when_asked(typ: Any) -> None:
    header = {"alg": "ES256"} if typ is None else {"alg": "ES256", "typ": typ}
    with pytest.raises(MalformedError) as err:
        parse_compact(_token(header), typ="dc+sd-jwt")
    assert err.value.code == "typ_mismatch"
    parse_compact(_token(header))  # not asked: not checked


def test_typ_alternatives() -> None:
    token = _token({"alg": "ES256", "typ": "vc+sd-jwt"})
    assert parse_compact(token, typ=["dc+sd-jwt", "vc+sd-jwt"]).header["typ"] == "vc+sd-jwt"


def test_alg_must_fit_the_key() -> None:
    ed, ec = Key.generate("EdDSA"), Key.generate("ES256")
    with pytest.raises(SignatureError) as err:
        parse_compact(_token({"alg": "EdDSA"}, key=ed)).verify(ec)
    assert err.value.code == "algorithm_key_mismatch"
    with pytest.raises(SignatureError) as err:
        parse_compact(_token({"alg": "ES256"}, key=ec)).verify(ed)
    assert err.value.code == "algorithm_key_mismatch"
    p384 = Key.generate("ES384")
    with pytest.raises(SignatureError) as err:
        parse_compact(_token({"alg": "ES256"}, key=ec)).verify(p384)
    assert err.value.code == "algorithm_key_mismatch"


def test_verify_takes_a_narrower_allow_list() -> None:
    key = Key.generate("ES256")
    parsed = parse_compact(_token({"alg": "ES256"}, key=key))
    parsed.verify(key)
    with pytest.raises(SignatureError) as err:
        parsed.verify(key, algs={"EdDSA"})
    assert err.value.code == "algorithm_not_allowed"


def test_parse_refuses_algorithms_outside_a_caller_list() -> None:
    with pytest.raises(SignatureError) as err:
        parse_compact(_token({"alg": "ES256"}), algs={"EdDSA"})
    assert err.value.code == "algorithm_not_allowed"
    # Even a caller who lists HS256 or none does not get them.
    for alg in ("HS256", "none"):
        with pytest.raises(SignatureError) as err:
            parse_compact(_token({"alg": alg}), algs={alg, "ES256"})
        assert err.value.code == "algorithm_not_allowed"


# ------------------------------------------------------------------------------------------
# Structure and encoding
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t.rsplit(".", 1)[0],
        lambda t: t + ".x",
        lambda t: t + ".",
        lambda t: t.replace(".", "", 1),
        lambda t: "",
        lambda t: "..",
    ],
)
def test_segment_count(mutate: Any) -> None:
    token = mutate(_token({"alg": "ES256"}))
    with pytest.raises(MalformedError) as err:
        parse_compact(token)
    assert err.value.code in {"malformed_jws", "malformed_json"}
    if token.count(".") != 2:
        assert err.value.code == "malformed_jws"


@pytest.mark.parametrize("where", [0, 1, 2])
@pytest.mark.parametrize("suffix", ["=", "==", " ", "\n", "+", "/"])
def test_segment_encoding_must_be_canonical(where: int, suffix: str) -> None:
    parts = _token({"alg": "ES256"}).split(".")
    parts[where] += suffix
    with pytest.raises(MalformedError) as err:
        parse_compact(".".join(parts))
    assert err.value.code == "malformed_base64"


def test_empty_payload_and_signature_segments() -> None:
    key = Key.generate()
    token = _token({"alg": "ES256"}, payload=b"", key=key)
    parsed = parse_compact(token)
    parsed.verify(key)
    assert parsed.payload == b""
    with pytest.raises(MalformedError):
        parsed.payload_json()
    head, body, _ = token.split(".")
    with pytest.raises(SignatureError) as err:
        parse_compact(f"{head}.{body}.").verify(key)
    assert err.value.code == "signature_invalid"


def test_not_a_string_and_too_large() -> None:
    with pytest.raises(MalformedError) as err:
        parse_compact(b"a.b.c")  # type: ignore[arg-type]
    assert err.value.code == "malformed_jws"
    token = _token({"alg": "ES256"})
    with pytest.raises(MalformedError) as err:
        parse_compact(token, max_bytes=len(token) - 1)
    assert err.value.code == "too_large"
    with pytest.raises(MalformedError) as err:
        parse_compact(token, limits=Limits(max_token_bytes=len(token) - 1))
    assert err.value.code == "too_large"
    parse_compact(token, max_bytes=len(token))


def test_sign_compact_refuses_a_header_alg_other_than_the_signer() -> None:
    key = Key.generate("ES256")
    for alg in ("none", "HS256", "EdDSA"):
        with pytest.raises(SignatureError) as err:
            sign_compact({"alg": alg}, PAYLOAD, key)
        assert err.value.code == "algorithm_not_allowed"


def test_signing_input_is_the_exact_encoded_text() -> None:
    key = Key.generate()
    token = sign_compact({"typ": "JWT"}, PAYLOAD, key)
    parsed = parse_compact(token)
    assert parsed.signing_input == token.rsplit(".", 1)[0].encode("ascii")
    key.verify(parsed.signing_input, parsed.signature)
