"""The bitstring of W3C Bitstring Status List v1.0 (Recommendation, 15 May 2025).

Section 2.2 ``encodedList``: index 0 at the **left-most**, most significant bit of byte 0
(section 7.1; the opposite of the IETF list, see :mod:`._bits`), at least 131,072 entries
(16 KB) so that one credential's index tells little (section 6.1, herd privacy),
GZIP-compressed (RFC 1952) and multibase base64url-encoded (``u`` prefix, no padding).
Section 3.3 (generation) and 3.4 (expansion, with bounded decompression).

Example:
    >>> bl = BitstringStatusList()
    >>> bl.set(94567, 1)
    >>> BitstringStatusList.decode(bl.encode()).get(94567)
    1
"""

from __future__ import annotations

import gzip
import math

from .._codec import b64u_decode, b64u_encode
from .._errors import MalformedError
from .._limits import DEFAULT_LIMITS, Limits
from ._bits import PackedEntries, check_bits, w3c_get, w3c_set
from ._inflate import GZIP_WBITS, inflate_bounded

__all__ = ["MIN_BITSTRING_ENTRIES", "BitstringStatusList"]

#: Minimum number of entries (section 3.2 step "minimumNumberOfEntries"; 16 KB of 1-bit values).
MIN_BITSTRING_ENTRIES = 131_072


class BitstringStatusList(PackedEntries):
    """A mutable W3C bitstring: ``size`` entries of ``status_size`` bits, all 0 at first.

    Index 0 is the left-most (most significant) bit of byte 0 (section 2.2, section 7.1) —
    the opposite of the IETF list; see :mod:`._bits`.

    >>> bl = BitstringStatusList()
    >>> bl.set(0, 1)
    >>> bl.to_bytes()[:1]
    b'\\x80'
    """

    __slots__ = ()
    _INDEX_NAME = "bitstring index"
    _VALUE_NAME = "value"

    def __init__(
        self,
        size: int = MIN_BITSTRING_ENTRIES,
        status_size: int = 1,
        *,
        min_entries: int = MIN_BITSTRING_ENTRIES,
    ) -> None:
        status_size = check_bits(status_size)
        if isinstance(size, bool) or not isinstance(size, int) or size < max(1, min_entries):
            raise ValueError(
                f"a bitstring status list needs at least {min_entries} entries, not {size!r}"
            )
        self._allocate(size, status_size)

    def _read(self, idx: int) -> int:
        return w3c_get(self._data, idx, self._bits)

    def _write(self, idx: int, value: int) -> None:
        w3c_set(self._data, idx, self._bits, value)

    @property
    def status_size(self) -> int:
        """Bits per entry (``statusSize``; 1 for revocation and suspension)."""
        return self._bits

    def encode(self) -> str:
        """``encodedList``: ``"u"`` + base64url(GZIP(bitstring)), no padding (section 3.3).

        ``mtime`` is fixed at 0 so the same list always encodes to the same text.
        """
        return "u" + b64u_encode(gzip.compress(bytes(self._data), compresslevel=9, mtime=0))

    @classmethod
    def decode(
        cls,
        encoded_list: str,
        *,
        status_size: int = 1,
        min_entries: int = MIN_BITSTRING_ENTRIES,
        limits: Limits = DEFAULT_LIMITS,
    ) -> BitstringStatusList:
        """Expand an ``encodedList`` (section 3.4) with bounded decompression.

        Raises ``MalformedError``: no ``u`` multibase prefix, bad base64url, compressed data
        over ``limits.max_status_list_bytes``, output over
        ``limits.max_status_list_entries * status_size / 8`` bytes (``too_large``), and
        ``status_list_length`` when fewer than ``min_entries`` entries (section 3.2,
        STATUS_LIST_LENGTH_ERROR).
        """
        status_size = check_bits(status_size)
        if not isinstance(encoded_list, str) or not encoded_list.startswith("u"):
            raise MalformedError(
                "malformed_status_list", "encodedList is not multibase base64url (prefix 'u')"
            )
        if len(encoded_list) > math.ceil(limits.max_status_list_bytes * 4 / 3) + 1:
            raise MalformedError(
                "too_large", f"encodedList is larger than {limits.max_status_list_bytes} bytes"
            )
        compressed = b64u_decode(encoded_list[1:], what="encodedList")
        max_out = max(1, limits.max_status_list_entries * status_size // 8)
        raw = inflate_bounded(compressed, wbits=GZIP_WBITS, max_out=max_out, what="encodedList")
        entries = len(raw) * 8 // status_size
        if entries < min_entries:
            raise MalformedError(
                "status_list_length",
                f"bitstring has {entries} entries, fewer than the minimum {min_entries} "
                "(STATUS_LIST_LENGTH_ERROR)",
            )
        bl = cls(entries, status_size, min_entries=min_entries)
        bl._data[:] = raw
        return bl

    def __repr__(self) -> str:
        return f"BitstringStatusList(size={self._size}, status_size={self._bits})"
