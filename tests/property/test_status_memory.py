"""The status cache's memory (lists verified once, kept decoded) gives the verdicts of the
plain cache that reads and verifies from disk at every check (``memory=0``).

Two directories get the same operations: lists entering the cache (newer, older, tied, of
another key), the files changed behind the cache's back (bytes flipped in place, a list of
another key or an older list swapped in, the index damaged or removed, a file deleted), and
checks at times that cross ``ttl``, ``exp``/``validUntil`` and the maximum age. One directory is
served by a store with memory, the other by one without; every outcome (status, issue time,
freshness limit, or error code and message) must be equal.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from strategies import suite_settings

from blauweknop._codec import b64u_decode
from blauweknop._errors import BlauweKnopError, SignatureError, StatusError, ValidityError
from blauweknop._jws import sign_compact
from blauweknop._keys import Key
from blauweknop._status import (
    BitstringStatusList,
    BitstringStatusListEntry,
    StatusList,
    StatusListStore,
    build_bitstring_status_list_credential,
    cache_file_name,
    list_admission,
    sign_status_list_token,
)
from blauweknop._status._cache import BitstringProofMemo
from blauweknop._status._ietf import STATUS_LIST_JWT_TYP

NOW = 1_700_000_000
URI = "https://status.cjib.example/lists/1.jwt"
W3C_URI = "https://status.cjib.example/lists/1-revocation.json"
ISS = "urn:oin:00000001234567890000"
KEY = Key.generate()
OTHER = Key.generate()

# Times near the edges: ttl (60 s .. 1 h) and exp (2 h) after each issue time, the day limit.
_EDGES = [0, 59, 61, 119, 121, 599, 661, 3599, 3661, 7199, 7261, 86399, 86401]
offsets = st.one_of(st.sampled_from(_EDGES), st.integers(-200, 90_000))

ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("put"),
            st.integers(0, 3),  # issue time: NOW + 100 * this
            st.sampled_from([60, 600, 3600]),  # ttl
            st.frozensets(st.integers(0, 15), max_size=4),  # revoked indices
            st.booleans(),  # signed with the other key
        ),
        st.tuples(
            st.just("tamper"),
            st.sampled_from(["flip", "swap_other", "older", "index", "no_index", "delete"]),
            st.booleans(),  # in place (else an atomic replace, a new inode)
        ),
        st.tuples(
            st.just("check"),
            st.integers(0, 16),
            st.integers(0, 3),  # counted from NOW + 100 * this
            offsets,
            st.sampled_from(["key", "other", "both"]),
            st.booleans(),  # X.509 roots pinned (an x5c_key given), as StatusCache does
        ),
    ),
    min_size=1,
    max_size=14,
)


class Disk:
    """One cache directory and the store serving it; tampering writes bytes so that the
    file's (inode, size, mtime) changes, as any write but a same-size one within one clock
    tick does."""

    def __init__(self, root: Path, memory: int) -> None:
        self.root = root
        self.store = StatusListStore(root, memory=memory)
        self.tick = 0

    def write(self, name: str, data: bytes, *, in_place: bool) -> None:
        path = self.root / name
        if in_place and path.exists():
            with path.open("r+b") as f:
                f.write(data)
                f.truncate()
        else:
            tmp = self.root / f".{name}.tmp"
            tmp.write_bytes(data)
            tmp.replace(path)
        self.tick += 1
        stamp = 1_000_000_000_000_000_000 + self.tick * 1_000_003
        os.utime(path, ns=(stamp, stamp))


def outcome(root: Path, fn: Callable[..., Any], *args: Any, **kw: Any) -> tuple[Any, ...]:
    try:
        result = fn(*args, **kw)
        return ("ok", getattr(result, "data", result))
    except BlauweKnopError as e:
        return ("error", e.code, e.message.replace(str(root), "<dir>"))


@functools.cache  # ECDSA signs at random: both disks get the same bytes
def _token(iat_step: int, ttl: int, revoked: frozenset[int], other: bool) -> bytes:
    sl = StatusList(16, 1)
    for i in revoked:
        sl.set(i, 1)
    iat = NOW + 100 * iat_step
    return sign_status_list_token(
        sl,
        uri=URI,
        issuer=ISS,
        signer=OTHER if other else KEY,
        now=iat,
        ttl=ttl,
        valid_for=7200,
    ).encode()


def _no_chain(x5c: Any) -> Key:
    raise AssertionError("these tokens carry no x5c: the chain check is never reached")


def _run_ietf(disk: Disk, steps: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    keys = {"key": [KEY], "other": [OTHER], "both": [KEY, OTHER]}
    name = cache_file_name(URI, ISS)
    out: list[tuple[Any, ...]] = []
    published: list[bytes] = []
    for step in steps:
        if step[0] == "put":
            _, iat_step, ttl, revoked, other = step
            data = _token(iat_step, ttl, revoked, other)
            published.append(data)
            admit = list_admission(keys_for=lambda _iss: [KEY, OTHER], now=NOW + 400)
            out.append(outcome(disk.root, disk.store.put, URI, data, fetched_at=NOW, admit=admit))
        elif step[0] == "tamper":
            _, how, in_place = step
            path = disk.root / name
            current = path.read_bytes() if path.exists() else b""
            if how == "flip" and current:
                i = len(current) // 2
                disk.write(
                    name,
                    current[:i] + bytes([current[i] ^ 1]) + current[i + 1 :],
                    in_place=in_place,
                )
            elif how == "swap_other":
                disk.write(name, _token(3, 3600, frozenset(), other=True), in_place=in_place)
            elif how == "older" and published:
                disk.write(name, published[0], in_place=in_place)
            elif how == "index":
                disk.write("index.json", b'{"version": 2, "entries": []}', in_place=in_place)
            elif how == "no_index":
                (disk.root / "index.json").unlink(missing_ok=True)
            elif how == "delete":
                path.unlink(missing_ok=True)
        else:
            _, idx, base, offset, which, pinned = step
            now = NOW + 100 * base + offset
            out.append(
                outcome(
                    disk.root,
                    disk.store.check_token_status,
                    URI,
                    idx,
                    issuer_key=keys[which],
                    expected_issuer=ISS,
                    now=now,
                    x5c_key=_no_chain if pinned else None,
                )
            )
    return out


@suite_settings(suppress_health_check=[HealthCheck.too_slow])
@given(steps=ops)
def test_token_status_with_memory_agrees_with_reading_from_disk(steps: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        fast, slow = Disk(Path(a), memory=8), Disk(Path(b), memory=0)
        got = _run_ietf(fast, steps)
        want = _run_ietf(slow, steps)
        assert [o[:2] for o in got] == [o[:2] for o in want]
        assert got == want


def test_a_token_with_x5c_is_checked_in_full_every_time(tmp_path: Path) -> None:
    """A token whose key comes from its x5c chain is never remembered: the chain is resolved
    at every check, so a chain refused later (root unpinned, leaf revoked) refuses the list."""
    claims = json.loads(b64u_decode(_token(0, 3600, frozenset({3}), False).split(b".")[1]))
    header = {"alg": "ES256", "typ": STATUS_LIST_JWT_TYP, "x5c": ["MIIB"]}
    data = sign_compact(header, json.dumps(claims).encode(), KEY).encode()
    calls: list[Any] = []
    chain_ok = [True]

    def x5c_key(x5c: Any) -> Key:
        calls.append(x5c)
        if not chain_ok[0]:
            raise SignatureError("x5c_untrusted", "the chain no longer ends at a pinned root")
        return KEY

    store = StatusListStore(tmp_path, memory=8)
    admit = list_admission(
        keys_for=lambda _iss: [KEY], x5c_key_for=lambda _iss: x5c_key, now=NOW + 400
    )
    store.put(URI, data, fetched_at=NOW, admit=admit)
    calls.clear()
    check = functools.partial(
        store.check_token_status, URI, issuer_key=[KEY], expected_issuer=ISS, x5c_key=x5c_key
    )
    assert check(2, now=NOW + 60).status == 0
    assert check(2, now=NOW + 61).status == 0
    assert len(calls) == 2  # resolved at each check, not remembered
    with pytest.raises(StatusError) as e:
        check(3, now=NOW + 62)
    assert e.value.code == "revoked"
    chain_ok[0] = False
    with pytest.raises(StatusError) as e:
        check(2, now=NOW + 63)
    assert e.value.code == "status_invalid"


# -- W3C: the proof check is injected; its own time checks are re-run by ``recheck`` -----------
def _verify_at(now: float) -> Callable[[dict[str, Any]], str]:
    def verify(doc: dict[str, Any]) -> str:
        proof = doc.get("proof")
        if not isinstance(proof, dict) or proof.get("proofValue") != "zOK" + doc["id"]:
            raise SignatureError("signature_invalid", "bad proof")
        _times(doc, now)
        return str(doc["issuer"])

    return verify


def _times(doc: Any, now: float) -> None:
    until = doc["proof"].get("expires")
    if isinstance(until, int) and now > until:
        raise ValidityError("proof_expired", "the proof has expired")


MEMO = BitstringProofMemo(key=("test",), recheck=_times)


def _bitstring(iat_step: int, ttl_ms: int, revoked: frozenset[int], expires: int) -> bytes:
    bl = BitstringStatusList()
    for i in revoked:
        bl.set(i, 1)
    doc = build_bitstring_status_list_credential(
        credential_id=W3C_URI,
        issuer=ISS,
        status_purpose="revocation",
        status_list=bl,
        valid_from=NOW + 100 * iat_step,
        valid_until=NOW + 100 * iat_step + 7200,
        ttl_ms=ttl_ms,
        sign=lambda d: {**d, "proof": {"proofValue": "zOK" + d["id"], "expires": expires}},
    )
    return json.dumps(doc).encode()


w3c_ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("put"),
            st.integers(0, 3),
            st.sampled_from([60_000, 3_600_000]),
            st.frozensets(st.integers(0, 15), max_size=4),
            st.sampled_from([NOW + 1000, NOW + 10**6]),
        ),
        st.tuples(st.just("tamper"), st.sampled_from(["flip", "delete"]), st.booleans()),
        st.tuples(st.just("check"), st.integers(0, 16), st.integers(0, 3), offsets),
    ),
    min_size=1,
    max_size=10,
)


def _run_w3c(disk: Disk, steps: list[tuple[Any, ...]], memo: bool) -> list[tuple[Any, ...]]:
    name = cache_file_name(W3C_URI, ISS)
    out: list[tuple[Any, ...]] = []
    for step in steps:
        if step[0] == "put":
            data = _bitstring(*step[1:])
            admit = list_admission(
                keys_for=lambda _iss: [], verifier_for=lambda _iss: _verify_at(NOW), now=NOW + 400
            )
            out.append(
                outcome(disk.root, disk.store.put, W3C_URI, data, fetched_at=NOW, admit=admit)
            )
        elif step[0] == "tamper":
            _, how, in_place = step
            path = disk.root / name
            if how == "flip" and path.exists():
                current = path.read_bytes()
                i = current.index(b"zOK") + 3
                changed = current[:i] + b"X" + current[i + 1 :]
                disk.write(name, changed, in_place=in_place)
            elif how == "delete":
                path.unlink(missing_ok=True)
        else:
            _, idx, base, offset = step
            now = NOW + 100 * base + offset
            entry = BitstringStatusListEntry(
                status_purpose="revocation", status_list_index=idx, status_list_credential=W3C_URI
            )
            out.append(
                outcome(
                    disk.root,
                    disk.store.check_bitstring_status,
                    entry,
                    verify=_verify_at(now),
                    expected_issuer=ISS,
                    now=now,
                    verified_as=MEMO if memo else None,
                )
            )
    return out


@suite_settings(suppress_health_check=[HealthCheck.too_slow])
@given(steps=w3c_ops)
def test_bitstring_status_with_memory_agrees_with_reading_from_disk(steps: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        got = _run_w3c(Disk(Path(a), memory=8), steps, memo=True)
        want = _run_w3c(Disk(Path(b), memory=0), steps, memo=False)
        assert got == want


def test_a_list_is_verified_once_while_its_file_is_unchanged(tmp_path: Path) -> None:
    """The memory is used: a second check does not run the proof check again; a changed file
    is read and verified again."""
    calls: list[float] = []

    def verify_at(now: float) -> Callable[[dict[str, Any]], str]:
        inner = _verify_at(now)

        def verify(doc: dict[str, Any]) -> str:
            calls.append(now)
            return inner(doc)

        return verify

    disk = Disk(tmp_path, memory=4)
    data = _bitstring(0, 3_600_000, frozenset({3}), NOW + 10**6)
    admit = list_admission(
        keys_for=lambda _iss: [], verifier_for=lambda _iss: _verify_at(NOW), now=NOW
    )
    disk.store.put(W3C_URI, data, fetched_at=NOW, admit=admit)

    def check(idx: int, now: float) -> Any:
        entry = BitstringStatusListEntry(
            status_purpose="revocation", status_list_index=idx, status_list_credential=W3C_URI
        )
        return disk.store.check_bitstring_status(
            entry, verify=verify_at(now), expected_issuer=ISS, now=now, verified_as=MEMO
        )

    for i in range(3):
        assert check(i, NOW + 10 + i).status == 0
    assert calls == [NOW + 10]
    disk.write(cache_file_name(W3C_URI, ISS), data.replace(b"zOK", b"zOk", 1), in_place=True)
    try:
        check(0, NOW + 20)
    except BlauweKnopError as e:
        assert e.code == "status_invalid"
    else:  # pragma: no cover - the point of the test
        raise AssertionError("a tampered list was used")
    assert calls == [NOW + 10, NOW + 20]
