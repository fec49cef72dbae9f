"""Strict encodings shared by every format: base64url and JSON.

Python's ``base64`` accepts non-canonical input and ``json`` accepts duplicate keys, NaN,
Infinity, lone surrogates and blows the stack on deep nesting (SECURITY.md). These helpers
refuse all of that with a typed :class:`MalformedError`.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
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

_B64U_RE = re.compile(r"^[A-Za-z0-9_-]*$")
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")


def b64u_encode(data: bytes) -> str:
    """Encode bytes as unpadded base64url (RFC 7515 section 2).

    >>> b64u_encode(b"\\xff\\xfe")
    '__4'
    """
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


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
    if not _B64U_RE.match(text) or len(text) % 4 == 1:
        raise MalformedError("malformed_base64", f"{what} is not unpadded base64url")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as e:  # pragma: no cover - regex already filters
        raise MalformedError("malformed_base64", f"{what} is not base64url") from e
    if b64u_encode(raw) != text:
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
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise MalformedError("duplicate_json_key", f"duplicate JSON member {k!r}")
        out[k] = v
    return out


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
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
        )
    except MalformedError:
        raise
    except RecursionError as e:
        raise MalformedError("too_deep", f"{what} nests deeper than {limits.max_json_depth}") from e
    except ValueError as e:
        raise MalformedError("malformed_json", f"{what} is not valid JSON: {e}") from e
    # json's C scanner raises RecursionError near depth 1000; the tighter bound is checked here.
    check_depth(value, limits.max_json_depth, what)
    if "\\u" in text or _SURROGATE_RE.search(text):
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
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")
