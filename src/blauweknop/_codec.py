"""Strict encodings shared by every format: base64url and JSON.

Python's ``base64`` accepts non-canonical input and ``json`` accepts duplicate keys, NaN,
Infinity, lone surrogates and blows the stack on deep nesting (docs/security.md). These helpers
refuse all of that with a typed :class:`MalformedError`.
"""

from __future__ import annotations

import binascii
import json
import math
import re
from collections.abc import Callable
from typing import Any

from ._errors import MalformedError
from ._limits import DEFAULT_LIMITS, Limits

__all__ = [
    "b64u_decode",
    "b64u_encode",
    "canonical_json",
    "check_depth",
    "parse_json",
    "parse_json_object",
]

_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")
_B64U_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")
_PADDING = (b"", b"", b"==", b"=")
# The last character of a canonical encoding leaves its unused low bits zero: 4 bits when
# the length is 2 mod 4 (one byte in the last group), 2 bits when it is 3 mod 4 (two bytes).
_CANONICAL_LAST = {
    2: frozenset(c for i, c in enumerate(_B64U_ALPHABET) if i & 0x0F == 0),
    3: frozenset(c for i, c in enumerate(_B64U_ALPHABET) if i & 0x03 == 0),
}


def b64u_encode(data: bytes) -> str:
    """Encode bytes as unpadded base64url (RFC 7515 section 2).

    >>> b64u_encode(b"\\xff\\xfe")
    '__4'
    """
    # binascii directly: base64.urlsafe_b64encode is two Python calls around the same thing.
    encoded = binascii.b2a_base64(data, newline=False).rstrip(b"=")
    return encoded.translate(_TO_URLSAFE).decode("ascii")


def b64u_decode(text: str | bytes, *, what: str = "value") -> bytes:
    """Decode unpadded, canonical base64url; anything else raises ``malformed_base64``.

    Canonical means: only the URL-safe alphabet, no ``=`` padding, no length of 1 mod 4, and
    the unused low bits of the last character are zero (so every byte string has one encoding).

    >>> b64u_decode("__4")
    b'\\xff\\xfe'
    >>> b64u_decode("__5")
    Traceback (most recent call last):
    ...
    blauweknop._errors.MalformedError: malformed_base64: value is not canonical base64url
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError as e:
            raise MalformedError("malformed_base64", f"{what} is not ASCII") from e
    rem = len(text) % 4
    # '+', '/' and '=' would pass the strict decoder below once '-'/'_' are mapped onto them.
    if rem == 1 or not text.isascii() or "=" in text or "+" in text or "/" in text:
        raise MalformedError("malformed_base64", f"{what} is not unpadded base64url")
    try:
        # strict_mode refuses every character outside the alphabet (whitespace included).
        raw = binascii.a2b_base64(
            text.encode("ascii").translate(_FROM_URLSAFE) + _PADDING[rem], strict_mode=True
        )
    except binascii.Error as e:
        raise MalformedError("malformed_base64", f"{what} is not unpadded base64url") from e
    # Canonical without re-encoding: only the last character can carry stray bits.
    if rem and text[-1] not in _CANONICAL_LAST[rem]:
        raise MalformedError("malformed_base64", f"{what} is not canonical base64url")
    return raw


def _reject_constant(name: str) -> Any:
    raise MalformedError("malformed_json", f"JSON constant {name} is not allowed")


def _finite_float(text: str) -> float:
    # `1e400` is not a JSON constant but still decodes to inf; a NumericDate of inf never expires.
    value = float(text)
    if not math.isfinite(value):
        raise MalformedError("malformed_json", f"JSON number {text[:20]!r} is out of range")
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):  # a key repeated: name the first repetition
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise MalformedError("duplicate_json_key", f"duplicate JSON member {k!r}")
            seen.add(k)
    return out


# One decoder for every strict parse (json.loads with hooks would build a new one per call).
_STRICT_DECODER = json.JSONDecoder(
    object_pairs_hook=_no_duplicates, parse_constant=_reject_constant, parse_float=_finite_float
)
_scan_once: Callable[[str, int], tuple[Any, int]] = _STRICT_DECODER.scan_once  # type: ignore[attr-defined]


def parse_json(
    data: str | bytes, *, limits: Limits = DEFAULT_LIMITS, what: str = "JSON", max_bytes: int = 0
) -> Any:
    """Parse JSON strictly: UTF-8 only, no duplicate keys, no NaN/Infinity, no lone surrogates,
    bounded size and depth.

    >>> parse_json('{"a": [1, 2]}')
    {'a': [1, 2]}
    >>> parse_json('{"a": 1, "a": 2}')
    Traceback (most recent call last):
    ...
    blauweknop._errors.MalformedError: duplicate_json_key: duplicate JSON member 'a'
    """
    limit = max_bytes or limits.max_token_bytes
    if len(data) > limit:
        raise MalformedError("too_large", f"{what} is larger than {limit} bytes")
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise MalformedError("malformed_json", f"{what} is not UTF-8") from e
    else:
        text = data
    if text.startswith("\ufeff"):
        raise MalformedError("malformed_json", f"{what} starts with a byte-order mark")
    try:
        # decode() is scan_once() between two whitespace matches; without surrounding
        # whitespace one scan is the whole parse, anything else takes decode() itself.
        try:
            value, end = _scan_once(text, 0)
        except StopIteration:
            end = -1
        if end != len(text):
            value = _STRICT_DECODER.decode(text)
    except MalformedError:
        raise
    except RecursionError as e:
        raise MalformedError("too_deep", f"{what} nests deeper than {limits.max_json_depth}") from e
    except ValueError as e:
        raise MalformedError("malformed_json", f"{what} is not valid JSON: {e}") from e
    # json's C scanner raises RecursionError near depth 1000; the tighter bound is checked here.
    # Nesting never exceeds the number of opening brackets (nor the length), so short
    # documents skip the walk.
    depth = limits.max_json_depth
    if len(text) > depth and text.count("[") + text.count("{") > depth:
        check_depth(value, depth, what)
    # Strict UTF-8 decoding never yields a surrogate: from bytes only escapes can make one.
    if "\\u" in text or (data is text and _SURROGATE_RE.search(text)):
        _reject_surrogates(value, what)
    return value


def _reject_surrogates(value: Any, what: str) -> None:
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            if _SURROGATE_RE.search(v):
                raise MalformedError("malformed_json", f"{what} contains a lone surrogate")
        elif isinstance(v, dict):
            for k, item in v.items():
                if _SURROGATE_RE.search(k):
                    raise MalformedError("malformed_json", f"{what} contains a lone surrogate")
                stack.append(item)
        elif isinstance(v, list):
            stack.extend(v)


def parse_json_object(
    data: str | bytes, *, limits: Limits = DEFAULT_LIMITS, what: str = "JSON", max_bytes: int = 0
) -> dict[str, Any]:
    """Like :func:`parse_json` but the top-level value must be an object."""
    value = parse_json(data, limits=limits, what=what, max_bytes=max_bytes)
    if not isinstance(value, dict):
        raise MalformedError("malformed_json", f"{what} is not a JSON object")
    return value


def check_depth(value: Any, limit: int, what: str = "value") -> None:
    """Raise ``too_deep`` if a decoded JSON value nests deeper than ``limit``."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        v, d = stack.pop()
        if d > limit:
            raise MalformedError("too_deep", f"{what} nests deeper than {limit}")
        if isinstance(v, dict):
            stack.extend((x, d + 1) for x in v.values())
        elif isinstance(v, list):
            stack.extend((x, d + 1) for x in v)


def canonical_json(value: Any) -> bytes:
    """Deterministic compact JSON (sorted keys, UTF-8), for hashing our own documents.

    >>> canonical_json({"b": 1, "a": [True, None]})
    b'{"a":[true,null],"b":1}'
    """
    return _CANONICAL_ENCODER.encode(value).encode("utf-8")


_CANONICAL_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)
