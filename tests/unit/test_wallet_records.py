"""Wallet records on disk stay compatible (issue 13): a wallet written before the format
layer and the typed records opens, lists, presents and verifies in both encodings."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from blauweknop import Key, TrustList, Verifier, Wallet
from blauweknop.formats import format_of

DATA = Path(__file__).parent / "data" / "wallet-before-issue-13"
ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC).timestamp()
AUD, NONCE = "urn:oin:00000001003214345000", "n-records-1"


@pytest.fixture
def old_wallet(tmp_path: Path) -> Path:
    target = tmp_path / "wallet"
    shutil.copytree(DATA / "wallet", target)
    # git keeps no 0600 modes: a fresh checkout has 0644 files, which the store refuses
    target.chmod(0o700)
    for f in target.iterdir():
        f.chmod(0o600)
    return target


def _trust() -> TrustList:
    anchor = Key.from_jwk(json.loads((DATA / "anchor.jwk").read_text()))
    return TrustList.verify((DATA / "trust-list.jwt").read_text(), anchor, now=NOW + 86400)


def test_an_old_wallet_lists_its_credentials(old_wallet: Path) -> None:
    with Wallet.open(old_wallet, passphrase="fixture wallet") as w:
        creds = w.credentials(now=NOW + 86400)
        assert sorted((c.format, c.vct, c.state) for c in creds) == [
            ("dc+sd-jwt", "urn:blauweknop:debt-statement:1", "active"),
            ("dc+sd-jwt", "urn:rodeknop:payment-incapacity-declaration:1", "active"),
            ("ldp_vc", "urn:blauweknop:debt-statement:1", "active"),
            ("ldp_vc", "urn:rodeknop:payment-incapacity-declaration:1", "active"),
        ]
        for c in creds:
            assert c.claims and "id" not in c.claims
        overview = w.overview(now=NOW + 86400)
        assert len(overview.creditors) == 1 and overview.pause is not None


@pytest.mark.parametrize(
    ("request_file", "fmt"),
    [("outstanding-totals.json", "dc+sd-jwt"), ("outstanding-totals-di.json", "ldp_vc")],
)
def test_an_old_wallet_presents_what_verifies(
    old_wallet: Path, request_file: str, fmt: str
) -> None:
    req = json.loads((ROOT / "examples/data/requests" / request_file).read_text())
    at = NOW + 86400
    with Wallet.open(old_wallet, passphrase="fixture wallet") as w:
        vp = w.present(req, nonce=NONCE, audience=AUD, now=at)
        (items,) = vp.values()
        assert {format_of(p).id for p in items} == {fmt}
        result = Verifier(_trust(), allow_missing_status=True).verify(
            vp, nonce=NONCE, audience=AUD, request=req, now=at
        )
        assert [c.format for c in result.credentials] == [fmt]
        # the presentation count was written back and the wallet still opens
    with Wallet.open(old_wallet, passphrase="fixture wallet") as w:
        assert len(w.credentials(now=at)) == 4


def test_typed_records_round_trip_the_stored_json_exactly(old_wallet: Path) -> None:
    import dataclasses

    from blauweknop.formats import WalletRecord

    with Wallet.open(old_wallet, passphrase="fixture wallet") as w:
        stored = list(w._store.items("credential"))
    assert len(stored) == 4
    for _, obj in stored:
        rec = WalletRecord.from_json(obj)
        assert rec.to_json() == obj
        with pytest.raises(dataclasses.FrozenInstanceError):
            rec.state = "revoked"  # type: ignore[misc]


def test_an_unreadable_record_is_storage_corrupt() -> None:
    from blauweknop import StorageError
    from blauweknop.formats import WalletRecord

    with pytest.raises(StorageError) as info:
        WalletRecord.from_json({"format": "dc+sd-jwt", "vct": "x"})
    assert info.value.code == "storage_corrupt"
