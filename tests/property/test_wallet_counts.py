"""The wallet's presentation counter is written into the stored record text in place
(``with_int_member``, what ``WalletStore.append_counts`` and ``Wallet.present`` use); the
reference is the plain way: decode the record, set the member, encode it again with
``encode_value``. Both must give the same record on any stored record, including records
whose other members, keys or strings spell the member's name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from strategies import claim_names, json_values, suite_settings

from blauweknop._errors import InvalidDataError, StorageError
from blauweknop._wallet_store import WalletStore
from blauweknop._wallet_store._format import decode_value, encode_value, with_int_member

MEMBER = "presented"
# names near the member's: the fast path must not mistake any of them for it
tricky_names = st.one_of(
    claim_names(),
    st.sampled_from(
        [MEMBER, f"x{MEMBER}", f'x"{MEMBER}', f"{MEMBER}\\", f',"{MEMBER}":1}}', f'"{MEMBER}":']
    ),
)
tricky_values = st.one_of(
    json_values(max_leaves=8),
    st.sampled_from([f'"{MEMBER}":3}}', f',"{MEMBER}":7}}', 5, 1.5, True, None, [], {}]),
    st.dictionaries(tricky_names, json_values(max_leaves=4), max_size=3),
)
records = st.dictionaries(tricky_names, tricky_values, max_size=6)


def _reference(text: str, member: str, value: int) -> str:
    obj = decode_value(text)
    obj[member] = value
    return encode_value(obj)


@suite_settings()
@given(record=records, value=st.integers(0, 10**12), last=st.booleans())
@example(record={f'x"{MEMBER}': 5}, value=9, last=False)  # the name inside another key
@example(record={"a": {MEMBER: 5}}, value=9, last=False)  # a nested member
@example(record={"a": f',"{MEMBER}":5}}'}, value=9, last=False)  # inside a string
@example(record={MEMBER: 5, "b": 1}, value=9, last=False)  # not the last member
@example(record={}, value=0, last=False)
def test_counter_written_in_place_equals_decode_and_encode(
    record: dict[str, Any], value: int, last: bool
) -> None:
    if last and MEMBER in record:  # the member moved to the end, as the wallet writes it
        record[MEMBER] = record.pop(MEMBER)
    text = encode_value(record)
    fast = with_int_member(text, MEMBER, value)
    want = _reference(text, MEMBER, value)
    assert json.loads(fast) == json.loads(want)
    assert list(json.loads(fast)) == list(json.loads(want))  # member order kept too
    assert fast == want


def test_a_counter_must_be_an_integer() -> None:
    for bad in (True, 1.0, "1", None):
        with pytest.raises(InvalidDataError):
            with_int_member('{"presented":1}', MEMBER, bad)  # type: ignore[arg-type]


def test_append_counts_is_durable_and_refuses_an_unknown_record(tmp_path: Path) -> None:
    key = bytes(range(32))
    with WalletStore.create(tmp_path, key=key) as store:
        store.put("credential", "c1", {"a": {"presented": 0}, "presented": 4})
        store.append_counts([("credential", "c1", MEMBER, 5)])
        with pytest.raises(StorageError) as e:
            store.append_counts([("credential", "gone", MEMBER, 1)])
        assert e.value.code == "record_not_found"
    with WalletStore.open(tmp_path, key=key) as store:
        assert store.get("credential", "c1") == {"a": {"presented": 0}, "presented": 5}


@suite_settings(max_examples=30)
@given(record=records, values=st.lists(st.integers(0, 10**12), min_size=1, max_size=4))
def test_a_counter_entry_replays_to_the_text_written_in_memory(
    tmp_path_factory: pytest.TempPathFactory, record: dict[str, Any], values: list[int]
) -> None:
    """The journal holds only ``[kind, id, member, value]`` for a count; replaying it on open
    must give exactly the text the store made in memory (and the reference's record)."""
    home = tmp_path_factory.mktemp("counts")
    key = bytes(range(32))
    with WalletStore.create(home, key=key) as store:
        store.put("credential", "c1", record)
        want = encode_value(record)
        for v in values:
            store.append_counts([("credential", "c1", MEMBER, v)])
            want = _reference(want, MEMBER, v)
        in_memory = dict(store.texts("credential"))
    with WalletStore.open(home, key=key) as store:
        assert dict(store.texts("credential")) == in_memory
        assert json.loads(in_memory["c1"]) == json.loads(want)
