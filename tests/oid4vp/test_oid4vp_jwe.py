"""The response JWE: round trips for both content encryptions, and any header or body outside
the profile is refused with a stable code (never another exception, never a decryption)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blauweknop import BlauweKnopError
from blauweknop._codec import b64u_decode, b64u_encode
from blauweknop.oid4vp._jwe import (
    decrypt_response,
    encrypt_response,
    ephemeral_key,
    public_enc_jwk,
)

KEY = ephemeral_key()
CODES = {
    "jwe_alg_not_allowed",
    "jwe_enc_not_allowed",
    "jwe_header_not_allowed",
    "jwe_key_unknown",
    "jwe_invalid",
    "malformed_base64",
    "malformed_json",
    "duplicate_json_key",
    "too_deep",
}


@pytest.mark.parametrize("enc", ["A128GCM", "A256GCM"])
def test_round_trip(enc: str) -> None:
    token = encrypt_response({"vp_token": {"q": ["x"]}, "state": "s"}, public_enc_jwk(KEY), enc=enc)
    header = json.loads(b64u_decode(token.split(".")[0]))
    assert header["alg"] == "ECDH-ES" and header["enc"] == enc and header["kid"] == KEY["kid"]
    assert decrypt_response(token, KEY) == {"vp_token": {"q": ["x"]}, "state": "s"}


def test_only_the_offered_enc_values_are_accepted() -> None:
    token = encrypt_response({"a": 1}, public_enc_jwk(KEY), enc="A256GCM")
    with pytest.raises(BlauweKnopError) as info:
        decrypt_response(token, KEY, enc_values=("A128GCM",))
    assert info.value.code == "jwe_enc_not_allowed"


def test_tampered_ciphertext_is_refused() -> None:
    token = encrypt_response({"a": 1}, public_enc_jwk(KEY))
    parts = token.split(".")
    parts[3] = parts[3][:-2] + ("AA" if parts[3][-2:] != "AA" else "BA")
    with pytest.raises(BlauweKnopError) as info:
        decrypt_response(".".join(parts), KEY)
    assert info.value.code in {"jwe_invalid", "malformed_base64"}


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "alg": st.sampled_from(["ECDH-ES", "dir", "none", "RSA-OAEP", "A128KW", "ECDH-ES+A256KW"])
        | JSON_VALUES,
        "enc": st.sampled_from(["A128GCM", "A256GCM", "A128CBC-HS256", "A192GCM"]) | JSON_VALUES,
        "kid": st.sampled_from([KEY["kid"], "other"]) | JSON_VALUES,
        "epk": JSON_VALUES,
        "zip": st.just("DEF"),
        "crit": JSON_VALUES,
    },
)


@settings(max_examples=200, deadline=None)
@given(header=HEADERS, body=st.lists(st.binary(max_size=24), min_size=4, max_size=4))
def test_any_header_outside_the_profile_is_refused_with_a_code(
    header: dict[str, Any], body: list[bytes]
) -> None:
    token = ".".join([b64u_encode(json.dumps(header).encode()), *(b64u_encode(b) for b in body)])
    with pytest.raises(BlauweKnopError) as info:
        decrypt_response(token, KEY)
    assert info.value.code in CODES, info.value
