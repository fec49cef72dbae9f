"""Multibase and Multikey encodings (Controlled Identifiers v1.0, sections 2.4 and 2.2.2).

Only what the Data Integrity suites use: base58-btc (prefix ``z``), base64url without padding
(prefix ``u``), and the Multikey headers for P-256, P-384 and Ed25519 keys (unsigned varint
multicodec values 0x1200/0x1201/0xed for public keys, 0x1306/0x1307/0x1300 for secret keys).
Decoding is strict: one encoding per byte string, no whitespace, no leading-zero ambiguity.

Example:
    >>> from blauweknop import Key
    >>> k = Key.generate("ES256")
    >>> mk = multikey_from_key(k)
    >>> mk.startswith("zDn")
    True
    >>> key_from_multikey(mk) == k
    True
"""

from __future__ import annotations

from typing import Final

from .._codec import b64u_decode, b64u_encode
from .._errors import MalformedError, SignatureError
from .._keys import Key

__all__ = [
    "base58btc_decode",
    "base58btc_encode",
    "key_from_multikey",
    "multibase_decode",
    "multibase_encode",
    "multikey_from_key",
    "private_key_from_multikey",
]

_ALPHABET: Final = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX: Final = {c: i for i, c in enumerate(_ALPHABET)}

#: Multicodec varint headers (Controlled Identifiers v1.0, 2.2.2 Multikey).
_PUB_HEADERS: Final[dict[str, bytes]] = {
    "P-256": b"\x80\x24",
    "P-384": b"\x81\x24",
    "Ed25519": b"\xed\x01",
}
_PRIV_HEADERS: Final[dict[str, bytes]] = {
    "P-256": b"\x86\x26",
    "P-384": b"\x87\x26",
    "Ed25519": b"\x80\x26",
}
_PUB_SIZES: Final = {"P-256": 33, "P-384": 49, "Ed25519": 32}
_PRIV_SIZES: Final = {"P-256": 32, "P-384": 48, "Ed25519": 32}


def base58btc_encode(data: bytes) -> str:
    """Base58 (Bitcoin alphabet) encoding; leading zero bytes become ``1``.

    >>> base58btc_encode(b"\\x00\\x01")
    '12'
    """
    n = int.from_bytes(data, "big")
    out = []
    while n:
        n, r = divmod(n, 58)
        out.append(_ALPHABET[r])
    zeros = len(data) - len(data.lstrip(b"\x00"))
    return "1" * zeros + "".join(reversed(out))


def base58btc_decode(text: str) -> bytes:
    """Strict base58-btc decoding (every output has exactly one encoding).

    >>> base58btc_decode("12")
    b'\\x00\\x01'
    """
    n = 0
    for c in text:
        i = _INDEX.get(c)
        if i is None:
            raise MalformedError("malformed_multibase", "invalid base58btc character")
        n = n * 58 + i
    zeros = len(text) - len(text.lstrip("1"))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\x00" * zeros + body


def multibase_encode(data: bytes, base: str = "z") -> str:
    """Multibase: ``z`` + base58-btc or ``u`` + base64url-no-pad."""
    if base == "z":
        return "z" + base58btc_encode(data)
    if base == "u":
        return "u" + b64u_encode(data)
    raise ValueError(f"unsupported multibase {base!r}")


def multibase_decode(text: str, *, allowed: str = "zu") -> bytes:
    """Decode a multibase string whose prefix is one of ``allowed``."""
    if not isinstance(text, str) or not text or text[0] not in allowed:
        raise MalformedError(
            "malformed_multibase", f"expected a multibase value with prefix in {allowed!r}"
        )
    if text[0] == "z":
        return base58btc_decode(text[1:])
    try:
        return b64u_decode(text[1:], what="multibase value")
    except MalformedError as e:
        raise MalformedError("malformed_multibase", e.message) from e


def multikey_from_key(key: Key) -> str:
    """``publicKeyMultibase`` of a key: ``z`` + base58btc(header || compressed public key)."""
    return "z" + base58btc_encode(_PUB_HEADERS[key.crv] + key.public_bytes(compressed=True))


def public_key_bytes_to_key(data: bytes) -> Key:
    """Multikey bytes (header + key) to a public :class:`Key`."""
    for crv, header in _PUB_HEADERS.items():
        if data.startswith(header) and len(data) == len(header) + _PUB_SIZES[crv]:
            return Key.from_public_bytes(crv, data[len(header) :])
    raise SignatureError("key_invalid", "not a P-256, P-384 or Ed25519 public Multikey")


def key_from_multikey(value: str) -> Key:
    """Decode a ``publicKeyMultibase`` (base58-btc only, as VC-DI-ECDSA 2.1.1 requires)."""
    try:
        raw = multibase_decode(value, allowed="z")
    except MalformedError as e:
        raise SignatureError("key_invalid", f"publicKeyMultibase: {e.message}") from e
    return public_key_bytes_to_key(raw)


def private_key_from_multikey(value: str) -> Key:
    """Decode a ``secretKeyMultibase`` (used for the W3C test vector keys)."""
    try:
        raw = multibase_decode(value, allowed="z")
    except MalformedError as e:
        raise SignatureError("key_invalid", f"secretKeyMultibase: {e.message}") from e
    for crv, header in _PRIV_HEADERS.items():
        if raw.startswith(header) and len(raw) == len(header) + _PRIV_SIZES[crv]:
            return Key.from_private_bytes(crv, raw[len(header) :])
    raise SignatureError("key_invalid", "not a P-256, P-384 or Ed25519 secret Multikey")
