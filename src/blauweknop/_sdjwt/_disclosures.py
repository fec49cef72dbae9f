"""Disclosures (RFC 9901 section 4.2): salts, encoding, digests and decoys.

* section 4.2.1 / 4.2.2: a disclosure is the base64url of the JSON array ``[salt, name,
  value]`` (object property) or ``[salt, value]`` (array element); salts carry 128 bits of
  entropy (section 9.3).
* section 4.2.3: its digest is the base64url of SHA-256 over the *encoded* disclosure, the
  only ``_sd_alg`` supported here (section 4.1.1).
* section 4.2.5: decoy digests are digests of random bytes.
* section 4.2.4.1 / 7.1: ``_sd``, ``...`` (and the issuer-set ``_sd_alg``) are reserved
  claim names.

Example:
    >>> enc, digest = _encode_disclosure("salt", "name", "Jan")
    >>> _digest(enc) == digest
    True
"""

from __future__ import annotations

import binascii
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from typing import Any

from .._codec import b64u_decode, b64u_encode, parse_json
from .._errors import DisclosureError, MalformedError
from .._limits import Limits

__all__ = ["SD", "ClaimPath", "Disclosure"]

ClaimPath = tuple[str | int | None, ...]
_RESERVED_NAMES = frozenset({"_sd", "...", "_sd_alg"})


@dataclass(frozen=True, slots=True)
class SD:
    """Marks a value as selectively disclosable at issuance (object property or array element)."""

    value: Any


@dataclass(frozen=True, slots=True)
class Disclosure:
    """One disclosure: ``[salt, name, value]`` (object property) or ``[salt, value]`` (array)."""

    salt: str
    name: str | None
    value: Any
    encoded: str
    digest: str

    @property
    def is_array_element(self) -> bool:
        """True for a two-element (array element) disclosure."""
        return self.name is None


def _digest(encoded: str) -> str:
    return b64u_encode(hashlib.sha256(encoded.encode("ascii")).digest())


# json.dumps(..., ensure_ascii=False, separators=(",", ":"), allow_nan=False), built once.
_DISCLOSURE_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_json_str = json.encoder.encode_basestring  # what the encoder above writes for a str
_URLSAFE = bytes.maketrans(b"+/", b"-_")
_JSON_SCALARS: dict[Any, str] = {True: "true", False: "false", None: "null"}


def _disclosure_json(salt: str, name: str | None, value: Any) -> str:
    """The disclosure array as compact JSON, byte for byte what ``_DISCLOSURE_JSON`` writes;
    strings, integers and the constants are written here without building the array."""
    if type(salt) is not str or (name is not None and type(name) is not str):
        arr = [salt, value] if name is None else [salt, name, value]
        return _DISCLOSURE_JSON.encode(arr)
    t = type(value)
    if t is str:
        v = _json_str(value)
    elif t is int:
        v = int.__repr__(value)
    elif t is bool or value is None:
        v = _JSON_SCALARS[value]
    else:
        v = _DISCLOSURE_JSON.encode(value)
    if name is None:
        return f"[{_json_str(salt)},{v}]"
    return f"[{_json_str(salt)},{_json_str(name)},{v}]"


def _b64u(data: bytes) -> bytes:
    return binascii.b2a_base64(data, newline=False).rstrip(b"=").translate(_URLSAFE)


def _encode_disclosure(salt: str, name: str | None, value: Any) -> tuple[str, str]:
    """``(encoded, digest)`` of a new disclosure: ``b64u_encode`` and :func:`_digest`
    written out on bytes, as this runs for every disclosure issued."""
    enc = _b64u(_disclosure_json(salt, name, value).encode("utf-8"))
    return enc.decode("ascii"), _b64u(hashlib.sha256(enc).digest()).decode("ascii")


def _default_salt() -> str:
    return b64u_encode(secrets.token_bytes(16))


def _decoy_digest() -> str:
    return b64u_encode(hashlib.sha256(secrets.token_bytes(32)).digest())


# A canonical 22-character encoding of 16 bytes ends in a character whose low 4 bits are 0.
_B64U = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_SALT_LAST = {c: _B64U[i & 0x30] for i, c in enumerate(_B64U)}


_urandom = os.urandom  # one name to replace in the tests that compare two builders
_SALT_BLOCK = 384  # bytes: 512 base64url characters, 23 salts
_BYTE_BLOCK = 512
_FIRST_BLOCK = _SALT_BLOCK + _BYTE_BLOCK


def _salt_text(block: bytes) -> str:
    """The base64url text of ``block`` (a multiple of 3 bytes: no padding)."""
    return binascii.b2a_base64(block, newline=False).translate(_URLSAFE).decode("ascii")


class _Entropy:
    """The default salts, decoy digests and decoy counts of one issuance, drawn from
    ``os.urandom`` in blocks (what ``secrets`` reads too) instead of one system call per
    salt. Nothing outlives the issuance, so no state is shared across threads or forks.

    The first draw of either kind reads one block of :data:`_FIRST_BLOCK` bytes: the salt
    text's first 384 (512 characters, 23 salts) and the byte buffer's 512 (16 decoys), about
    what one credential needs; later refills read only their own kind. A byte request that
    runs past the buffer takes the rest of it and continues in the next block, so the bytes
    handed out are one stream, however they are asked for."""

    __slots__ = ("_buf", "_pos", "_text", "_tpos")

    def __init__(self) -> None:
        self._buf = b""
        self._pos = 0
        self._text = ""
        self._tpos = 0

    def _first(self) -> None:
        block = _urandom(_FIRST_BLOCK)
        self._text = _salt_text(block[:_SALT_BLOCK])
        self._tpos = 0
        self._buf = block[_SALT_BLOCK:]
        self._pos = 0

    def take(self, n: int) -> bytes:
        """``n`` random bytes (the next ``n`` of the stream)."""
        return self._take(n)

    def _take(self, n: int) -> bytes:
        if self._pos + n > len(self._buf):
            if not self._buf and not self._text:
                self._first()
                if n <= len(self._buf):
                    self._pos = n
                    return self._buf[:n]
            rest = self._buf[self._pos :]
            self._buf = rest + _urandom(max(n, _BYTE_BLOCK))
            self._pos = 0
        self._pos += n
        return self._buf[self._pos - n : self._pos]

    def salt(self) -> str:
        """Distributed exactly as :func:`_default_salt`: 21 characters of base64url text
        of random bytes (6 independent uniform bits each) and a last one keeping 2 bits, so
        128 random bits in the canonical encoding of 16 bytes, cut from one encoded block."""
        if self._tpos + 22 > len(self._text):
            if not self._buf and not self._text:
                self._first()
            else:
                self._text = _salt_text(_urandom(_SALT_BLOCK))
                self._tpos = 0
        chunk = self._text[self._tpos : self._tpos + 22]
        self._tpos += 22
        return chunk[:21] + _SALT_LAST[chunk[21]]

    def decoy(self) -> str:
        """Like :func:`_decoy_digest`: the digest of 256 random bits."""
        return _b64u(hashlib.sha256(self._take(32)).digest()).decode("ascii")

    def below(self, n: int) -> int:
        """Uniform in ``range(n)`` for ``1 <= n <= 256`` (rejection sampling on one byte)."""
        limit = 256 - 256 % n
        while True:
            b = self._take(1)[0]
            if b < limit:
                return b % n


_PLAIN = frozenset({str, int, bool, type(None)})  # scalars issuance and _process pass through


def _parse_disclosure(enc: str, limits: Limits) -> Disclosure:
    """Decode one received disclosure strictly (RFC 9901 sections 4.2.1, 4.2.2, 7.1 step 3)."""
    try:
        raw = b64u_decode(enc, what="disclosure")
    except MalformedError as e:
        raise DisclosureError("disclosure_malformed", "disclosure is not base64url") from e
    try:
        arr = parse_json(raw, limits=limits, what="disclosure")
    except MalformedError as e:
        raise DisclosureError("disclosure_malformed", f"disclosure is not JSON: {e.message}") from e
    if not isinstance(arr, list) or len(arr) not in (2, 3):
        raise DisclosureError("disclosure_malformed", "disclosure must be a JSON array of 2 or 3")
    if not isinstance(arr[0], str):
        raise DisclosureError("disclosure_malformed", "disclosure salt must be a string")
    if len(arr) == 3:
        name = arr[1]
        if not isinstance(name, str):
            raise DisclosureError("disclosure_malformed", "disclosure claim name must be a string")
        if name in ("_sd", "..."):
            raise DisclosureError("disclosure_name_reserved", f"disclosure claim name {name!r}")
        return Disclosure(arr[0], name, arr[2], enc, _digest(enc))
    return Disclosure(arr[0], None, arr[1], enc, _digest(enc))
