"""The shared test scheme (tests/scheme.py) is what the suite assumes it is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scheme import (
    CJIB_ORG,
    DATA,
    DUO_ORG,
    GEMEENTE_EINDHOVEN,
    PILOT,
    PILOT_NOW,
    STRANGER_ORG,
    Scheme,
)

from blauweknop import TrustError


def test_organisation_names_are_the_names_in_the_example_claims() -> None:
    # Claims are bound to the signer's trust-list name (issue 12.6).
    assert GEMEENTE_EINDHOVEN.claims()["municipality"]["name"] == GEMEENTE_EINDHOVEN.name
    assert GEMEENTE_EINDHOVEN.claims()["municipality"]["code"] == "GM0772"
    assert (
        GEMEENTE_EINDHOVEN.issuer_id
        == "urn:oin:" + GEMEENTE_EINDHOVEN.claims()["municipality"]["oin"]
    )
    for org in (CJIB_ORG, DUO_ORG):
        creditor = org.claims()["creditor"]
        assert creditor["name"] == org.name
        assert org.issuer_id == "urn:oin:" + creditor["oin"]


def test_pilot_scheme_lists_the_pilot_and_not_the_stranger(pilot_scheme: Scheme) -> None:
    s = pilot_scheme
    assert s.now == PILOT_NOW and s.cache is None and s.wallet is None and not s.issued
    assert sorted(s.trust.organisations) == sorted(o.issuer_id for o in PILOT)
    assert s.stranger.issuer_id not in s.trust.organisations
    assert s.stranger.issuer_id == STRANGER_ORG.issuer_id
    assert (s.root / "trust.jwt").read_text() == s.trust_jwt


def test_wallet_scheme_holds_the_pilot_credentials_with_status(
    pilot_wallet_scheme: Scheme,
) -> None:
    s = pilot_wallet_scheme
    assert s.wallet is not None and s.cache is not None
    assert sorted(s.issued) == ["cjib", "duo", "gem"]
    held = {c.issuer for c in s.wallet.credentials(now=PILOT_NOW)}
    assert held == {o.issuer_id for o in PILOT}
    # the cache holds every issuer's list: a verifier that fails closed on missing status
    # accepts the three credentials
    req = json.loads((DATA / "requests" / "hold-and-totals.json").read_text())
    vp = s.wallet.present(req, nonce="n", audience=CJIB_ORG.issuer_id, now=PILOT_NOW)
    res = s.verifier().verify(
        vp, nonce="n", audience=CJIB_ORG.issuer_id, request=req, now=PILOT_NOW
    )
    assert {c.issuer for c in res.credentials} == {o.issuer_id for o in PILOT}


def test_the_clock_is_the_injected_one(tmp_path: Path) -> None:
    s = Scheme.build(tmp_path, organisations=(CJIB_ORG,), now=PILOT_NOW, status_cache=False)
    # the trust list lives 30 days from the injected clock, whatever today is
    assert s.verified_trust(s.trust_jwt, now=PILOT_NOW + 29 * 86400).issuer
    with pytest.raises(TrustError) as e:
        s.verified_trust(s.trust_jwt, now=PILOT_NOW + 31 * 86400)
    assert e.value.code == "trust_list_expired"
