"""``ecdsa-sd-2023`` proof values (VC-DI-ECDSA 3.5.1 - 3.5.3, 3.5.5 - 3.5.8).

Proof values are CBOR behind a three-byte header, ``0xd9 0x5d 0x00`` (base) and
``0xd9 0x5d 0x01`` (derived), multibase base64url-no-pad (``u``). They are parsed strictly
(:mod:`.._cbor`): fixed component count and sizes, no tags, no duplicates, no trailing bytes,
at most ``Limits.max_cbor_bytes``. The proof-scoped public key is 35 bytes (``0x80 0x24`` +
compressed point), as in the W3C vectors, although 3.5.8 says 36. The label map of a
derived proof is compressed to integer keys and 32-byte values (3.5.5, 3.5.6).

Example:
    >>> v = BaseProofValue(bytes(64), _P256_MULTIKEY + bytes(33), bytes(32), [], ["/issuer"])
    >>> parse_base_proof_value(serialize_base_proof_value(v)) == v
    True
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Final

from ..._codec import b64u_decode, b64u_encode
from ..._errors import MalformedError
from ..._limits import DEFAULT_LIMITS, Limits
from .._cbor import decode as cbor_decode
from .._cbor import encode as cbor_encode
from .._multibase import multibase_decode
from .._pointers import parse_pointer

__all__ = [
    "BASE_HEADER",
    "DERIVED_HEADER",
    "BaseProofValue",
    "DerivedProofValue",
    "parse_base_proof_value",
    "parse_derived_proof_value",
    "proof_value_header",
    "serialize_base_proof_value",
    "serialize_derived_proof_value",
    "serialize_sign_data",
]

BASE_HEADER: Final = b"\xd9\x5d\x00"
DERIVED_HEADER: Final = b"\xd9\x5d\x01"
_P256_MULTIKEY: Final = b"\x80\x24"


# 3.5.1: what the base signature covers, on both sides.
def serialize_sign_data(proof_hash: bytes, public_key: bytes, mandatory_hash: bytes) -> bytes:
    """VC-DI-ECDSA 3.5.1 serializeSignData: ``proofHash || publicKey || mandatoryHash``."""
    return proof_hash + public_key + mandatory_hash


@dataclass(frozen=True, slots=True)
class BaseProofValue:
    """Components of a base proof value (VC-DI-ECDSA 3.5.3)."""

    base_signature: bytes
    public_key: bytes
    hmac_key: bytes
    signatures: list[bytes]
    mandatory_pointers: list[str]


@dataclass(frozen=True, slots=True)
class DerivedProofValue:
    """Components of a derived proof value (VC-DI-ECDSA 3.5.8), label map decompressed."""

    base_signature: bytes
    public_key: bytes
    signatures: list[bytes]
    label_map: dict[str, str]
    mandatory_indexes: list[int]


def serialize_base_proof_value(v: BaseProofValue) -> str:
    """VC-DI-ECDSA 3.5.2: ``u`` + base64url(0xd95d00 || CBOR[5 components])."""
    body = cbor_encode(
        [v.base_signature, v.public_key, v.hmac_key, list(v.signatures), list(v.mandatory_pointers)]
    )
    return "u" + b64u_encode(BASE_HEADER + body)


def serialize_derived_proof_value(v: DerivedProofValue) -> str:
    """VC-DI-ECDSA 3.5.7 with 3.5.5 compressLabelMap: ``u`` + base64url(0xd95d01 || CBOR)."""
    compressed = {}
    for k, label in v.label_map.items():
        compressed[int(k[len("c14n") :])] = b64u_decode(label[1:], what="label")
    body = cbor_encode(
        [v.base_signature, v.public_key, list(v.signatures), compressed, list(v.mandatory_indexes)]
    )
    return "u" + b64u_encode(DERIVED_HEADER + body)


def _fail(why: str) -> MalformedError:
    return MalformedError("proof_value_malformed", why)


def proof_value_header(value: str) -> bytes:
    """The three header bytes of a multibase base64url proof value (base or derived)."""
    try:
        return multibase_decode(value, allowed="u")[:3]
    except MalformedError as e:
        raise _fail(e.message) from e


def _decode_proof_value(value: Any, header: bytes, limits: Limits) -> list[Any]:
    if not isinstance(value, str) or not value.startswith("u"):
        raise _fail("ecdsa-sd-2023 proof values are multibase base64url (prefix 'u')")
    if len(value) > limits.max_cbor_bytes * 4 // 3 + 8:
        raise _fail(f"proof value larger than {limits.max_cbor_bytes} bytes")
    try:
        raw = multibase_decode(value, allowed="u")
    except MalformedError as e:
        raise _fail(e.message) from e
    if len(raw) > limits.max_cbor_bytes:
        raise _fail(f"proof value larger than {limits.max_cbor_bytes} bytes")
    if raw[:3] != header:
        kind = {BASE_HEADER: "base", DERIVED_HEADER: "derived"}.get(raw[:3], "unknown")
        raise _fail(f"proof value header is {raw[:3].hex()} ({kind}), expected {header.hex()}")
    components = cbor_decode(raw[3:])
    if not isinstance(components, list) or len(components) != 5:
        raise _fail("proof value must be a CBOR array of five components")
    return components


def _bstr(value: Any, size: int, what: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != size:
        raise _fail(f"{what} must be a {size}-byte string")
    return value


def _public_key(value: Any) -> bytes:
    pk = _bstr(value, 35, "publicKey")
    if pk[:2] != _P256_MULTIKEY:
        raise _fail("publicKey must be a P-256 Multikey (0x80 0x24 + compressed point)")
    return pk


def _signatures(value: Any) -> list[bytes]:
    if not isinstance(value, list):
        raise _fail("signatures must be an array")
    return [_bstr(s, 64, "each signature") for s in value]


def parse_base_proof_value(value: Any, limits: Limits = DEFAULT_LIMITS) -> BaseProofValue:
    """VC-DI-ECDSA 3.5.3 parseBaseProofValue, strictly."""
    c = _decode_proof_value(value, BASE_HEADER, limits)
    pointers = c[4]
    if not isinstance(pointers, list) or not all(isinstance(p, str) for p in pointers):
        raise _fail("mandatoryPointers must be an array of strings")
    for p in pointers:
        try:
            parse_pointer(p)
        except MalformedError as e:
            raise _fail(f"mandatoryPointers: {e.message}") from e
    return BaseProofValue(
        base_signature=_bstr(c[0], 64, "baseSignature"),
        public_key=_public_key(c[1]),
        hmac_key=_bstr(c[2], 32, "hmacKey"),
        signatures=_signatures(c[3]),
        mandatory_pointers=pointers,
    )


def parse_derived_proof_value(value: Any, limits: Limits = DEFAULT_LIMITS) -> DerivedProofValue:
    """VC-DI-ECDSA 3.5.8 parseDerivedProofValue (with 3.5.6 decompressLabelMap), strictly."""
    c = _decode_proof_value(value, DERIVED_HEADER, limits)
    compressed = c[3]
    if not isinstance(compressed, dict):
        raise _fail("labelMap must be a map")
    label_map: dict[str, str] = {}
    for k, v in compressed.items():
        if not isinstance(k, int):
            raise _fail("labelMap keys must be integers")
        label_map[f"c14n{k}"] = "u" + b64u_encode(_bstr(v, 32, "each labelMap value"))
    indexes = c[4]
    if not isinstance(indexes, list) or not all(isinstance(i, int) for i in indexes):
        raise _fail("mandatoryIndexes must be an array of integers")
    if any(b <= a for a, b in itertools.pairwise(indexes)):
        raise _fail("mandatoryIndexes must be strictly increasing")
    return DerivedProofValue(
        base_signature=_bstr(c[0], 64, "baseSignature"),
        public_key=_public_key(c[1]),
        signatures=_signatures(c[2]),
        label_map=label_map,
        mandatory_indexes=indexes,
    )
