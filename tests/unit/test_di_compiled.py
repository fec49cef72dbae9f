"""The compiled JSON-LD path keeps every rejection of the pyld path (docs/security.md).

Each hostile document is fed to the RDF conversion, to the compact-form check and to proof
verification with the compiled path on and off: the error (class, code, message) must be the
same, and the compiled walk itself must decline (it never produces quads for what pyld
refuses). Also: a compaction verdict found for a valid document does not let a document with
the same skeleton but a node written twice through; loaders never share compiled states.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from blauweknop import Key
from blauweknop._di import BLAUWEKNOP_V1, CREDENTIALS_V2, OfflineLoader, add_proof, verify_proof
from blauweknop._di._compiled import Decline, _compiler, compile_document, disabled, verdicts
from blauweknop._di._jsonld import check_compact_form, check_contexts, document_quads
from blauweknop._di._loader import CREDENTIALS_V1, PINS, VECTOR_CONTEXTS

KEY = Key.generate("ES256")
VM = "urn:oin:00000001003214345000#key-1"
BUNDLE = Path(__file__).resolve().parents[2] / "src" / "blauweknop" / "contexts"


def _doc() -> dict[str, Any]:
    return {
        "@context": [CREDENTIALS_V2, BLAUWEKNOP_V1],
        "type": ["VerifiableCredential", "DebtStatement"],
        "issuer": "urn:oin:00000001003214345000",
        "credentialSubject": {
            "id": "urn:example:holder",
            "statement_id": "st-1",
            "currency": "EUR",
            "totals": {"outstanding": 500, "number_of_cases": 1},
            "is_complete": True,
        },
        "credentialStatus": [
            {
                "id": "https://status.example/revocation#1",
                "type": "BitstringStatusListEntry",
                "statusPurpose": "revocation",
                "statusListIndex": "1",
                "statusListCredential": "https://status.example/revocation",
            },
            {
                "id": "https://status.example/suspension#1",
                "type": "BitstringStatusListEntry",
                "statusPurpose": "suspension",
                "statusListIndex": "1",
                "statusListCredential": "https://status.example/suspension",
            },
        ],
    }


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(d: dict[str, Any]) -> None:
        target: Any = d
        for p in path[:-1]:
            target = target[p]
        target[path[-1]] = value

    return mutate


CS = "credentialSubject"
HOSTILE: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "unknown context": (
        _set(["@context"], [CREDENTIALS_V2, "https://evil.example/v1"]),
        "context_not_allowed",
    ),
    "inline context": (_set(["@context"], [CREDENTIALS_V2, {"x": "urn:x"}]), "context_not_allowed"),
    "inline @vocab": (
        _set(["@context"], [CREDENTIALS_V2, {"@vocab": "urn:v#"}]),
        "context_not_allowed",
    ),
    "embedded unknown context": (
        _set([CS, "@context"], "https://evil.example/v1"),
        "context_not_allowed",
    ),
    "embedded inline context": (
        _set([CS, "@context"], {"name": "urn:evil"}),
        "context_not_allowed",
    ),
    "undefined term": (_set([CS, "nickname"], "x"), "undefined_term"),
    "absolute IRI key": (_set([CS, "https://evil.example/p"], "x"), "undefined_term"),
    "compact IRI key": (_set([CS, "schema:name"], "x"), "undefined_term"),
    "undefined type": (_set(["type"], ["VerifiableCredential", "Evil"]), "undefined_term"),
    "relative id": (_set([CS, "id"], "holder/1"), "relative_iri"),
    "relative IRI value": (_set(["issuer"], "issuer-1"), "relative_iri"),
    "null": (_set([CS, "currency"], None), "data_loss"),
    "repeated value": (_set([CS, "currency"], ["EUR", "EUR"]), "data_loss"),
    "@index": (_set([CS, "totals", "@index"], "i"), "data_loss"),
    "@direction": (_set([CS, "currency"], {"@value": "EUR", "@direction": "ltr"}), "data_loss"),
    "@reverse": (_set([CS, "@reverse"], {"issuer": {"id": "urn:x"}}), "undefined_term"),
    "@language": (_set([CS, "currency"], {"@value": "EUR", "@language": "nl"}), None),
    "@graph": (_set([CS, "@graph"], [{"id": "urn:x"}]), None),
    "@list": (_set([CS, "currency"], {"@list": ["EUR"]}), None),
    "@value object": (_set([CS, "currency"], {"@value": "EUR"}), None),
    "full IRI key": (_set([CS, "https://w3id.org/blauweknop/vocab#currency"], "EUR"), None),
    "string for an integer": (_set([CS, "totals", "outstanding"], "500"), None),
    "double for an integer": (_set([CS, "totals", "outstanding"], 500.0), None),
    "one-element array": (_set([CS, "currency"], ["EUR"]), None),
    "node written twice": (
        _set(["credentialStatus", 1, "id"], "https://status.example/revocation#1"),
        None,
    ),
    "blank type": (_set([CS, "type"], "_:t"), None),
    "huge number": (_set([CS, "totals", "outstanding"], 10**400), "jsonld_invalid"),
}


def _outcome(fn: Callable[[], Any]) -> tuple[Any, ...]:
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - compared between the two paths
        return ("error", type(e).__name__, getattr(e, "code", None), str(e))
    return ("ok",)


def _both(fn: Callable[[], Any]) -> tuple[Any, ...]:
    with disabled():
        ref = _outcome(fn)
    verdicts(OfflineLoader()).clear()
    assert _outcome(fn) == ref
    assert _outcome(fn) == ref  # again, with whatever verdict the first call left
    return ref


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_documents_are_refused_alike(name: str) -> None:
    mutate, code = HOSTILE[name]
    loader = OfflineLoader()
    doc = _doc()
    mutate(doc)
    quads = _both(lambda: document_quads(doc, loader))
    form = _both(lambda: check_compact_form(doc, loader))
    if code is not None:
        assert quads[:3] == ("error", "ContextError", code), quads
    assert form[0] == "error", form  # none of these is in compact form
    # the compiled walk declines: it never produces quads for a refused document (the
    # others are valid JSON-LD that only the compact-form check refuses)
    if quads[0] == "error" and _outcome(lambda: check_contexts(doc, loader))[0] == "ok":
        with pytest.raises(Decline):
            compile_document(doc, loader)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_signed_then_altered_documents_fail_alike(name: str) -> None:
    mutate, _code = HOSTILE[name]
    signed = add_proof(_doc(), KEY, cryptosuite="ecdsa-rdfc-2019", verification_method=VM)
    mutate(signed)
    result = _both(lambda: verify_proof(signed, resolve_key=lambda vm: KEY.public()))
    assert result[0] == "error", result


def test_the_valid_document_takes_the_compiled_path() -> None:
    loader = OfflineLoader()
    doc = _doc()
    check_contexts(doc, loader)
    walk = compile_document(doc, loader)
    with disabled():
        assert walk.quads == document_quads(doc, loader)
    check_compact_form(doc, loader)
    assert verdicts(loader).get(("form", walk.skeleton)) is True


def test_a_verdict_does_not_let_a_node_written_twice_through() -> None:
    """The valid document and the one repeating a status entry's id have one skeleton (the
    ids are opaque): the verdict is shared, the statement count still refuses."""
    loader = OfflineLoader()
    check_compact_form(_doc(), loader)
    twice = _doc()
    twice["credentialStatus"][1]["id"] = twice["credentialStatus"][0]["id"]
    check_contexts(twice, loader)
    assert compile_document(twice, loader).skeleton == compile_document(_doc(), loader).skeleton
    with pytest.raises(Exception) as e:
        check_compact_form(twice, loader)
    assert getattr(e.value, "code", None) == "not_compact_form"
    assert "signed statements" in str(e.value)


@pytest.mark.parametrize(
    "contexts", [[CREDENTIALS_V2, CREDENTIALS_V1], [CREDENTIALS_V1, CREDENTIALS_V2]]
)
def test_protected_term_redefinition_alike(contexts: list[str]) -> None:
    loader = OfflineLoader(allowed=VECTOR_CONTEXTS)
    doc = _doc()
    doc["@context"] = contexts
    result = _both(lambda: document_quads(doc, loader))
    assert result[:3] == ("error", "ContextError", "protected_term_redefinition")


def test_protected_term_redefinition_by_an_extra_context_alike() -> None:
    evil = json.dumps({"@context": {"name": "https://evil.example/name"}}).encode()
    loader = OfflineLoader(extra={"https://evil.example/ctx": evil})
    doc = _doc()
    doc["@context"] = [CREDENTIALS_V2, "https://evil.example/ctx"]
    result = _both(lambda: document_quads(doc, loader))
    assert result[:3] == ("error", "ContextError", "protected_term_redefinition")


def test_a_tampered_bundle_is_refused_alike_and_shares_nothing(tmp_path: Path) -> None:
    target = tmp_path / "contexts"
    target.mkdir()
    for pin in PINS.values():
        (target / pin.filename).write_bytes((BUNDLE / pin.filename).read_bytes())
    tampered = json.loads((target / "blauweknop-v1.jsonld").read_text())
    tampered["@context"]["currency"] = {"@id": "https://evil.example/currency"}
    (target / "blauweknop-v1.jsonld").write_text(json.dumps(tampered))
    evil = OfflineLoader(context_dir=target)
    good = OfflineLoader()
    doc = _doc()
    check_contexts(doc, good)
    compile_document(doc, good)  # the production loader has compiled states now
    result = _both(lambda: document_quads(copy.deepcopy(doc), evil))
    assert result[:3] == ("error", "ContextError", "context_pin_mismatch")
    assert _compiler(evil) is not _compiler(good)
    assert not _compiler(evil).tops


def test_a_number_beyond_a_double_is_a_library_error_not_an_overflow() -> None:
    """Found here: pyld formats integers of 1e21 and more as doubles, and a 400-digit JSON
    integer made ``OverflowError`` escape ``verify_proof`` (not a library error)."""
    from blauweknop import ContextError

    signed = add_proof(_doc(), KEY, cryptosuite="ecdsa-rdfc-2019", verification_method=VM)
    signed["credentialSubject"]["totals"]["outstanding"] = 10**400
    for off in (False, True):
        with pytest.raises(ContextError) as e:
            if off:
                with disabled():
                    verify_proof(signed, resolve_key=lambda vm: KEY.public())
            else:
                verify_proof(signed, resolve_key=lambda vm: KEY.public())
        assert e.value.code == "jsonld_invalid"
