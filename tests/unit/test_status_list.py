"""IETF Token Status List: the list, its bounded decoding, and the Status List Token."""

from __future__ import annotations

import gzip
import json
import random
import time
import zlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jwcrypto import jwk, jws

from blauweknop._codec import b64u_encode
from blauweknop._errors import MalformedError, StatusError
from blauweknop._jws import sign_compact
from blauweknop._keys import Key
from blauweknop._limits import Limits
from blauweknop._status import (
    FreshnessPolicy,
    StatusList,
    StatusType,
    sign_status_list_token,
    verify_status_list_token,
)

NOW = 1_700_000_000
URI = "https://status.cjib.example/lists/1.jwt"
ISS = "urn:oin:00000001234567890000"


@pytest.fixture(scope="module")
def key() -> Key:
    return Key.generate("ES256")


def _token(key: Key, sl: StatusList | None = None, **kw: Any) -> str:
    args: dict[str, Any] = {"uri": URI, "issuer": ISS, "signer": key, "now": NOW, "ttl": 3600}
    args.update(kw)
    return sign_status_list_token(sl or StatusList(64, 2), **args)


def _raw_token(key: Key, claims: dict[str, Any], header: dict[str, Any] | None = None) -> str:
    h = {"typ": "statuslist+jwt", "kid": key.kid} if header is None else header
    return sign_compact(h, json.dumps(claims).encode(), key)


def _claims(**kw: Any) -> dict[str, Any]:
    c: dict[str, Any] = {
        "sub": URI,
        "iss": ISS,
        "iat": NOW,
        "exp": NOW + 86400,
        "ttl": 3600,
        "status_list": StatusList(64, 2).to_json(),
    }
    c.update(kw)
    return {k: v for k, v in c.items() if v is not None}


# -- the list ------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(
    bits=st.sampled_from([1, 2, 4, 8]),
    size=st.integers(1, 5000),
    data=st.data(),
)
def test_round_trip(bits: int, size: int, data: st.DataObject) -> None:
    sl = StatusList(size, bits)
    entries = data.draw(
        st.dictionaries(st.integers(0, size - 1), st.integers(0, (1 << bits) - 1), max_size=50)
    )
    for idx, value in entries.items():
        sl.set(idx, value)
    decoded = StatusList.from_json(sl.to_json())
    assert decoded.bits == bits
    assert decoded.size >= size  # padded to whole bytes
    for idx in range(size):
        assert decoded.get(idx) == sl.get(idx)


def test_status_values_are_registered_ones() -> None:
    assert (StatusType.VALID, StatusType.INVALID, StatusType.SUSPENDED) == (0, 1, 2)


def test_set_and_get_refuse_out_of_range() -> None:
    sl = StatusList(10, 2)
    with pytest.raises(IndexError):
        sl.get(10)
    with pytest.raises(IndexError):
        sl.set(-1, 1)
    with pytest.raises(ValueError, match="does not fit"):
        sl.set(0, 4)
    with pytest.raises(ValueError):
        StatusList(10, 3)
    with pytest.raises(ValueError):
        StatusList(0, 1)


def test_million_entry_list_round_trips() -> None:
    rng = random.Random(7)
    sl = StatusList(1_000_000, 2)
    revoked = rng.sample(range(1_000_000), 10_000)
    for idx in revoked:
        sl.set(idx, StatusType.INVALID)
    encoded = sl.to_json()
    decoded = StatusList.from_json(encoded)
    assert decoded.to_bytes() == sl.to_bytes()
    assert all(decoded.get(i) == 1 for i in revoked[:1000])
    assert len(encoded["lst"]) < 100_000


@pytest.mark.parametrize(
    ("obj", "code"),
    [
        ({"bits": 3, "lst": "eNrbuRgAAhcBXQ"}, "malformed_status_list"),
        ({"bits": True, "lst": "eNrbuRgAAhcBXQ"}, "malformed_status_list"),
        ({"bits": 1}, "malformed_status_list"),
        ({"bits": 1, "lst": "eNrbuRgAAhcBXQ=="}, "malformed_base64"),
        ({"bits": 1, "lst": b64u_encode(zlib.compress(b"\xb9\xa3")[:-3])}, "malformed_compression"),
        (
            {"bits": 1, "lst": b64u_encode(zlib.compress(b"\xb9\xa3") + b"x")},
            "malformed_compression",
        ),
        (
            {"bits": 1, "lst": b64u_encode(gzip.compress(b"\xb9\xa3", mtime=0))},
            "malformed_compression",
        ),
        ({"bits": 1, "lst": b64u_encode(zlib.compress(b""))}, "malformed_status_list"),
        ({"bits": 1, "lst": b64u_encode(b"not zlib at all")}, "malformed_compression"),
    ],
)
def test_malformed_lists_are_refused(obj: dict[str, Any], code: str) -> None:
    with pytest.raises(MalformedError) as ei:
        StatusList.from_json(obj)
    assert ei.value.code == code


def test_zlib_bomb_is_refused_fast() -> None:
    bomb = zlib.compress(bytes(200 * 1024 * 1024), 9)  # 200 MiB of zeros in ~200 KB
    assert len(bomb) < Limits().max_status_list_bytes
    start = time.perf_counter()
    with pytest.raises(MalformedError) as ei:
        StatusList.from_json({"bits": 1, "lst": b64u_encode(bomb)})
    assert ei.value.code == "too_large"
    assert time.perf_counter() - start < 1.0


def test_decompressed_bound_scales_with_bits() -> None:
    limits = Limits(max_status_list_entries=1024)
    ok = zlib.compress(bytes(1024 * 2 // 8))
    assert StatusList.from_compressed(ok, 2, limits=limits).size == 1024
    with pytest.raises(MalformedError, match="too_large"):
        StatusList.from_compressed(zlib.compress(bytes(1024 * 2 // 8 + 1)), 2, limits=limits)


def test_compressed_size_is_bounded() -> None:
    limits = Limits(max_status_list_bytes=64)
    noisy = zlib.compress(random.Random(1).randbytes(200))
    with pytest.raises(MalformedError, match="too_large"):
        StatusList.from_json({"bits": 8, "lst": b64u_encode(noisy)}, limits=limits)


# -- the token -----------------------------------------------------------------------------
def test_token_round_trip(key: Key) -> None:
    sl = StatusList(64, 2)
    sl.set(3, StatusType.INVALID)
    sl.set(4, StatusType.SUSPENDED)
    v = verify_status_list_token(
        _token(key, sl), key=key, expected_uri=URI, expected_issuer=ISS, now=NOW
    )
    assert (v.uri, v.issuer, v.issued_at, v.expires_at, v.ttl) == (URI, ISS, NOW, NOW + 86400, 3600)
    assert v.kid == key.kid
    assert v.fresh_until == NOW + 3600
    assert v.check(0) == 0
    with pytest.raises(StatusError, match="revoked"):
        v.check(3)
    with pytest.raises(StatusError) as ei:
        v.check(4)
    assert ei.value.code == "suspended"


def test_token_header_and_claims(key: Key) -> None:
    header, payload, _ = _token(key).split(".")
    from blauweknop._codec import b64u_decode

    h = json.loads(b64u_decode(header))
    c = json.loads(b64u_decode(payload))
    assert h == {"alg": "ES256", "typ": "statuslist+jwt", "kid": key.kid}
    assert set(c) == {"sub", "iss", "iat", "exp", "ttl", "status_list"}


def test_token_verifies_with_jwcrypto(key: Key) -> None:
    """Independent check: jwcrypto (explicit algorithm list) accepts our token."""
    token = _token(key)
    obj = jws.JWS()
    obj.deserialize(token)
    obj.verify(jwk.JWK(**key.public_jwk()), alg="ES256")
    assert json.loads(obj.payload)["sub"] == URI


def test_eddsa_token(key: Key) -> None:
    ed = Key.generate("EdDSA")
    v = verify_status_list_token(_token(ed), key=ed, expected_uri=URI, now=NOW)
    assert v.status(0) == 0


def test_wrong_signer_is_status_invalid(key: Key) -> None:
    other = Key.generate()
    with pytest.raises(StatusError) as ei:
        verify_status_list_token(_token(other), key=key, expected_uri=URI, now=NOW)
    assert ei.value.code == "status_invalid"


def test_wrong_key_without_kid_is_status_invalid(key: Key) -> None:
    other = Key.generate()
    token = _raw_token(other, _claims(), header={"typ": "statuslist+jwt"})
    with pytest.raises(StatusError) as ei:
        verify_status_list_token(token, key=[key, Key.generate()], expected_uri=URI, now=NOW)
    assert ei.value.code == "status_invalid"


def test_key_rotation_selects_by_kid(key: Key) -> None:
    old = Key.generate()
    v = verify_status_list_token(_token(key), key=[old, key], expected_uri=URI, now=NOW)
    assert v.kid == key.kid


def test_wrong_sub_is_status_invalid(key: Key) -> None:
    with pytest.raises(StatusError) as ei:
        verify_status_list_token(
            _token(key, uri="https://status.cjib.example/lists/2.jwt"),
            key=key,
            expected_uri=URI,
            now=NOW,
        )
    assert ei.value.code == "status_invalid"
    assert "expected" in ei.value.message


def test_other_issuer_is_status_invalid(key: Key) -> None:
    with pytest.raises(StatusError) as ei:
        verify_status_list_token(
            _token(key, issuer="urn:oin:99999999999999999999"),
            key=key,
            expected_uri=URI,
            expected_issuer=ISS,
            now=NOW,
        )
    assert ei.value.code == "status_invalid"
    missing_iss = _raw_token(key, _claims(iss=None))
    with pytest.raises(StatusError, match="status_invalid"):
        verify_status_list_token(
            missing_iss, key=key, expected_uri=URI, expected_issuer=ISS, now=NOW
        )


def test_expired_token_is_stale(key: Key) -> None:
    token = _token(key, valid_for=600)
    with pytest.raises(StatusError) as ei:
        verify_status_list_token(token, key=key, expected_uri=URI, now=NOW + 600 + 61)
    assert ei.value.code == "status_unavailable"
    assert "stale" in ei.value.message
    # within the 60 s leeway it is still fine
    verify_status_list_token(token, key=key, expected_uri=URI, now=NOW + 600 + 59)


def test_ttl_counts_from_the_tokens_own_iat(key: Key) -> None:
    token = _token(key, ttl=600)
    v = verify_status_list_token(token, key=key, expected_uri=URI, now=NOW + 500)
    assert v.fresh_until == NOW + 600
    with pytest.raises(StatusError, match="stale"):
        verify_status_list_token(token, key=key, expected_uri=URI, now=NOW + 700)


def test_caller_max_age(key: Key) -> None:
    token = _token(key, ttl=7200)
    verify_status_list_token(token, key=key, expected_uri=URI, now=NOW + 1000, max_age=1000)
    with pytest.raises(StatusError, match="stale"):
        verify_status_list_token(token, key=key, expected_uri=URI, now=NOW + 1001, max_age=1000)


@pytest.mark.parametrize(("ttl", "stale_after"), [(10**12, 86400), (1, 60)])
def test_ttl_is_clamped(key: Key, ttl: int, stale_after: int) -> None:
    """SECURITY-BATTERY E13: absurd ttl values are clamped to the policy bounds."""
    token = _raw_token(key, _claims(ttl=ttl, exp=None))
    policy = FreshnessPolicy(leeway=0)
    verify_status_list_token(token, key=key, expected_uri=URI, now=NOW + stale_after, policy=policy)
    with pytest.raises(StatusError, match="stale"):
        verify_status_list_token(
            token, key=key, expected_uri=URI, now=NOW + stale_after + 1, policy=policy
        )


def test_token_without_exp_or_ttl_goes_stale_after_max_ttl(key: Key) -> None:
    token = _raw_token(key, _claims(ttl=None, exp=None))
    policy = FreshnessPolicy(max_ttl=3600, leeway=0)
    verify_status_list_token(token, key=key, expected_uri=URI, now=NOW + 3600, policy=policy)
    with pytest.raises(StatusError, match="stale"):
        verify_status_list_token(token, key=key, expected_uri=URI, now=NOW + 3601, policy=policy)


def test_iat_in_future_is_status_invalid(key: Key) -> None:
    with pytest.raises(StatusError) as ei:
        verify_status_list_token(_token(key, now=NOW + 3600), key=key, expected_uri=URI, now=NOW)
    assert ei.value.code == "status_invalid"


def test_index_out_of_range_is_status_invalid(key: Key) -> None:
    v = verify_status_list_token(_token(key, StatusList(64, 2)), key=key, expected_uri=URI, now=NOW)
    for idx in (64, -1, 10**9):
        with pytest.raises(StatusError) as ei:
            v.status(idx)
        assert ei.value.code == "status_invalid"


def test_unknown_status_value_is_not_accepted(key: Key) -> None:
    sl = StatusList(8, 2)
    sl.set(1, 3)  # application-specific: we cannot make a statement
    v = verify_status_list_token(_token(key, sl), key=key, expected_uri=URI, now=NOW)
    with pytest.raises(StatusError) as ei:
        v.check(1)
    assert ei.value.code == "status_invalid"


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ({"typ": "JWT"}, "status_unavailable"),
        ({}, "status_unavailable"),
        ({"typ": "statuslist+jwt", "crit": ["exp"]}, "status_invalid"),
        ({"typ": "statuslist+jwt", "jwk": {"kty": "EC"}}, "status_invalid"),
    ],
)
def test_header_checks(key: Key, header: dict[str, Any], code: str) -> None:
    with pytest.raises(StatusError) as ei:
        verify_status_list_token(
            _raw_token(key, _claims(), header), key=key, expected_uri=URI, now=NOW
        )
    assert ei.value.code == code


def test_hs256_is_refused(key: Key) -> None:
    h = b64u_encode(json.dumps({"alg": "HS256", "typ": "statuslist+jwt"}).encode())
    p = b64u_encode(json.dumps(_claims()).encode())
    with pytest.raises(StatusError) as ei:
        verify_status_list_token(f"{h}.{p}.AAAA", key=key, expected_uri=URI, now=NOW)
    assert ei.value.code == "status_invalid"


@pytest.mark.parametrize(
    "claims",
    [
        _claims(iat=None),
        _claims(iat="1700000000"),
        _claims(exp=True),
        _claims(ttl=0),
        _claims(status_list=None),
        _claims(status_list={"bits": 5, "lst": "eNrbuRgAAhcBXQ"}),
    ],
)
def test_bad_claims_are_unreadable(key: Key, claims: dict[str, Any]) -> None:
    with pytest.raises(StatusError) as ei:
        verify_status_list_token(_raw_token(key, claims), key=key, expected_uri=URI, now=NOW)
    assert ei.value.code == "status_unavailable"


def test_garbage_is_unreadable(key: Key) -> None:
    for junk in (b"<html>503</html>", b"\xff\xfe", "a.b", ""):
        with pytest.raises(StatusError) as ei:
            verify_status_list_token(junk, key=key, expected_uri=URI, now=NOW)
        assert ei.value.code == "status_unavailable"


def test_token_with_bomb_is_refused_fast(key: Key) -> None:
    bomb = zlib.compress(bytes(200 * 1024 * 1024), 9)
    token = _raw_token(key, _claims(status_list={"bits": 2, "lst": b64u_encode(bomb)}))
    start = time.perf_counter()
    with pytest.raises(StatusError) as ei:
        verify_status_list_token(token, key=key, expected_uri=URI, now=NOW)
    assert ei.value.code == "status_unavailable"
    assert isinstance(ei.value.__cause__, MalformedError)
    assert ei.value.__cause__.code == "too_large"
    assert time.perf_counter() - start < 1.0


def test_sign_refuses_bad_ttl(key: Key) -> None:
    with pytest.raises(ValueError):
        _token(key, ttl=0)
