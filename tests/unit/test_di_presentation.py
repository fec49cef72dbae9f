"""Holder-signed presentations: challenge = nonce, domain = audience, holder = did:jwk.

Expected results: a presentation of derived credentials verifies for the right challenge and
domain and returns the credentials, which then verify on their own; a wrong challenge or
domain, a proof by another key, a stale proof or a changed credential is refused with the
stated code.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from blauweknop import HolderBindingError, Key, MalformedError, SignatureError, did_jwk
from blauweknop._di import (
    BLAUWEKNOP_V1,
    CREDENTIALS_V2,
    add_base_proof_sd,
    add_proof,
    derive_proof_sd,
    sign_presentation,
    verify_presentation,
    verify_proof,
)

ISSUER = Key.generate("ES256")
NONCE = "n-3f9a1c"
AUDIENCE = "https://incasso.creditor.example"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _credential(holder: Key) -> dict[str, Any]:
    doc = {
        "@context": [CREDENTIALS_V2, BLAUWEKNOP_V1],
        "type": ["VerifiableCredential", "DebtStatement"],
        "issuer": "urn:oin:00000001003214345000",
        "validFrom": "2025-12-01T00:00:00Z",
        "validUntil": "2026-12-31T00:00:00Z",
        "credentialSubject": {
            "id": did_jwk(holder),
            "creditor": {"name": "DUO", "oin": "00000001800866472000"},
            "statement_id": "duo-1",
            "totals": {"outstanding": 120000, "imposed": 150000},
            "subject": {"family_name": "Jansen", "bsn": "123456782"},
        },
    }
    signed = add_base_proof_sd(
        doc,
        ISSUER,
        verification_method="urn:oin:00000001800866472000#k1",
        mandatory_pointers=["/issuer", "/validFrom", "/validUntil", "/credentialSubject/id"],
    )
    return derive_proof_sd(signed, ["/credentialSubject/totals/outstanding"])


def _present(holder: Key, creds: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    kw.setdefault("created", NOW)
    return sign_presentation(creds, holder, challenge=NONCE, domain=AUDIENCE, **kw)


@pytest.mark.parametrize(
    ("alg", "suite"), [("ES256", "ecdsa-rdfc-2019"), ("EdDSA", "eddsa-rdfc-2022")]
)
def test_present_and_verify(alg: str, suite: str, no_network: list[Any]) -> None:
    holder = Key.generate(alg)
    cred = _credential(holder)
    vp = _present(holder, [cred])
    assert vp["holder"] == did_jwk(holder)
    assert vp["proof"]["cryptosuite"] == suite
    assert vp["proof"]["verificationMethod"] == did_jwk(holder) + "#0"
    assert vp["proof"]["proofPurpose"] == "authentication"
    creds = verify_presentation(vp, challenge=NONCE, domain=AUDIENCE, now=NOW)
    assert creds == [cred]
    shown = verify_proof(creds[0], resolve_key=lambda vm: ISSUER.public(), now=NOW)
    assert shown.document["credentialSubject"]["totals"] == {"outstanding": 120000}
    assert "subject" not in shown.document["credentialSubject"]


def test_several_credentials() -> None:
    holder = Key.generate("ES256")
    creds = [_credential(holder), _credential(holder)]
    assert (
        verify_presentation(_present(holder, creds), challenge=NONCE, domain=AUDIENCE, now=NOW)
        == creds
    )


def test_wrong_challenge_or_domain() -> None:
    holder = Key.generate("ES256")
    vp = _present(holder, [_credential(holder)])
    with pytest.raises(HolderBindingError) as e:
        verify_presentation(vp, challenge="n-other", domain=AUDIENCE, now=NOW)
    assert e.value.code == "challenge_mismatch"
    with pytest.raises(HolderBindingError) as e:
        verify_presentation(vp, challenge=NONCE, domain="https://other.example", now=NOW)
    assert e.value.code == "domain_mismatch"
    with pytest.raises(HolderBindingError) as e:
        verify_presentation(vp, challenge="", domain=AUDIENCE, now=NOW)
    assert e.value.code == "challenge_missing"


def test_proof_by_another_key_is_refused() -> None:
    victim, thief = Key.generate("ES256"), Key.generate("ES256")
    vp = _present(thief, [_credential(victim)])
    forged = copy.deepcopy(vp)
    forged["holder"] = did_jwk(victim)
    with pytest.raises(HolderBindingError) as e:
        verify_presentation(forged, challenge=NONCE, domain=AUDIENCE, now=NOW)
    assert e.value.code == "holder_mismatch"
    forged["proof"]["verificationMethod"] = did_jwk(victim) + "#0"
    with pytest.raises(SignatureError) as e2:
        verify_presentation(forged, challenge=NONCE, domain=AUDIENCE, now=NOW)
    assert e2.value.code == "signature_invalid"
    with pytest.raises(HolderBindingError) as e:
        sign_presentation([], thief, challenge=NONCE, domain=AUDIENCE, holder=did_jwk(victim))
    assert e.value.code == "holder_key_mismatch"


def test_other_verification_method_fragment_is_refused() -> None:
    holder = Key.generate("ES256")
    vp = _present(holder, [])
    vp["proof"]["verificationMethod"] = did_jwk(holder) + "#1"
    with pytest.raises(HolderBindingError) as e:
        verify_presentation(vp, challenge=NONCE, domain=AUDIENCE, now=NOW)
    assert e.value.code == "holder_mismatch"


def test_changed_credential_inside_the_presentation_is_refused() -> None:
    holder = Key.generate("ES256")
    vp = _present(holder, [_credential(holder)])
    vp["verifiableCredential"][0]["credentialSubject"]["totals"]["outstanding"] = 1
    with pytest.raises(SignatureError) as e:
        verify_presentation(vp, challenge=NONCE, domain=AUDIENCE, now=NOW)
    assert e.value.code == "signature_invalid"


def test_stale_presentation_is_refused() -> None:
    holder = Key.generate("ES256")
    vp = _present(holder, [])
    later = datetime(2026, 1, 1, 12, 10, tzinfo=UTC)
    with pytest.raises(HolderBindingError) as e:
        verify_presentation(vp, challenge=NONCE, domain=AUDIENCE, now=later)
    assert e.value.code == "presentation_too_old"
    assert verify_presentation(vp, challenge=NONCE, domain=AUDIENCE, now=later, max_age=900) == []


def test_presentation_without_created_is_refused() -> None:
    holder = Key.generate("ES256")
    vp = add_proof(
        {
            "@context": [CREDENTIALS_V2],
            "type": ["VerifiablePresentation"],
            "holder": did_jwk(holder),
        },
        holder,
        cryptosuite="ecdsa-rdfc-2019",
        verification_method=did_jwk(holder) + "#0",
        proof_purpose="authentication",
        challenge=NONCE,
        domain=AUDIENCE,
    )
    with pytest.raises(HolderBindingError) as e:
        verify_presentation(vp, challenge=NONCE, domain=AUDIENCE, now=NOW)
    assert e.value.code == "proof_created_missing"


def test_assertion_proof_is_not_a_presentation_proof() -> None:
    holder = Key.generate("ES256")
    vp = add_proof(
        {
            "@context": [CREDENTIALS_V2],
            "type": ["VerifiablePresentation"],
            "holder": did_jwk(holder),
        },
        holder,
        cryptosuite="ecdsa-rdfc-2019",
        verification_method=did_jwk(holder) + "#0",
        created=NOW,
        challenge=NONCE,
        domain=AUDIENCE,
    )
    with pytest.raises(SignatureError) as e:
        verify_presentation(vp, challenge=NONCE, domain=AUDIENCE, now=NOW)
    assert e.value.code == "proof_purpose_mismatch"


@pytest.mark.parametrize(
    "change",
    [
        lambda vp: vp.update({"@context": [BLAUWEKNOP_V1, CREDENTIALS_V2]}),
        lambda vp: vp.update(type=["VerifiableCredential"]),
        lambda vp: vp.update(holder="urn:example:holder"),
        lambda vp: vp["proof"].update(cryptosuite="ecdsa-sd-2023"),
    ],
)
def test_malformed_presentations(change: Any) -> None:
    holder = Key.generate("ES256")
    vp = _present(holder, [])
    change(vp)
    with pytest.raises((MalformedError, HolderBindingError, SignatureError)):
        verify_presentation(vp, challenge=NONCE, domain=AUDIENCE, now=NOW)
