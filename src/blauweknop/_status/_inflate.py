"""Bounded decompression for status lists: a few hundred compressed bytes must never become
gigabytes in memory (zlib/gzip bombs, docs/security.md)."""

from __future__ import annotations

import zlib

from .._errors import MalformedError

__all__ = ["GZIP_WBITS", "ZLIB_WBITS", "inflate_bounded"]

#: ``wbits`` for the ZLIB container (RFC 1950) used by the IETF Token Status List.
ZLIB_WBITS = 15
#: ``wbits`` for the GZIP container (RFC 1952) used by the W3C Bitstring Status List.
GZIP_WBITS = 31


def inflate_bounded(data: bytes, *, wbits: int, max_out: int, what: str) -> bytes:
    """Decompress one complete ZLIB or GZIP stream, producing at most ``max_out`` bytes.

    Raises ``MalformedError("too_large")`` as soon as the output would exceed ``max_out``
    (without inflating the rest), and ``MalformedError("malformed_compression")`` for a
    corrupt, truncated or trailing-garbage stream.

    >>> inflate_bounded(zlib.compress(b"abc"), wbits=ZLIB_WBITS, max_out=3, what="x")
    b'abc'
    >>> inflate_bounded(zlib.compress(bytes(10)), wbits=ZLIB_WBITS, max_out=9, what="x")
    Traceback (most recent call last):
    ...
    blauweknop._errors.MalformedError: too_large: x decompresses to more than 9 bytes
    """
    if max_out < 1:  # zlib treats max_length=0 as "no limit"
        raise ValueError("max_out must be at least 1")
    d = zlib.decompressobj(wbits=wbits)
    try:
        out = d.decompress(data, max_out)
        if not d.eof:
            # Either the output limit was hit (more would come) or the stream is truncated.
            extra = d.decompress(d.unconsumed_tail, 1)
            if extra:
                raise MalformedError(
                    "too_large", f"{what} decompresses to more than {max_out} bytes"
                )
            if not d.eof:
                raise MalformedError("malformed_compression", f"{what} is a truncated stream")
    except zlib.error as e:
        raise MalformedError("malformed_compression", f"{what} does not decompress: {e}") from e
    if d.unused_data or d.unconsumed_tail:
        raise MalformedError("malformed_compression", f"{what} has trailing data")
    return out
