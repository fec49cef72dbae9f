"""The two status-list bit orders are different, and each format uses its own (SECURITY.md;
SECURITY-BATTERY E10)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blauweknop._status import BitstringStatusList, StatusList
from blauweknop._status._bits import ietf_get, ietf_set, w3c_get, w3c_set

BITS = st.sampled_from([1, 2, 4, 8])


def test_index_zero_sits_at_opposite_ends_of_byte_zero() -> None:
    ietf, w3c = bytearray(1), bytearray(1)
    ietf_set(ietf, 0, 1, 1)
    w3c_set(w3c, 0, 1, 1)
    assert ietf == b"\x01"  # least significant bit
    assert w3c == b"\x80"  # most significant (left-most) bit
    assert ietf != w3c


@pytest.mark.parametrize(
    ("bits", "ietf_byte", "w3c_byte"), [(1, 0x01, 0x80), (2, 0x02, 0x80), (4, 0x02, 0x20)]
)
def test_multi_bit_entries_differ_too(bits: int, ietf_byte: int, w3c_byte: int) -> None:
    ietf, w3c = bytearray(1), bytearray(1)
    ietf_set(ietf, 0, bits, 2 if bits > 1 else 1)
    w3c_set(w3c, 0, bits, 2 if bits > 1 else 1)
    assert (ietf[0], w3c[0]) == (ietf_byte, w3c_byte)


def test_a_shared_helper_would_revoke_the_wrong_credential() -> None:
    """Revoke index 5 in a W3C list, read it back with the IETF helper: index 5 looks valid
    and index 2 (a different credential) looks revoked."""
    bl = BitstringStatusList()
    bl.set(5, 1)
    raw = bl.to_bytes()
    assert w3c_get(raw, 5, 1) == 1
    assert ietf_get(raw, 5, 1) == 0
    assert ietf_get(raw, 2, 1) == 1

    sl = StatusList(16, bits=1)
    sl.set(5, 1)
    assert ietf_get(sl.to_bytes(), 5, 1) == 1
    assert w3c_get(sl.to_bytes(), 5, 1) == 0
    assert w3c_get(sl.to_bytes(), 2, 1) == 1


@given(bits=BITS, data=st.data())
def test_each_helper_round_trips_and_touches_only_its_entry(bits: int, data: st.DataObject) -> None:
    per_byte = 8 // bits
    n = 4 * per_byte
    idx = data.draw(st.integers(0, n - 1))
    value = data.draw(st.integers(1, (1 << bits) - 1))
    for get, put in ((ietf_get, ietf_set), (w3c_get, w3c_set)):
        buf = bytearray(4)
        put(buf, idx, bits, value)
        assert get(buf, idx, bits) == value
        assert [get(buf, i, bits) for i in range(n) if i != idx] == [0] * (n - 1)
        put(buf, idx, bits, 0)
        assert buf == bytearray(4)


@given(idx=st.integers(0, 1023))
def test_the_orders_are_mirror_images_within_a_byte(idx: int) -> None:
    """For 1 bit per entry, W3C index i is IETF index 8*(i//8) + 7 - i%8: never the same
    entry unless the bit position happens to coincide (it never does: 7 - k != k)."""
    buf = bytearray(128)
    w3c_set(buf, idx, 1, 1)
    mirrored = 8 * (idx // 8) + 7 - idx % 8
    assert ietf_get(buf, mirrored, 1) == 1
    assert ietf_get(buf, idx, 1) == 0
