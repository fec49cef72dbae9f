"""Publishing from the register goes through the status package's encoders, byte for byte.

The register stores states; the bit packing of both standards lives only in
``blauweknop._status`` (issue 13). These tests pin the published files: the Status List Token
payload and the W3C ``BitstringStatusListCredential`` documents must equal what the status
package's own encoders make of the same states, and a golden digest recorded from the register
before it was split (commit 23a6993, the monolithic ``_register.py``) still matches.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import secrets
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blauweknop._errors import PolicyError
from blauweknop._keys import Key
from blauweknop._register import IssuerRegister, Register, open_register, publish
from blauweknop._status import (
    MIN_BITSTRING_ENTRIES,
    BitstringStatusList,
    StatusList,
    StatusType,
    build_bitstring_status_list_credential,
)

BASE = "https://status.example/lists"
ISS = "urn:oin:00000001234567890000"
NOW = 1_700_000_000
KEY = Key.generate()


def fake_proof(doc: dict[str, Any]) -> dict[str, Any]:
    """A deterministic stand-in for the Data Integrity signer (adds only a proof)."""
    return {**doc, "proof": {"type": "DataIntegrityProof", "proofValue": "z-test"}}


def make_register(
    tmp: Path, *, size: int, bits: int, states: list[str], where: str | None = None
) -> Register:
    """A register whose credentials c0, c1, ... end in ``states`` (clock fixed), in
    ``tmp/r.db`` or at ``where`` (a SQLite path or a PostgreSQL URL)."""
    reg: Register = open_register(  # type: ignore[assignment]  # both backends
        where or tmp / "r.db", status_base_uri=BASE, list_size=size, bits=bits, clock=lambda: NOW
    )
    for i, state in enumerate(states):
        cid = f"c{i}"
        reg.reserve(cid, "DebtStatement", "dc+sd-jwt")
        if state == "pending":
            continue
        reg.confirm(cid)
        if state == "revoked":
            reg.revoke(cid, "test", "clerk")
        elif state == "suspended":
            reg.suspend(cid, "test", "clerk")
    return reg


def jwt_payload(path: Path) -> bytes:
    part = path.read_text("ascii").strip().split(".")[1]
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def expected_files(reg: Register) -> dict[str, bytes]:
    """What the status package's own encoders make of the register's states."""
    out: dict[str, bytes] = {}
    seq = reg.register_seq
    for info in reg.lists():
        values = {
            r.idx: StatusType.INVALID if r.state == "revoked" else StatusType.SUSPENDED
            for r in reg.list()
            if r.list_id == info.id and r.state in ("revoked", "suspended")
        }
        sl = StatusList(info.size, info.bits)
        for idx, v in values.items():
            sl.set(idx, v)
        claims = {
            "exp": NOW + 86400,
            "iat": NOW,
            "iss": ISS,
            "register_seq": seq,
            "status_list": sl.to_json(),
            "sub": info.uri,
            "ttl": 3600,
        }
        out[f"{info.id}.jwt"] = json.dumps(claims, separators=(",", ":"), sort_keys=True).encode()
        for purpose in info.purposes:
            wanted = StatusType.INVALID if purpose == "revocation" else StatusType.SUSPENDED
            bl = BitstringStatusList(max(info.size, MIN_BITSTRING_ENTRIES))
            for idx, v in values.items():
                if v == wanted:
                    bl.set(idx, 1)
            doc = build_bitstring_status_list_credential(
                credential_id=info.bitstring_uri(purpose),
                issuer=ISS,
                status_purpose=purpose,
                status_list=bl,
                valid_from=NOW,
                valid_until=NOW + 86400,
                ttl_ms=3600 * 1000,
                sign=fake_proof,
            )
            out[f"{info.id}-{purpose}.json"] = (
                json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
            ).encode()
    return out


def published_files(reg: Register, out: Path) -> dict[str, bytes]:
    files = publish(reg, KEY, ISS, out, NOW, 3600, sign_bitstring=fake_proof)
    return {
        f.path.name: jwt_payload(f.path) if f.path.suffix == ".jwt" else f.path.read_bytes()
        for f in files
    }


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    bits=st.sampled_from([1, 2]),
    states=st.lists(st.sampled_from(["pending", "valid", "revoked", "suspended"]), max_size=40),
)
def test_published_lists_equal_the_status_package_encoders(
    tmp_path_factory: Any, bits: int, states: list[str]
) -> None:
    tmp = tmp_path_factory.mktemp("pub")
    if bits == 1:
        states = [s if s != "suspended" else "revoked" for s in states]
    reg = make_register(tmp, size=16, bits=bits, states=states)
    try:
        assert published_files(reg, tmp / "out") == expected_files(reg)
    finally:
        reg.close()


# sha256 of each published file (the token: its payload) for GOLDEN_STATES, recorded with the
# register as it was before the split (monolithic _register.py, commit 23a6993).
GOLDEN_STATES = ["revoked", "valid", "suspended", "pending", "revoked", "suspended", "valid"] * 3
GOLDEN: dict[str, str] = {
    "1-revocation.json": "bc2e88e268b4104fb16f387027a0dce6a0b5fc82b68c546a066c0addd39d630e",
    "1-suspension.json": "0871dd8bdb2f671a158b7f2d08732f4e889ef9022571360e6b11e2e1bd721c71",
    "1.jwt": "fe63cf158495d5978e408aafae494ed003f8eda986c83dfd957f99860a9c0b28",
    "2-revocation.json": "b4c35ad7ebe9fbdc90cce00f557bf033422c1afe7d8e60c1339a3a91f988cc00",
    "2-suspension.json": "03c9e73e0755934e8f92f304f1b36bfd04276950e17568c14d8af4289850a62d",
    "2.jwt": "ee4f2a90bb3e0865d93974394ba22483203ca8ba656904fa1761b135bfa8e9d7",
    "3-revocation.json": "76558577be464651f9a23bdf81ab8c7fa952b67872c51cce026ac403bbdb3616",
    "3-suspension.json": "6d9b7568fbafe72b0b9ff9de6163745ac2d513a32a709fc80bb1204adbf67209",
    "3.jwt": "2a0b24d487edc6b6f52790c4bfdae977829b4e7c47c127d4d5ecdcd440e8804a",
}


def test_published_lists_match_the_pre_split_register(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    """Both backends publish byte for byte what the register published before the split."""
    # indices are drawn at random; draw them from a seeded generator so the files are fixed
    monkeypatch.setattr(secrets, "randbelow", random.Random(13).randrange)
    reg = make_register(tmp_path, size=8, bits=2, states=GOLDEN_STATES, where=target)
    try:
        files = published_files(reg, tmp_path / "out")
    finally:
        reg.close()
    digests = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    assert digests == GOLDEN


SEAM = {name for name in vars(IssuerRegister) if not name.startswith("_")}


class OnlyTheSeam:
    """A register reachable only through :class:`IssuerRegister`: what a second backend
    (PostgreSQL, issue 16) has to offer."""

    def __init__(self, register: Register) -> None:
        self._register = register

    def __getattr__(self, name: str) -> Any:
        if name not in SEAM:
            raise AttributeError(f"{name} is not part of the register seam")
        return getattr(self._register, name)


def test_both_registers_implement_the_seam(tmp_path: Path, target: str) -> None:
    reg = make_register(tmp_path, size=16, bits=2, states=["revoked"], where=target)
    try:
        assert isinstance(reg, IssuerRegister)
        assert {"reserve", "confirm", "revoke", "status_entries", "reconcile"} <= SEAM
        assert not isinstance(object(), IssuerRegister)
    finally:
        reg.close()


def test_publishing_needs_nothing_but_the_seam(tmp_path: Path, target: str) -> None:
    reg = make_register(
        tmp_path, size=16, bits=2, states=["revoked", "suspended", "valid"], where=target
    )
    try:
        with pytest.raises(AttributeError):
            _ = OnlyTheSeam(reg).integrity_check  # storage-specific: not in the seam
        files = publish(
            OnlyTheSeam(reg), KEY, ISS, tmp_path / "out", NOW, 3600, sign_bitstring=fake_proof
        )  # type: ignore[arg-type]
        got = {
            f.path.name: jwt_payload(f.path) if f.path.suffix == ".jwt" else f.path.read_bytes()
            for f in files
        }
        assert got == expected_files(reg)
    finally:
        reg.close()


def test_status_entries_of_an_unknown_list_are_refused(tmp_path: Path, target: str) -> None:
    reg = make_register(tmp_path, size=16, bits=2, states=["revoked"], where=target)
    try:
        with pytest.raises(PolicyError) as info:
            reg.status_entries(99)
        assert info.value.code == "status_list_unknown"
        assert set(reg.status_entries(1).values()) == {StatusType.INVALID}
    finally:
        reg.close()
