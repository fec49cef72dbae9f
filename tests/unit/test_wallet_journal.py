"""The wallet's change journal (``_wallet_store/_journal.py``): a change appended with one
synced entry survives a reopen; a torn or altered entry, a reordered journal and a journal of
an earlier generation lose nothing that was confirmed and apply nothing that was not."""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

import pytest

import blauweknop._wallet_store as wallet_store
from blauweknop._errors import StorageError
from blauweknop._wallet_store import WalletStore
from blauweknop._wallet_store._journal import JOURNAL_FILE, MAX_JOURNAL_BYTES

KEY = bytes(range(32))


def _open(home: Path) -> WalletStore:
    return WalletStore.open(home, key=KEY)


def _entries(home: Path) -> list[tuple[int, int]]:
    """(offset, length) of each entry laid out in the journal (up to the zero end marker)."""
    data = (home / JOURNAL_FILE).read_bytes()
    out, pos = [], 0
    while pos + 4 <= len(data):
        (n,) = struct.unpack_from(">I", data, pos)
        if n == 0:
            break
        out.append((pos, 4 + n))
        pos += 4 + n
    return out


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "wallet"
    WalletStore.create(h, key=KEY, initial={"credential": {"c0": {"n": 0}}}).close()
    return h


def test_an_appended_change_survives_a_reopen_without_rewriting_the_wallet_file(
    home: Path,
) -> None:
    before = (home / "wallet.bkw").read_bytes()
    with _open(home) as store:
        store.append([("credential", "c1", {"n": 1}), ("credential", "c0", {"n": 2})])
        store.append([("credential", "c1", {"n": 3})])
        assert store.get("credential", "c1") == {"n": 3}
    assert (home / "wallet.bkw").read_bytes() == before
    assert (home / JOURNAL_FILE).stat().st_size == MAX_JOURNAL_BYTES
    assert (home / JOURNAL_FILE).stat().st_mode & 0o777 == 0o600
    with _open(home) as store:
        assert store.items("credential") == [("c0", {"n": 2}), ("c1", {"n": 3})]


@pytest.mark.parametrize("damage", ["torn", "flipped"])
def test_a_damaged_last_entry_is_dropped_and_the_next_append_replaces_it(
    home: Path, damage: str
) -> None:
    with _open(home) as store:
        store.append([("credential", "c1", {"n": 1})])
        store.append([("credential", "c1", {"n": 2})])
    path = home / JOURNAL_FILE
    data = bytearray(path.read_bytes())
    off, length = _entries(home)[1]
    if damage == "torn":  # the write of the second entry never finished
        data[off + length // 2 : off + length] = bytes(length - length // 2)
    else:
        data[off + 40] ^= 1
    path.write_bytes(bytes(data))
    with _open(home) as store:
        assert store.get("credential", "c1") == {"n": 1}
        store.append([("credential", "c2", {"n": 9})])
    with _open(home) as store:
        assert store.get("credential", "c1") == {"n": 1}
        assert store.get("credential", "c2") == {"n": 9}


def test_entries_cannot_be_reordered(home: Path) -> None:
    with _open(home) as store:
        store.append([("credential", "c1", {"n": 1})])
        store.append([("credential", "c1", {"n": 2})])
    path = home / JOURNAL_FILE
    data = path.read_bytes()
    (a0, al), (b0, bl) = _entries(home)
    assert al == bl  # padded to the same size
    swapped = data[b0 : b0 + bl] + data[a0 : a0 + al] + data[b0 + bl :]
    path.write_bytes(swapped)
    with _open(home) as store:  # the first position holds entry 2: nothing applies
        assert store.get("credential", "c1") is None


def test_a_journal_of_an_earlier_generation_is_ignored(home: Path) -> None:
    with _open(home) as store:
        store.append([("credential", "c1", {"n": 1})])
        store.put("credential", "c2", {"n": 2})  # a full write: includes c1, new generation
        stale = (home / JOURNAL_FILE).read_bytes()
        store.delete("credential", "c1")
    (home / JOURNAL_FILE).write_bytes(stale)  # the old entry still in the journal
    with _open(home) as store:
        assert store.get("credential", "c1") is None
        assert store.get("credential", "c2") == {"n": 2}
        store.append([("credential", "c3", {"n": 3})])
    with _open(home) as store:
        assert [rid for rid, _ in store.items("credential")] == ["c0", "c2", "c3"]


def test_a_full_journal_is_folded_into_the_wallet_file(home: Path) -> None:
    big = {"text": "x" * 20_000}
    with _open(home) as store:
        for i in range(30):  # 30 entries of 20 KB do not fit in 256 KiB
            store.append([("credential", f"c{i}", {**big, "i": i})])
    with _open(home) as store:
        assert len(store.items("credential")) == 30
        assert store.get("credential", "c29") == {**big, "i": 29}


def test_inside_a_transaction_an_append_is_staged_and_rolled_back(home: Path) -> None:
    with _open(home) as store:
        with pytest.raises(RuntimeError), store.transaction():
            store.append([("credential", "c1", {"n": 1})])
            assert store.get("credential", "c1") == {"n": 1}
            raise RuntimeError
        assert store.get("credential", "c1") is None
    with _open(home) as store:
        assert store.get("credential", "c1") is None


def test_a_bad_value_appends_nothing(home: Path) -> None:
    with _open(home) as store:
        with pytest.raises(Exception, match="invalid_data"):
            store.append([("credential", "c1", {"n": 1}), ("credential", "c2", {"t": (1,)})])
        assert store.get("credential", "c1") is None
    assert not (home / JOURNAL_FILE).exists()


def test_a_journal_that_is_not_a_regular_file_is_refused(home: Path) -> None:
    (home / JOURNAL_FILE).mkdir()
    with pytest.raises(StorageError):
        _open(home)


def test_a_presentation_is_counted_durably_through_the_journal(tmp_path: Path) -> None:
    """Wallet.present counts each presentation (the count picks the next unused single-use
    copy) with an appended entry: it is there after a reopen, the wallet file unchanged."""
    from scheme import CJIB, Scheme

    from blauweknop import Wallet

    home = tmp_path / "w"
    wallet = Wallet.create(home, key=KEY)
    scheme = Scheme.build(tmp_path / "scheme", wallet=wallet, status_cache=False)
    request = {
        "credentials": [
            {
                "id": "d",
                "format": "dc+sd-jwt",
                "meta": {"vct_values": ["urn:blauweknop:debt-statement:1"]},
                "claims": [{"path": ["totals", "outstanding"]}],
            }
        ]
    }
    before = (home / "wallet.bkw").read_bytes()
    plan = wallet.plan(request, now=scheme.now)
    cid = plan.presentations()["d"][0].credential_id
    for _ in range(2):
        wallet.present(plan, nonce="n" * 16, audience=CJIB, now=scheme.now)
    wallet.close()
    assert (home / "wallet.bkw").read_bytes() == before
    with WalletStore.open(home, key=KEY) as store:
        record = store.get("credential", cid)
        assert record is not None
        assert record["presented"] == 2


def test_a_journaled_transaction_keeps_puts_and_deletes_across_a_reopen(home: Path) -> None:
    before = (home / "wallet.bkw").read_bytes()
    with _open(home) as store:
        store.put("holder_key", "k1", {"kty": "EC"})  # a full write: the baseline
        before = (home / "wallet.bkw").read_bytes()
        with store.transaction(journal=True):
            store.put("credential", "c1", {"n": 1})
            store.delete("credential", "c0")
            store.delete("holder_key", "k1")  # the last of its kind
        assert store.items("credential") == [("c1", {"n": 1})]
    assert (home / "wallet.bkw").read_bytes() == before  # only the journal was written
    with _open(home) as store:
        assert store.items("credential") == [("c1", {"n": 1})]
        assert store.items("holder_key") == []
        store.put("credential", "c2", {"n": 2})  # a full write folds the journal in
    with _open(home) as store:
        assert [rid for rid, _ in store.items("credential")] == ["c1", "c2"]


def test_a_journaled_transaction_too_large_for_the_journal_is_written_in_full(home: Path) -> None:
    before = (home / "wallet.bkw").read_bytes()
    with _open(home) as store, store.transaction(journal=True):
        store.put("credential", "big", {"text": "x" * (MAX_JOURNAL_BYTES + 1)})
    assert (home / "wallet.bkw").read_bytes() != before
    with _open(home) as store:
        assert store.get("credential", "big") is not None


def test_a_handle_that_bypassed_the_lock_cannot_overwrite_an_appended_entry(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _open(home)
    monkeypatch.setattr(wallet_store, "_acquire_lock", lambda d: os.open(d, os.O_RDONLY))
    second = _open(home)
    try:
        first.append([("credential", "c1", {"n": 1})])
        with pytest.raises(StorageError) as e:
            second.append([("credential", "c2", {"n": 2})])
        assert e.value.code == "wallet_conflict"
    finally:
        second.close()
        first.close()
    monkeypatch.undo()
    with _open(home) as store:
        assert store.get("credential", "c1") == {"n": 1}
        assert store.get("credential", "c2") is None


@pytest.mark.parametrize("fails", ["write", "sync"])
def test_an_entry_whose_write_or_sync_failed_is_cut_off(
    home: Path, monkeypatch: pytest.MonkeyPatch, fails: str
) -> None:
    """The call raised, so its entry must not come back on open, and the next append (which
    writes at the same place) must not take it for another writer's entry."""
    import blauweknop._wallet_store._journal as journal

    with _open(home) as store:
        store.append([("credential", "c1", {"n": 1})])
        real_write = journal._write_all

        def half_write(fd: int, data: bytes, offset: int) -> None:
            real_write(fd, data, offset)  # on the page cache, then the device fails
            raise OSError(5, "Input/output error")

        def bad_sync(fd: int) -> None:
            raise OSError(5, "Input/output error")

        with monkeypatch.context() as m:
            if fails == "write":
                m.setattr(journal, "_write_all", half_write)
            else:
                m.setattr(os, "fdatasync", bad_sync)
            with pytest.raises(StorageError) as info:
                store.append([("credential", "c2", {"n": 2})])
            assert info.value.code == "storage_write_failed"
        assert not store.has("credential", "c2")
    with _open(home) as store:
        assert [rid for rid, _ in store.items("credential")] == ["c0", "c1"]
        store.append([("credential", "c3", {"n": 3})])  # written where the failed one was
    with _open(home) as store:
        assert [rid for rid, _ in store.items("credential")] == ["c0", "c1", "c3"]


def test_a_count_is_journaled_as_a_counter_not_the_whole_record(home: Path) -> None:
    big = {"text": "x" * 20_000, "presented": 1}
    with _open(home) as store:
        store.put("credential", "c1", big)  # a full write
        store.append_counts([("credential", "c1", "presented", 7)])
    [(_, length)] = _entries(home)
    assert length <= 4 + 12 + 4096 + 16  # one padded block, not the 20 kB record
    with _open(home) as store:
        assert store.get("credential", "c1") == {**big, "presented": 7}


@pytest.mark.parametrize(
    "change",
    [
        ("credential", "gone", "presented", 1),  # no such record
        ("credential", "c0", "presented", True),  # not an integer
        ("credential", "c0", "presented", 1.5),
        ("credential", "c0", 7, 1),  # the member is no name
        ("credential", "c0", "presented", 1, 2),  # five parts
    ],
)
def test_a_malformed_counter_entry_is_storage_corrupt(home: Path, change: tuple[Any, ...]) -> None:
    """Entries are sealed with the wallet's key, so only a bug could write these: opening
    reports the journal as damaged instead of guessing."""
    from blauweknop._wallet_store._journal import append_entry

    with _open(home) as store:
        assert append_entry(home, store._journal, store._dek, store._wallet_id, [change])  # type: ignore[list-item]
    with pytest.raises(StorageError) as info:
        _open(home)
    assert info.value.code == "storage_corrupt"
