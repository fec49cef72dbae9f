"""Issue 13: the two encodings behind one format layer give the same answer, at the same
edge, with the same error code (specs/validity.md, specs/error-codes.md).

Every case is parametrized over both encodings: the same defect must give the same code.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from blauweknop import (
    HolderBindingError,
    Issuer,
    Key,
    StatusError,
    TrustList,
    ValidityError,
    Verifier,
    Wallet,
    build_trust_list,
)
from blauweknop.debt import DebtStatement
from blauweknop.formats import FORMATS, SD_JWT_VC, W3C_DI, format_for, format_of

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC).timestamp()
CJIB = "urn:oin:00000001003214345000"
NONCE, AUD = "n-0S6_WzA2Mj", "urn:oin:00000001003214345000"
LEEWAY = 60
#: encoding -> (issuer format keyword, request file)
ENCODINGS = {
    "dc+sd-jwt": ("sd-jwt", "outstanding-totals.json"),
    "ldp_vc": ("di", "outstanding-totals-di.json"),
}


def _json(path: Path) -> Any:
    return json.loads(path.read_text())


@dataclass
class World:
    issuer: Issuer
    trust: TrustList
    wallet: Wallet
    exp: dict[str, int]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    work = tmp_path_factory.mktemp("formats")
    anchor = Key.generate()
    cjib = Issuer.init(
        work / "cjib",
        issuer_id=CJIB,
        name="CJIB",
        roles=["creditor"],
        status_base_uri="https://status.cjib.example/bk",
    )
    token = build_trust_list([cjib.trust_entry()], anchor, valid_days=30, now=NOW)
    trust = TrustList.verify(token, anchor.public(), now=NOW)
    wallet = Wallet.create(work / "wallet", passphrase="formats tests", scrypt_n=2**10)
    data = DebtStatement.from_claims(_json(ROOT / "examples/data/debt-statement.json"))
    exp: dict[str, int] = {}
    for fmt, (option, _) in ENCODINGS.items():
        cred = cjib.issue(
            data,
            holder_jwk=wallet.holder_jwk(),
            format=option,
            now=NOW,
            valid_days=1,
            credential_id=f"CJIB-{option}",
        )
        assert cred.format == fmt
        wallet.add(cred.text, trust_list=trust, now=NOW)
        exp[fmt] = cred.valid_until
    yield World(cjib, trust, wallet, exp)
    wallet.close()


def _present(w: World, fmt: str, at: float) -> dict[str, list[Any]]:
    req = _json(ROOT / "examples/data/requests" / ENCODINGS[fmt][1])
    vp = w.wallet.present(req, nonce=NONCE, audience=AUD, now=at)
    (items,) = vp.values()
    assert format_of(items[0]).id == fmt
    return vp


def _verify(w: World, vp: Any, now: float, **kw: Any) -> Any:
    kw.setdefault("allow_missing_status", True)
    kw.setdefault("kb_max_age", 10 * 86400)
    return Verifier(w.trust, leeway=LEEWAY, **kw).verify(vp, nonce=NONCE, audience=AUD, now=now)


def test_the_table_holds_both_encodings_by_id() -> None:
    assert dict(FORMATS) == {"dc+sd-jwt": SD_JWT_VC, "ldp_vc": W3C_DI}
    assert format_for("ldp_vc") is W3C_DI
    assert format_of("a~b~") is SD_JWT_VC and format_of({}) is W3C_DI


@pytest.mark.parametrize("fmt", list(ENCODINGS))
def test_validity_end_is_exclusive_in_both_encodings(world: World, fmt: str) -> None:
    """Valid at valid_until + leeway - 1, expired at exactly valid_until + leeway."""
    vp = _present(world, fmt, world.exp[fmt] - 1)
    edge = world.exp[fmt] + LEEWAY
    result = _verify(world, vp, edge - 1)
    assert result.credentials[0].format == fmt
    with pytest.raises(ValidityError) as info:
        _verify(world, vp, edge)
    assert info.value.code == "expired"


@pytest.mark.parametrize("fmt", list(ENCODINGS))
def test_presentation_too_old_is_one_code(world: World, fmt: str) -> None:
    vp = _present(world, fmt, NOW)
    assert _verify(world, vp, NOW + 300, kb_max_age=300).credentials
    with pytest.raises(HolderBindingError) as info:
        _verify(world, vp, NOW + 301, kb_max_age=300)
    assert info.value.code == "presentation_too_old"


@pytest.mark.parametrize("fmt", list(ENCODINGS))
def test_presentation_from_the_future_is_one_code(world: World, fmt: str) -> None:
    vp = _present(world, fmt, NOW + 600)
    with pytest.raises(HolderBindingError) as info:
        _verify(world, vp, NOW)
    assert info.value.code == "presentation_in_future"


@pytest.mark.parametrize("fmt", list(ENCODINGS))
@pytest.mark.parametrize(
    ("nonce", "audience", "code"),
    [("other-nonce", AUD, "nonce_mismatch"), (NONCE, "urn:oin:other", "audience_mismatch")],
)
def test_nonce_and_audience_are_one_vocabulary(
    world: World, fmt: str, nonce: str, audience: str, code: str
) -> None:
    vp = _present(world, fmt, NOW)
    with pytest.raises(HolderBindingError) as info:
        Verifier(world.trust, allow_missing_status=True).verify(
            vp, nonce=nonce, audience=audience, now=NOW
        )
    assert info.value.code == code


@pytest.mark.parametrize("fmt", list(ENCODINGS))
def test_status_fails_closed_the_same_way(world: World, fmt: str) -> None:
    """No status source: rejected unless the caller allows missing status."""
    vp = _present(world, fmt, NOW)
    with pytest.raises(StatusError) as info:
        _verify(world, vp, NOW, allow_missing_status=False)
    assert info.value.code == "status_unavailable"
    assert _verify(world, vp, NOW).credentials[0].status == "not_checked"


def test_the_format_spells_the_pinned_context_urls_as_the_loader() -> None:
    from blauweknop import _di
    from blauweknop.formats import w3c_di

    assert (w3c_di.CREDENTIALS_V2, w3c_di.BLAUWEKNOP_V1) == (_di.CREDENTIALS_V2, _di.BLAUWEKNOP_V1)


def test_one_public_name_per_thing() -> None:
    """One ``StatusSource`` protocol and one ``StatusCache`` class; the base store of the
    status package has its own private name."""
    import blauweknop
    from blauweknop import _status, _verifier, _wallet, formats

    assert blauweknop.StatusSource is formats.StatusSource is _verifier.StatusSource
    assert _wallet.StatusSource is formats.StatusSource
    assert blauweknop.VerifiedCredential is formats.VerifiedCredential
    assert not hasattr(_status, "StatusCache") and not hasattr(_status, "StatusSource")
    assert issubclass(blauweknop.StatusCache, _status.StatusListStore)
