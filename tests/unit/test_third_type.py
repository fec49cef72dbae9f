"""Issue 13: a third credential type, registered through the public extension point only
(``load_profile`` + ``register_profile``), is issued, presented and verified in both
encodings. Nothing in ``src/blauweknop/`` knows the type: its type metadata, JSON Schema and
JSON-LD context (pinned by SHA-256) live in ``tests/unit/data/third-type/``."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from blauweknop import (
    ContextError,
    CredentialProfile,
    Issuer,
    Key,
    PolicyError,
    TrustError,
    TrustList,
    Verifier,
    Wallet,
    build_trust_list,
    load_profile,
    register_profile,
)
from blauweknop._model import CredentialModel
from blauweknop._profile import _forget

DATA = Path(__file__).parent / "data" / "third-type"
VCT = "urn:example:income-support-statement:1"
CONTEXT_URL = "https://example.org/income-support/v1"
CONTEXT_SHA256 = "124ef287b19aa609ef5abcebfe0e6c2eba96228cba6e7daa0cf8b3eb00030336"
TYPE_IRI = "https://example.org/income-support/vocab#IncomeSupportStatement"
NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC).timestamp()
GEM = "urn:oin:00000001001234567000"
NONCE, AUD = "n-third-1", "urn:oin:00000001003214345000"
CLAIMS = {
    "support_id": "GM0772-IS-0001",
    "support_kind": "bijstand",
    "monthly_amount": 123456,
    "recipient_name": "J. Jansen",
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class IncomeSupportStatement(CredentialModel):
    """The third type's model: four plain claims."""

    vct: ClassVar[str] = VCT
    support_id: str
    support_kind: str
    monthly_amount: int
    recipient_name: str


def _load(sha256: str = CONTEXT_SHA256) -> CredentialProfile:
    return load_profile(
        DATA / "income-support.json",
        contexts={CONTEXT_URL: (DATA / "income-support-v1.jsonld", sha256)},
        id_claim="support_id",
    )


@pytest.fixture(scope="module")
def registered() -> Iterator[CredentialProfile]:
    profile = register_profile(_load())
    yield profile
    _forget(VCT)


@dataclasses.dataclass
class World:
    issuer: Issuer
    trust: TrustList
    wallet: Wallet


@pytest.fixture(scope="module")
def world(
    registered: CredentialProfile, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    work = tmp_path_factory.mktemp("third-type")
    anchor = Key.generate()
    gem = Issuer.init(
        work / "gem",
        issuer_id=GEM,
        name="Gemeente Eindhoven",
        roles=["municipality"],
        status_base_uri="https://status.eindhoven.example/is",
    )
    token = build_trust_list([gem.trust_entry()], anchor, valid_days=30, now=NOW)
    trust = TrustList.verify(token, anchor.public(), now=NOW)
    wallet = Wallet.create(work / "wallet", passphrase="third type", scrypt_n=2**10)
    yield World(gem, trust, wallet)
    wallet.close()


REQUESTS: dict[str, dict[str, Any]] = {
    "dc+sd-jwt": {
        "id": "support",
        "format": "dc+sd-jwt",
        "meta": {"vct_values": [VCT]},
        "claims": [{"path": ["monthly_amount"]}],
    },
    "ldp_vc": {
        "id": "support",
        "format": "ldp_vc",
        "meta": {
            "type_values": [["https://www.w3.org/2018/credentials#VerifiableCredential", TYPE_IRI]]
        },
        "claims": [{"path": ["credentialSubject", "monthly_amount"]}],
    },
}


@pytest.mark.parametrize(("fmt", "option"), [("dc+sd-jwt", "sd-jwt"), ("ldp_vc", "di")])
def test_a_registered_third_type_issues_presents_and_verifies(
    world: World, fmt: str, option: str
) -> None:
    data = IncomeSupportStatement.from_claims({**CLAIMS, "support_id": f"GM0772-IS-{option}"})
    cred = world.issuer.issue(data, holder_jwk=world.wallet.holder_jwk(), format=option, now=NOW)
    assert (cred.format, cred.vct, cred.credential_id) == (fmt, VCT, f"GM0772-IS-{option}")
    if fmt == "ldp_vc":
        assert CONTEXT_URL in cred.text  # the credential names the type's own context
    added = world.wallet.add(cred.text, trust_list=world.trust, now=NOW)
    assert added.credential.vct == VCT and added.credential.usable

    request = {"credentials": [REQUESTS[fmt]]}
    vp = world.wallet.present(request, nonce=NONCE, audience=AUD, now=NOW + 5)
    result = Verifier(world.trust, allow_missing_status=True).verify(
        vp, nonce=NONCE, audience=AUD, request=request, now=NOW + 10
    )
    (got,) = result.credentials
    assert (got.format, got.vct, got.issuer) == (fmt, VCT, GEM)
    # the never-disclosable claims are always shown, the asked one disclosed, the rest withheld
    assert dict(got.claims) == {
        "support_id": f"GM0772-IS-{option}",
        "support_kind": "bijstand",
        "monthly_amount": 123456,
    }


def test_the_type_issues_only_from_its_roles(world: World, tmp_path: Path) -> None:
    creditor = Issuer.init(
        tmp_path / "cjib",
        issuer_id="urn:oin:00000001003214345000",
        name="CJIB",
        roles=["creditor"],
    )
    with pytest.raises(TrustError) as info:
        creditor.issue(
            IncomeSupportStatement.from_claims(CLAIMS),
            holder_jwk=world.wallet.holder_jwk(),
            now=NOW,
        )
    assert info.value.code == "untrusted_issuer"


def test_a_context_that_does_not_match_its_pin_is_refused() -> None:
    with pytest.raises(ContextError) as info:
        _load(sha256="0" * 64)
    assert info.value.code == "context_pin_mismatch"


def test_a_type_cannot_take_another_types_names(registered: CredentialProfile) -> None:
    from blauweknop import get_profile

    with pytest.raises(PolicyError) as info:
        register_profile(dataclasses.replace(registered, name="other"))
    assert info.value.code == "profile_conflict"
    clash = dataclasses.replace(
        registered, vct="urn:example:clash:1", w3c_type="DebtStatement", contexts={}
    )
    with pytest.raises(PolicyError) as info:
        register_profile(clash)
    assert info.value.code == "profile_conflict"
    assert register_profile(registered) is get_profile(VCT)  # the same again changes nothing


def test_installed_types_register_through_the_entry_point_without_being_imported() -> None:
    """``import blauweknop`` does not import ``rodeknop_vc``; the first profile lookup runs
    the ``blauweknop.profiles`` entry points, which attach the declaration's overview rule."""
    import subprocess
    import sys

    code = (
        "import sys, blauweknop\n"
        "assert 'rodeknop_vc' not in sys.modules\n"
        "p = blauweknop.get_profile(blauweknop.RODE_KNOP_VCT)\n"
        "print(p.overview.__module__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "rodeknop_vc._wallet_rules"
