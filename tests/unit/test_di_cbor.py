"""Strict parsing of ecdsa-sd-2023 proof values (VC-DI-ECDSA 3.5.3, 3.5.8; SECURITY.md cbor2).

Expected result of every malformed value: :class:`MalformedError` ``proof_value_malformed``,
from the parser and from ``verify_proof`` on a derived credential carrying it. Cases: semantic
tags, trailing bytes, duplicate map keys, wrong or swapped header, indefinite lengths,
non-shortest lengths, negative integers, floats, wrong component count/type/size, a 36-byte
or non-P-256 public key, unordered mandatory indexes, oversized values, wrong multibase.
"""

from __future__ import annotations

import copy
from typing import Any

import cbor2
import pytest

from blauweknop import Key, Limits, MalformedError
from blauweknop._codec import b64u_decode, b64u_encode
from blauweknop._di import CREDENTIALS_V2, add_base_proof_sd, derive_proof_sd, verify_proof
from blauweknop._di._cbor import decode, encode
from blauweknop._di._sd import (
    BASE_HEADER,
    DERIVED_HEADER,
    parse_base_proof_value,
    parse_derived_proof_value,
)

ISSUER = Key.generate("ES256")
DOC = {
    "@context": [CREDENTIALS_V2],
    "type": ["VerifiableCredential"],
    "issuer": "urn:example:issuer",
    "credentialSubject": {"id": "urn:example:holder", "name": "Jan", "description": "x"},
}
BASE = add_base_proof_sd(DOC, ISSUER, verification_method="urn:k", mandatory_pointers=["/issuer"])
DERIVED = derive_proof_sd(BASE, ["/credentialSubject/name"])


def _components(value: str) -> list[Any]:
    raw = b64u_decode(value[1:])
    parsed = decode(raw[3:])
    assert isinstance(parsed, list)
    return parsed


def _value(header: bytes, body: bytes) -> str:
    return "u" + b64u_encode(header + body)


def _derived_with(body: bytes, header: bytes = DERIVED_HEADER) -> dict[str, Any]:
    doc = copy.deepcopy(DERIVED)
    doc["proof"]["proofValue"] = _value(header, body)
    return doc


def _refused(doc: dict[str, Any]) -> None:
    with pytest.raises(MalformedError) as e:
        verify_proof(doc, resolve_key=lambda vm: ISSUER.public())
    assert e.value.code == "proof_value_malformed", e.value


def test_baseline_round_trip() -> None:
    comps = _components(DERIVED["proof"]["proofValue"])
    assert _value(DERIVED_HEADER, encode(comps)) == DERIVED["proof"]["proofValue"]
    assert verify_proof(DERIVED, resolve_key=lambda vm: ISSUER.public()).cryptosuite
    # our encoder agrees with cbor2's canonical encoding
    assert encode(comps) == cbor2.dumps(comps, canonical=True)


def test_semantic_tag_is_refused() -> None:
    comps = _components(DERIVED["proof"]["proofValue"])
    comps[0] = cbor2.CBORTag(2, comps[0])  # a bignum tag around the base signature
    _refused(_derived_with(cbor2.dumps(comps)))
    with pytest.raises(MalformedError, match="tags"):
        decode(cbor2.dumps(cbor2.CBORTag(23808, [1])))


def test_whole_value_tagged_twice_is_refused() -> None:
    comps = _components(DERIVED["proof"]["proofValue"])
    _refused(_derived_with(cbor2.dumps(cbor2.CBORTag(23809, comps))))


def test_trailing_bytes_are_refused() -> None:
    body = encode(_components(DERIVED["proof"]["proofValue"]))
    _refused(_derived_with(body + b"\x00"))
    _refused(_derived_with(body + encode([])))


def test_duplicate_label_map_keys_are_refused() -> None:
    comps = _components(DERIVED["proof"]["proofValue"])
    label_map = comps[3]
    assert isinstance(label_map, dict) and label_map
    k, v = next(iter(label_map.items()))
    # hand-built map with the same key twice (cbor2.loads would keep the last one)
    entries = b"".join(encode(x) for x in (k, v, k, v))
    head = bytes([0xA0 | 2])
    body = (
        b"\x85"
        + encode(comps[0])
        + encode(comps[1])
        + encode(comps[2])
        + head
        + entries
        + encode(comps[4])
    )
    assert cbor2.loads(body)[3] == {k: v}  # what a lenient decoder would accept
    _refused(_derived_with(body))


@pytest.mark.parametrize("header", [BASE_HEADER, b"\xd9\x5d\x02", b"\xd9\x5e\x01", b""])
def test_wrong_header_is_refused(header: bytes) -> None:
    body = encode(_components(DERIVED["proof"]["proofValue"]))
    _refused(_derived_with(body, header))


def test_base_value_with_derived_header_is_refused() -> None:
    base_comps = _components(BASE["proof"]["proofValue"])
    with pytest.raises(MalformedError) as e:
        parse_base_proof_value(_value(DERIVED_HEADER, encode(base_comps)))
    assert e.value.code == "proof_value_malformed"


def test_indefinite_length_is_refused() -> None:
    comps = _components(DERIVED["proof"]["proofValue"])
    body = b"\x9f" + b"".join(encode(c) for c in comps) + b"\xff"
    _refused(_derived_with(body))


def test_non_shortest_length_is_refused() -> None:
    comps = _components(DERIVED["proof"]["proofValue"])
    sig = comps[0]
    long_form = b"\x59\x00\x40" + sig  # 64-byte string with a 2-byte length
    body = b"\x85" + long_form + b"".join(encode(c) for c in comps[1:])
    _refused(_derived_with(body))


@pytest.mark.parametrize(
    ("index", "replacement"),
    [
        (0, b"\x01" * 63),  # short base signature
        (1, b"\x80\x24" + b"\x02" * 34),  # 36-byte public key (the spec text's length)
        (1, b"\x81\x24" + b"\x02" * 33),  # P-384 multikey header
        (2, [b"\x01" * 65]),  # long statement signature
        (2, b"not an array"),
        (3, {0: b"\x01" * 31}),  # short label
        (3, {"c14n0": b"\x01" * 32}),  # text key
        (4, [2, 1]),  # mandatory indexes out of order
        (4, [1, 1]),  # duplicate mandatory index
        (4, ["0"]),
    ],
)
def test_wrong_component_shapes_are_refused(index: int, replacement: Any) -> None:
    comps = _components(DERIVED["proof"]["proofValue"])
    comps[index] = replacement
    _refused(_derived_with(encode(comps)))


def test_wrong_component_count_is_refused() -> None:
    comps = _components(DERIVED["proof"]["proofValue"])
    _refused(_derived_with(encode([*comps, b""])))
    _refused(_derived_with(encode(comps[:4])))
    _refused(_derived_with(encode({0: comps})))


@pytest.mark.parametrize("raw", [b"\x20", b"\xf9\x3c\x00", b"\xf5", b"\xf6", b"\x7f\xff"])
def test_other_cbor_items_are_refused(raw: bytes) -> None:
    with pytest.raises(MalformedError) as e:
        decode(raw)
    assert e.value.code == "proof_value_malformed"


@pytest.mark.parametrize("raw", [b"", b"\x58", b"\x58\x05ab", b"\x85\x01", b"\x63\xff\xfe\xfd"])
def test_truncated_or_invalid_items_are_refused(raw: bytes) -> None:
    with pytest.raises(MalformedError):
        decode(raw)


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(MalformedError, match="deeply"):
        decode(b"\x81" * 10 + b"\x00")


def test_oversized_value_is_refused() -> None:
    doc = copy.deepcopy(DERIVED)
    with pytest.raises(MalformedError) as e:
        verify_proof(doc, resolve_key=lambda vm: ISSUER.public(), limits=Limits(max_cbor_bytes=64))
    assert e.value.code == "proof_value_malformed"
    with pytest.raises(MalformedError):
        parse_derived_proof_value("u" + "A" * 400_000)


@pytest.mark.parametrize(
    "value",
    [
        "z" + "1" * 20,  # base58btc instead of base64url
        "u2V0B=",  # padding
        "u2V0B+",  # standard base64 alphabet
        "",
    ],
)
def test_wrong_multibase_is_refused(value: str) -> None:
    doc = copy.deepcopy(DERIVED)
    doc["proof"]["proofValue"] = value
    with pytest.raises(MalformedError) as e:
        verify_proof(doc, resolve_key=lambda vm: ISSUER.public())
    assert e.value.code in ("proof_value_malformed", "proof_malformed")


def test_base_proof_value_strictness() -> None:
    comps = _components(BASE["proof"]["proofValue"])
    assert parse_base_proof_value(BASE["proof"]["proofValue"]).mandatory_pointers == ["/issuer"]
    for index, replacement in [(2, b"\x00" * 16), (4, ["issuer"]), (4, [1]), (3, [b"\x00"])]:
        bad = list(comps)
        bad[index] = replacement
        with pytest.raises(MalformedError):
            parse_base_proof_value(_value(BASE_HEADER, encode(bad)))
