"""The two bit orders of the two status-list standards, kept apart on purpose.

* IETF Token Status List (draft-ietf-oauth-status-list, section "Compressed Byte Array", step
  3): index 0 sits in the **least** significant bits of byte 0 ("right to left").
* W3C Bitstring Status List v1.0 (section 2.2 ``encodedList`` and section 7.1): index 0 sits
  at the **most** significant (left-most) bit of byte 0.

A single shared helper would read or set the wrong index for one of the two formats, i.e.
revoke the wrong credential (specs/status-lists.md). So each format has its own pair of functions
and the tests prove they differ.

Both support entry sizes of 1, 2, 4 and 8 bits, so an entry never straddles two bytes.
What the two list classes do share, the bookkeeping around the bits (size, range and value
checks, equality), is :class:`PackedEntries`; each subclass reads and writes with its own
standard's pair of functions.

Example:
    >>> buf = bytearray(1)
    >>> ietf_set(buf, 0, 1, 1); bytes(buf)
    b'\\x01'
    >>> buf = bytearray(1)
    >>> w3c_set(buf, 0, 1, 1); bytes(buf)
    b'\\x80'
"""

from __future__ import annotations

import math
from typing import ClassVar

__all__ = [
    "ALLOWED_BITS",
    "PackedEntries",
    "check_bits",
    "ietf_get",
    "ietf_set",
    "w3c_get",
    "w3c_set",
]

#: Entry sizes both standards allow here (IETF: exactly these; W3C: statusSize we support).
ALLOWED_BITS: frozenset[int] = frozenset({1, 2, 4, 8})


def check_bits(bits: object) -> int:
    """Return ``bits`` if it is 1, 2, 4 or 8 (not a bool), else raise ``ValueError``."""
    if isinstance(bits, bool) or not isinstance(bits, int) or bits not in ALLOWED_BITS:
        raise ValueError(f"bits must be 1, 2, 4 or 8, not {bits!r}")
    return bits


def _locate_lsb(idx: int, bits: int) -> tuple[int, int]:
    per_byte = 8 // bits
    return idx // per_byte, (idx % per_byte) * bits


def _locate_msb(idx: int, bits: int) -> tuple[int, int]:
    bitpos = idx * bits
    return bitpos // 8, 8 - bits - (bitpos % 8)


def ietf_get(data: bytes | bytearray, idx: int, bits: int) -> int:
    """Status of entry ``idx`` in an IETF byte array (LSB first).

    >>> ietf_get(bytes([0xB9, 0xA3]), 0, 1), ietf_get(bytes([0xB9, 0xA3]), 1, 1)
    (1, 0)
    >>> [ietf_get(bytes([0xC9]), i, 2) for i in range(4)]
    [1, 2, 0, 3]
    """
    byte, shift = _locate_lsb(idx, bits)
    return (data[byte] >> shift) & ((1 << bits) - 1)


def ietf_set(data: bytearray, idx: int, bits: int, value: int) -> None:
    """Set entry ``idx`` of an IETF byte array (LSB first) to ``value``."""
    byte, shift = _locate_lsb(idx, bits)
    mask = ((1 << bits) - 1) << shift
    data[byte] = (data[byte] & ~mask & 0xFF) | ((value << shift) & mask)


def w3c_get(data: bytes | bytearray, idx: int, bits: int) -> int:
    """Status of entry ``idx`` in a W3C bitstring (index 0 = left-most bit).

    >>> w3c_get(bytes([0x80]), 0, 1), w3c_get(bytes([0x80]), 7, 1)
    (1, 0)
    """
    byte, shift = _locate_msb(idx, bits)
    return (data[byte] >> shift) & ((1 << bits) - 1)


def w3c_set(data: bytearray, idx: int, bits: int, value: int) -> None:
    """Set entry ``idx`` of a W3C bitstring (index 0 = left-most bit) to ``value``."""
    byte, shift = _locate_msb(idx, bits)
    mask = ((1 << bits) - 1) << shift
    data[byte] = (data[byte] & ~mask & 0xFF) | ((value << shift) & mask)


class PackedEntries:
    """A mutable array of ``size`` entries of ``bits`` bits, all 0 at first: what the IETF
    status list and the W3C bitstring share. A subclass validates its constructor arguments,
    calls :meth:`_allocate`, and reads and writes entries with its own standard's bit order
    (:meth:`_read`, :meth:`_write`); the two orders are never mixed.
    """

    __slots__ = ("_bits", "_data", "_size")
    #: How errors name an index and a value of this kind of list.
    _INDEX_NAME: ClassVar[str]
    _VALUE_NAME: ClassVar[str]

    _bits: int
    _data: bytearray
    _size: int

    def _allocate(self, size: int, bits: int) -> None:
        self._bits = bits
        self._size = size
        self._data = bytearray(math.ceil(size * bits / 8))

    def _read(self, idx: int) -> int:
        raise NotImplementedError

    def _write(self, idx: int, value: int) -> None:
        raise NotImplementedError

    @property
    def size(self) -> int:
        """Number of entries (indices ``0 .. size-1``)."""
        return self._size

    def _check_index(self, idx: int) -> None:
        if isinstance(idx, bool) or not isinstance(idx, int) or not 0 <= idx < self._size:
            raise IndexError(f"{self._INDEX_NAME} {idx!r} is outside 0..{self._size - 1}")

    def get(self, idx: int) -> int:
        """Value of entry ``idx``; ``IndexError`` when out of range."""
        self._check_index(idx)
        return self._read(idx)

    def set(self, idx: int, value: int) -> None:
        """Set entry ``idx`` to ``value``, which must fit in the entry size."""
        self._check_index(idx)
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not 0 <= value < (1 << self._bits)
        ):
            raise ValueError(f"{self._VALUE_NAME} {value!r} does not fit in {self._bits} bits")
        self._write(idx, int(value))

    def to_bytes(self) -> bytes:
        """The uncompressed byte array."""
        return bytes(self._data)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, type(self))
            and other._bits == self._bits
            and other._size == self._size
            and other._data == self._data
        )

    __hash__ = None  # type: ignore[assignment]  # mutable
