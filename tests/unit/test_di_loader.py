"""The offline JSON-LD loader: bundled, pinned contexts only, never the network.

Expected results: the production allow-list serves exactly the five production contexts; any
other URL is ``context_not_allowed`` without a socket being created; a bundled file that does
not match its pin (a look-alike context under an allowed URL) is ``context_pin_mismatch``; the
vocabulary context shipped in the package is byte-identical to ``specs/contexts/``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from blauweknop import ContextError, Key
from blauweknop._di import (
    BLAUWEKNOP_V1,
    CREDENTIALS_V2,
    PRODUCTION_CONTEXTS,
    OfflineLoader,
    add_proof,
    default_loader,
    verify_proof,
)
from blauweknop._di._jsonld import expand
from blauweknop._di._loader import PINS, VECTOR_CONTEXTS

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = resources.files("blauweknop").joinpath("contexts")

DOC: dict[str, Any] = {
    "@context": [CREDENTIALS_V2, BLAUWEKNOP_V1],
    "type": ["VerifiableCredential", "DebtStatement"],
    "issuer": "urn:oin:00000001003214345000",
    "credentialSubject": {"id": "urn:example:holder", "statement_id": "st-1", "currency": "EUR"},
}


def test_production_allow_list() -> None:
    assert (
        OfflineLoader().allowed_urls()
        == PRODUCTION_CONTEXTS
        == {
            "https://www.w3.org/ns/credentials/v2",
            "https://w3id.org/security/data-integrity/v2",
            "https://w3id.org/security/multikey/v1",
            "https://www.w3.org/ns/credentials/status/v1",
            "https://w3id.org/blauweknop/v1",
        }
    )
    assert default_loader() is default_loader()
    assert "https://www.w3.org/ns/credentials/examples/v2" not in PRODUCTION_CONTEXTS
    assert OfflineLoader(allowed=VECTOR_CONTEXTS).allowed_urls() == frozenset(PINS)


@pytest.mark.parametrize("url", sorted(PINS))
def test_every_bundled_file_matches_its_pin(url: str) -> None:
    data = BUNDLE.joinpath(PINS[url].filename).read_bytes()
    assert hashlib.sha256(data).hexdigest() == PINS[url].sha256
    doc = OfflineLoader(allowed=VECTOR_CONTEXTS).document(url)
    assert "@context" in doc


def test_vocabulary_context_copy_is_identical_to_spec() -> None:
    spec = (ROOT / "specs" / "contexts" / "blauweknop-v1.jsonld").read_bytes()
    bundled = BUNDLE.joinpath("blauweknop-v1.jsonld").read_bytes()
    assert spec == bundled
    assert hashlib.sha256(spec).hexdigest() == PINS[BLAUWEKNOP_V1].sha256


def test_vocabulary_context_defines_all_domain_fields() -> None:
    ctx = json.loads(BUNDLE.joinpath("blauweknop-v1.jsonld").read_bytes())["@context"]
    assert ctx["@protected"] is True
    assert "@vocab" not in ctx
    statement = """creditor statement_id balance_at is_complete contact subject totals currency
        cases arrangement collection_hold oin code family_name given_names birthdate bsn imposed
        settled outstanding in_arrears number_of_cases case_reference obligation_type
        decision_number imposed_at amount_imposed amount_outstanding components category amount
        collection_stage payment_reference due_date start_date installment_amount
        number_of_installments installments_paid next_due_date status active reason until phone
        email website"""
    declaration = """declaration_id municipality executing_organisation payment_incapacity
        admitted_to_debt_relief trajectory_start valid_from valid_until extends_declaration_id
        requested_measures counsellor organisation_phone organisation_email direct_phone
        client_reference application_date admission_decision_date trajectory_phase
        court_moratorium court decision_date address street house_number postal_code city"""
    for term in (statement + " " + declaration).split():
        assert term in ctx, term
    # name/description come from the VC 2.0 context (schema.org), never redefined
    assert "name" not in ctx and "description" not in ctx
    for term in ("DebtStatement", "PaymentIncapacityDeclaration", "standaard", "maatwerk"):
        assert ctx[term].startswith("https://w3id.org/blauweknop/vocab#")
    # arrays of nodes are unordered sets, so each element can be disclosed on its own
    assert ctx["cases"]["@container"] == "@set"
    assert ctx["components"]["@container"] == "@set"
    assert ctx["amount"]["@type"] == "http://www.w3.org/2001/XMLSchema#integer"


def test_unknown_url_is_refused_without_network(no_network: list[Any]) -> None:
    loader = OfflineLoader()
    with pytest.raises(ContextError) as e:
        loader("https://www.w3.org/ns/did/v1")
    assert e.value.code == "context_not_allowed"
    doc = {**DOC, "@context": [CREDENTIALS_V2, "https://example.com/contexts/unknown.jsonld"]}
    with pytest.raises(ContextError) as e:
        expand(doc, loader)
    assert e.value.code == "context_not_allowed"
    assert no_network == []


def test_vector_contexts_are_not_served_in_production(no_network: list[Any]) -> None:
    doc = {**DOC, "@context": [CREDENTIALS_V2, "https://www.w3.org/ns/credentials/examples/v2"]}
    with pytest.raises(ContextError) as e:
        expand(doc, OfflineLoader())
    assert e.value.code == "context_not_allowed"


def test_whole_issue_and_verify_cycle_uses_no_socket(no_network: list[Any]) -> None:
    key = Key.generate("ES256")
    loader = OfflineLoader()  # fresh: every context is read from the bundle during the test
    signed = add_proof(
        DOC, key, cryptosuite="ecdsa-rdfc-2019", verification_method="urn:k#1", loader=loader
    )
    verify_proof(signed, resolve_key=lambda vm: key.public(), loader=loader)
    assert no_network == []


def test_allow_list_only_takes_pinned_urls() -> None:
    with pytest.raises(ContextError) as e:
        OfflineLoader(allowed=[CREDENTIALS_V2, "https://example.org/x"])
    assert e.value.code == "context_not_allowed"


def _tampered_bundle(tmp_path: Path, filename: str, change: Any) -> Path:
    target = tmp_path / "contexts"
    target.mkdir()
    for pin in PINS.values():
        (target / pin.filename).write_bytes(BUNDLE.joinpath(pin.filename).read_bytes())
    doc = json.loads((target / filename).read_text())
    change(doc["@context"])
    (target / filename).write_text(json.dumps(doc, indent=2))
    return target


def test_look_alike_context_under_an_allowed_url_is_refused(
    tmp_path: Path, no_network: list[Any]
) -> None:
    """Same URL list, but the file served for our vocabulary maps ``bsn`` elsewhere."""

    def swap(ctx: dict[str, Any]) -> None:
        ctx["bsn"] = {"@id": "https://evil.example/not-a-bsn"}

    directory = _tampered_bundle(tmp_path, "blauweknop-v1.jsonld", swap)
    loader = OfflineLoader(context_dir=directory)
    with pytest.raises(ContextError) as e:
        loader(BLAUWEKNOP_V1)
    assert e.value.code == "context_pin_mismatch"

    key = Key.generate("ES256")
    signed = add_proof(DOC, key, cryptosuite="ecdsa-rdfc-2019", verification_method="urn:k#1")
    with pytest.raises(ContextError) as e:
        verify_proof(signed, resolve_key=lambda vm: key.public(), loader=loader)
    assert e.value.code == "context_pin_mismatch"
    # the production loader's cache was not touched by the tampered one
    assert verify_proof(signed, resolve_key=lambda vm: key.public()).purpose == "assertionMethod"


def test_missing_bundle_file_is_a_context_error(tmp_path: Path) -> None:
    (tmp_path / "contexts").mkdir()
    loader = OfflineLoader(context_dir=tmp_path / "contexts")
    with pytest.raises(ContextError) as e:
        loader.document(CREDENTIALS_V2)
    assert e.value.code == "context_unavailable"


def test_extra_contexts_are_pinned_to_the_given_bytes(tmp_path: Path) -> None:
    extra = json.dumps({"@context": {"note": "https://example.org/vocab#note"}}).encode()
    loader = OfflineLoader(extra={"https://example.org/ctx/v1": extra})
    assert "https://example.org/ctx/v1" in loader.allowed_urls()
    doc = {**DOC, "@context": [CREDENTIALS_V2, "https://example.org/ctx/v1"]}
    doc["type"] = ["VerifiableCredential"]
    doc["credentialSubject"] = {"id": "urn:example:holder", "note": "hello"}
    assert expand(doc, loader)


def test_loader_hands_out_copies() -> None:
    loader = OfflineLoader()
    first = loader(CREDENTIALS_V2)["document"]
    first["@context"]["name"] = "https://evil.example/name"
    assert loader(CREDENTIALS_V2)["document"]["@context"]["name"] == "https://schema.org/name"


def test_copying_the_bundle_elsewhere_still_verifies(tmp_path: Path) -> None:
    target = tmp_path / "copy"
    target.mkdir()
    for pin in PINS.values():
        shutil.copyfile(str(BUNDLE.joinpath(pin.filename)), target / pin.filename)
    loader = OfflineLoader(context_dir=target)
    assert expand(DOC, loader)
