"""The wallet's encrypted store: round trips, tampering, crashes, locking, disk faults.

Crash tests run a real subprocess (``_wallet_worker.py``) and SIGKILL it, either at random
moments in a loop of writes or deterministically around each system call of a write. Small
scrypt parameters keep the suite fast; the file header records whatever was used.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import importlib.util
import json
import os
import random
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from blauweknop import _files as files_module
from blauweknop._errors import InvalidDataError, StorageError
from blauweknop._wallet_store import MAX_SCRYPT_N, MIN_SCRYPT_N, WALLET_FILE, WalletStore

WORKER = Path(__file__).with_name("_wallet_worker.py")
PASS = "correct horse battery staple"
N = MIN_SCRYPT_N  # the lowest cost accepted, for speed; the default (2**15) is timed below

# Byte offsets in the version-1 file (see the module docstring of _wallet_store).
KEY_SECTION = 133
REGIONS = {
    "magic": 0,
    "version": 4,
    "kdf": 5,
    "scrypt_log2n": 6,
    "scrypt_r": 7,
    "salt": 12,
    "wallet_id": 30,
    "wrap_nonce": 45,
    "wrapped_dek": 70,
    "checksum": 120,
    "generation": 140,
    "data_nonce": 145,
    "ciphertext_start": 153,
    "ciphertext_middle": -2000,
    "tag_last_byte": -1,
}


def _worker_module() -> Any:
    spec = importlib.util.spec_from_file_location("_wallet_worker", WORKER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


worker = _worker_module()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "wallet"


def make_wallet(home: Path, records: int = 3, **kw: Any) -> None:
    if "key" not in kw:
        kw.setdefault("passphrase", PASS)
        kw.setdefault("scrypt_n", N)
    with WalletStore.create(home, **kw) as store, store.transaction():
        for i in range(records):
            store.put("credential", f"c{i}", {"n": i, "token": "x" * 100})
        store.put("holder_key", "k1", {"kty": "EC", "crv": "P-256", "d": "secret-d"})


def wallet_bytes(home: Path) -> bytes:
    return (home / WALLET_FILE).read_bytes()


def write_wallet(home: Path, blob: bytes) -> None:
    path = home / WALLET_FILE
    path.write_bytes(blob)
    path.chmod(0o600)


def code_of(fn: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(StorageError) as info:
        fn(*args, **kwargs)
    return info.value.code


def temp_files(home: Path) -> list[str]:
    return sorted(p.name for p in home.iterdir() if p.name.endswith(".tmp"))


# -- round trips -----------------------------------------------------------------------
def test_round_trip_passphrase(home: Path) -> None:
    value = {"format": "dc+sd-jwt", "sd_jwt": "eyJ~WyJ~", "meta": {"naam": "Zoë", "n": [1, 2.5]}}
    with WalletStore.create(home, passphrase=PASS, scrypt_n=N) as store:
        store.put("credential", "urn:uuid:1", value)
        store.put("holder_key", "k1", {"kty": "OKP", "crv": "Ed25519", "d": "..."})
    with WalletStore.open(home, passphrase=PASS) as store:
        assert store.get("credential", "urn:uuid:1") == value
        assert store.items("holder_key") == [("k1", {"kty": "OKP", "crv": "Ed25519", "d": "..."})]
        assert store.items("nothing") == []
        assert store.get("credential", "absent") is None


def test_round_trip_raw_key(home: Path) -> None:
    key = os.urandom(32)
    with WalletStore.create(home, key=key) as store:
        store.put("credential", "c", {"a": 1})
    with WalletStore.open(home, key=key) as store:
        assert store.get("credential", "c") == {"a": 1}
    assert wallet_bytes(home)[5:9] == b"\x00\x00\x00\x00"  # kdf raw, no scrypt parameters


def test_scrypt_parameters_are_in_the_header(home: Path) -> None:
    WalletStore.create(home, passphrase=PASS, scrypt_n=2**11).close()
    blob = wallet_bytes(home)
    assert blob[:5] == b"BKWL\x01"
    assert tuple(blob[5:9]) == (1, 11, 8, 1)  # scrypt, log2 n, r, p


def test_passphrase_is_unicode_normalized(home: Path) -> None:
    WalletStore.create(home, passphrase="caf\u00e9 au lait", scrypt_n=N).close()
    WalletStore.open(home, passphrase="cafe\u0301 au lait").close()


def test_values_are_copies(home: Path) -> None:
    with WalletStore.create(home, key=bytes(32)) as store:
        value: dict[str, Any] = {"list": [1]}
        store.put("k", "id", value)
        value["list"].append(2)
        got = store.get("k", "id")
        assert got == {"list": [1]}
        got["list"].append(3)
        assert store.get("k", "id") == {"list": [1]}


def test_key_order_is_kept(home: Path) -> None:
    with WalletStore.create(home, key=bytes(32)) as store:
        store.put("k", "id", {"z": 1, "a": {"y": 2, "b": 3}})
        assert list(store.get("k", "id") or {}) == ["z", "a"]
        assert list((store.get("k", "id") or {})["a"]) == ["y", "b"]


def test_close_inside_a_transaction(home: Path) -> None:
    store = WalletStore.create(home, key=bytes(32))
    with pytest.raises(StorageError) as info, store.transaction():
        store.put("k", "id", {})
        store.close()
    assert info.value.code == "wallet_closed"
    with WalletStore.open(home, key=bytes(32)) as again:
        assert again.items("k") == []


def test_overwrite_and_delete(home: Path) -> None:
    make_wallet(home)
    with WalletStore.open(home, passphrase=PASS) as store:
        store.put("credential", "c0", {"new": True})
        store.delete("credential", "c1")
        assert code_of(store.delete, "credential", "c1") == "record_not_found"
        store.delete("holder_key", "k1")
    with WalletStore.open(home, passphrase=PASS) as store:
        assert store.items("credential") == [
            ("c0", {"new": True}),
            ("c2", {"n": 2, "token": "x" * 100}),
        ]
        assert store.items("holder_key") == []


@pytest.mark.parametrize(
    "value",
    [
        {"t": (1, 2)},
        {1: "int key"},
        {"nan": float("nan")},
        {"inf": float("inf")},
        {"set": {1}},
        {"bytes": b"x"},
        {"surrogate": "\ud800"},
        ["not", "a", "dict"],
        {"deep": json.loads("[" * 40 + "]" * 40)},
    ],
)
def test_non_json_values_are_refused(home: Path, value: Any) -> None:
    with WalletStore.create(home, key=bytes(32)) as store:
        with pytest.raises(InvalidDataError):
            store.put("credential", "c", value)
        assert store.items("credential") == []


@pytest.mark.parametrize("name", ["", "x" * 513, "\ud800", 5, None])
def test_bad_kind_or_id_is_refused(home: Path, name: Any) -> None:
    with WalletStore.create(home, key=bytes(32)) as store:
        with pytest.raises(InvalidDataError):
            store.put("credential", name, {})
        with pytest.raises(InvalidDataError):
            store.put(name, "id", {})


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"passphrase": PASS, "key": bytes(32)},
        {"key": bytes(31)},
        {"key": "not bytes"},
        {"passphrase": ""},
        {"passphrase": PASS, "scrypt_n": 1000},
        {"passphrase": PASS, "scrypt_n": 2**24},
        {"passphrase": PASS, "scrypt_n": 2},
        {"passphrase": PASS, "scrypt_n": MIN_SCRYPT_N // 2},
        {"passphrase": PASS, "scrypt_n": MAX_SCRYPT_N * 2},
        {"passphrase": PASS, "scrypt_n": True},
        {"passphrase": "1"},
    ],
)
def test_bad_unlock_arguments_are_refused(home: Path, kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidDataError):
        WalletStore.create(home, **kwargs)
    assert not (home / WALLET_FILE).exists()


def test_create_refuses_an_existing_wallet(home: Path) -> None:
    make_wallet(home)
    before = wallet_bytes(home)
    assert (
        code_of(WalletStore.create, home, passphrase="other passphrase", scrypt_n=N)
        == "wallet_exists"
    )
    assert wallet_bytes(home) == before


def test_missing_wallet(tmp_path: Path) -> None:
    assert code_of(WalletStore.open, tmp_path / "absent", passphrase=PASS) == "wallet_not_found"
    assert code_of(WalletStore.open, tmp_path, passphrase=PASS) == "wallet_not_found"


def test_closed_store_refuses_use(home: Path) -> None:
    store = WalletStore.create(home, key=bytes(32))
    store.close()
    store.close()  # idempotent
    assert store.closed
    assert code_of(store.get, "credential", "c") == "wallet_closed"
    assert code_of(store.put, "credential", "c", {}) == "wallet_closed"


def test_repr_shows_no_secrets(home: Path) -> None:
    key = bytes(range(32))
    with WalletStore.create(home, key=key) as store:
        store.put("holder_key", "k", {"d": "private-scalar"})
        text = repr(store)
    assert "private-scalar" not in text and key.hex() not in text and str(key) not in text


def test_files_are_private(home: Path) -> None:
    make_wallet(home)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / WALLET_FILE).stat().st_mode) == 0o600
    (home / WALLET_FILE).chmod(0o644)
    assert code_of(WalletStore.open, home, passphrase=PASS) == "wallet_permissions"


# -- transactions ----------------------------------------------------------------------
def test_transaction_is_one_write(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_wallet(home)
    writes: list[int] = []
    real = files_module.atomic_write

    def counting(path: Any, data: bytes, **kw: Any) -> None:
        writes.append(len(data))
        real(path, data, **kw)

    monkeypatch.setattr("blauweknop._wallet_store.atomic_write", counting)
    with WalletStore.open(home, passphrase=PASS) as store:
        with store.transaction() as tx:
            for i in range(10):
                tx.put("credential", f"t{i}", {"i": i})
            assert store.get("credential", "t9") == {"i": 9}  # reads see the transaction
            tx.delete("credential", "c0")
        assert len(writes) == 1
        with store.transaction():
            pass  # nothing changed: nothing written
        assert len(writes) == 1
    with WalletStore.open(home, passphrase=PASS) as store:
        assert len(store.items("credential")) == 12


def test_transaction_rolls_back_on_error(home: Path) -> None:
    make_wallet(home)
    with WalletStore.open(home, passphrase=PASS) as store:
        before = store.items("credential")
        with pytest.raises(RuntimeError), store.transaction():
            store.put("credential", "t", {})
            store.delete("credential", "c0")
            raise RuntimeError("abort")
        assert store.items("credential") == before
    with WalletStore.open(home, passphrase=PASS) as store:
        assert store.items("credential") == before


def test_nested_transaction_is_a_savepoint(home: Path) -> None:
    with WalletStore.create(home, key=bytes(32)) as store:
        with store.transaction():
            store.put("k", "outer", {})
            with contextlib.suppress(RuntimeError), store.transaction():
                store.put("k", "inner", {})
                raise RuntimeError
            store.put("k", "after", {})
        assert [rid for rid, _ in store.items("k")] == ["after", "outer"]


def test_no_passphrase_change_inside_a_transaction(home: Path) -> None:
    with WalletStore.create(home, key=bytes(32)) as store, store.transaction():
        assert code_of(store.change_passphrase, "a new passphrase") == "transaction_active"


# -- wrong passphrase, tampering, truncation -----------------------------------------------
def test_wrong_passphrase(home: Path) -> None:
    make_wallet(home)
    before = wallet_bytes(home)
    assert code_of(WalletStore.open, home, passphrase="wrong") == "wrong_passphrase"
    assert code_of(WalletStore.open, home, passphrase="") == "wrong_passphrase"
    assert code_of(WalletStore.open, home, key=bytes(32)) == "wrong_passphrase"
    assert wallet_bytes(home) == before
    WalletStore.open(home, passphrase=PASS).close()  # the lock was released every time


def test_wrong_raw_key(home: Path) -> None:
    make_wallet(home, key=bytes(32))
    assert code_of(WalletStore.open, home, key=b"\x01" * 32) == "wrong_passphrase"
    assert code_of(WalletStore.open, home, passphrase=PASS) == "wrong_passphrase"


@pytest.mark.parametrize("unlock", ["passphrase", "key"])
@pytest.mark.parametrize("region", list(REGIONS))
def test_flipped_byte_is_detected(home: Path, region: str, unlock: str) -> None:
    kw: dict[str, Any] = {"passphrase": PASS} if unlock == "passphrase" else {"key": bytes(32)}
    make_wallet(home, records=40, **kw)
    original = wallet_bytes(home)
    offset = REGIONS[region] % len(original)
    for bit in (0x01, 0x80):
        tampered = bytearray(original)
        tampered[offset] ^= bit
        write_wallet(home, bytes(tampered))
        assert code_of(WalletStore.open, home, **kw) == "storage_corrupt", (region, bit)
        assert wallet_bytes(home) == bytes(tampered)  # a failed open never rewrites
        assert temp_files(home) == []
    write_wallet(home, original)
    with WalletStore.open(home, **kw) as store:
        assert len(store.items("credential")) == 40


def _fix_checksum(blob: bytearray) -> bytes:
    blob[101:133] = hashlib.sha256(bytes(blob[:101])).digest()
    return bytes(blob)


def test_deliberate_key_section_tamper_reads_as_wrong_passphrase(home: Path) -> None:
    # GCM cannot tell a wrong key from altered input: with the checksum recomputed, a
    # changed salt or wrapped key looks exactly like a wrong passphrase (and decrypts nothing).
    make_wallet(home)
    original = wallet_bytes(home)
    for offset in (12, 30, 45, 70):
        tampered = bytearray(original)
        tampered[offset] ^= 1
        write_wallet(home, _fix_checksum(tampered))
        assert code_of(WalletStore.open, home, passphrase=PASS) == "wrong_passphrase"


def test_newer_version_and_absurd_kdf_parameters(home: Path) -> None:
    make_wallet(home)
    original = wallet_bytes(home)
    newer = bytearray(original)
    newer[4] = 2
    write_wallet(home, _fix_checksum(newer))
    assert code_of(WalletStore.open, home, passphrase=PASS) == "unsupported_version"
    # a tampered header with a recomputed checksum cannot demand more (or less) work than
    # create() writes: refused before scrypt runs
    for offset, value, code in (
        (6, 30, "wallet_kdf_refused"),
        (6, 19, "wallet_kdf_refused"),
        (6, 9, "wallet_kdf_refused"),
        (6, 0, "wallet_kdf_refused"),
        (7, 0, "wallet_kdf_refused"),
        (7, 9, "wallet_kdf_refused"),
        (7, 255, "wallet_kdf_refused"),
        (8, 2, "wallet_kdf_refused"),
        (8, 16, "wallet_kdf_refused"),
        (5, 9, "storage_corrupt"),
    ):
        bad = bytearray(original)
        bad[offset] = value
        write_wallet(home, _fix_checksum(bad))
        started = time.monotonic()
        assert code_of(WalletStore.open, home, passphrase=PASS) == code, (offset, value)
        assert time.monotonic() - started < 2  # refused before running scrypt
    # the data section cannot be moved to another wallet: the wallet id is authenticated
    other = home.parent / "other"
    make_wallet(other)
    write_wallet(home, original[:KEY_SECTION] + wallet_bytes(other)[KEY_SECTION:])
    assert code_of(WalletStore.open, home, passphrase=PASS) == "storage_corrupt"


def test_truncated_file(home: Path) -> None:
    make_wallet(home, records=40)
    original = wallet_bytes(home)
    for length in (
        0,
        3,
        50,
        KEY_SECTION,
        KEY_SECTION + 20,
        len(original) - 4096,
        len(original) - 1,
    ):
        write_wallet(home, original[:length])
        assert code_of(WalletStore.open, home, passphrase=PASS) == "storage_corrupt", length
    write_wallet(home, original + b"\x00")
    assert code_of(WalletStore.open, home, passphrase=PASS) == "storage_corrupt"


# -- no plaintext personal data on disk --------------------------------------------------
def _b64_forms(needle: bytes) -> set[bytes]:
    """The base64 characters fully determined by ``needle`` at each of the 3 alignments."""
    forms = set()
    for offset in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            enc = encode(b"\x00" * offset + needle + b"\x00\x00")
            first = -(-8 * offset // 6)
            last = (8 * (offset + len(needle))) // 6
            forms.add(enc[first:last])
    return forms


def test_no_personal_data_on_disk(home: Path) -> None:
    bsn, name = "999999990", "Jansen"
    with WalletStore.create(home, passphrase=PASS, scrypt_n=N) as store:
        with store.transaction():
            store.put("credential", f"bsn-{bsn}", {"bsn": bsn, "name": name, "sd": f"{name}~{bsn}"})
            store.put(f"person-{name}", f"{name}-{bsn}", {"given": "Jan", "family": name})
            store.put(
                "holder_key", "k", {"kty": "OKP", "d": base64.b64encode(bsn.encode()).decode()}
            )
        store.change_passphrase("another passphrase")
        store.put("credential", "later", {"note": f"{name} {bsn}"})
    needles = set()
    for word in (bsn, name, name.lower(), name.upper()):
        raw = word.encode()
        needles |= {raw, word.encode("utf-16-le"), raw.hex().encode()} | _b64_forms(raw)
    files = [p for p in home.rglob("*") if p.is_file()]
    assert {p.name for p in files} == {WALLET_FILE}
    for path in [home, *files]:
        assert bsn not in path.name and name.lower() not in path.name.lower()
    for path in files:
        data = path.read_bytes()
        for needle in needles:
            assert needle not in data, (path.name, needle)


# -- locking -------------------------------------------------------------------------------
def test_second_open_in_process_is_locked(home: Path) -> None:
    make_wallet(home)
    with WalletStore.open(home, passphrase=PASS):
        assert code_of(WalletStore.open, home, passphrase=PASS) == "wallet_locked"
        assert code_of(WalletStore.create, home, passphrase=PASS, scrypt_n=N) == "wallet_locked"
    WalletStore.open(home, passphrase=PASS).close()


def test_lock_contention_between_processes(home: Path) -> None:
    make_wallet(home)
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), "hold", str(home), PASS],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        assert proc.stdout.readline().strip() == "ready"
        assert code_of(WalletStore.open, home, passphrase=PASS) == "wallet_locked"
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with WalletStore.open(home, passphrase=PASS) as store:
        assert len(store.items("credential")) == 3


def test_lock_is_on_the_directory_not_a_file_that_can_be_unlinked(home: Path) -> None:
    """Issue 12.12: deleting a lock file let a second handle in, and one write was lost."""
    make_wallet(home)
    legacy = home / "wallet.lock"  # what older versions locked; now it means nothing
    legacy.write_bytes(b"")
    with WalletStore.open(home, passphrase=PASS) as first:
        legacy.unlink()
        for p in home.iterdir():  # nothing else in the directory can be unlinked to unlock it
            assert p.name == WALLET_FILE, p
        assert code_of(WalletStore.open, home, passphrase=PASS) == "wallet_locked"
        # renaming the directory keeps the locked inode
        moved = home.with_name("moved")
        home.rename(moved)
        assert code_of(WalletStore.open, moved, passphrase=PASS) == "wallet_locked"
        moved.rename(home)
        first.put("credential", "kept", {"n": 1})
    with WalletStore.open(home, passphrase=PASS) as store:
        assert store.get("credential", "kept") == {"n": 1}


def test_a_bypassed_lock_still_loses_no_write(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Were the lock bypassed anyway, the second writer is refused rather than overwriting."""
    import blauweknop._wallet_store as ws

    make_wallet(home)
    first = WalletStore.open(home, passphrase=PASS)
    # the second handle gets an unlocked descriptor, as if the lock could be sidestepped
    monkeypatch.setattr(ws, "_acquire_lock", lambda d: os.open(d, os.O_RDONLY | os.O_DIRECTORY))
    second = WalletStore.open(home, passphrase=PASS)
    try:
        first.put("credential", "from-first", {"n": 1})
        assert code_of(second.put, "credential", "from-second", {"n": 2}) == "wallet_conflict"
        assert code_of(second.change_passphrase, "a new passphrase") == "wallet_conflict"
        with pytest.raises(StorageError) as info, second.transaction():
            second.put("credential", "in-a-transaction", {"n": 3})
        assert info.value.code == "wallet_conflict"
        first.put("credential", "again-from-first", {"n": 4})  # the first handle goes on
    finally:
        second.close()
        first.close()
    with WalletStore.open(home, passphrase=PASS) as store:
        ids = {rid for rid, _ in store.items("credential")}
    assert {"from-first", "again-from-first"} <= ids
    assert not ids & {"from-second", "in-a-transaction"}


@pytest.mark.parametrize(
    "weak",
    [
        "1",
        "pw",
        "1234567",
        " " * 12,
        "aaaaaaaa",
        "abababababab",
        "12345678",
        "hgfedcba",
        "e\u0301" * 4,
    ],
)
def test_weak_passphrases_are_refused(home: Path, weak: str) -> None:
    """Issue 12.12: passphrase ``1`` was accepted."""
    with pytest.raises(InvalidDataError) as info:
        WalletStore.create(home, passphrase=weak, scrypt_n=N)
    assert (info.value.code, info.value.field) == ("weak_passphrase", "passphrase")
    assert not (home / WALLET_FILE).exists()
    make_wallet(home)
    before = wallet_bytes(home)
    with WalletStore.open(home, passphrase=PASS) as store:
        with pytest.raises(InvalidDataError) as info:
            store.change_passphrase(weak)
        assert info.value.code == "weak_passphrase"
    assert wallet_bytes(home) == before


@pytest.mark.parametrize("good", ["correct horse", "Tr0ub4dor&3", "één twee drie", "12345679"])
def test_reasonable_passphrases_are_accepted(home: Path, good: str) -> None:
    WalletStore.create(home, passphrase=good, scrypt_n=N).close()
    WalletStore.open(home, passphrase=good).close()


def test_raw_keys_are_not_subject_to_the_passphrase_policy(home: Path) -> None:
    WalletStore.create(home, key=bytes(32)).close()  # 32 zero bytes: the app's business
    WalletStore.open(home, key=bytes(32)).close()


# -- read-only directory and disk full -------------------------------------------------------
@contextlib.contextmanager
def read_only_directory(path: Path) -> Iterator[None]:
    """chmod for ordinary users; root ignores modes, so use the ext4 immutable flag."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o500)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False).returncode:
        pytest.skip("running as root and cannot make the directory immutable (chattr +i)")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_read_only_directory(home: Path) -> None:
    make_wallet(home)
    before = wallet_bytes(home)
    with read_only_directory(home):
        with WalletStore.open(home, passphrase=PASS) as store:
            assert code_of(store.put, "credential", "new", {}) == "storage_write_failed"
            assert code_of(store.change_passphrase, "a new passphrase") == "storage_write_failed"
            assert store.get("credential", "new") is None
            assert len(store.items("credential")) == 3
        assert code_of(WalletStore.create, home / "sub", key=bytes(32)) == "storage_write_failed"
    assert wallet_bytes(home) == before
    with WalletStore.open(home, passphrase=PASS) as store:
        assert len(store.items("credential")) == 3


def test_disk_full(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_wallet(home)
    before = wallet_bytes(home)

    def no_space(fd: int, data: Any) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with WalletStore.open(home, passphrase=PASS) as store:
        monkeypatch.setattr(os, "write", no_space)  # what atomic_write calls
        with pytest.raises(StorageError) as info:
            store.put("credential", "new", {"x": 1})
        assert info.value.code == "storage_write_failed"
        assert "No space left" in info.value.message
        with pytest.raises(StorageError), store.transaction():
            store.put("credential", "t1", {})
            store.delete("credential", "c0")
        assert code_of(store.change_passphrase, "a new passphrase") == "storage_write_failed"
        assert store.get("credential", "new") is None
        assert store.get("credential", "c0") is not None
        monkeypatch.undo()
        assert wallet_bytes(home) == before
        assert temp_files(home) == []
        store.put("credential", "after", {"ok": True})  # the store is still usable
    with WalletStore.open(home, passphrase=PASS) as store:
        assert [rid for rid, _ in store.items("credential")] == ["after", "c0", "c1", "c2"]


def test_fsync_failure(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_wallet(home)
    before = wallet_bytes(home)

    def eio(fd: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    with WalletStore.open(home, passphrase=PASS) as store:
        monkeypatch.setattr(os, "fsync", eio)
        assert code_of(store.put, "credential", "new", {}) == "storage_write_failed"
        monkeypatch.undo()
        assert store.get("credential", "new") is None
    assert wallet_bytes(home) == before


def test_stale_temp_files_are_removed_on_open(home: Path) -> None:
    make_wallet(home)
    stale = home / f".{WALLET_FILE}.abc123.tmp"
    stale.write_bytes(b"ciphertext from a crashed write")
    WalletStore.open(home, passphrase=PASS).close()
    assert not stale.exists()


# -- passphrase change ---------------------------------------------------------------------
def test_change_passphrase(home: Path) -> None:
    make_wallet(home, records=20)
    data_before = wallet_bytes(home)[KEY_SECTION:]
    with WalletStore.open(home, passphrase=PASS) as store:
        store.change_passphrase("new passphrase")
    # only the key section changed: the data was rewrapped, not re-encrypted
    assert wallet_bytes(home)[KEY_SECTION:] == data_before
    assert wallet_bytes(home)[6] == 10  # the scrypt cost was kept
    assert code_of(WalletStore.open, home, passphrase=PASS) == "wrong_passphrase"
    with WalletStore.open(home, passphrase="new passphrase") as store:
        assert len(store.items("credential")) == 20
        store.put("credential", "after", {})
        key = os.urandom(32)
        store.change_passphrase(key=key)
    assert code_of(WalletStore.open, home, passphrase="new passphrase") == "wrong_passphrase"
    with WalletStore.open(home, key=key) as store:
        assert len(store.items("credential")) == 21
        store.change_passphrase("back to a passphrase", scrypt_n=2**11)
    assert wallet_bytes(home)[6] == 11
    with WalletStore.open(home, passphrase="back to a passphrase") as store:
        assert store.get("holder_key", "k1") == {"kty": "EC", "crv": "P-256", "d": "secret-d"}


# -- crashes ---------------------------------------------------------------------------------
def _populate_for_crash_tests(home: Path, count: int = 300) -> None:
    """~1 MB of records, so each write takes long enough for a kill to land inside it."""
    with WalletStore.create(home, passphrase=PASS, scrypt_n=N) as store, store.transaction():
        for i in range(count):
            store.put("filler", f"f{i}", worker.record_value(i, "filler"))


def _check_puts(store: WalletStore, acknowledged: set[int]) -> set[int]:
    """Every acknowledged transaction is complete; any other present one is complete too."""
    by_txn: dict[int, set[str]] = {}
    for rid, value in store.items("credential"):
        i, part = int(rid[1:].split("-")[0]), rid.split("-")[1]
        assert value == worker.record_value(i, part), rid
        by_txn.setdefault(i, set()).add(part)
    for i, parts in by_txn.items():
        assert parts == set(worker.PARTS), f"transaction {i} is partly committed: {parts}"
    assert acknowledged <= set(by_txn), f"lost acknowledged commits {acknowledged - set(by_txn)}"
    assert len(store.items("filler")) == 300
    return set(by_txn)


def _start(args: list[str]) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    ready = proc.stdout.readline()
    assert ready.startswith("ready"), ready + proc.stderr.read()  # type: ignore[union-attr]
    return proc


def _kill(proc: subprocess.Popen[str]) -> list[str]:
    proc.send_signal(signal.SIGKILL)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return out.split()


RUNS = 20


@pytest.mark.slow
def test_sigkill_during_writes(home: Path) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    _populate_for_crash_tests(home)
    present: set[int] = set()
    ever_acknowledged: set[int] = set()
    killed_mid_write = 0
    for run in range(RUNS):
        start = max(present, default=-1) + 1
        proc = _start(["puts", str(home), PASS, str(start)])
        time.sleep(rng.uniform(0.0, 0.3))
        words = _kill(proc)
        acknowledged = {int(w) for w in words if w.isdigit()}
        ever_acknowledged |= acknowledged
        killed_mid_write += bool(temp_files(home))
        with WalletStore.open(home, passphrase=PASS) as store:
            now = _check_puts(store, ever_acknowledged)
        assert present <= now, f"seed {seed} run {run}: earlier records lost"
        new = now - present
        # at most one transaction beyond the acknowledged ones (killed between commit and print)
        assert len(new - acknowledged) <= 1, f"seed {seed} run {run}: {sorted(new - acknowledged)}"
        present = now
        assert temp_files(home) == []  # open cleaned up after the crash
    print(
        f"\nseed {seed}: {len(present)} txns, {killed_mid_write}/{RUNS} kills inside atomic_write"
    )


@pytest.mark.slow
def test_sigkill_during_passphrase_changes(home: Path) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    _populate_for_crash_tests(home)
    pass_b = "B" + PASS
    passphrases = {"A": PASS, "B": pass_b}
    for run in range(10):
        proc = _start(["toggle", str(home), PASS, pass_b])
        time.sleep(rng.uniform(0.0, 0.3))
        words = _kill(proc)
        said = [w for w in words if w in passphrases]
        working = []
        for name, passphrase in passphrases.items():
            try:
                with WalletStore.open(home, passphrase=passphrase) as store:
                    assert len(store.items("filler")) == 300
                    assert store.get("filler", "f7") == worker.record_value(7, "filler")
                working.append(name)
            except StorageError as e:
                assert e.code == "wrong_passphrase", (seed, run, e)
        assert len(working) == 1, f"seed {seed} run {run}: {working} open the wallet"
        if said:  # the last acknowledged passphrase, or the one being written when killed
            assert working[0] in (said[-1], "B" if said[-1] == "A" else "A")


CRASH_POINTS = [
    # (os function, nth call during the write, kill before/after it, expect the new state?)
    ("write", 1, "before", False),
    ("write", 1, "after", False),
    ("fsync", 1, "before", False),
    ("fsync", 1, "after", False),
    ("replace", 1, "before", False),
    ("replace", 1, "after", True),
    ("fsync", 2, "before", True),
    ("fsync", 2, "after", True),
]


@pytest.mark.slow
@pytest.mark.parametrize("op", ["put", "rekey"])
@pytest.mark.parametrize(("func", "nth", "when", "new"), CRASH_POINTS)
def test_crash_at_each_step_of_a_write(
    home: Path, op: str, func: str, nth: int, when: str, new: bool
) -> None:
    make_wallet(home)
    proc = subprocess.run(
        [sys.executable, str(WORKER), "crash", str(home), PASS, op, func, str(nth), when],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr
    passphrase = PASS + "-new" if op == "rekey" and new else PASS
    with WalletStore.open(home, passphrase=passphrase) as store:
        assert [store.get("credential", f"c{i}") is not None for i in range(3)] == [True] * 3
        has_new = store.get("credential", "new") == worker.record_value(-1, "new")
        assert has_new == (new and op == "put")
    other = PASS if passphrase != PASS else PASS + "-new"
    assert code_of(WalletStore.open, home, passphrase=other) == "wrong_passphrase"


# -- size and speed --------------------------------------------------------------------------
def test_timings_with_a_thousand_credentials(home: Path) -> None:
    def cred(i: int) -> dict[str, Any]:
        return {
            "format": "dc+sd-jwt",
            "sd_jwt": base64.urlsafe_b64encode(os.urandom(2200)).decode(),
            "n": i,
        }

    with WalletStore.create(home, passphrase=PASS, scrypt_n=N) as store, store.transaction():
        for i in range(1000):
            store.put("credential", f"c{i}", cred(i))
    size = (home / WALLET_FILE).stat().st_size
    started = time.perf_counter()
    with WalletStore.open(home, passphrase=PASS) as store:
        opened = time.perf_counter()
        assert len(store.items("credential")) == 1000
        read_all = time.perf_counter()
        store.put("credential", "one-more", cred(1000))
        put_one = time.perf_counter()
    print(
        f"\n1000 x 3 KB ({size / 1e6:.1f} MB): open (scrypt n=2**10) {opened - started:.3f} s, "
        f"items {read_all - opened:.3f} s, put one {put_one - read_all:.3f} s"
    )
    assert opened - started < 5 and read_all - opened < 5 and put_one - read_all < 5
