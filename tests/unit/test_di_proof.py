"""ecdsa-rdfc-2019 / eddsa-rdfc-2022 proofs and the checks of VC-DATA-INTEGRITY 4.4.

Expected results: round trips for P-256, P-384 and Ed25519; every listed deviation refused
with its code: wrong challenge/domain (``HolderBindingError``), wrong purpose, wrong key or
key type, tampered document or proof option (``SignatureError``), time window
(``ValidityError``), malformed proof objects (``MalformedError``); a resolver's
:class:`TrustError` passes through.
"""

from __future__ import annotations

import copy
import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from blauweknop import (
    HolderBindingError,
    Key,
    MalformedError,
    SignatureError,
    TrustError,
    ValidityError,
)
from blauweknop._di import (
    BLAUWEKNOP_V1,
    CREDENTIALS_V2,
    VerifiedProof,
    add_proof,
    key_from_multikey,
    multikey_from_key,
    verify_proof,
)
from blauweknop._di._common import parse_datetime

VM = "urn:oin:00000001003214345000#key-1"
NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z

DOC: dict[str, Any] = {
    "@context": [CREDENTIALS_V2, BLAUWEKNOP_V1],
    "type": ["VerifiableCredential", "PaymentIncapacityDeclaration"],
    "issuer": "urn:oin:00000001001234567000",
    "validFrom": "2025-12-01T00:00:00Z",
    "validUntil": "2026-04-01T00:00:00Z",
    "credentialSubject": {
        "id": "urn:example:holder",
        "declaration_id": "rk-2025-42",
        "municipality": {
            "name": "Gemeente Eindhoven",
            "code": "GM0772",
            "oin": "00000001001234567000",
        },
        "executing_organisation": {"name": "Schuldhulp Eindhoven"},
        "payment_incapacity": True,
        "admitted_to_debt_relief": True,
        "trajectory_start": "2025-12-01",
        "valid_from": "2025-12-01",
        "valid_until": "2026-04-01",
        "requested_measures": ["suspend_collection", "no_additional_costs"],
        "counsellor": {
            "organisation_phone": "040 123 4567",
            "organisation_email": "shv@eindhoven.example",
        },
        "court_moratorium": {"active": False},
        "subject": {
            "family_name": "Jansen",
            "given_names": "Jan",
            "birthdate": "1980-05-17",
            "address": {
                "street": "Markt",
                "house_number": "1",
                "postal_code": "5611 EB",
                "city": "Eindhoven",
            },
        },
    },
}


def _suite(key: Key) -> str:
    return "eddsa-rdfc-2022" if key.crv == "Ed25519" else "ecdsa-rdfc-2019"


def _sign(key: Key, **options: Any) -> dict[str, Any]:
    return add_proof(
        DOC,
        key,
        cryptosuite=_suite(key),
        verification_method=VM,
        created="2025-12-01T09:00:00Z",
        **options,
    )


def _verify(doc: dict[str, Any], key: Key, **options: Any) -> VerifiedProof:
    options.setdefault("now", NOW)
    return verify_proof(doc, resolve_key=lambda vm: key.public(), **options)


@pytest.mark.parametrize("alg", ["ES256", "ES384", "EdDSA"])
def test_round_trip(alg: str) -> None:
    key = Key.generate(alg)
    signed = _sign(key)
    result = _verify(signed, key)
    assert result.cryptosuite == _suite(key)
    assert result.purpose == "assertionMethod"
    assert result.verification_method == VM
    assert result.created == datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
    assert result.document == DOC
    assert not result.is_base_proof
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.purpose = "x"  # type: ignore[misc]


def test_ecdsa_signatures_are_deterministic() -> None:
    key = Key.generate("ES256")
    assert _sign(key) == _sign(key)


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_tampered_claim_is_refused(alg: str) -> None:
    key = Key.generate(alg)
    signed = _sign(key)
    signed["credentialSubject"]["subject"]["birthdate"] = "1981-05-17"
    with pytest.raises(SignatureError) as e:
        _verify(signed, key)
    assert e.value.code == "signature_invalid"


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("created", "2025-12-01T09:00:01Z"),
        ("verificationMethod", "urn:oin:00000001003214345000#key-2"),
        ("proofPurpose", "authentication"),
    ],
)
def test_tampered_proof_option_is_refused(member: str, value: str) -> None:
    key = Key.generate("ES256")
    signed = _sign(key)
    signed["proof"][member] = value
    with pytest.raises(SignatureError):
        _verify(signed, key, expected_purpose=None)


def test_wrong_key_and_key_type() -> None:
    key = Key.generate("ES256")
    signed = _sign(key)
    with pytest.raises(SignatureError) as e:
        _verify(signed, Key.generate("ES256"))
    assert e.value.code == "signature_invalid"
    with pytest.raises(SignatureError) as e:
        _verify(signed, Key.generate("EdDSA"))
    assert e.value.code == "key_invalid"
    with pytest.raises(SignatureError) as e:
        add_proof(DOC, key, cryptosuite="eddsa-rdfc-2022", verification_method=VM)
    assert e.value.code == "key_invalid"


def test_p384_signature_under_p256_key_is_refused() -> None:
    key = Key.generate("ES384")
    signed = _sign(key)
    with pytest.raises(SignatureError):
        _verify(signed, Key.generate("ES256"))


def test_resolver_receives_the_verification_method_and_trust_errors_pass() -> None:
    key = Key.generate("ES256")
    signed = _sign(key)
    seen: list[str] = []

    def resolver(vm: str) -> Key:
        seen.append(vm)
        raise TrustError("untrusted_issuer", "not on the trust list")

    with pytest.raises(TrustError) as e:
        verify_proof(signed, resolve_key=resolver, now=NOW)
    assert e.value.code == "untrusted_issuer"
    assert seen == [VM]


def test_challenge_and_domain() -> None:
    key = Key.generate("ES256")
    signed = _sign(key, challenge="nonce-123", domain="https://creditor.example")
    _verify(signed, key, challenge="nonce-123", domain="https://creditor.example")
    with pytest.raises(HolderBindingError) as e:
        _verify(signed, key, challenge="nonce-124")
    assert e.value.code == "challenge_mismatch"
    with pytest.raises(HolderBindingError) as e:
        _verify(signed, key, domain="https://other.example")
    assert e.value.code == "domain_mismatch"
    unbound = _sign(key)
    with pytest.raises(HolderBindingError) as e:
        _verify(unbound, key, challenge="nonce-123")
    assert e.value.code == "challenge_mismatch"
    with pytest.raises(HolderBindingError) as e:
        _verify(unbound, key, domain="https://creditor.example")
    assert e.value.code == "domain_mismatch"
    # changing the challenge in the document breaks the signature
    replay = copy.deepcopy(signed)
    replay["proof"]["challenge"] = "nonce-999"
    with pytest.raises(SignatureError):
        _verify(replay, key, challenge="nonce-999")


def test_domain_as_a_set() -> None:
    key = Key.generate("ES256")
    signed = add_proof(DOC, key, cryptosuite="ecdsa-rdfc-2019", verification_method=VM)
    signed["proof"]["domain"] = ["a.example", "b.example"]
    with pytest.raises(HolderBindingError):
        _verify(signed, key, domain="a.example")
    with pytest.raises(SignatureError):  # domain set matches, but it was not signed
        _verify(signed, key, domain=["b.example", "a.example"])


def test_purpose() -> None:
    key = Key.generate("ES256")
    signed = add_proof(
        DOC,
        key,
        cryptosuite="ecdsa-rdfc-2019",
        verification_method=VM,
        proof_purpose="authentication",
    )
    with pytest.raises(SignatureError) as e:
        _verify(signed, key)
    assert e.value.code == "proof_purpose_mismatch"
    assert _verify(signed, key, expected_purpose="authentication").purpose == "authentication"


def test_time_checks() -> None:
    key = Key.generate("ES256")
    signed = _sign(key, expires="2026-02-01T00:00:00Z")
    _verify(signed, key)
    with pytest.raises(ValidityError) as e:
        _verify(signed, key, now=datetime(2026, 3, 1, tzinfo=UTC))
    assert e.value.code == "proof_expired"
    with pytest.raises(ValidityError) as e:
        _verify(_sign(key), key, now=datetime(2026, 5, 1, tzinfo=UTC))
    assert e.value.code == "expired"
    with pytest.raises(ValidityError) as e:
        _verify(_sign(key), key, now=datetime(2025, 12, 1, 8, 0, tzinfo=UTC))
    assert e.value.code == "created_in_future"
    # leeway absorbs clock skew
    _verify(_sign(key), key, now=datetime(2025, 12, 1, 8, 59, 30, tzinfo=UTC))


def test_not_yet_valid() -> None:
    key = Key.generate("ES256")
    doc = {**DOC, "validFrom": "2026-02-01T00:00:00Z"}
    signed = add_proof(doc, key, cryptosuite="ecdsa-rdfc-2019", verification_method=VM)
    with pytest.raises(ValidityError) as e:
        _verify(signed, key)
    assert e.value.code == "not_yet_valid"


@pytest.mark.parametrize(
    "value", ["2025-13-01T00:00:00Z", "2025-12-01", "yesterday", "2025-12-01T25:00:00Z", 17]
)
def test_malformed_datetimes(value: Any) -> None:
    with pytest.raises(MalformedError) as e:
        parse_datetime(value, "created")
    assert e.value.code == "malformed_datetime"


def test_datetime_forms() -> None:
    assert parse_datetime("2025-12-01T09:00:00.123456789+02:00", "x") == datetime(
        2025, 12, 1, 7, 0, 0, 123456, tzinfo=UTC
    )
    assert parse_datetime("2025-12-01T09:00:00", "x").tzinfo is not None  # read as UTC


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda p: p.pop("proofValue"), "proof_malformed"),
        (lambda p: p.pop("verificationMethod"), "proof_malformed"),
        (lambda p: p.pop("proofPurpose"), "proof_malformed"),
        (lambda p: p.update(proofValue=17), "proof_malformed"),
        (lambda p: p.update(challenge=["a"]), "proof_malformed"),
        (lambda p: p.update(proofValue="u" + "A" * 86), "proof_value_malformed"),
        (lambda p: p.update(proofValue="z0OIl"), "malformed_multibase"),
    ],
)
def test_malformed_proofs(change: Any, code: str) -> None:
    key = Key.generate("ES256")
    signed = _sign(key)
    change(signed["proof"])
    with pytest.raises(MalformedError) as e:
        _verify(signed, key)
    assert e.value.code in (code, "proof_value_malformed"), e.value


def test_missing_proof() -> None:
    with pytest.raises(MalformedError) as e:
        _verify(copy.deepcopy(DOC), Key.generate("ES256"))
    assert e.value.code == "proof_missing"
    with pytest.raises(MalformedError):
        verify_proof([], resolve_key=lambda vm: Key.generate())  # type: ignore[arg-type]


def test_signature_length_checked() -> None:
    key = Key.generate("ES256")
    signed = _sign(key)
    signed["proof"]["proofValue"] = signed["proof"]["proofValue"][:-2]
    with pytest.raises(SignatureError):
        _verify(signed, key)


def test_add_proof_refuses_sd_and_unknown_suites() -> None:
    key = Key.generate("ES256")
    for suite in ("ecdsa-sd-2023", "ecdsa-jcs-2019", "none"):
        with pytest.raises(SignatureError) as e:
            add_proof(DOC, key, cryptosuite=suite, verification_method=VM)
        assert e.value.code == "cryptosuite_not_supported"


class _HsmLikeSigner:
    """A Signer that is not a Key (think HSM): randomised ECDSA, no private bytes."""

    def __init__(self) -> None:
        self._key = Key.generate("ES256")

    @property
    def alg(self) -> str:
        return "ES256"

    @property
    def kid(self) -> str:
        return self._key.kid

    def public_jwk(self) -> dict[str, str]:
        return self._key.public_jwk()

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)


def test_signer_protocol_is_accepted() -> None:
    signer = _HsmLikeSigner()
    signed = add_proof(DOC, signer, cryptosuite="ecdsa-rdfc-2019", verification_method=VM)
    verify_proof(signed, resolve_key=lambda vm: Key.from_jwk(signer.public_jwk()), now=NOW)


@pytest.mark.parametrize("alg", ["ES256", "ES384", "EdDSA"])
def test_multikey_round_trip(alg: str) -> None:
    key = Key.generate(alg)
    assert key_from_multikey(multikey_from_key(key)) == key.public()


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (
            lambda d: d["credentialSubject"].update(declaration_id=float("nan")),
            "malformed_document",
        ),
        (lambda d: d["credentialSubject"].update(declaration_id="\ud800"), "malformed_document"),
        (lambda d: d["credentialSubject"].update({1: "x"}), "malformed_document"),
        (lambda d: d["credentialSubject"].update(declaration_id=object()), "malformed_document"),
        (lambda d: d["credentialSubject"].update(declaration_id="x" * 300_000), "too_large"),
    ],
)
def test_documents_must_be_plain_bounded_json(change: Any, code: str) -> None:
    key = Key.generate("ES256")
    doc = copy.deepcopy(DOC)
    change(doc)
    with pytest.raises(MalformedError) as e:
        add_proof(doc, key, cryptosuite="ecdsa-rdfc-2019", verification_method=VM)
    assert e.value.code == code
    signed = _sign(key)
    change(signed)
    with pytest.raises(MalformedError) as e:
        _verify(signed, key)
    assert e.value.code == code
