"""``ecdsa-sd-2023`` interop with an independent implementation, Digital Bazaar's:
``jsonld-signatures``, ``@digitalbazaar/data-integrity`` and
``@digitalbazaar/ecdsa-sd-2023-cryptosuite`` (keys through ``@digitalbazaar/ecdsa-multikey``),
exact versions in ``di-node/package.json``.

Credentials: our debt statement and Rode Knop declaration in their W3C form, issued by the
``Issuer`` recipe (VC 2.0 + our context, ``credentialSubject.id`` = ``did:jwk``, the profile's
mandatory pointers, verification method ``urn:oin:<oin>#<kid>``), and the W3C
``employ`` vector credential (did:key verification method). For each:

- their base proof: we derive and verify, and they derive and we verify;
- our base proof: they derive and verify, and we derive and they verify;
- one base proof derived by both sides gives the same reveal document and the same
  ``proofValue`` byte for byte (derivation is deterministic);
- a derived document with one changed claim value, selectively disclosed or mandatory, is
  refused by both, whoever derived it.

Assertions are on what was revealed: the disclosed ``credentialSubject`` (written out by hand),
what must stay hidden, and the canonical N-Quads each side's JSON-LD processor reads from the
derived document (they must be identical).

The peer's document loader serves only the context files in ``src/blauweknop/contexts/`` and
the issuer's Multikey verification method and controller document (``id`` and ``controller``
= the issuer); anything else throws. The controller document lists the DID v1 context first,
so jsonld-signatures reads its ``assertionMethod`` as plain JSON rather than framing it with
a security context (the DID context itself is never loaded). No verification method was
refused on policy grounds: ``urn:oin:...#kid`` works as is.

Peer behaviour worth knowing: its base-proof check (``createConfirmCryptosuite``, an extension,
as VC-DI-ECDSA defines verification for derived proofs only) canonicalizes the mandatory
selection on its own, so its blank node labels differ from the full document's whenever a
mandatory statement has a blank node. It then refuses valid base proofs, its own included
(our credentials: ``/credentialStatus`` and nested mandatory claims are blank nodes). Base
proofs are therefore cross-checked in their verifier on the W3C vector credential only.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from di_compat import mandatory_pointers

from blauweknop import Issuer, Key, SignatureError
from blauweknop._di import (
    OfflineLoader,
    add_base_proof_sd,
    default_loader,
    derive_proof_sd,
    multikey_from_key,
    verify_proof,
)
from blauweknop._di._common import canonical_dataset
from blauweknop._di._loader import PINS, VECTOR_CONTEXTS
from blauweknop._di._multibase import private_key_from_multikey
from blauweknop._limits import DEFAULT_LIMITS
from blauweknop.debt import DebtStatement
from rodeknop_vc import PaymentIncapacityDeclaration

pytestmark = pytest.mark.interop

ROOT = Path(__file__).resolve().parents[2]
CONTEXTS_DIR = ROOT / "src" / "blauweknop" / "contexts"
DATA = ROOT / "examples" / "data"
VECTORS = ROOT / "tests" / "vectors" / "data" / "w3c-di" / "vc-di-ecdsa" / "TestVectors"
EMPLOY = VECTORS / "ecdsa-sd-2023" / "employ"
TZ = ZoneInfo("Europe/Amsterdam")
#: Issuance time of our credentials; inside the Rode Knop declaration's window.
NOW = int(dt.datetime(2026, 11, 20, 12, tzinfo=TZ).timestamp())
Path_ = tuple[str | int, ...]


# ------------------------------------------------------------------------------------------
# Scenarios
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scenario:
    """What the holder reveals, what a verifier must then see, and what must stay hidden."""

    id: str
    selective: list[str]
    expected_subject: dict[str, Any]  # revealed credentialSubject, without its ``id``
    withheld: list[str]  # values that must not occur anywhere in the derived document
    tamper: dict[str, tuple[Path_, Any]]  # "selective"/"mandatory": (path, forged value)


DEBT = Scenario(
    id="debt-statement",
    selective=[
        "/credentialSubject/subject/family_name",
        "/credentialSubject/totals/outstanding",
        "/credentialSubject/cases/1/case_reference",
        "/credentialSubject/cases/1/amount_outstanding",
        "/credentialSubject/arrangement",
    ],
    expected_subject={
        # mandatory (profile: sd never)
        "creditor": {
            "name": "CJIB",
            "oin": "00000001003214345000",
            "code": "CJIB",
        },
        "statement_id": "CJIB-2026-000123",
        "balance_at": "2026-11-20T09:00:00+01:00",
        "is_complete": True,
        "currency": "EUR",
        "contact": {"phone": "+31 58 750 8000", "website": "https://www.cjib.nl"},
        # selected
        "subject": {"family_name": "Jansen"},
        "totals": {"outstanding": 50000},
        "cases": [{"case_reference": "VK-2026-0042", "amount_outstanding": 27100}],
        "arrangement": {
            "type": "standaard",
            "start_date": "2026-10-01",
            "installment_amount": 5420,
            "number_of_installments": 7,
            "installments_paid": 2,
            "status": "active",
            "next_due_date": "2026-12-01",
        },
    },
    withheld=["999999990", "Eva Maria", "1988-04-12", "VK-2026-0007", "Snelheidsovertreding"],
    tamper={
        "selective": (("credentialSubject", "totals", "outstanding"), 1),
        "mandatory": (("credentialSubject", "creditor", "name"), "Incassobureau Malafide B.V."),
    },
)

RODE_KNOP = Scenario(
    id="rode-knop-declaration",
    selective=[
        "/credentialSubject/subject/family_name",
        "/credentialSubject/subject/address/city",
        "/credentialSubject/counsellor/name",
        "/credentialSubject/trajectory_phase",
    ],
    expected_subject={
        "declaration_id": "GM0772-RK-2026-0815",
        "municipality": {
            "name": "Gemeente Eindhoven",
            "code": "GM0772",
            "oin": "00000001001234567000",
        },
        "executing_organisation": {"name": "Schuldhulp Eindhoven (fictief)"},
        "payment_incapacity": True,
        "admitted_to_debt_relief": True,
        "trajectory_start": "2026-11-16",
        "valid_from": "2026-11-16",
        "valid_until": "2027-03-15",
        "requested_measures": [
            "suspend_collection",
            "no_additional_costs",
            "no_garnishment",
            "no_bailiff",
        ],
        "counsellor": {
            "organisation_phone": "+31 40 238 6000",
            "organisation_email": "schuldhulp@eindhoven.example",
            "name": "R. de Vries",
        },
        "trajectory_phase": "stabilisation",
        "subject": {"family_name": "Jansen", "address": {"city": "Eindhoven"}},
    },
    withheld=["999999990", "Stratumseind", "5611 ET", "SHV-88213", "r.devries@", "2026-10-28"],
    tamper={
        "selective": (("credentialSubject", "subject", "family_name"), "de Vries"),
        "mandatory": (("credentialSubject", "valid_until"), "2099-12-31"),
    },
)

W3C_EMPLOY = Scenario(
    id="w3c-employ-vector",
    selective=json.loads((VECTORS / "employSelective.json").read_text("utf-8")),
    expected_subject={"type": ["Person", "EmployablePerson"], "birthCountry": "Bahamas"},
    withheld=["JOHN", "SMITH", "83627465", "999-999-999", "1999-07-17"],
    tamper={
        "selective": (("credentialSubject", "birthCountry"), "Atlantis"),
        "mandatory": (("issuer", "id"), "did:example:forged-issuer"),
    },
)

SCENARIOS = [DEBT, RODE_KNOP, W3C_EMPLOY]


@dataclass
class Credential:
    """Our base-signed credential for a scenario, and what both sides need to handle it."""

    signed: dict[str, Any]  # base proof made by us
    key: Key  # the issuer's private P-256 key
    mandatory: list[str]
    at: float  # verification time, inside the validity window
    loader: OfflineLoader
    memo: dict[str, Any] = field(default_factory=dict)  # peer results, per module

    @property
    def vm(self) -> dict[str, str]:
        """The verification method as the peer's loader serves it (controller = issuer)."""
        vm_id = self.signed["proof"]["verificationMethod"]
        return {
            "id": vm_id,
            "controller": vm_id.split("#", 1)[0],
            "publicKeyMultibase": multikey_from_key(self.key),
        }

    @property
    def unsigned(self) -> dict[str, Any]:
        return {k: v for k, v in self.signed.items() if k != "proof"}


def _issue_ours(home: Path, model: Any, role: str, org: dict[str, str]) -> Credential:
    issuer = Issuer.init(
        home,
        issuer_id=f"urn:oin:{org['oin']}",
        name=org["name"],
        roles=[role],
        status_base_uri="https://status.example/lists",
    )
    assert isinstance(issuer.signer, Key)
    holder = Key.generate()
    doc = json.loads(issuer.issue(model, holder_jwk=holder.public_jwk(), format="di", now=NOW).text)
    return Credential(
        signed=doc,
        key=issuer.signer,
        mandatory=mandatory_pointers(model.profile(), model.to_claims()),
        at=NOW + 3600,
        loader=default_loader(),
    )


def _vector_credential() -> Credential:
    published = json.loads((EMPLOY / "addSignedSDBase.json").read_text("utf-8"))
    pair = json.loads((VECTORS / "p256KeyPair.json").read_text("utf-8"))
    key = private_key_from_multikey(pair["secretKeyMultibase"])
    assert multikey_from_key(key) == pair["publicKeyMultibase"]
    mandatory = json.loads((VECTORS / "employMandatory.json").read_text("utf-8"))
    loader = OfflineLoader(allowed=VECTOR_CONTEXTS)
    unsigned = {k: v for k, v in published.items() if k != "proof"}
    signed = add_base_proof_sd(
        unsigned,
        key,
        verification_method=published["proof"]["verificationMethod"],
        mandatory_pointers=mandatory,
        created=published["proof"]["created"],
        loader=loader,
    )
    # The vector's documents are valid 2019-12-03 .. 2029-12-03.
    return Credential(signed, key, mandatory, 1_750_000_000.0, loader)


@pytest.fixture(scope="module")
def credentials(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Credential]:
    home = tmp_path_factory.mktemp("issuers")
    debt = DebtStatement.from_claims(json.loads((DATA / "debt-statement.json").read_text("utf-8")))
    rk_data = json.loads((DATA / "rode-knop-declaration.json").read_text("utf-8"))
    rk = PaymentIncapacityDeclaration.from_claims(rk_data)
    return {
        DEBT.id: _issue_ours(home / "cjib", debt, "creditor", debt.to_claims()["creditor"]),
        RODE_KNOP.id: _issue_ours(home / "gm0772", rk, "municipality", rk_data["municipality"]),
        W3C_EMPLOY.id: _vector_credential(),
    }


@pytest.fixture(params=SCENARIOS, ids=lambda s: s.id)
def case(request: pytest.FixtureRequest, credentials: dict[str, Credential]) -> Any:
    s: Scenario = request.param
    return s, credentials[s.id]


@pytest.fixture
def peer(node_peer: Callable[..., Any]) -> Any:
    return node_peer("di-node")


# ------------------------------------------------------------------------------------------
# Both sides' operations
# ------------------------------------------------------------------------------------------
def _ctx() -> dict[str, str]:
    return {"contexts_dir": str(CONTEXTS_DIR)}


def _served(c: Credential) -> set[str]:
    return set(PINS) | {c.vm["id"], c.vm["controller"]}


def theirs_base(peer: Any, c: Credential) -> dict[str, Any]:
    """Their base proof on our unsigned document: same key, method, pointers and time."""
    if "base" not in c.memo:
        res = peer.call(
            "base",
            document=c.unsigned,
            private_jwk=c.key.private_jwk(),
            verification_method=c.vm,
            mandatory_pointers=c.mandatory,
            created=c.signed["proof"]["created"],
            **_ctx(),
        )
        assert set(res["loaded"]) <= _served(c)
        c.memo["base"] = res["signed"]
    signed: dict[str, Any] = copy.deepcopy(c.memo["base"])
    return signed


def theirs_base_derived(peer: Any, c: Credential, s: Scenario) -> dict[str, Any]:
    """Their derivation of their base proof, for the scenario's pointers."""
    if "derived" not in c.memo:
        c.memo["derived"] = theirs_derive(peer, theirs_base(peer, c), s.selective)
    derived: dict[str, Any] = copy.deepcopy(c.memo["derived"])
    return derived


def theirs_derive(peer: Any, signed: dict[str, Any], pointers: list[str]) -> dict[str, Any]:
    res = peer.call("derive", signed=signed, selective_pointers=pointers, **_ctx())
    derived: dict[str, Any] = res["derived"]
    return derived


def theirs_verify(peer: Any, doc: dict[str, Any], c: Credential) -> dict[str, Any]:
    """Their verifier accepts ``doc``; returns its answer after checking how it got there."""
    res: dict[str, Any] = peer.call("verify", document=doc, verification_method=c.vm, **_ctx())
    assert res["verification_method"] == c.vm["id"]
    assert res["controller"] == c.vm["controller"]
    assert set(res["loaded"]) <= _served(c), "the peer asked for a document we do not serve"
    # Both JSON-LD processors read the same statements from the document.
    unsecured = {k: v for k, v in doc.items() if k != "proof"}
    ours = canonical_dataset(unsecured, c.loader, DEFAULT_LIMITS, "sha256").serialize()
    assert res["nquads"] == ours
    return res


def theirs_refuse(peer: Any, doc: dict[str, Any], c: Credential) -> str:
    return str(peer.fails("verify", document=doc, verification_method=c.vm, **_ctx()))


def ours_verify(doc: dict[str, Any], c: Credential) -> dict[str, Any]:
    """Our verifier accepts ``doc`` as a derived proof; returns the verified document."""
    res = verify_proof(doc, resolve_key=_resolver(c), now=c.at, loader=c.loader)
    assert not res.is_base_proof
    assert res.cryptosuite == "ecdsa-sd-2023"
    assert res.verification_method == c.vm["id"]
    return res.document


def _resolver(c: Credential) -> Callable[[str], Key]:
    def resolve(vm: str) -> Key:
        assert vm == c.vm["id"]
        return c.key.public()

    return resolve


def assert_revealed(doc: dict[str, Any], s: Scenario, c: Credential) -> None:
    """Exactly the mandatory and the selected claims, with the issuer's values."""
    subject = dict(doc["credentialSubject"])
    assert subject.pop("id", None) == c.signed["credentialSubject"].get("id")
    assert subject == s.expected_subject
    for name in ("type", "issuer", "validFrom", "validUntil", "credentialStatus"):
        assert doc.get(name) == c.signed.get(name), name
    text = json.dumps(doc, ensure_ascii=False)
    hidden = [w for w in s.withheld if w in text]
    assert not hidden, f"withheld values disclosed: {hidden}"


def _tampered(doc: dict[str, Any], path: Path_, value: Any) -> dict[str, Any]:
    forged = copy.deepcopy(doc)
    target: Any = forged
    for p in path[:-1]:
        target = target[p]
    assert target[path[-1]] != value
    target[path[-1]] = value
    return forged


# ------------------------------------------------------------------------------------------
# The directions
# ------------------------------------------------------------------------------------------
def test_their_base_proof_derives_and_verifies_in_ours(peer: Any, case: Any) -> None:
    s, c = case
    base = theirs_base(peer, c)
    assert base["proof"]["cryptosuite"] == "ecdsa-sd-2023"
    assert base["proof"]["verificationMethod"] == c.vm["id"]
    derived = derive_proof_sd(base, s.selective, loader=c.loader)
    assert_revealed(ours_verify(derived, c), s, c)
    # The base proof as issued verifies with us too.
    res = verify_proof(base, resolve_key=_resolver(c), now=c.at, loader=c.loader)
    assert res.is_base_proof


def test_their_derived_proof_verifies_in_ours(peer: Any, case: Any) -> None:
    s, c = case
    derived = theirs_base_derived(peer, c, s)
    assert_revealed(ours_verify(derived, c), s, c)


def test_our_base_proof_derives_and_verifies_in_theirs(peer: Any, case: Any) -> None:
    s, c = case
    derived = theirs_derive(peer, c.signed, s.selective)
    assert_revealed(derived, s, c)
    assert theirs_verify(peer, derived, c)["base"] is False


def test_our_derived_proof_verifies_in_theirs(peer: Any, case: Any) -> None:
    s, c = case
    derived = derive_proof_sd(c.signed, s.selective, loader=c.loader)
    assert_revealed(derived, s, c)
    assert theirs_verify(peer, derived, c)["base"] is False


@pytest.mark.parametrize("issued_by", ["ours", "theirs"])
def test_both_derive_the_same_bytes(peer: Any, case: Any, issued_by: str) -> None:
    """Derivation is deterministic: the same base proof and pointers give one reveal
    document and one ``proofValue`` (signatures, label map CBOR, mandatory indexes)."""
    s, c = case
    base = c.signed if issued_by == "ours" else theirs_base(peer, c)
    assert theirs_derive(peer, base, s.selective) == derive_proof_sd(
        base, s.selective, loader=c.loader
    )


def test_the_published_vector_derives_identically_on_both_sides(peer: Any) -> None:
    """The W3C vector's base proof (made with Digital Bazaar's library) and its published
    derived document: both sides reproduce it exactly."""
    base = json.loads((EMPLOY / "addSignedSDBase.json").read_text("utf-8"))
    published = json.loads((EMPLOY / "derivedRevealDocument.json").read_text("utf-8"))
    loader = OfflineLoader(allowed=VECTOR_CONTEXTS)
    assert derive_proof_sd(base, W3C_EMPLOY.selective, loader=loader) == published
    assert theirs_derive(peer, base, W3C_EMPLOY.selective) == published


# ------------------------------------------------------------------------------------------
# Tampering: a changed claim value in a derived document
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("derived_by", ["ours", "theirs"])
@pytest.mark.parametrize("kind", ["selective", "mandatory"])
def test_a_changed_claim_is_refused_by_both(
    peer: Any, case: Any, kind: str, derived_by: str
) -> None:
    s, c = case
    if derived_by == "ours":
        derived = derive_proof_sd(c.signed, s.selective, loader=c.loader)
    else:
        derived = theirs_base_derived(peer, c, s)
    forged = _tampered(derived, *s.tamper[kind])
    with pytest.raises(SignatureError) as e:
        verify_proof(forged, resolve_key=_resolver(c), now=c.at, loader=c.loader)
    assert e.value.code == "signature_invalid"
    assert "Invalid signature" in theirs_refuse(peer, forged, c)


def test_a_changed_base_proof_document_is_refused_by_their_confirm(peer: Any) -> None:
    """Base proofs in their verifier (``createConfirmCryptosuite``): ours and theirs accepted,
    a changed claim refused. On the vector credential only (see the module docstring)."""
    c = _vector_credential()
    mine = theirs_verify(peer, c.signed, c)
    assert mine["base"] is True
    assert theirs_verify(peer, theirs_base(peer, c), c)["base"] is True
    forged = _tampered(c.signed, ("credentialSubject", "familyName"), "SMYTHE")
    assert "Invalid signature" in theirs_refuse(peer, forged, c)
    with pytest.raises(SignatureError):
        verify_proof(forged, resolve_key=_resolver(c), now=c.at, loader=c.loader)


# ------------------------------------------------------------------------------------------
# The harness itself
# ------------------------------------------------------------------------------------------
def test_the_peer_serves_our_pinned_context_bytes(peer: Any) -> None:
    served = peer.call("contexts", **_ctx())["contexts"]
    assert served == {url: PINS[url].sha256 for url in served}
    assert {
        "https://www.w3.org/ns/credentials/v2",
        "https://w3id.org/blauweknop/v1",
        "https://w3id.org/security/data-integrity/v2",
        "https://w3id.org/security/multikey/v1",
    } <= set(served)


def test_the_peer_loader_refuses_anything_else(
    peer: Any, credentials: dict[str, Credential]
) -> None:
    """No network: an unknown context or an unknown verification method is an error."""
    c = credentials[DEBT.id]
    derived = derive_proof_sd(c.signed, DEBT.selective)
    other = copy.deepcopy(derived)
    other["@context"] = [*other["@context"], "https://example.org/context/v1"]
    assert "is not served locally" in theirs_refuse(peer, other, c)
    elsewhere = copy.deepcopy(derived)
    elsewhere["proof"]["verificationMethod"] = "https://issuer.example/keys#1"
    assert "https://issuer.example/keys#1 is not served locally" in theirs_refuse(
        peer, elsewhere, c
    )
