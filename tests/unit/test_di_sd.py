"""ecdsa-sd-2023 on our own credentials: issue, derive, verify, and every tampering refused.

Expected results: a derived debt statement verifies and shows exactly the mandatory and the
selected claims; a tampered statement or reordered signatures give ``signature_invalid``; an
extra or missing signature ``signature_count_mismatch``; a mandatory claim removed from the
reveal document a disclosure error; a base proof that does not fit its document
``mandatory_pointer_missing``; a resolver's :class:`TrustError` passes through unchanged.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from blauweknop import (
    DisclosureError,
    Key,
    MalformedError,
    SignatureError,
    TrustError,
    ValidityError,
    did_jwk,
)
from blauweknop._codec import b64u_decode
from blauweknop._di import (
    BLAUWEKNOP_V1,
    CREDENTIALS_V2,
    add_base_proof_sd,
    add_proof,
    derive_proof_sd,
    verify_proof,
)
from blauweknop._di._sd import (
    DerivedProofValue,
    parse_derived_proof_value,
    serialize_derived_proof_value,
)

ISSUER = Key.generate("ES256")
HOLDER = Key.generate("ES256")
VM = "urn:oin:00000001003214345000#key-1"
NOW = 1_767_225_600.0  # 2026-01-01

MANDATORY = [
    "/issuer",
    "/validFrom",
    "/validUntil",
    "/credentialSubject/id",
    "/credentialSubject/creditor",
    "/credentialSubject/statement_id",
    "/credentialSubject/balance_at",
    "/credentialSubject/is_complete",
    "/credentialSubject/contact",
]


def debt_statement(holder: Key = HOLDER, cases: int = 2) -> dict[str, Any]:
    """A debt statement with every field of DOMAIN.md (about 20 claims plus cases)."""
    return {
        "@context": [CREDENTIALS_V2, BLAUWEKNOP_V1],
        "id": "urn:uuid:0b1c7a52-8d58-4b8f-9b55-3f0e4b0b2f10",
        "type": ["VerifiableCredential", "DebtStatement"],
        "issuer": "urn:oin:00000001003214345000",
        "validFrom": "2025-12-01T00:00:00Z",
        "validUntil": "2026-12-31T00:00:00Z",
        "credentialSubject": {
            "id": did_jwk(holder),
            "creditor": {"name": "CJIB", "oin": "00000001003214345000", "code": "CJIB"},
            "statement_id": "st-2025-0001",
            "balance_at": "2025-12-01T08:00:00Z",
            "is_complete": True,
            "contact": {"phone": "+31 58 123 4567", "email": "info@cjib.example"},
            "currency": "EUR",
            "subject": {
                "family_name": "Jansen",
                "given_names": "Jan Piet",
                "birthdate": "1980-05-17",
                "bsn": "123456782",
            },
            "totals": {
                "imposed": 50000,
                "settled": 25000,
                "outstanding": 25000,
                "in_arrears": 12000,
                "number_of_cases": cases,
            },
            "cases": [
                {
                    "case_reference": f"CJIB-2025-{i:04d}",
                    "obligation_type": "verkeersboete",
                    "description": "Snelheidsovertreding",
                    "imposed_at": "2025-03-01",
                    "amount_imposed": 25000,
                    "amount_outstanding": 12500,
                    "components": [
                        {"category": "principal", "amount": 20000},
                        {"category": "surcharge", "amount": 5000},
                    ],
                    "collection_stage": "reminder",
                    "due_date": "2025-06-01",
                }
                for i in range(cases)
            ],
            "arrangement": {
                "type": "standaard",
                "start_date": "2025-07-01",
                "installment_amount": 2500,
                "number_of_installments": 10,
                "installments_paid": 3,
                "status": "active",
            },
            "collection_hold": {"active": False},
        },
    }


def _issue(doc: dict[str, Any] | None = None, mandatory: list[str] | None = None) -> dict[str, Any]:
    return add_base_proof_sd(
        doc or debt_statement(),
        ISSUER,
        verification_method=VM,
        mandatory_pointers=MANDATORY if mandatory is None else mandatory,
        created="2025-12-01T08:00:00Z",
    )


SIGNED = _issue()


def _verify(doc: dict[str, Any], key: Key = ISSUER) -> Any:
    return verify_proof(doc, resolve_key=lambda vm: key.public(), now=NOW)


def _derived(selective: list[str] | None = None) -> dict[str, Any]:
    return derive_proof_sd(
        SIGNED, selective if selective is not None else ["/credentialSubject/totals/outstanding"]
    )


def _rewrite(doc: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """Re-serialize a derived proof value with some components changed."""
    parsed = parse_derived_proof_value(doc["proof"]["proofValue"])
    fields = {
        "base_signature": parsed.base_signature,
        "public_key": parsed.public_key,
        "signatures": list(parsed.signatures),
        "label_map": dict(parsed.label_map),
        "mandatory_indexes": list(parsed.mandatory_indexes),
    }
    fields.update(changes)
    out = copy.deepcopy(doc)
    out["proof"]["proofValue"] = serialize_derived_proof_value(DerivedProofValue(**fields))
    return out


def test_base_proof_verifies_as_issued() -> None:
    result = _verify(SIGNED)
    assert result.is_base_proof
    assert result.cryptosuite == "ecdsa-sd-2023"
    assert result.document == debt_statement()


def test_derived_shows_mandatory_and_selected_only() -> None:
    derived = _derived(
        ["/credentialSubject/totals/outstanding", "/credentialSubject/subject/birthdate"]
    )
    cs = derived["credentialSubject"]
    assert cs["totals"] == {"outstanding": 25000}
    assert cs["subject"] == {"birthdate": "1980-05-17"}
    assert "cases" not in cs and "arrangement" not in cs and "currency" not in cs
    result = _verify(derived)
    assert not result.is_base_proof
    assert result.document["credentialSubject"] == cs
    assert result.verification_method == VM
    assert result.created is not None and result.created.year == 2025


def test_one_case_of_several_can_be_shown() -> None:
    derived = _derived(["/credentialSubject/cases/1/amount_outstanding"])
    assert derived["credentialSubject"]["cases"] == [{"amount_outstanding": 12500}]
    _verify(derived)
    whole = _derived(["/credentialSubject/cases/0"])
    assert whole["credentialSubject"]["cases"] == [
        debt_statement()["credentialSubject"]["cases"][0]
    ]
    _verify(whole)


def test_nothing_selective_shows_the_mandatory_claims() -> None:
    derived = derive_proof_sd(SIGNED, [])
    assert set(derived["credentialSubject"]) == {
        "id", "creditor", "statement_id", "balance_at", "is_complete", "contact"
    }  # fmt: skip
    _verify(derived)


def test_tampered_statement_is_refused() -> None:
    derived = _derived()
    derived["credentialSubject"]["totals"]["outstanding"] = 1
    with pytest.raises(SignatureError) as e:
        _verify(derived)
    assert e.value.code == "signature_invalid"


def test_tampered_mandatory_statement_is_refused() -> None:
    derived = _derived()
    derived["credentialSubject"]["creditor"]["name"] = "Other creditor"
    with pytest.raises(SignatureError) as e:
        _verify(derived)
    assert e.value.code == "signature_invalid"


def test_reordered_signatures_are_refused() -> None:
    derived = _derived(["/credentialSubject/totals/outstanding", "/credentialSubject/subject"])
    sigs = parse_derived_proof_value(derived["proof"]["proofValue"]).signatures
    assert len(sigs) >= 2
    with pytest.raises(SignatureError) as e:
        _verify(_rewrite(derived, signatures=[sigs[1], sigs[0], *sigs[2:]]))
    assert e.value.code == "signature_invalid"


def test_extra_signature_is_refused() -> None:
    derived = _derived()
    sigs = parse_derived_proof_value(derived["proof"]["proofValue"]).signatures
    with pytest.raises(DisclosureError) as e:
        _verify(_rewrite(derived, signatures=[*sigs, sigs[0]]))
    assert e.value.code == "signature_count_mismatch"


def test_missing_signature_is_refused() -> None:
    derived = _derived()
    sigs = parse_derived_proof_value(derived["proof"]["proofValue"]).signatures
    with pytest.raises(DisclosureError) as e:
        _verify(_rewrite(derived, signatures=sigs[:-1]))
    assert e.value.code == "signature_count_mismatch"


def test_undisclosed_claim_added_back_is_refused() -> None:
    derived = _derived()
    derived["credentialSubject"]["subject"] = {"bsn": "123456782"}
    with pytest.raises(DisclosureError) as e:
        _verify(derived)
    assert e.value.code == "label_map_mismatch"  # a blank node the proof has no label for


def test_mandatory_claim_removed_from_reveal_document_is_refused() -> None:
    """The verifier does not know the mandatory pointers: it sees statements missing."""
    # The statement order depends on the random HMAC labels: the missing statement shows as
    # a mandatory index past the end, or as more signatures than statements.
    missing = {"mandatory_statement_missing", "signature_count_mismatch"}
    derived = _derived()
    del derived["credentialSubject"]["statement_id"]
    with pytest.raises(DisclosureError) as e:
        _verify(derived)
    assert e.value.code in missing
    derived = _derived()
    del derived["validUntil"]
    with pytest.raises(DisclosureError) as e:
        _verify(derived)
    assert e.value.code in missing


def test_mandatory_claim_removed_and_indexes_adjusted_is_refused() -> None:
    """Also fixing the counts does not help: the base signature covers the mandatory hash."""
    derived = _derived()
    parsed = parse_derived_proof_value(derived["proof"]["proofValue"])
    del derived["credentialSubject"]["statement_id"]
    with pytest.raises((DisclosureError, SignatureError)):
        _verify(_rewrite(derived, mandatory_indexes=parsed.mandatory_indexes[:-1]))


def test_mandatory_index_pointing_outside_is_refused() -> None:
    derived = _derived()
    with pytest.raises(DisclosureError) as e:
        _verify(_rewrite(derived, mandatory_indexes=[0, 1000]))
    assert e.value.code == "mandatory_statement_missing"


def test_swapped_label_map_is_refused() -> None:
    derived = _derived(["/credentialSubject/totals/outstanding", "/credentialSubject/subject/bsn"])
    labels = parse_derived_proof_value(derived["proof"]["proofValue"]).label_map
    keys = sorted(labels)
    swapped = {**labels, keys[0]: labels[keys[1]], keys[1]: labels[keys[0]]}
    with pytest.raises((SignatureError, DisclosureError)):
        _verify(_rewrite(derived, label_map=swapped))
    with pytest.raises(DisclosureError) as e:
        _verify(_rewrite(derived, label_map={k: labels[k] for k in keys[1:]}))
    assert e.value.code == "label_map_mismatch"


def test_other_proof_scoped_key_is_refused() -> None:
    derived = _derived()
    other = b"\x80\x24" + Key.generate("ES256").public_bytes(compressed=True)
    with pytest.raises(SignatureError):
        _verify(_rewrite(derived, public_key=other))


def test_wrong_issuer_key_is_refused() -> None:
    with pytest.raises(SignatureError) as e:
        _verify(_derived(), key=Key.generate("ES256"))
    assert e.value.code == "signature_invalid"


def test_unknown_key_trust_error_passes_through() -> None:
    def resolver(vm: str) -> Key:
        raise TrustError("untrusted_issuer", f"no key for {vm}")

    with pytest.raises(TrustError) as e:
        verify_proof(_derived(), resolve_key=resolver, now=NOW)
    assert e.value.code == "untrusted_issuer"


def test_selective_pointer_that_matches_nothing() -> None:
    with pytest.raises(DisclosureError) as e:
        derive_proof_sd(SIGNED, ["/credentialSubject/cases/7"])
    assert e.value.code == "pointer_not_found"
    with pytest.raises(MalformedError) as e2:
        derive_proof_sd(SIGNED, ["credentialSubject"])
    assert e2.value.code == "pointer_malformed"


def test_mandatory_pointer_missing_from_holders_document() -> None:
    doc = copy.deepcopy(SIGNED)
    del doc["credentialSubject"]["contact"]
    with pytest.raises(DisclosureError) as e:
        derive_proof_sd(doc, [])
    assert e.value.code == "mandatory_pointer_missing"
    with pytest.raises(DisclosureError) as e:
        _verify(doc)
    assert e.value.code == "mandatory_pointer_missing"


def test_holder_cannot_derive_from_a_changed_document() -> None:
    doc = copy.deepcopy(SIGNED)
    doc["credentialSubject"]["cases"].append({"case_reference": "forged"})
    with pytest.raises(DisclosureError) as e:
        derive_proof_sd(doc, ["/credentialSubject/cases/2"])
    assert e.value.code == "signature_count_mismatch"


def test_mandatory_pointer_must_match_at_issuance() -> None:
    with pytest.raises(DisclosureError) as e:
        _issue(mandatory=["/credentialSubject/court_moratorium"])
    assert e.value.code == "pointer_not_found"


def test_tampered_base_proof_is_refused() -> None:
    doc = copy.deepcopy(SIGNED)
    doc["credentialSubject"]["subject"]["bsn"] = "999999990"
    with pytest.raises(SignatureError):
        _verify(doc)


def test_sd_needs_p256() -> None:
    with pytest.raises(SignatureError) as e:
        add_base_proof_sd(
            debt_statement(), Key.generate("ES384"), verification_method=VM, mandatory_pointers=[]
        )
    assert e.value.code == "key_invalid"
    with pytest.raises(SignatureError):
        _verify(_derived(), key=Key.generate("EdDSA"))


def test_validity_window_is_checked() -> None:
    derived = _derived()
    with pytest.raises(ValidityError) as e:
        verify_proof(derived, resolve_key=lambda vm: ISSUER.public(), now=1_900_000_000.0)
    assert e.value.code == "expired"
    with pytest.raises(ValidityError) as e:
        verify_proof(derived, resolve_key=lambda vm: ISSUER.public(), now=1_700_000_000.0)
    assert e.value.code == "created_in_future"
    later = debt_statement()
    later["validFrom"] = "2026-06-01T00:00:00Z"
    with pytest.raises(ValidityError) as e:
        _verify(derive_proof_sd(_issue(later), []))
    assert e.value.code == "not_yet_valid"


def test_proof_arrays_and_chains_are_refused() -> None:
    derived = _derived()
    as_set = {**derived, "proof": [derived["proof"]]}
    with pytest.raises(MalformedError) as e:
        _verify(as_set)
    assert e.value.code == "proof_set_not_supported"
    chained = copy.deepcopy(derived)
    chained["proof"]["previousProof"] = "urn:uuid:1"
    with pytest.raises(MalformedError) as e:
        _verify(chained)
    assert e.value.code == "proof_set_not_supported"
    with pytest.raises(MalformedError) as e:
        add_proof(SIGNED, ISSUER, cryptosuite="ecdsa-rdfc-2019", verification_method=VM)
    assert e.value.code == "proof_set_not_supported"


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("cryptosuite", "bbs-2023"),
        ("cryptosuite", "ecdsa-jcs-2019"),
        ("type", "Ed25519Signature2020"),
    ],
)
def test_unknown_cryptosuite_or_type(member: str, value: str) -> None:
    derived = _derived()
    derived["proof"][member] = value
    with pytest.raises(SignatureError) as e:
        _verify(derived)
    assert e.value.code == "cryptosuite_not_supported"


def test_deterministic_inputs_reproduce_the_same_base_proof() -> None:
    hmac_key = bytes(range(32))
    proof_key = Key.generate("ES256")
    a = add_base_proof_sd(
        debt_statement(), ISSUER, verification_method=VM, mandatory_pointers=MANDATORY,
        hmac_key=hmac_key, proof_key=proof_key,
    )  # fmt: skip
    b = add_base_proof_sd(
        debt_statement(), ISSUER, verification_method=VM, mandatory_pointers=MANDATORY,
        hmac_key=hmac_key, proof_key=proof_key,
    )  # fmt: skip
    assert a == b
    raw = b64u_decode(a["proof"]["proofValue"][1:])
    assert raw[:3] == b"\xd9\x5d\x00"


def test_document_not_in_compact_form_is_refused_for_selective_disclosure() -> None:
    """Pointers address the compact form; a full-IRI key would be reshaped by compaction."""
    doc = debt_statement()
    doc["credentialSubject"]["https://w3id.org/blauweknop/vocab#currency"] = doc[
        "credentialSubject"
    ].pop("currency")
    with pytest.raises(MalformedError) as e:
        _issue(doc)
    assert e.value.code == "not_compact_form"


def test_single_element_arrays_are_fine() -> None:
    doc = debt_statement(cases=1)
    doc["type"] = ["VerifiableCredential"]
    signed = _issue(doc)
    derived = derive_proof_sd(signed, ["/credentialSubject/cases/0/amount_outstanding"])
    assert derived["credentialSubject"]["cases"] == [{"amount_outstanding": 12500}]
    _verify(derived)


def test_explicit_blank_node_identifiers() -> None:
    doc = debt_statement()
    doc["credentialSubject"]["creditor"]["id"] = "_:creditor"
    signed = _issue(doc)
    derived = derive_proof_sd(signed, ["/credentialSubject/subject/family_name"])
    assert derived["credentialSubject"]["creditor"]["id"] == "_:creditor"  # copied whole
    _verify(derived)
    assert _verify(signed).is_base_proof
