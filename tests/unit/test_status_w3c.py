"""W3C Bitstring Status List v1.0: encodedList, entries, the status list credential."""

from __future__ import annotations

import gzip
import time
import zlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blauweknop._codec import b64u_decode, b64u_encode
from blauweknop._errors import InvalidDataError, MalformedError, SignatureError, StatusError
from blauweknop._status import (
    MIN_BITSTRING_ENTRIES,
    BitstringStatusList,
    BitstringStatusListEntry,
    FreshnessPolicy,
    build_bitstring_status_list_credential,
    check_bitstring_status,
    verify_bitstring_status_list_credential,
)

NOW = 1_700_000_000
URI = "https://status.duo.example/lists/3-revocation.json"
ISS = "urn:oin:00000001234567890000"
# W3C Bitstring Status List v1.0, section 2.2, Example 3 (an empty 16 KB list).
SPEC_EXAMPLE_ENCODED_LIST = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"


def fake_sign(doc: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "proof": {"type": "DataIntegrityProof", "proofValue": "zFake"}}


def fake_verify(doc: dict[str, Any]) -> str:
    if doc.get("proof", {}).get("proofValue") != "zFake":
        raise SignatureError("signature_invalid", "bad proof")
    issuer = doc["issuer"]
    return issuer if isinstance(issuer, str) else issuer["id"]


def _doc(bl: BitstringStatusList | None = None, **kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "credential_id": URI,
        "issuer": ISS,
        "status_purpose": "revocation",
        "status_list": bl or BitstringStatusList(),
        "valid_from": NOW,
        "valid_until": NOW + 86400,
        "ttl_ms": 3_600_000,
        "sign": fake_sign,
    }
    args.update(kw)
    return build_bitstring_status_list_credential(**args)


def _verify(doc: Any, **kw: Any) -> Any:
    args: dict[str, Any] = {
        "verify": fake_verify,
        "expected_uri": URI,
        "expected_issuer": ISS,
        "status_purpose": "revocation",
        "now": NOW + 60,
    }
    args.update(kw)
    return verify_bitstring_status_list_credential(doc, **args)


def _entry(idx: int, purpose: str = "revocation", uri: str = URI) -> BitstringStatusListEntry:
    return BitstringStatusListEntry(
        status_purpose=purpose, status_list_index=idx, status_list_credential=uri
    )


# -- the bitstring -------------------------------------------------------------------------
def test_spec_example_decodes_to_an_empty_16kb_list() -> None:
    bl = BitstringStatusList.decode(SPEC_EXAMPLE_ENCODED_LIST)
    assert bl.size == 131_072
    assert bl.to_bytes() == bytes(16 * 1024)


def test_index_zero_is_the_left_most_bit() -> None:
    bl = BitstringStatusList()
    bl.set(0, 1)
    bl.set(131_071, 1)
    raw = bl.to_bytes()
    assert raw[0] == 0x80
    assert raw[-1] == 0x01
    assert gzip.decompress(b64u_decode(bl.encode()[1:])) == raw


@settings(max_examples=25, deadline=None)
@given(st.sets(st.integers(0, MIN_BITSTRING_ENTRIES - 1), max_size=40))
def test_round_trip(revoked: set[int]) -> None:
    bl = BitstringStatusList()
    for idx in revoked:
        bl.set(idx, 1)
    decoded = BitstringStatusList.decode(bl.encode())
    assert decoded == bl
    assert {i for i in revoked if decoded.get(i)} == revoked


def test_encoding_is_deterministic() -> None:
    assert BitstringStatusList().encode() == BitstringStatusList().encode()


def test_minimum_length() -> None:
    with pytest.raises(ValueError):
        BitstringStatusList(1000)
    small = BitstringStatusList(1024, min_entries=8)
    with pytest.raises(MalformedError) as ei:
        BitstringStatusList.decode(small.encode())
    assert ei.value.code == "status_list_length"
    assert BitstringStatusList.decode(small.encode(), min_entries=1024).size == 1024


@pytest.mark.parametrize(
    ("encoded", "code"),
    [
        (SPEC_EXAMPLE_ENCODED_LIST[1:], "malformed_status_list"),  # no multibase prefix
        ("z" + SPEC_EXAMPLE_ENCODED_LIST[1:], "malformed_status_list"),  # base58btc
        ("u" + b64u_encode(zlib.compress(bytes(16384))), "malformed_compression"),  # zlib, not gzip
        ("u" + b64u_encode(gzip.compress(bytes(16384), mtime=0))[:-8], "malformed_compression"),
        (
            "u" + b64u_encode(gzip.compress(bytes(16384), mtime=0) + b"\x00"),
            "malformed_compression",
        ),
        ("u!!!", "malformed_base64"),
    ],
    ids=["no-prefix", "base58btc", "zlib", "truncated", "trailing", "bad-base64"],
)
def test_malformed_encoded_lists(encoded: str, code: str) -> None:
    with pytest.raises(MalformedError) as ei:
        BitstringStatusList.decode(encoded)
    assert ei.value.code == code


def test_gzip_bomb_is_refused_fast() -> None:
    bomb = "u" + b64u_encode(gzip.compress(bytes(200 * 1024 * 1024), 9))
    start = time.perf_counter()
    with pytest.raises(MalformedError) as ei:
        BitstringStatusList.decode(bomb)
    assert ei.value.code == "too_large"
    assert time.perf_counter() - start < 1.0


# -- entries -------------------------------------------------------------------------------
def test_entry_claims_follow_the_spec_example() -> None:
    entry = BitstringStatusListEntry(
        id="https://example.com/credentials/status/3#94567",
        status_purpose="revocation",
        status_list_index=94567,
        status_list_credential="https://example.com/credentials/status/3",
    )
    assert entry.to_claims() == {
        "id": "https://example.com/credentials/status/3#94567",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "94567",
        "statusListCredential": "https://example.com/credentials/status/3",
    }
    assert BitstringStatusListEntry.from_claims(entry.to_claims()) == entry


@pytest.mark.parametrize(
    "change",
    [
        {"statusListIndex": 94567},
        {"statusListIndex": "0094567"},
        {"statusListIndex": "-1"},
        {"statusListIndex": "1e3"},
        {"statusListIndex": " 7"},
        {"statusPurpose": "message"},
        {"statusPurpose": "refresh"},
        {"statusSize": 2},
        {"type": "StatusList2021Entry"},
        {"statusListCredential": None},
        {"id": "https://example.com/credentials/status/3"},
    ],
)
def test_entry_parsing_is_strict(change: dict[str, Any]) -> None:
    claims: dict[str, Any] = {
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "94567",
        "statusListCredential": "https://example.com/credentials/status/3",
    }
    claims.update(change)
    claims = {k: v for k, v in claims.items() if v is not None}
    with pytest.raises(MalformedError):
        BitstringStatusListEntry.from_claims(claims)


def test_entry_construction_is_checked() -> None:
    with pytest.raises(InvalidDataError):
        _entry(-1)
    with pytest.raises(InvalidDataError):
        _entry(1, purpose="message")


# -- the credential ------------------------------------------------------------------------
def test_builder_shape_matches_section_2_2() -> None:
    doc = _doc(sign=None)
    assert doc == {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": URI,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": ISS,
        "validFrom": "2023-11-14T22:13:20Z",
        "validUntil": "2023-11-15T22:13:20Z",
        "credentialSubject": {
            "id": URI + "#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": BitstringStatusList().encode(),
            "ttl": 3_600_000,
        },
    }
    assert _doc()["proof"]["type"] == "DataIntegrityProof"


def test_a_sign_callable_may_only_add_a_proof() -> None:
    def tamper(doc: dict[str, Any]) -> dict[str, Any]:
        return {**doc, "issuer": "urn:oin:evil", "proof": {}}

    with pytest.raises(InvalidDataError):
        _doc(sign=tamper)


def test_verify_and_check() -> None:
    bl = BitstringStatusList()
    bl.set(42, 1)
    verified = _verify(_doc(bl))
    assert verified.issuer == ISS
    assert verified.purposes == frozenset({"revocation"})
    assert verified.fresh_until == NOW + 3600
    assert check_bitstring_status(_entry(41), verified) == 0
    with pytest.raises(StatusError) as ei:
        check_bitstring_status(_entry(42), verified)
    assert ei.value.code == "revoked"


def test_suspension_list() -> None:
    bl = BitstringStatusList()
    bl.set(7, 1)
    uri = URI.replace("revocation", "suspension")
    doc = _doc(bl, credential_id=uri, status_purpose="suspension")
    verified = _verify(doc, expected_uri=uri, status_purpose="suspension")
    with pytest.raises(StatusError) as ei:
        check_bitstring_status(_entry(7, "suspension", uri), verified)
    assert ei.value.code == "suspended"
    with pytest.raises(StatusError, match="status_invalid"):
        check_bitstring_status(_entry(7, "revocation", uri), verified)


def test_document_given_as_bytes() -> None:
    import json

    raw = json.dumps(_doc()).encode()
    assert _verify(raw).uri == URI
    with pytest.raises(StatusError, match="status_unavailable"):
        _verify(raw[:-2])


@pytest.mark.parametrize(
    ("doc_change", "verify_kw", "code"),
    [
        ({"proof": {"proofValue": "zWrong"}}, {}, "status_invalid"),
        ({}, {"expected_issuer": "urn:oin:99999999999999999999"}, "status_invalid"),
        ({}, {"expected_uri": URI.replace("3-", "4-")}, "status_invalid"),
        ({}, {"status_purpose": "suspension"}, "status_invalid"),
        ({"type": ["VerifiableCredential"]}, {}, "status_invalid"),
        ({}, {"now": NOW + 86400 + 61}, "status_unavailable"),  # validUntil passed
        ({}, {"now": NOW + 7200}, "status_unavailable"),  # ttl (1 h) passed
        ({}, {"now": NOW - 3600}, "status_invalid"),  # validFrom in the future
        ({"validFrom": "yesterday"}, {}, "status_unavailable"),
        ({"validFrom": "2023-11-14T22:13:20"}, {}, "status_unavailable"),  # no time zone
    ],
)
def test_verification_failures(
    doc_change: dict[str, Any], verify_kw: dict[str, Any], code: str
) -> None:
    doc = {**_doc(), **doc_change}
    with pytest.raises(StatusError) as ei:
        _verify(doc, **verify_kw)
    assert ei.value.code == code


def test_list_signed_by_another_organisation() -> None:
    """The proof verifies, but for another issuer than the document claims."""
    with pytest.raises(StatusError) as ei:
        _verify(_doc(), verify=lambda doc: "urn:oin:99999999999999999999")
    assert ei.value.code == "status_invalid"


def test_short_list_is_status_list_length_error() -> None:
    doc = _doc(BitstringStatusList(1024, min_entries=8))
    with pytest.raises(StatusError) as ei:
        _verify(doc)
    assert ei.value.code == "status_invalid"
    assert "STATUS_LIST_LENGTH_ERROR" in ei.value.message


def test_index_out_of_range_is_range_error() -> None:
    verified = _verify(_doc())
    with pytest.raises(StatusError) as ei:
        check_bitstring_status(_entry(MIN_BITSTRING_ENTRIES), verified)
    assert ei.value.code == "status_invalid"
    assert "RANGE_ERROR" in ei.value.message


def test_entry_for_another_list() -> None:
    verified = _verify(_doc())
    with pytest.raises(StatusError, match="status_invalid"):
        check_bitstring_status(_entry(1, uri="https://status.duo.example/lists/9.json"), verified)


def test_caller_max_age_and_policy() -> None:
    doc = _doc()
    _verify(doc, now=NOW + 100, max_age=100)
    with pytest.raises(StatusError, match="stale"):
        _verify(doc, now=NOW + 101, max_age=100)
    with pytest.raises(StatusError, match="stale"):
        _verify(doc, now=NOW + 1000, policy=FreshnessPolicy(max_ttl=900, leeway=0))


def test_verify_gets_a_copy() -> None:
    """A verify callable that mutates its argument cannot change what we check."""
    doc = _doc()

    def mutating(d: dict[str, Any]) -> str:
        d["id"] = "https://elsewhere.example/list"
        return fake_verify(d)

    assert _verify(doc, verify=mutating).uri == URI
