"""Strict CBOR (RFC 8949) for ecdsa-sd-2023 proof values (VC-DI-ECDSA 3.5.2, 3.5.3, 3.5.7, 3.5.8).

cbor2's ``loads`` accepts duplicate map keys, trailing bytes, semantic tags and huge bignums
(docs/security.md). The proof values need five kinds of item only, so this module parses exactly
those: unsigned integers, byte strings, text strings, arrays and maps, with definite lengths,
preferred (shortest) argument encoding, no tags, no duplicate keys and no trailing bytes.
Anything else raises :class:`~blauweknop.MalformedError` ``proof_value_malformed``.

Example:
    >>> encode([b"\\x01", [1, 2], {0: b""}, "x"]).hex()
    '844101820102a100406178'
    >>> decode(encode([b"\\x01", [1, 2], {0: b""}, "x"]))
    [b'\\x01', [1, 2], {0: b''}, 'x']
"""

from __future__ import annotations

from typing import Any

from .._errors import MalformedError

__all__ = ["decode", "encode"]

_MAX_DEPTH = 4
#: argument size in bytes -> the least argument that needs it (preferred serialization)
_SHORTEST_MIN = {1: 24, 2: 0x100, 4: 0x10000, 8: 0x100000000}


def _fail(why: str) -> MalformedError:
    return MalformedError("proof_value_malformed", f"CBOR: {why}")


def _head(major: int, arg: int) -> bytes:
    if arg < 24:
        return bytes([major << 5 | arg])
    if arg < 0x100:
        return bytes([major << 5 | 24]) + arg.to_bytes(1, "big")
    if arg < 0x10000:
        return bytes([major << 5 | 25]) + arg.to_bytes(2, "big")
    if arg < 0x100000000:
        return bytes([major << 5 | 26]) + arg.to_bytes(4, "big")
    return bytes([major << 5 | 27]) + arg.to_bytes(8, "big")


def encode(value: Any) -> bytes:
    """Preferred-serialization CBOR of ints >= 0, bytes, str, list and dict; never tags."""
    out = bytearray()

    def enc(v: Any) -> None:
        if isinstance(v, bool) or v is None:
            raise TypeError("booleans and null are not used in proof values")
        if isinstance(v, int):
            if v < 0 or v >= 1 << 64:
                raise TypeError("only unsigned 64-bit integers are used in proof values")
            out.extend(_head(0, v))
        elif isinstance(v, bytes):
            out.extend(_head(2, len(v)))
            out.extend(v)
        elif isinstance(v, str):
            b = v.encode("utf-8")
            out.extend(_head(3, len(b)))
            out.extend(b)
        elif isinstance(v, list):
            out.extend(_head(4, len(v)))
            for item in v:
                enc(item)
        elif isinstance(v, dict):
            out.extend(_head(5, len(v)))
            for k, item in v.items():
                enc(k)
                enc(item)
        else:
            raise TypeError(f"cannot CBOR-encode {type(v).__name__}")

    enc(value)
    return bytes(out)


def decode(data: bytes) -> Any:
    """Decode one CBOR item that must span exactly ``data``; strict as described above."""
    pos = 0
    n = len(data)

    def read(k: int) -> bytes:
        nonlocal pos
        if pos + k > n:
            raise _fail("truncated")
        chunk = data[pos : pos + k]
        pos += k
        return chunk

    def item(depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise _fail("nested too deeply")
        nonlocal pos
        if pos >= n:
            raise _fail("truncated")
        first = data[pos]
        pos += 1
        major, info = first >> 5, first & 0x1F
        if major in (1, 6, 7):
            raise _fail(
                {1: "negative integers", 6: "tags", 7: "floats/simple values"}[major]
                + " are not allowed"
            )
        if info < 24:
            arg = info
        elif info <= 27:
            size = 1 << (info - 24)
            arg = int.from_bytes(read(size), "big")
            # preferred serialization: the shortest head that holds arg (as _head writes)
            if arg < _SHORTEST_MIN[size]:
                raise _fail("non-shortest integer or length encoding")
        else:
            raise _fail("indefinite lengths and reserved values are not allowed")
        if major == 0:
            return arg
        if major in (2, 3):
            if arg > n - pos:
                raise _fail("truncated string")
            raw = read(arg)
            if major == 2:
                return raw
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise _fail("text string is not UTF-8") from e
        if major == 4:
            if arg > n - pos:  # every item takes at least one byte
                raise _fail("array longer than the input")
            return [item(depth + 1) for _ in range(arg)]
        # major == 5
        if 2 * arg > n - pos:
            raise _fail("map longer than the input")
        result: dict[Any, Any] = {}
        for _ in range(arg):
            key = item(depth + 1)
            if not isinstance(key, (int, str)):
                raise _fail("map keys must be integers or text")
            if key in result:
                raise _fail("duplicate map key")
            result[key] = item(depth + 1)
        return result

    value = item(0)
    if pos != n:
        raise _fail("trailing bytes after the proof value")
    return value
