"""JSON-LD safety rails (SECURITY.md; VC-DATA-INTEGRITY 2.4.1, 2.4.3, 4.6).

Expected result of every case: a :class:`ContextError` with the stated code, raised both when
signing (``add_proof``) and when verifying a signed document altered that way, never a pyld
exception and never a silent drop. Checked: undefined terms and types (pyld would drop them or
make them relative IRIs), absolute/compact IRIs no context defines, relative identifiers,
inline contexts (term redefinition, ``@vocab``), unknown contexts, protected-term
redefinition, keywords RDF drops (``@index``, ``@direction``, ``@reverse``), ``null``.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from blauweknop import ContextError, Key, Limits, MalformedError
from blauweknop._di import BLAUWEKNOP_V1, CREDENTIALS_V2, OfflineLoader, add_proof, verify_proof
from blauweknop._di._jsonld import expand
from blauweknop._di._loader import CREDENTIALS_V1, VECTOR_CONTEXTS

KEY = Key.generate("ES256")
VM = "urn:oin:00000001003214345000#key-1"


def _doc(**subject: Any) -> dict[str, Any]:
    cs = {"id": "urn:example:holder", "statement_id": "st-1", "currency": "EUR"}
    cs.update(subject)
    return {
        "@context": [CREDENTIALS_V2, BLAUWEKNOP_V1],
        "type": ["VerifiableCredential", "DebtStatement"],
        "issuer": "urn:oin:00000001003214345000",
        "credentialSubject": cs,
    }


def _signed() -> dict[str, Any]:
    return add_proof(_doc(), KEY, cryptosuite="ecdsa-rdfc-2019", verification_method=VM)


def _both_refuse(mutate: Any, code: str, loader: OfflineLoader | None = None) -> None:
    """``mutate(doc)`` must be refused with ``code`` by the signer and by the verifier."""
    unsigned = _doc()
    mutate(unsigned)
    with pytest.raises(ContextError) as e:
        add_proof(
            unsigned, KEY, cryptosuite="ecdsa-rdfc-2019", verification_method=VM, loader=loader
        )
    assert e.value.code == code, e.value
    signed = _signed()
    mutate(signed)
    with pytest.raises(ContextError) as e:
        verify_proof(signed, resolve_key=lambda vm: KEY.public(), loader=loader)
    assert e.value.code == code, e.value


def test_baseline_verifies() -> None:
    assert verify_proof(_signed(), resolve_key=lambda vm: KEY.public()).cryptosuite


def test_undefined_property_is_refused() -> None:
    _both_refuse(lambda d: d["credentialSubject"].update(favourite_colour="blue"), "undefined_term")


def test_undefined_property_at_top_level_is_refused() -> None:
    _both_refuse(lambda d: d.update(note="not signed otherwise"), "undefined_term")


def test_undefined_type_is_refused() -> None:
    _both_refuse(lambda d: d["type"].append("UndefinedType"), "undefined_term")


def test_undefined_nested_type_is_refused() -> None:
    _both_refuse(
        lambda d: d["credentialSubject"].update(arrangement={"type": "weekly"}), "undefined_term"
    )


@pytest.mark.parametrize("key", ["https://evil.example/vocab#x", "bar:baz", "_:b0"])
def test_iri_keys_no_context_defines_are_refused(key: str) -> None:
    _both_refuse(lambda d: d["credentialSubject"].update({key: "1"}), "undefined_term")


def test_full_iri_of_a_defined_term_signs_but_is_not_handed_out() -> None:
    # JSON-LD accepts the full IRI (same RDF as the term), but a verifier reading JSON
    # members would not see it as ``currency``: only the compact form is handed out.
    doc = _doc(**{"https://w3id.org/blauweknop/vocab#currency": "EUR"})
    signed = add_proof(doc, KEY, cryptosuite="ecdsa-rdfc-2019", verification_method=VM)
    with pytest.raises(MalformedError) as e:
        verify_proof(signed, resolve_key=lambda vm: KEY.public())
    assert e.value.code == "not_compact_form"


def test_undefined_datatype_is_refused() -> None:
    _both_refuse(
        lambda d: d["credentialSubject"].update(statement_id={"@value": "1", "@type": "xsd:foo"}),
        "undefined_term",
    )


@pytest.mark.parametrize("where", ["credentialSubject", "issuer"])
def test_relative_identifiers_are_refused(where: str) -> None:
    def mutate(d: dict[str, Any]) -> None:
        if where == "issuer":
            d["issuer"] = "issuers/14"
        else:
            d["credentialSubject"]["id"] = "holder"

    _both_refuse(mutate, "relative_iri")


def test_inline_context_redefining_a_term_is_refused() -> None:
    def mutate(d: dict[str, Any]) -> None:
        d["@context"] = [*d["@context"], {"statement_id": "https://evil.example/other"}]

    _both_refuse(mutate, "context_not_allowed")


def test_vocab_redefinition_is_refused() -> None:
    """An inline ``@vocab`` would make every undefined term "defined"."""

    def mutate(d: dict[str, Any]) -> None:
        d["@context"] = [*d["@context"], {"@vocab": "https://evil.example/#"}]
        d["credentialSubject"]["anything"] = "goes"

    _both_refuse(mutate, "context_not_allowed")
    doc = _doc()
    doc["@context"] = [*doc["@context"], {"@vocab": "https://evil.example/#"}]
    with pytest.raises(ContextError, match="@vocab"):
        expand(doc, OfflineLoader())


def test_nested_inline_context_is_refused() -> None:
    def mutate(d: dict[str, Any]) -> None:
        d["credentialSubject"]["@context"] = {"currency": "https://evil.example/currency"}

    _both_refuse(mutate, "context_not_allowed")


def test_nested_allowed_context_url_is_accepted() -> None:
    doc = _doc()
    doc["credentialSubject"]["@context"] = BLAUWEKNOP_V1
    assert expand(doc, OfflineLoader())


def test_unknown_context_is_refused() -> None:
    def mutate(d: dict[str, Any]) -> None:
        d["@context"] = [CREDENTIALS_V2, "https://w3id.org/blauweknop/v2"]

    _both_refuse(mutate, "context_not_allowed")


def test_missing_context_is_refused() -> None:
    _both_refuse(lambda d: d.pop("@context"), "context_not_allowed")


@pytest.mark.parametrize(
    "contexts", [[CREDENTIALS_V2, CREDENTIALS_V1], [CREDENTIALS_V1, CREDENTIALS_V2]]
)
def test_protected_term_redefinition_is_mapped(contexts: list[str]) -> None:
    """VC 1.1 and 2.0 both protect ``VerifiableCredential`` with different definitions."""
    loader = OfflineLoader(allowed=VECTOR_CONTEXTS)
    _both_refuse(lambda d: d.update({"@context": contexts}), "protected_term_redefinition", loader)


def test_protected_term_redefinition_by_an_extra_context() -> None:
    evil = json.dumps({"@context": {"name": "https://evil.example/name"}}).encode()
    loader = OfflineLoader(extra={"https://evil.example/ctx": evil})

    def mutate(d: dict[str, Any]) -> None:
        d["@context"] = [*d["@context"], "https://evil.example/ctx"]

    _both_refuse(mutate, "protected_term_redefinition", loader)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ({"@value": "x", "@direction": "rtl"}, "data_loss"),
        (None, "data_loss"),
    ],
)
def test_values_rdf_would_drop_are_refused(value: Any, code: str) -> None:
    _both_refuse(lambda d: d["credentialSubject"].update(statement_id=value), code)


def test_index_keyword_is_refused() -> None:
    _both_refuse(
        lambda d: d["credentialSubject"].update({"@index": "silently dropped"}), "data_loss"
    )


def test_reverse_keyword_is_refused() -> None:
    _both_refuse(
        lambda d: d["credentialSubject"].update({"@reverse": {"creditor": {"id": "urn:x"}}}),
        "data_loss",
    )


def test_pyld_syntax_errors_are_wrapped() -> None:
    _both_refuse(
        lambda d: d["credentialSubject"].update(currency={"@value": ["a"]}), "jsonld_invalid"
    )


def test_too_deep_documents_are_refused_before_pyld() -> None:
    doc = _doc()
    node: dict[str, Any] = doc["credentialSubject"]
    for _ in range(40):
        node["creditor"] = {"name": "x"}
        node = node["creditor"]
    with pytest.raises(MalformedError) as e:
        expand(doc, OfflineLoader())
    assert e.value.code == "too_deep"


def test_limits_apply_to_statement_count() -> None:
    doc = _doc(cases=[{"case_reference": f"c{i}"} for i in range(20)])
    with pytest.raises(ContextError) as e:
        add_proof(
            doc,
            KEY,
            cryptosuite="ecdsa-rdfc-2019",
            verification_method=VM,
            limits=Limits(max_rdf_quads=30),
        )
    assert e.value.code == "canonicalization_limit"


def test_extra_proof_member_is_an_undefined_term() -> None:
    signed = _signed()
    signed["proof"]["note"] = "outside the DataIntegrityProof context"
    with pytest.raises(ContextError) as e:
        verify_proof(signed, resolve_key=lambda vm: KEY.public())
    assert e.value.code == "undefined_term"


def test_signed_document_is_not_modified() -> None:
    signed = _signed()
    before = copy.deepcopy(signed)
    verify_proof(signed, resolve_key=lambda vm: KEY.public())
    assert signed == before
