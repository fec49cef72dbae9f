"""The compiled JSON-LD path (``blauweknop._di._compiled``) against pyld.

Credential-shaped documents over our own profiles (a debt statement, a Rode Knop
declaration, a W3C Bitstring Status List credential, a derived credential, a presentation,
proof configurations), each perturbed by one to three random edits: values replaced by odd
JSON (unicode and control characters, 1.0, 1e21, -0.0, 5e-324, huge integers, booleans,
nulls, empty and one-element arrays, nested objects), members deleted, unknown terms,
compact and absolute IRIs as keys, JSON-LD keywords (``@graph``, ``@list``, ``@language``,
``@value``, ``@context`` objects and URLs), terms moved between contexts, identifiers made
relative, blank or malformed, types changed.

For every document:

* the compiled path either declines or gives exactly pyld's quads (labels and order
  included), and :func:`document_quads` gives the same quads or the same error either way;
* :func:`check_compact_form` gives the same outcome (same error code and message) on the
  pyld path, on the compiled path with no compaction verdict yet, and with one found before,
  also when the verdict was found on a sibling document with other values;
* ``ecdsa-sd-2023``'s canonicalize-and-group gives the same N-Quads, groups and labels (or
  the same error), and the compiled skolemized compact form equals pyld's.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from strategies import PROFILE, suite_settings

from blauweknop import DEBT_STATEMENT_VCT, RODE_KNOP_VCT, Key, get_profile
from blauweknop._di import derive_proof_sd
from blauweknop._di._compiled import Decline, compile_document, disabled, verdicts
from blauweknop._di._jsonld import (
    check_compact_form,
    check_contexts,
    compact,
    document_quads,
    expand,
    to_quads,
)
from blauweknop._di._loader import OfflineLoader
from blauweknop._di._sd._group import _Skolem, canonicalize_and_group
from blauweknop._status import BitstringStatusList
from blauweknop._status._w3c import build_bitstring_status_list_credential
from blauweknop.formats.w3c_di import bitstring_signer, issue_di_credential, present_di

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "examples" / "data"
NOW = int(dt.datetime(2026, 11, 22, 10, tzinfo=dt.UTC).timestamp())
ISSUER = Key.generate("ES256")
HOLDER = Key.generate("ES256")
ISSUER_ID = "urn:oin:00000001003214345000"
LOADER = OfflineLoader()


def _status(idx: int) -> list[dict[str, Any]]:
    base = "https://status.example/w3c"
    return [
        {
            "id": f"{base}/{purpose}#{idx}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": purpose,
            "statusListIndex": str(idx),
            "statusListCredential": f"{base}/{purpose}",
        }
        for purpose in ("revocation", "suspension")
    ]


def _issue(vct: str, claims: dict[str, Any]) -> dict[str, Any]:
    signed: dict[str, Any] = json.loads(
        issue_di_credential(
            get_profile(vct),
            claims,
            signer=ISSUER,  # type: ignore[arg-type]
            issuer_id=ISSUER_ID,
            holder=HOLDER,
            iat=NOW - 3600,
            nbf=None,
            exp=NOW + 30 * 86400,
            status=_status(7),
        )
    )
    return signed


def _without(doc: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != key}


def _proof_config(doc: dict[str, Any]) -> dict[str, Any]:
    proof = _without(doc["proof"], "proofValue")
    return {"@context": doc["@context"], **proof}


def _seeds() -> dict[str, dict[str, Any]]:
    debt = _issue(DEBT_STATEMENT_VCT, json.loads((DATA / "debt-statement.json").read_text()))
    rode = _issue(RODE_KNOP_VCT, json.loads((DATA / "rode-knop-declaration.json").read_text()))
    derived = derive_proof_sd(debt, ["/credentialSubject/totals/outstanding"])
    vp = present_di(
        debt,
        [("credentialSubject", "subject", "family_name")],
        holder_key=HOLDER,
        nonce="n-1",
        audience=ISSUER_ID,
        now=NOW,
    )
    status = build_bitstring_status_list_credential(
        credential_id="https://status.example/w3c/revocation",
        issuer=ISSUER_ID,
        status_purpose="revocation",
        status_list=BitstringStatusList(),
        valid_from=NOW - 60,
        valid_until=NOW + 86400,
        ttl_ms=300_000,
        sign=bitstring_signer(ISSUER, ISSUER_ID),  # type: ignore[arg-type]
    )
    SIGNED.update({"debt": debt, "rode knop": rode})
    return {
        "debt": _without(debt, "proof"),
        "debt proof config": _proof_config(debt),
        "rode knop": _without(rode, "proof"),
        "derived": _without(derived, "proof"),
        "presentation": _without(vp, "proof"),
        "presentation proof config": _proof_config(vp),
        "status list credential": _without(status, "proof"),
        "status list proof config": _proof_config(status),
    }


SIGNED: dict[str, dict[str, Any]] = {}
SEEDS = _seeds()
SD_SEEDS = ("debt", "rode knop", "derived")

# terms of the bundled contexts, to move between documents and contexts
TERMS = [
    "name",
    "description",
    "issuer",
    "credentialSubject",
    "validFrom",
    "amount",
    "active",
    "statusPurpose",
    "encodedList",
    "ttl",
    "proofPurpose",
    "created",
    "cryptosuite",
    "verificationMethod",
    "holder",
    "verifiableCredential",
    "family_name",
    "birthdate",
    "totals",
    "outstanding",
    "is_complete",
    "id",
    "type",
]
TYPES = [
    "VerifiableCredential",
    "DebtStatement",
    "BitstringStatusListEntry",
    "BitstringStatusList",
    "DataIntegrityProof",
    "VerifiablePresentation",
    "NoSuchType",
    "https://example.org/T",
    "_:t",
]
IDS = [
    "urn:example:a",
    "https://example.org/x#y",
    "_:b1",
    "relative/path",
    "urn:has space",
    "did:example:123",
    "https://www.w3.org/2018/credentials#issuer",
    "assertionMethod",
    "@id",
    "",
]
KEYS = [
    "unknownTerm",
    "schema:name",
    "https://schema.org/name",
    "@graph",
    "@list",
    "@language",
    "@value",
    "@index",
    "@included",
    "@reverse",
    "@set",
    "@direction",
    "@nest",
]
CONTEXTS: list[Any] = [
    "https://www.w3.org/ns/credentials/v2",
    "https://w3id.org/blauweknop/v1",
    "https://www.w3.org/ns/credentials/status/v1",
    "https://example.org/unknown-context",
    {"@vocab": "https://example.org/"},
    ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/security/data-integrity/v2"],
]

scalars = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["\u0000", '"q"', "\\", "\n\t", "é ß 漢字 🙂", "\u2028", " "]),
    st.integers(min_value=-(10**25), max_value=10**25),
    st.sampled_from([0, 1, -1, 10**21, 2**63]),
    st.sampled_from([1.0, -0.0, 0.0, 1e21, 1.5, 1e-7, 5e-324, 1.7976931348623157e308, 123.0]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.sampled_from(IDS),
    st.sampled_from(TYPES),
)


def _json_values(depth: int = 2) -> st.SearchStrategy[Any]:
    if depth == 0:
        return scalars
    inner = _json_values(depth - 1)
    return st.one_of(
        scalars,
        st.none(),
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(TERMS + KEYS[:3]), inner, max_size=3),
    )


values = _json_values()


def _slots(doc: Any) -> list[tuple[Any, Any]]:
    """Every (container, key-or-index) in ``doc``."""
    out: list[tuple[Any, Any]] = []
    stack = [doc]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            for k, item in v.items():
                out.append((v, k))
                stack.append(item)
        elif isinstance(v, list):
            for i, item in enumerate(v):
                out.append((v, i))
                stack.append(item)
    return out


def _nodes(doc: Any) -> list[dict[str, Any]]:
    return [c for c, _ in _slots(doc) if isinstance(c, dict)] + [doc]


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    def fresh(strategy: st.SearchStrategy[Any]) -> Any:
        return copy.deepcopy(draw(strategy))  # sampled values are shared: never mutate them

    name = draw(st.sampled_from(sorted(SEEDS)))
    doc = copy.deepcopy(SEEDS[name])
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(
            st.sampled_from(
                ["value", "value", "delete", "key", "term", "type", "id", "context", "wrap"]
            )
        )
        slots = _slots(doc)
        nodes = list({id(n): n for n in _nodes(doc)}.values())
        if kind == "value" and slots:
            c, k = draw(st.sampled_from(slots))
            c[k] = fresh(values)
        elif kind == "delete" and slots:
            c, k = draw(st.sampled_from(slots))
            if isinstance(c, dict) and k != "@context":
                del c[k]
        elif kind in ("key", "term"):
            node = draw(st.sampled_from(nodes))
            key = draw(st.sampled_from(KEYS if kind == "key" else TERMS))
            node[key] = fresh(values)
        elif kind == "type":
            node = draw(st.sampled_from(nodes))
            node["type"] = fresh(
                st.one_of(st.sampled_from(TYPES), st.lists(st.sampled_from(TYPES), max_size=3))
            )
        elif kind == "id":
            node = draw(st.sampled_from(nodes))
            node["id"] = draw(st.sampled_from(IDS))
        elif kind == "context":
            node = draw(st.sampled_from(nodes))
            node["@context"] = fresh(st.sampled_from(CONTEXTS))
        elif kind == "wrap" and slots:
            c, k = draw(st.sampled_from(slots))
            if k != "@context":
                c[k] = [c[k]] if not isinstance(c[k], list) else (c[k][0] if c[k] else {})
    return name, doc


def _outcome(fn: Callable[[], Any]) -> tuple[Any, ...]:
    try:
        return ("ok", fn())
    except Exception as e:  # noqa: BLE001 - both paths must fail the same way
        return ("error", type(e).__name__, getattr(e, "code", None), str(e))


def _pyld_quads(doc: dict[str, Any]) -> tuple[Any, ...]:
    with disabled():
        return _outcome(lambda: document_quads(doc, LOADER))


SETTINGS = suite_settings(
    max_examples=300 if PROFILE == "ci" else 3000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_every_seed_takes_the_compiled_path() -> None:
    """The fast path is really used for what the library issues (else the tests below would
    compare pyld with itself)."""
    for name, doc in SEEDS.items():
        check_contexts(doc, LOADER)
        walk = compile_document(doc, LOADER)
        ref = to_quads(expand(doc, LOADER), LOADER)
        assert walk.quads == ref, name
        assert walk.values == len(set(ref)), name
        assert walk.literals_native, name


@SETTINGS
@given(documents())
def test_compiled_quads_equal_pyld_or_decline(case: tuple[str, dict[str, Any]]) -> None:
    _name, doc = case
    ref = _pyld_quads(doc)
    assert _outcome(lambda: document_quads(doc, LOADER)) == ref
    if _outcome(lambda: check_contexts(doc, LOADER))[0] != "ok":
        return
    try:
        walk = compile_document(doc, LOADER)
    except Decline:
        return
    assert ref[0] == "ok", ref
    assert walk.quads == ref[1]


def _compact_form(doc: dict[str, Any]) -> tuple[Any, ...]:
    return _outcome(lambda: check_compact_form(doc, LOADER))


@SETTINGS
@given(documents())
def test_compact_form_check_is_the_same_on_both_paths(case: tuple[str, dict[str, Any]]) -> None:
    _name, doc = case
    with disabled():
        ref = _compact_form(doc)
    verdicts(LOADER).clear()
    assert _compact_form(doc) == ref  # no verdict yet: found by pyld
    assert _compact_form(doc) == ref  # with the verdict


def _sibling(doc: Any, rnd: Callable[[type], Any]) -> Any:
    """``doc`` with every literal-looking leaf replaced by another of its JSON type."""
    if isinstance(doc, dict):
        return {
            k: (v if k in ("@context", "id", "type") else _sibling(v, rnd)) for k, v in doc.items()
        }
    if isinstance(doc, list):
        return [_sibling(v, rnd) for v in doc]
    if isinstance(doc, bool):
        return rnd(bool)
    if isinstance(doc, int | float | str):
        return rnd(type(doc))
    return doc


@SETTINGS
@given(documents(), st.randoms(use_true_random=False))
def test_a_verdict_holds_for_documents_with_the_same_skeleton(
    case: tuple[str, dict[str, Any]], rnd: Any
) -> None:
    _name, doc = case

    def new(t: type) -> Any:
        if t is bool:
            return rnd.random() < 0.5
        if t is int:
            return rnd.randint(-(10**6), 10**6)
        if t is float:
            return rnd.choice([0.5, 2.0, -1.25, 1e22])
        return rnd.choice(["x", "Ünïcode", "urn:example:z", "2026-01-01", "", "12"])

    sibling = _sibling(doc, new)
    verdicts(LOADER).clear()
    _compact_form(doc)  # may leave a verdict for the skeleton
    with disabled():
        ref = _compact_form(sibling)
    assert _compact_form(sibling) == ref


def _group(doc: dict[str, Any], pointers: list[str]) -> tuple[Any, ...]:
    def run() -> Any:
        g = canonicalize_and_group(
            doc, b"k" * 32, {"mandatory": pointers}, LOADER, limits=_limits()
        )
        group = g.groups["mandatory"]
        return (
            g.nquads,
            sorted(g.label_map.values()),
            group.matching,
            group.non_matching,
            sorted(group.deskolemized),
        )

    return _outcome(run)


def _limits() -> Any:
    from blauweknop._limits import DEFAULT_LIMITS

    return DEFAULT_LIMITS


def _pointer_paths(doc: Any, prefix: str = "") -> list[str]:
    out = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            if k != "@context":
                p = prefix + "/" + k.replace("~", "~0").replace("/", "~1")
                out.append(p)
                out.extend(_pointer_paths(v, p))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out.append(f"{prefix}/{i}")
            out.extend(_pointer_paths(v, f"{prefix}/{i}"))
    return out


@SETTINGS
@given(st.data())
def test_grouping_is_the_same_on_both_paths(data: st.DataObject) -> None:
    name, doc = data.draw(documents().filter(lambda c: c[0] in SD_SEEDS))
    paths = _pointer_paths(doc)
    pointers = data.draw(st.lists(st.sampled_from(paths), max_size=4)) if paths else []
    with disabled():
        ref = _group(doc, pointers)
    verdicts(LOADER).clear()
    assert _group(doc, pointers) == ref, name
    assert _group(doc, pointers) == ref, name


@SETTINGS
@given(documents().filter(lambda c: c[0] in SD_SEEDS))
def test_compiled_skolemized_compact_form_equals_pyld(case: tuple[str, dict[str, Any]]) -> None:
    _name, doc = case
    if _outcome(lambda: check_contexts(doc, LOADER))[0] != "ok":
        return
    mine = _Skolem()
    try:
        walk = compile_document(doc, LOADER, skolem=mine)
    except Decline:
        return
    theirs = _Skolem()
    theirs.prefix, theirs._iri_prefix = mine.prefix, mine._iri_prefix
    expanded = expand(doc, LOADER)
    sk_expanded = theirs.skolemize(expanded)
    ref = compact(sk_expanded, doc["@context"], LOADER)
    if theirs.strip(ref) is None:  # pragma: no cover
        return
    quads = to_quads(sk_expanded, LOADER, rename=theirs.deskolemize)
    assert walk.quads == quads
    # the compact forms agree wherever pyld's shape check would accept the document
    from blauweknop._di._sd._group import _shape

    if _shape(theirs.strip(ref), ignore_context=True) == _shape(doc, ignore_context=True):
        assert walk.sk_compact == ref


# -- the one-pass checks against the checks they replace ---------------------------------


def _reference_check_contexts(document: Any, loader: OfflineLoader, limits: Any) -> None:
    """check_contexts as it was (check_depth, then one walk raising at the first problem)."""
    from blauweknop._codec import check_depth
    from blauweknop._di._jsonld import _check_context_value, _refuse_repeated_values
    from blauweknop._errors import ContextError, MalformedError

    check_depth(document, limits.max_json_depth, "JSON-LD document")
    if not isinstance(document, dict):
        raise MalformedError("malformed_document", "a JSON-LD document must be a JSON object")
    if "@context" not in document:
        raise ContextError("context_not_allowed", "the document has no @context")
    allowed = loader.allowed_urls()
    stack: list[Any] = [document]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            for k, item in v.items():
                if k == "@context":
                    _check_context_value(item, allowed)
                else:
                    stack.append(item)
        elif isinstance(v, list):
            _refuse_repeated_values(v)
            stack.extend(v)
        elif v is None:
            raise ContextError("data_loss", "null values are not allowed")


def _reference_check_document(document: Any, limits: Any) -> None:
    from blauweknop._codec import check_depth
    from blauweknop._di._common import _all_keys
    from blauweknop._errors import MalformedError

    if not isinstance(document, dict):
        raise MalformedError("malformed_document", "the document must be a JSON object")
    check_depth(document, limits.max_json_depth, "document")
    size = len(
        json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
    )
    if size > limits.max_token_bytes:
        raise MalformedError("too_large", "big")
    if not all(isinstance(k, str) for k in _all_keys(document)):
        raise MalformedError("malformed_document", "JSON object keys must be strings")


trees = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-3, 3),
        st.sampled_from(["a", "a", "https://www.w3.org/ns/credentials/v2"]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(["@context", "a", "b", "id"]), st.integers(0, 2)),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=30,
)


@SETTINGS
@given(trees, st.integers(1, 6))
def test_one_pass_checks_equal_the_checks_they_replace(tree: Any, depth: int) -> None:
    from dataclasses import replace

    from blauweknop._di._common import check_document
    from blauweknop._limits import DEFAULT_LIMITS

    limits = replace(DEFAULT_LIMITS, max_json_depth=depth)
    for doc in (tree, {"@context": CONTEXTS[0], "x": tree}, {"@context": tree}):
        got = _outcome(lambda d=doc: check_contexts(d, LOADER, limits))
        ref = _outcome(lambda d=doc: _reference_check_contexts(d, LOADER, limits))
        assert got == ref
        if isinstance(doc, dict):
            got_d = _outcome(lambda d=doc: check_document(d, limits))
            ref_d = _outcome(lambda d=doc: _reference_check_document(d, limits))
            assert got_d[:3] == ref_d[:3]


@SETTINGS
@given(st.data())
def test_derived_credentials_and_their_verification_are_the_same_on_both_paths(
    data: st.DataObject,
) -> None:
    """End to end: ``derive_proof_sd`` gives the same credential (proof value included) and
    ``verify_proof`` the same result, on the compiled and on the pyld path."""
    from blauweknop._di import verify_proof

    name = data.draw(st.sampled_from(sorted(SIGNED)))
    signed = SIGNED[name]
    paths = [p for p in _pointer_paths(_without(signed, "proof")) if p.startswith("/credential")]
    pointers = data.draw(st.lists(st.sampled_from(paths), min_size=1, max_size=5, unique=True))

    def derive() -> Any:
        return derive_proof_sd(signed, pointers)

    with disabled():
        ref = _outcome(derive)
    verdicts(LOADER).clear()
    got = _outcome(derive)
    assert got == ref
    if ref[0] != "ok":
        return
    derived = ref[1]

    def verify() -> Any:
        return verify_proof(derived, resolve_key=lambda vm: ISSUER.public(), now=NOW)

    with disabled():
        vref = _outcome(verify)
    assert _outcome(verify) == vref
